/**
 * A local Functions host: Core Tools cannot be installed here and `@azure/functions` discards
 * `app.*` registrations outside the Functions runtime, so this serves the same
 * `FunctionDeclaration`s the way the runtime does:
 * - Event Grid webhook `POST /runtime/webhooks/eventgrid?functionName=NAME` with the subscription
 *   validation handshake (Event Grid schema) and the CloudEvents abuse-protection OPTIONS;
 *   one invocation per event; 500 when any invocation threw (Event Grid then retries).
 * - Timers on their NCRONTAB schedules (croner), never overlapping themselves.
 * - Storage-queue triggers polling Azurite: Base64 messages, retried, poisoned after 5 dequeues.
 * - HTTP triggers under `/api/<route>`; `POST /admin/functions/NAME` runs a non-HTTP function now.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import functions from "@azure/functions";
import type { HttpMethod, InvocationContext as Context } from "@azure/functions";
import { QueueClient } from "@azure/storage-queue";
import { Cron } from "croner";
import pLimit from "p-limit";
import type { Logger } from "pino";
import { resolveBindingExpression, type FunctionDeclaration } from "../functions/declaration.js";

const { InvocationContext, HttpRequest } = functions;

export interface LocalHostOptions {
  readonly declarations: readonly FunctionDeclaration[];
  readonly settings: Readonly<Record<string, string | undefined>>;
  readonly port?: number;
  readonly storageConnectionString: string;
  readonly log: Logger;
  readonly maxBodyBytes?: number;
  /** Visibility timeout for a failed queue message before it is tried again (default 2 s). */
  readonly retryVisibilitySeconds?: number;
  /** Invocations running at once, like the Functions host's per-instance concurrency (default 16). */
  readonly maxConcurrency?: number;
}

export interface LocalHost {
  readonly url: string;
  eventGridUrl(functionName: string): string;
  invoke(name: string, input?: unknown): Promise<unknown>;
  stats(): { invocations: Record<string, { succeeded: number; failed: number }> };
  /** Resolves when nothing runs and every trigger queue is empty; rejects after `timeoutMs`. */
  idle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const MAX_DEQUEUE = 5;

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const byName = new Map(options.declarations.map((d) => [d.name.toLowerCase(), d]));
  const invocations: Record<string, { succeeded: number; failed: number }> = {};
  const inFlight = new Set<Promise<unknown>>();
  const stops: Array<() => void | Promise<void>> = [];
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  let closing = false;
  let pendingPolls = 0;

  function context(name: string, triggerMetadata: Record<string, unknown> = {}): Context {
    const invocationId = randomUUID();
    const log = options.log.child({ invocationId, functionName: name });
    return new InvocationContext({
      invocationId,
      functionName: name,
      triggerMetadata,
      logHandler: (level, ...args) => {
        const message = args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ");
        const method = level === "error" || level === "critical" ? "error" : level === "warning" ? "warn" : level === "debug" || level === "trace" ? "debug" : "info";
        log[method](message);
      },
    });
  }

  const slots = pLimit(options.maxConcurrency ?? 16);
  const run = (declaration: FunctionDeclaration, input: unknown, metadata?: Record<string, unknown>): Promise<unknown> => slots(() => invoke(declaration, input, metadata));

