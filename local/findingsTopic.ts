/**
 * A simulated Event Grid custom topic for the findings feed, over HTTPS with its own self-signed
 * certificate (the publisher's Entra ID token is sent only over TLS, as @azure/core-rest-pipeline
 * insists). It accepts what Event Grid's CloudEvents input does ("Event Grid's CloudEvents 1.0
 * schema": POST `/api/events`, `application/cloudevents-batch+json`, a JSON array of events, at
 * most 1 MB, a bearer token) and refuses what it would: an event that is not schema-valid
 * CloudEvents 1.0 is a 400 and nothing of the batch is kept. Faults (500, 429 with Retry-After,
 * 404, a hang) are injected per request, as the Teams inbox does for cards.
 */
import https from "node:https";
import type { AddressInfo } from "node:net";
import { localhostCertificate } from "./localTls.js";
import { scriptedFaults, type FaultControl } from "./scriptedFaults.js";
import { cloudEventProblem, MAX_BATCH_BYTES } from "../shared/views/findingsFeed.js";

export interface ReceivedEvent {
  readonly receivedAt: string;
  readonly event: Record<string, unknown>;
}

export interface FindingsTopic {
  /** The topic endpoint, for GW_FINDINGS_TOPIC_ENDPOINT. */
  readonly endpoint: string;
  /** The certificate to trust for it (GW_FINDINGS_TOPIC_CA_CERT_FILE). */
  readonly caCertPem: string;
  /** Every event accepted, in arrival order (a re-published one appears again). */
  events(): ReceivedEvent[];
  /** Every publish request, accepted or not, with the status answered (0: no answer). */
  attempts(): ReadonlyArray<{ at: string; status: number; events: number }>;
  readonly faults: FaultControl;
  close(): Promise<void>;
}

export async function startFindingsTopic(options: { port?: number } = {}): Promise<FindingsTopic> {
  const pems = await localhostCertificate();
  const received: ReceivedEvent[] = [];
  const attempts: Array<{ at: string; status: number; events: number }> = [];
  const faults = scriptedFaults();

  const answer = (res: import("node:http").ServerResponse, status: number, error?: { code: string; message: string }, headers: Record<string, string> = {}) => {
    res.writeHead(status, { ...(error ? { "content-type": "application/json" } : {}), ...headers });
    res.end(error ? JSON.stringify({ error }) : undefined);
  };

  const server = https.createServer({ key: pems.private, cert: pems.cert, keepAlive: true }, async (req, res) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    if (req.method === "GET" && url.pathname === "/events.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      return void res.end(JSON.stringify(received.map((r) => ({ receivedAt: r.receivedAt, ...r.event })).reverse()));
    }
    if (req.method !== "POST" || url.pathname !== "/api/events") return answer(res, 404, { code: "NotFound", message: "no such topic path" });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const at = new Date().toISOString();
    const hang = faults.nextHang();
    if (hang !== undefined) {
      await new Promise((r) => setTimeout(r, hang));
      attempts.push({ at, status: 0, events: 0 });
      return void req.socket.destroy();
    }
    const failure = faults.nextFailure();
    if (failure) {
      attempts.push({ at, status: failure.status, events: 0 });
      return answer(res, failure.status, { code: "Injected", message: `injected ${failure.status}` }, failure.retryAfterSeconds !== undefined ? { "retry-after": String(failure.retryAfterSeconds) } : {});
    }
    const refuse = (status: number, code: string, message: string) => {
      attempts.push({ at, status, events: 0 });
      answer(res, status, { code, message });
    };
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? "")) return refuse(401, "Unauthorized", "a bearer token is required");
    if (body.length > MAX_BATCH_BYTES) return refuse(413, "RequestEntityTooLarge", `the request is ${body.length} bytes; at most ${MAX_BATCH_BYTES}`);
    if (!/^application\/cloudevents-batch\+json\b/.test(req.headers["content-type"] ?? "")) return refuse(400, "BadRequest", `content type '${req.headers["content-type"] ?? ""}' is not application/cloudevents-batch+json`);
    let events: unknown;
    try {
      events = JSON.parse(body.toString("utf8"));
    } catch {
      return refuse(400, "BadRequest", "the body is not JSON");
    }
    if (!Array.isArray(events) || events.length === 0) return refuse(400, "BadRequest", "the body must be a non-empty JSON array of CloudEvents");
    for (const [i, event] of events.entries()) {
      const problem = cloudEventProblem(event);
      if (problem) return refuse(400, "BadRequest", `event ${i}: ${problem}`);
    }
    attempts.push({ at, status: 200, events: events.length });
    for (const event of events as Record<string, unknown>[]) received.push({ receivedAt: at, event });
    answer(res, 200);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint: `${base}/api/events`,
    caCertPem: pems.cert,
    events: () => [...received],
    attempts: () => [...attempts],
    faults: faults.control,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
