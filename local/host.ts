/**
 * A local Functions host: Core Tools cannot be installed here and `@azure/functions` discards
 * `app.*` registrations outside the Functions runtime, so this serves the same
 * `FunctionDeclaration`s the way the runtime does:
 * - Event Grid webhook `POST /runtime/webhooks/eventgrid?functionName=NAME`, as strict as the
 *   Event Grid extension (see `eventGridDelivery` below): `aeg-event-type` required for Event Grid
 *   schema deliveries, envelopes validated (refusals summarised in one log line per delivery), the
 *   subscription validation handshake (Event Grid schema) and the CloudEvents abuse-protection
 *   OPTIONS; one invocation per event; 500 when any invocation threw (Event Grid then retries);
 *   the `eventgrid_extension` system key required as `code` when configured.
 * - Bodies over the limit get 413 and the connection stays usable (the rest of the body is drained;
 *   a body far over the limit gets `Connection: close` instead).
 * - Keys when configured: `authLevel: function` HTTP functions (all of ours, see functions/index.ts)
 *   need a function key as `x-functions-key` or `?code=`; without keys the host is open, like Core
 *   Tools locally (https://learn.microsoft.com/azure/azure-functions/function-keys-how-to).
 * - App Service authentication ("Easy Auth") when `easyAuth` is given, as infra/app/function.bicep
 *   configures it with GW_ENABLE_ENTRA_AUTH: the HTTP API is `authLevel: anonymous` (no function key)
 *   behind it, and a request without a valid bearer token (signature, issuer, audience, lifetime)
 *   is 401 before any function runs (`unauthenticatedClientAction: Return401`); the Event Grid
 *   webhook and `/admin` are its `excludedPaths` and keep their keys.
 * - Timers on their NCRONTAB schedules (croner), never overlapping themselves.
 * - Storage-queue triggers polling Azurite: Base64 messages, retried, poisoned after 5 dequeues.
 * - HTTP triggers under `/api/<route>`; `POST /admin/functions/NAME` runs a non-HTTP function now.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, randomUUID, timingSafeEqual, verify, type KeyObject } from "node:crypto";
import functions from "@azure/functions";
import type { HttpMethod, InvocationContext as Context } from "@azure/functions";
import { QueueClient, type DequeuedMessageItem } from "@azure/storage-queue";
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
  /**
   * Event Grid, HTTP and timer invocations running at once, like Flex Consumption's per-instance
   * HTTP concurrency (default 16). Each queue trigger is bounded by its own batches instead (16,
   * and 8 more once half are done), as in the Functions host, so a queue's backlog never holds these slots.
   */
  readonly maxConcurrency?: number;
  /** Function keys: when given, every HTTP function (`authLevel: function`) needs one; when absent the host is open, like Core Tools. */
  readonly functionKeys?: readonly string[];
  /** The `eventgrid_extension` system key: when given, the Event Grid webhook needs it as `?code=` (Event Grid's subscription URL carries it). */
  readonly eventGridSystemKey?: string;
  /** The master key: accepted wherever a key is; when given, `/admin/functions/*` needs it as `x-functions-key`. */
  readonly masterKey?: string;
  /** App Service authentication in front of the HTTP API (see above); replaces `functionKeys` there. */
  readonly easyAuth?: EasyAuthModel;
}

/** What Easy Auth checks of an Entra ID token, with the local stand-in for Entra's signing key. */
export interface EasyAuthModel {
  /** The token issuer (`https://login.microsoftonline.com/<tenant>/v2.0` in Azure). */
  readonly issuer: string;
  /** `allowedAudiences`: `api://<client id>` and the client id. */
  readonly audiences: readonly string[];
  /** Verifies RS256 signatures (Entra's keys in Azure; the local stack's own key here). */
  readonly publicKey: KeyObject;
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
/** host.json `extensions.queues.batchSize`, and the Functions host's default `newBatchThreshold` (half of it). */
const BATCH_SIZE = 16;
const NEW_BATCH_THRESHOLD = BATCH_SIZE / 2;
/** A body over the limit is read and discarded up to this much more, so the keep-alive connection survives; beyond it the connection is closed. */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;
/** Reasons quoted in the one log line summarising a delivery's refused events. */
const REASONS_QUOTED = 3;

type Body = { readonly text: string } | { readonly tooLarge: true; readonly close: boolean };

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