  async function invoke(declaration: FunctionDeclaration, input: unknown, metadata?: Record<string, unknown>): Promise<unknown> {
    const tally = (invocations[declaration.name] ??= { succeeded: 0, failed: 0 });
    const ctx = context(declaration.name, metadata);
    const work = (async () => {
      switch (declaration.trigger.kind) {
        case "eventGrid":
          return (declaration as Extract<FunctionDeclaration, { trigger: { kind: "eventGrid" } }>).handler(input as Record<string, unknown>, ctx);
        case "timer":
          return (declaration as Extract<FunctionDeclaration, { trigger: { kind: "timer" } }>).handler({ isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: "", next: "", lastUpdated: "" } } as never, ctx);
        case "storageQueue":
          return (declaration as Extract<FunctionDeclaration, { trigger: { kind: "storageQueue" } }>).handler(input, ctx);
        case "http":
          return (declaration as Extract<FunctionDeclaration, { trigger: { kind: "http" } }>).handler(input as never, ctx);
      }
    })();
    inFlight.add(work);
    try {
      const result = await work;
      tally.succeeded++;
      return result;
    } catch (error) {
      tally.failed++;
      options.log.warn({ functionName: declaration.name, invocationId: ctx.invocationId, err: error }, `invocation failed: ${(error as Error).message}`);
      throw error;
    } finally {
      inFlight.delete(work);
    }
  }

  // ------------------------------------------------------------------ HTTP
  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log.error({ err: error }, "local host request failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBody) return undefined;
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString();
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const reply = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };

    if (url.pathname === "/runtime/webhooks/eventgrid") {
      const name = url.searchParams.get("functionName") ?? "";
      const declaration = byName.get(name.toLowerCase());
      if (!declaration || declaration.trigger.kind !== "eventGrid") return reply(404, { error: `no Event Grid function named '${name.slice(0, 100)}'` });
      if (req.method === "OPTIONS") {
        // CloudEvents abuse protection (https://github.com/cloudevents/spec/blob/v1.0/http-webhook.md#4-abuse-protection)
        const origin = String(req.headers["webhook-request-origin"] ?? "");
        return reply(200, undefined, origin ? { "WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*" } : {});
      }
      if (req.method !== "POST") return reply(405);
      const text = await readBody(req);
      if (text === undefined) {
        options.log.warn({ functionName: name }, `Event Grid delivery refused: body over ${maxBody} bytes`);
        return reply(413, { error: `body over ${maxBody} bytes` });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        options.log.warn({ functionName: name }, "Event Grid delivery refused: body is not JSON");
        return reply(400, { error: "body is not JSON" });
      }
      const events = Array.isArray(parsed) ? parsed : [parsed];
      const first = events[0] as Record<string, unknown> | undefined;
      if (req.headers["aeg-event-type"] === "SubscriptionValidation" || first?.eventType === "Microsoft.EventGrid.SubscriptionValidationEvent") {
        const code = (first?.data as { validationCode?: string } | undefined)?.validationCode;
        return code ? reply(200, { validationResponse: code }) : reply(400, { error: "validation event without data.validationCode" });
      }
      let failed = 0;
      for (const event of events) {
        try {
          await run(declaration, event, { eventId: (event as { id?: string })?.id });
        } catch {
          failed++;
        }
      }
      return failed > 0 ? reply(500, { error: `${failed} of ${events.length} event(s) failed; Event Grid will retry` }) : reply(200);
    }

    const admin = /^\/admin\/functions\/([^/]+)$/.exec(url.pathname);
    if (admin && req.method === "POST") {
      const declaration = byName.get(decodeURIComponent(admin[1]!).toLowerCase());
      if (!declaration || declaration.trigger.kind === "http") return reply(404, { error: "no such non-HTTP function" });
      const text = (await readBody(req)) ?? "";
      const input = text ? ((JSON.parse(text) as { input?: string }).input ?? undefined) : undefined;
      void run(declaration, input === undefined ? undefined : safeJson(input)).catch(() => undefined);
      return reply(202);
    }

    if (url.pathname.startsWith("/api/")) {
      const route = url.pathname.slice(5);
      for (const declaration of options.declarations) {
        if (declaration.trigger.kind !== "http") continue;
        const params = matchRoute(declaration.trigger.route, route);
        if (!params || !declaration.trigger.methods.includes((req.method ?? "GET") as HttpMethod)) continue;
        const text = (await readBody(req)) ?? "";
        const request = new HttpRequest({
          method: req.method ?? "GET",
          url: `http://127.0.0.1${req.url ?? "/"}`,
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
          params,
          ...(text ? { body: { string: text } } : {}),
        });
        const response = (await run(declaration, request).catch((error: unknown) => ({ status: 500, jsonBody: { error: (error as Error).message } }))) as {
          status?: number;
          jsonBody?: unknown;
          body?: string;
          headers?: Record<string, string>;
        };
        res.writeHead(response.status ?? 200, { ...(response.jsonBody !== undefined ? { "content-type": "application/json" } : {}), ...(response.headers ?? {}) });
        return void res.end(response.jsonBody !== undefined ? JSON.stringify(response.jsonBody) : (response.body ?? ""));
      }
      return reply(404, { error: "no such route" });
    }
    return reply(404);
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stops.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  // ------------------------------------------------------------------ timers
  for (const declaration of options.declarations) {
    if (declaration.trigger.kind !== "timer") continue;
    const schedule = resolveBindingExpression(declaration.trigger.schedule, options.settings);
    let running = false;
    const tick = async () => {
      if (running || closing) return; // like the Functions singleton lock: a timer never overlaps itself
      running = true;
      await run(declaration, undefined).catch(() => undefined);
      running = false;
    };
    const job = new Cron(schedule, { timezone: "UTC", protect: true }, () => void tick());
    stops.push(() => job.stop());
    if (declaration.trigger.runOnStartup) void tick();
  }

  // ------------------------------------------------------------------ queues
  const triggerQueues: QueueClient[] = [];
  for (const declaration of options.declarations) {
    if (declaration.trigger.kind !== "storageQueue") continue;
    const queueName = resolveBindingExpression(declaration.trigger.queueName, options.settings);
    const queue = new QueueClient(options.storageConnectionString, queueName);
    const poison = new QueueClient(options.storageConnectionString, `${queueName}-poison`);
    await queue.createIfNotExists();
    triggerQueues.push(queue);
    let timer: NodeJS.Timeout | undefined;
    let delay = 100;
    const poll = async () => {
      pendingPolls++;
      try {
        const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 16, visibilityTimeout: 30 });
        delay = receivedMessageItems.length > 0 ? 50 : Math.min(1000, delay * 2);
        await Promise.all(
          receivedMessageItems.map(async (message) => {
            const text = Buffer.from(message.messageText, "base64").toString();
            try {
              await run(declaration, safeJson(text), { dequeueCount: message.dequeueCount, id: message.messageId });
              await queue.deleteMessage(message.messageId, message.popReceipt);
            } catch {
              if (message.dequeueCount >= MAX_DEQUEUE) {
                await poison.createIfNotExists();
                await poison.sendMessage(message.messageText);
                await queue.deleteMessage(message.messageId, message.popReceipt);
                options.log.error({ queue: queueName, messageId: message.messageId }, `message moved to ${queueName}-poison after ${MAX_DEQUEUE} attempts`);
              } else {
                await queue.updateMessage(message.messageId, message.popReceipt, undefined, options.retryVisibilitySeconds ?? 2);
              }
            }
          }),
        );
      } catch (error) {
        if (!closing) options.log.warn({ queue: queueName, err: error }, "queue poll failed");
      } finally {
        pendingPolls--;
        if (!closing) timer = setTimeout(() => void poll(), delay);
      }
    };
    timer = setTimeout(() => void poll(), 0);
    stops.push(() => clearTimeout(timer));
  }

  return {
    url,
    eventGridUrl: (functionName) => `${url}/runtime/webhooks/eventgrid?functionName=${encodeURIComponent(functionName)}`,
    async invoke(name, input) {
      const declaration = byName.get(name.toLowerCase());
      if (!declaration) throw new Error(`no function named '${name}'`);
      return run(declaration, input);
    },
    stats: () => ({ invocations: structuredClone(invocations) }),
    async idle(timeoutMs = 60_000) {
      // Idle: nothing running, no poll in progress, and every trigger queue empty (delayed messages count).
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        await Promise.allSettled([...inFlight]);
        const counts = await Promise.all(triggerQueues.map((q) => q.getProperties().then((p) => p.approximateMessagesCount ?? 0)));
        if (inFlight.size === 0 && pendingPolls === 0 && counts.every((c) => c === 0)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`local host still busy after ${timeoutMs} ms`);
    },
    async close() {
      closing = true;
      for (const stop of stops.reverse()) await stop();
      const deadline = Date.now() + 10_000;
      while (inFlight.size > 0 && Date.now() < deadline) await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 100))]);
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `resources/{key}/history` against `resources/abc/history` → { key: "abc" }. */
function matchRoute(template: string, path: string): Record<string, string> | undefined {
  const t = template.replace(/^\/|\/$/g, "").split("/");
  const p = path.replace(/^\/|\/$/g, "").split("/");
  if (t.length !== p.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const m = /^\{(\w+)\??\}$/.exec(t[i]!);
    if (m) params[m[1]!] = decodeURIComponent(p[i]!);
    else if (t[i]!.toLowerCase() !== p[i]!.toLowerCase()) return undefined;
  }
  return params;
}