  /**
   * The request body, or "too large". Over the limit the rest is still read and discarded (bounded by
   * DRAIN_LIMIT_BYTES), so the 413 goes out on a connection the client can keep using; breaking off
   * mid-body would leave the unread bytes to be parsed as the next request, or reset the socket.
   */
  function readBody(req: http.IncomingMessage): Promise<Body> {
    return new Promise((resolve, reject) => {
      const declared = Number(req.headers["content-length"]);
      if (Number.isFinite(declared) && declared > maxBody + DRAIN_LIMIT_BYTES) return resolve({ tooLarge: true, close: true });
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      let settled = false;
      const settle = (body: Body) => {
        if (settled) return;
        settled = true;
        resolve(body);
      };
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (!over && size > maxBody) {
          over = true;
          chunks.length = 0;
        }
        if (!over) chunks.push(chunk);
        else if (size > maxBody + DRAIN_LIMIT_BYTES) settle({ tooLarge: true, close: true });
      });
      req.once("end", () => settle(over ? { tooLarge: true, close: false } : { text: Buffer.concat(chunks).toString("utf8") }));
      req.once("error", (error) => (settled ? undefined : reject(error)));
    });
  }

  function tooLarge(res: http.ServerResponse, body: Extract<Body, { tooLarge: true }>, what: string): void {
    options.log.warn({ what }, `${what} refused: body over ${maxBody} bytes`);
    res.writeHead(413, { "content-type": "application/json", ...(body.close ? { connection: "close" } : {}) });
    res.end(JSON.stringify({ error: `body over ${maxBody} bytes` }));
    // Far over the limit: the client is still sending; end the connection once the answer is out.
    if (body.close) res.once("finish", () => res.socket?.destroy());
  }

  const keyOk = (given: string | null | undefined, keys: ReadonlyArray<string | undefined>) => given != null && given !== "" && keys.some((key) => key !== undefined && sameSecret(given, key));

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const reply = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };

    if (url.pathname === "/runtime/webhooks/eventgrid") {
      // System keys guard the extension's webhook; Event Grid's subscription URL carries `code`.
      if (options.eventGridSystemKey !== undefined && !keyOk(url.searchParams.get("code"), [options.eventGridSystemKey, options.masterKey])) return reply(401);
      const name = url.searchParams.get("functionName") ?? "";
      const declaration = byName.get(name.toLowerCase());
      if (!declaration || declaration.trigger.kind !== "eventGrid") return reply(404, { error: `no Event Grid function named '${name.slice(0, 100)}'` });
      if (req.method === "OPTIONS") {
        // CloudEvents abuse protection (https://github.com/cloudevents/spec/blob/v1.0/http-webhook.md#4-abuse-protection)
        const origin = String(req.headers["webhook-request-origin"] ?? "");
        return reply(200, undefined, origin ? { "WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*" } : {});
      }
      if (req.method !== "POST") return reply(405);
      const body = await readBody(req);
      if ("tooLarge" in body) return tooLarge(res, body, `Event Grid delivery to ${declaration.name}`);
      const delivery = eventGridDelivery(req.headers, body.text);
      if (delivery.kind === "refused") {
        options.log.warn({ functionName: declaration.name }, `Event Grid delivery to ${declaration.name} refused: ${delivery.reason}`);
        return reply(delivery.status, { error: delivery.reason });
      }
      if (delivery.kind === "unsubscribe") return reply(202);
      const { events, refused, total, validationCode } = delivery;
      if (refused.length > 0) {
        // One line per delivery, however many events it carried: a flood of bad events must not become a flood of log lines.
        const quoted = refused.slice(0, REASONS_QUOTED).map((r) => `${r.id ?? `#${r.index}`}: ${r.reason}`);
        options.log.warn(
          { functionName: declaration.name, refused: refused.length, total, reasons: quoted },
          `Event Grid delivery to ${declaration.name}: refused ${refused.length} of ${total} event(s) — ${quoted.join("; ")}${refused.length > REASONS_QUOTED ? `; and ${refused.length - REASONS_QUOTED} more` : ""}`,
        );
      }
      let failed = 0;
      // The extension dispatches every event of the batch at once; the host's concurrency bounds it. Chunks keep memory flat.
      for (let i = 0; i < events.length; i += 256) {
        await Promise.all(
          events.slice(i, i + 256).map((event) =>
            run(declaration, event, { eventId: (event as { id?: unknown }).id }).catch(() => {
              failed++;
            }),
          ),
        );
      }
      if (failed > 0) return reply(500, { error: `${failed} of ${events.length} event(s) failed; Event Grid will retry` });
      if (validationCode !== undefined) {
        options.log.info({ functionName: declaration.name }, `Event Grid subscription validation handshake for ${declaration.name}`);
        return reply(200, { validationResponse: validationCode });
      }
      // Nothing in the delivery could be processed: 400 tells Event Grid not to retry (it dead-letters instead).
      if (events.length === 0 && refused.length > 0) return reply(400, { error: `all ${refused.length} event(s) refused: ${refused[0]!.reason}` });
      return reply(200);
    }

    const admin = /^\/admin\/functions\/([^/]+)$/.exec(url.pathname);
    if (admin && req.method === "POST") {
      // Admin APIs take the master key (https://learn.microsoft.com/azure/azure-functions/functions-manually-run-non-http).
      if (options.masterKey !== undefined && !keyOk(header(req, "x-functions-key"), [options.masterKey])) return reply(401);
      const declaration = byName.get(decodeURIComponent(admin[1]!).toLowerCase());
      if (!declaration || declaration.trigger.kind === "http") return reply(404, { error: "no such non-HTTP function" });
      const body = await readBody(req);
      if ("tooLarge" in body) return tooLarge(res, body, `admin invocation of ${declaration.name}`);
      let input: string | undefined;
      try {
        input = body.text ? ((JSON.parse(body.text) as { input?: string }).input ?? undefined) : undefined;
      } catch {
        return reply(400, { error: "body is not JSON" });
      }
      void run(declaration, input === undefined ? undefined : safeJson(input)).catch(() => undefined);
      return reply(202);
    }

    if (url.pathname.startsWith("/api/")) {
      const route = url.pathname.slice(5);
      for (const declaration of options.declarations) {
        if (declaration.trigger.kind !== "http") continue;
        const params = matchRoute(declaration.trigger.route, route);
        if (!params || !declaration.trigger.methods.includes((req.method ?? "GET") as HttpMethod)) continue;
        if (options.easyAuth) {
          // Easy Auth answers before the host: no valid token, no invocation; authLevel is anonymous behind it.
          const problem = bearerProblem(header(req, "authorization"), options.easyAuth);
          if (problem) {
            options.log.warn({ functionName: declaration.name }, `request refused by App Service authentication: ${problem}`);
            return reply(401, undefined, { "WWW-Authenticate": `Bearer realm="${url.host}"` });
          }
        } else if (options.functionKeys !== undefined) {
          // authLevel: function — a function key (or the master key) as header or `code` query.
          if (!keyOk(header(req, "x-functions-key") ?? url.searchParams.get("code"), [...options.functionKeys, options.masterKey])) return reply(401);
        }
        const body = await readBody(req);
        if ("tooLarge" in body) return tooLarge(res, body, `HTTP request to ${declaration.name}`);
        const text = body.text;
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
    // As the Functions host's queue trigger: a batch of `batchSize` messages, and the next batch is
    // fetched once the messages still being processed are down to `newBatchThreshold` (half the
    // batch size by default), not when the whole batch is done (Learn, "Azure Queue storage
    // trigger for Azure Functions", host.json settings): one slow message does not hold the rest.
    let processing = 0;
    let awaitingThreshold = false;
    const next = (ms: number) => {
      if (closing) return;
      if (processing > NEW_BATCH_THRESHOLD) awaitingThreshold = true;
      else timer = setTimeout(() => void poll(), ms);
    };
    const handleMessage = async (message: DequeuedMessageItem) => {
      const text = Buffer.from(message.messageText, "base64").toString();
      try {
        await invoke(declaration, safeJson(text), { dequeueCount: message.dequeueCount, id: message.messageId });
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
    };
    const poll = async () => {
      pendingPolls++;
      try {
        const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: BATCH_SIZE, visibilityTimeout: 30 });
        delay = receivedMessageItems.length > 0 ? 50 : Math.min(1000, delay * 2);
        for (const message of receivedMessageItems) {
          processing++;
          pendingPolls++;
          void handleMessage(message)
            .catch((error: unknown) => (closing ? undefined : options.log.warn({ queue: queueName, err: error }, "queue message handling failed")))
            .finally(() => {
              processing--;
              pendingPolls--;
              if (awaitingThreshold && processing <= NEW_BATCH_THRESHOLD && !closing) {
                awaitingThreshold = false;
                timer = setTimeout(() => void poll(), 0);
              }
            });
        }
      } catch (error) {
        if (!closing) options.log.warn({ queue: queueName, err: error }, "queue poll failed");
      } finally {
        pendingPolls--;
        next(delay);
      }
    };
    timer = setTimeout(() => void poll(), 0);
    stops.push(() => clearTimeout(timer));
  }

  return {
    url,
    eventGridUrl: (functionName) =>
      `${url}/runtime/webhooks/eventgrid?functionName=${encodeURIComponent(functionName)}${options.eventGridSystemKey !== undefined ? `&code=${encodeURIComponent(options.eventGridSystemKey)}` : ""}`,
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

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Constant-time comparison of two secrets of any length. */
function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Why App Service authentication would refuse this Authorization header, or undefined for a valid
 * token: a `Bearer` JWT signed RS256 by the issuer's key, from the configured issuer, for one of the
 * allowed audiences, within its lifetime (5 minutes' clock skew, as Entra's token validation allows).
 * node:crypto checks the signature: the model needs RS256 with one known key, no JOSE library.
 */
export function bearerProblem(authorization: string | undefined, model: EasyAuthModel, now = Date.now()): string | undefined {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (!token) return "no bearer token";
  const parts = token.split(".");
  if (parts.length !== 3) return "not a JWT";
  const [head, body, signature] = parts as [string, string, string];
  let header: { alg?: unknown };
  let claims: { iss?: unknown; aud?: unknown; exp?: unknown; nbf?: unknown };
  try {
    header = JSON.parse(Buffer.from(head, "base64url").toString("utf8")) as typeof header;
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as typeof claims;
  } catch {
    return "not a JWT";
  }
  if (header.alg !== "RS256") return `algorithm ${String(header.alg).slice(0, 10)} is not RS256`;
  let signed = false;
  try {
    signed = verify("RSA-SHA256", Buffer.from(`${head}.${body}`), model.publicKey, Buffer.from(signature, "base64url"));
  } catch {
    signed = false;
  }
  if (!signed) return "bad signature";
  if (claims.iss !== model.issuer) return "wrong issuer";
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.some((aud) => typeof aud === "string" && model.audiences.includes(aud))) return "wrong audience";
  const skewS = 300;
  const nowS = now / 1000;
  if (typeof claims.exp !== "number" || claims.exp + skewS < nowS) return "expired";
  if (typeof claims.nbf === "number" && claims.nbf - skewS > nowS) return "not yet valid";
  return undefined;
}

const VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent";

type Delivery =
  | { readonly kind: "refused"; readonly status: 400; readonly reason: string }
  | { readonly kind: "unsubscribe" }
  | {
      readonly kind: "events";
      /** Events that passed envelope validation, in delivery order, validation events excluded. */
      readonly events: readonly Record<string, unknown>[];
      readonly refused: ReadonlyArray<{ readonly index: number; readonly id?: string; readonly reason: string }>;
      readonly total: number;
      /** Present when the delivery carried a subscription validation event. */
      readonly validationCode?: string;
    };

/**
 * What the Event Grid extension's webhook makes of a request
 * (https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-grid-trigger ,
 * https://learn.microsoft.com/azure/event-grid/receive-events):
 * - `aeg-event-type` says what it is: `Notification`, `SubscriptionValidation` or `Unsubscribe`.
 *   Event Grid sends it with every delivery; without it an Event Grid schema request is not an Event
 *   Grid delivery (400). A CloudEvents request (`application/cloudevents+json` or
 *   `…cloudevents-batch+json`) may come from any CloudEvents producer and needs no header.
 * - A JSON array is a batch; a JSON object a single (CloudEvents) event.
 * - Each event's envelope is validated the way the typed bindings do (`EventGridEvent` / `CloudEvent`
 *   parse; the same checks as @azure/eventgrid's `validateEventGridEvent` / `validateCloudEventEvent`):
 *   Event Grid schema needs `id`, `subject`, `eventType`, `eventTime` strings
 *   (https://learn.microsoft.com/azure/event-grid/event-schema); CloudEvents needs `specversion`
 *   "1.0" and non-empty `id`, `source`, `type` (https://github.com/cloudevents/spec/blob/v1.0/spec.md#required-attributes ,
 *   https://learn.microsoft.com/azure/event-grid/cloud-event-schema). An event that fails is refused,
 *   not invoked; the others in the delivery still are.
 * - A subscription validation event is answered (its `validationCode`), never passed to the function,
 *   and does not swallow the events after it. Real Event Grid sends it alone.
 */
function eventGridDelivery(headers: http.IncomingHttpHeaders, text: string): Delivery {
  const eventType = String(headers["aeg-event-type"] ?? "").toLowerCase();
  const cloudContent = /^application\/cloudevents(-batch)?\+json/i.test(String(headers["content-type"] ?? ""));
  if (eventType === "unsubscribe") return { kind: "unsubscribe" };
  if (eventType === "" && !cloudContent) return { kind: "refused", status: 400, reason: "no aeg-event-type header: not an Event Grid delivery (Event Grid sends aeg-event-type: Notification)" };
  if (eventType !== "" && eventType !== "notification" && eventType !== "subscriptionvalidation") return { kind: "refused", status: 400, reason: `aeg-event-type '${eventType.slice(0, 40)}' is not Notification or SubscriptionValidation` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: "refused", status: 400, reason: "body is not JSON" };
  }
  if (parsed === null || typeof parsed !== "object") return { kind: "refused", status: 400, reason: `body is a JSON ${parsed === null ? "null" : typeof parsed}, not an event or a batch` };
  const batch: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
  const events: Record<string, unknown>[] = [];
  const refused: Array<{ index: number; id?: string; reason: string }> = [];
  let validationCode: string | undefined;
  batch.forEach((item, index) => {
    const event = item !== null && typeof item === "object" && !Array.isArray(item) ? (item as Record<string, unknown>) : undefined;
    const id = typeof event?.id === "string" ? event.id.slice(0, 64) : undefined;
    if (event?.eventType === VALIDATION_EVENT) {
      const code = (event.data as { validationCode?: unknown } | undefined)?.validationCode;
      if (typeof code === "string" && code.length > 0 && code.length <= 256) validationCode ??= code;
      else refused.push({ index, ...(id ? { id } : {}), reason: "subscription validation event without data.validationCode" });
      return;
    }
    const reason = !event ? `not an event object (a JSON ${item === null ? "null" : Array.isArray(item) ? "array" : typeof item})` : cloudContent || "specversion" in event ? cloudEventProblem(event) : eventGridEventProblem(event);
    if (reason) refused.push({ index, ...(id ? { id } : {}), reason });
    else events.push(event!);
  });
  if (eventType === "subscriptionvalidation" && validationCode === undefined) return { kind: "refused", status: 400, reason: "SubscriptionValidation delivery without a validation event carrying data.validationCode" };
  return { kind: "events", events, refused, total: batch.length, ...(validationCode !== undefined ? { validationCode } : {}) };
}

function eventGridEventProblem(event: Record<string, unknown>): string | undefined {
  for (const key of ["id", "subject", "eventType", "eventTime"] as const) {
    if (typeof event[key] !== "string") return `Event Grid schema: '${key}' is ${event[key] === undefined ? "missing" : `a ${typeof event[key]}, not a string`}`;
  }
  if (event.id === "" || event.eventType === "") return "Event Grid schema: 'id' and 'eventType' must not be empty";
  return undefined;
}

function cloudEventProblem(event: Record<string, unknown>): string | undefined {
  if (event.specversion !== "1.0") return `CloudEvents: specversion ${JSON.stringify(event.specversion ?? null).slice(0, 20)} is not "1.0"`;
  for (const key of ["id", "source", "type"] as const) {
    if (typeof event[key] !== "string" || event[key] === "") return `CloudEvents: required attribute '${key}' is ${event[key] === undefined ? "missing" : "not a non-empty string"}`;
  }
  return undefined;
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
