/**
 * The local Functions host refuses what the real Functions host and its Event Grid extension refuse,
 * so nothing passes locally that would fail in Azure:
 * - aeg-event-type and the validation handshake: https://learn.microsoft.com/azure/event-grid/receive-events ,
 *   https://learn.microsoft.com/azure/event-grid/webhook-event-delivery
 * - CloudEvents 1.0 required attributes: https://learn.microsoft.com/azure/event-grid/cloud-event-schema
 *   (https://github.com/cloudevents/spec/blob/v1.0/spec.md#required-attributes)
 * - Event Grid schema required properties: https://learn.microsoft.com/azure/event-grid/event-schema
 * - keys: https://learn.microsoft.com/azure/azure-functions/function-keys-how-to and the
 *   `eventgrid_extension` system key: https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-grid-trigger#endpoint-url
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalHost, type LocalHost } from "../../local/host.js";
import { eventGridFunction, httpFunction, timerFunction, type FunctionDeclaration } from "../../functions/declaration.js";
import { startLocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { CALLERS, ids } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";
import { localEntra } from "../../local/localEntra.js";
import { httpAuthLevel } from "../../shared/wiring/config.js";

const invoked: Array<Record<string, unknown>> = [];
const declarations: FunctionDeclaration[] = [
  eventGridFunction("onEvent", async (event) => {
    invoked.push(event as Record<string, unknown>);
    if ((event as { id?: string }).id === "boom") throw new Error("boom");
  }),
  httpFunction("ping", ["GET", "POST"], "ping", async () => ({ status: 200, jsonBody: { pong: true } })),
  timerFunction("tick", "0 0 0 1 1 *", async () => undefined),
];

const lines: Array<Record<string, unknown>> = [];
const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
let open: LocalHost;
let keyed: LocalHost;

beforeAll(async () => {
  const common = { declarations, settings: {}, storageConnectionString: "UseDevelopmentStorage=true", log, maxBodyBytes: 1024 * 1024 };
  open = await startLocalHost(common);
  keyed = await startLocalHost({ ...common, functionKeys: ["fn-key-1"], eventGridSystemKey: "eg-system-key", masterKey: "master-key" });
});
afterAll(async () => {
  await open?.close();
  await keyed?.close();
});

function egEvent(id: string, extra: Record<string, unknown> = {}) {
  return { id, topic: "/subscriptions/x", subject: "/subscriptions/x/resourceGroups/rg", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: new Date().toISOString(), dataVersion: "2", metadataVersion: "1", data: {}, ...extra };
}
function cloudEvent(id: string, extra: Record<string, unknown> = {}) {
  return { specversion: "1.0", id, source: "/subscriptions/x", type: "Microsoft.Resources.ResourceWriteSuccess", time: new Date().toISOString(), data: {}, ...extra };
}

async function post(host: LocalHost, body: unknown, headers: Record<string, string>, url = host.eventGridUrl("onEvent")): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: response.status, body: await response.text() };
}
const NOTIFICATION = { "content-type": "application/json", "aeg-event-type": "Notification" };
const CLOUD = { "content-type": "application/cloudevents-batch+json; charset=utf-8" };

function takeInvoked(): string[] {
  return invoked.splice(0).map((e) => String(e.id));
}
function takeLines(): Array<Record<string, unknown>> {
  return lines.splice(0);
}

describe("Event Grid webhook", () => {
  it("refuses an Event Grid schema delivery without aeg-event-type (400), accepts it with Notification, and a CloudEvents request without it (receive-events)", async () => {
    takeInvoked();
    expect((await post(open, [egEvent("e1")], { "content-type": "application/json" })).status).toBe(400);
    expect(takeInvoked()).toEqual([]);
    expect((await post(open, [egEvent("e2")], NOTIFICATION)).status).toBe(200);
    expect((await post(open, [cloudEvent("c1")], CLOUD)).status).toBe(200);
    expect((await post(open, [egEvent("e3")], { ...NOTIFICATION, "aeg-event-type": "Something" })).status).toBe(400);
    expect((await post(open, [], { ...NOTIFICATION, "aeg-event-type": "Unsubscribe" })).status).toBe(202);
    expect(takeInvoked()).toEqual(["e2", "c1"]);
  });

  it("validates CloudEvents like the extension: specversion 1.0 and non-empty id, source, type (cloud-event-schema)", async () => {
    takeInvoked();
    takeLines();
    const batch = [
      cloudEvent("ok-1"),
      cloudEvent("old", { specversion: "0.3" }),
      cloudEvent("no-source", { source: undefined }),
      cloudEvent("", {}),
      cloudEvent("empty-type", { type: "" }),
      cloudEvent("ok-2"),
    ];
    const mixed = await post(open, batch, CLOUD);
    expect(mixed.status).toBe(200);
    expect(takeInvoked()).toEqual(["ok-1", "ok-2"]);
    const summary = takeLines().filter((l) => String(l.msg).includes("refused"));
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ refused: 4, total: 6 });
    expect(String(summary[0]!.msg)).toContain('specversion "0.3" is not "1.0"');
    // Nothing processable at all: 400, so Event Grid dead-letters it instead of retrying for 24 h.
    expect((await post(open, [cloudEvent("x", { specversion: "1.1" })], CLOUD)).status).toBe(400);
    expect(takeInvoked()).toEqual([]);
  });

  it("refuses Event Grid schema events missing id, subject, eventType or eventTime (event-schema), one summary line", async () => {
    takeInvoked();
    takeLines();
    const response = await post(open, [egEvent("good"), egEvent("bad-type", { eventType: 42 }), "not an object", egEvent("no-subject", { subject: undefined })], NOTIFICATION);
    expect(response.status).toBe(200);
    expect(takeInvoked()).toEqual(["good"]);
    expect(takeLines().filter((l) => String(l.msg).includes("refused 3 of 4"))).toHaveLength(1);
  });

  it("answers a validation event at the head of a batch and still processes the events after it (webhook-event-delivery)", async () => {
    takeInvoked();
    const validation = { id: "v1", topic: "/subscriptions/x", subject: "", eventType: "Microsoft.EventGrid.SubscriptionValidationEvent", eventTime: new Date().toISOString(), dataVersion: "2", metadataVersion: "1", data: { validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" } };
    const response = await post(open, [validation, egEvent("after-1"), egEvent("after-2")], NOTIFICATION);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ validationResponse: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" });
    expect(takeInvoked().sort()).toEqual(["after-1", "after-2"]);
    // The handshake on its own, as Event Grid sends it.
    const alone = await post(open, [validation], { ...NOTIFICATION, "aeg-event-type": "SubscriptionValidation" });
    expect(JSON.parse(alone.body)).toEqual({ validationResponse: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" });
    expect((await post(open, [{ ...validation, data: {} }], { ...NOTIFICATION, "aeg-event-type": "SubscriptionValidation" })).status).toBe(400);
    expect(takeInvoked()).toEqual([]);
  });

  it("answers 500 when an invocation throws, so Event Grid retries", async () => {
    takeInvoked();
    expect((await post(open, [egEvent("fine"), egEvent("boom")], NOTIFICATION)).status).toBe(500);
    expect(takeInvoked().sort()).toEqual(["boom", "fine"]);
  });

  it("one delivery of many tiny invalid events is refused quickly with one summarised log line, and the host keeps serving", async () => {
    takeInvoked();
    takeLines();
    const flood = JSON.stringify(Array.from({ length: 60_000 }, () => ({})));
    expect(flood.length).toBeLessThan(1024 * 1024);
    const [response, ping] = await Promise.all([post(open, flood, NOTIFICATION), fetch(`${open.url}/api/ping`)]);
    expect(response.status).toBe(400);
    expect(ping.status).toBe(200);
    const logged = takeLines();
    const summaries = logged.filter((l) => String(l.msg).includes("refused 60000 of 60000"));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.reasons).toHaveLength(3);
    expect(String(summaries[0]!.msg)).toContain("and 59997 more");
    expect(logged.length).toBeLessThan(5);
    // A valid event among them is still processed.
    const mixed = JSON.stringify([...Array.from({ length: 20_000 }, () => 1), egEvent("needle")]);
    expect((await post(open, mixed, NOTIFICATION)).status).toBe(200);
    expect(takeInvoked()).toEqual(["needle"]);
    expect(takeLines().filter((l) => String(l.msg).includes("refused 20000 of 20001"))).toHaveLength(1);
  });
});

describe("body limit", () => {
  it("answers 413 to a body over the limit and the next request on the same keep-alive connection still works", async () => {
    const small = await startLocalHost({ declarations, settings: {}, storageConnectionString: "UseDevelopmentStorage=true", log: pino({ level: "silent" }), maxBodyBytes: 1024 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: string) =>
      new Promise<{ status: number; body: string; reused: boolean; port: number }>((resolve, reject) => {
        const req = http.request(small.eventGridUrl("onEvent"), { method: "POST", agent, headers: { ...NOTIFICATION, "content-length": Buffer.byteLength(body) } }, (res) => {
          let text = "";
          const port = res.socket.localPort ?? 0; // the socket goes back to the agent at "end"
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, reused: req.reusedSocket, port }));
        });
        req.on("error", reject);
        req.end(body);
      });
    try {
      const big = await send(JSON.stringify([egEvent("big", { data: { padding: "x".repeat(64 * 1024) } })]));
      expect(big.status).toBe(413);
      const next = await send(JSON.stringify([egEvent("after-413")]));
      expect(next.status).toBe(200);
      expect(next.reused).toBe(true);
      expect(next.port).toBe(big.port);
      expect(invoked.splice(0).map((e) => e.id)).toEqual(["after-413"]);
    } finally {
      agent.destroy();
      await small.close();
    }
  });
});

describe("keys", () => {
  it("an authLevel function HTTP function needs a function key (x-functions-key or code) when keys are configured; without keys the host is open", async () => {
    expect((await fetch(`${open.url}/api/ping`)).status).toBe(200);
    expect((await fetch(`${keyed.url}/api/ping`)).status).toBe(401);
    expect((await fetch(`${keyed.url}/api/ping`, { headers: { "x-functions-key": "wrong" } })).status).toBe(401);
    expect((await fetch(`${keyed.url}/api/ping`, { headers: { "x-functions-key": "fn-key-1" } })).status).toBe(200);
    expect((await fetch(`${keyed.url}/api/ping?code=fn-key-1`)).status).toBe(200);
    expect((await fetch(`${keyed.url}/api/ping?code=master-key`)).status).toBe(200);
    expect((await fetch(`${keyed.url}/api/nope?code=fn-key-1`)).status).toBe(404);
  });

  it("the Event Grid webhook needs the eventgrid_extension system key as code when configured", async () => {
    takeInvoked();
    const bare = `${keyed.url}/runtime/webhooks/eventgrid?functionName=onEvent`;
    expect((await post(keyed, [egEvent("no-key")], NOTIFICATION, bare)).status).toBe(401);
    expect((await post(keyed, [egEvent("wrong-key")], NOTIFICATION, `${bare}&code=fn-key-1`)).status).toBe(401);
    expect(keyed.eventGridUrl("onEvent")).toContain("code=eg-system-key");
    expect((await post(keyed, [egEvent("with-key")], NOTIFICATION)).status).toBe(200);
    expect(takeInvoked()).toEqual(["with-key"]);
  });

  it("the admin endpoint needs the master key when one is configured", async () => {
    expect((await fetch(`${keyed.url}/admin/functions/tick`, { method: "POST" })).status).toBe(401);
    expect((await fetch(`${keyed.url}/admin/functions/tick`, { method: "POST", headers: { "x-functions-key": "fn-key-1" } })).status).toBe(401);
    expect((await fetch(`${keyed.url}/admin/functions/tick`, { method: "POST", headers: { "x-functions-key": "master-key" } })).status).toBe(202);
  });
});

describe("the local stack's keys, as in Azure", () => {
  it("the simulated Event Grid delivers with the system key; a forged event without it is 401 and names nobody; the API and /admin need their keys", async () => {
    const stack = await startLocalStack({ seed: caseStudySeed(undefined, new Date()), log: pino({ level: "silent" }) });
    try {
      const version = ids(stack).plantVersion;
      // Priya's write; Event Grid's event is held so that a forger's arrives first.
      stack.arm.events.holdForReorder(true);
      const body = structuredClone(stack.arm.estate.get(version)) as Record<string, any>;
      body.properties.publishingProfile.targetRegions = ["West Europe", "North Europe", "East US"].map((name) => ({ name, regionalReplicaCount: 1 }));
      await armWrite(stack.arm, CALLERS.priya, "PUT", version, { location: body.location, tags: body.tags, properties: body.properties });
      const forged = [
        {
          id: "forged-1",
          topic: `/subscriptions/${stack.subscriptionId}`,
          subject: version,
          eventType: "Microsoft.Resources.ResourceWriteSuccess",
          eventTime: new Date().toISOString(),
          dataVersion: "2",
          metadataVersion: "1",
          data: { operationName: "Microsoft.Compute/galleries/images/versions/write", resourceUri: version, status: "Succeeded", claims: { name: "Mallory Forger", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "mallory@evil.example" } },
        },
      ];
      const webhook = `${stack.host.url}/runtime/webhooks/eventgrid?functionName=eventGridResourceEvent`;
      const refused = await fetch(webhook, { method: "POST", headers: NOTIFICATION, body: JSON.stringify(forged) });
      expect(refused.status).toBe(401);
      expect(stack.host.stats().invocations.eventGridResourceEvent).toBeUndefined(); // nothing ran
      await stack.arm.events.flush();
      await waitUntilQuiet(stack);
      const cards = stack.inbox.cards().map((c) => JSON.stringify(c.card));
      expect(cards).toHaveLength(1);
      expect(cards[0]).toContain("Priya Patel");
      expect(cards[0]).not.toContain("Mallory");

      const api = `${stack.host.url}/api/changes?since=1d&caller=${encodeURIComponent("Mallory Forger")}`;
      expect((await fetch(api)).status).toBe(401);
      const changes = await fetch(api, { headers: { "x-functions-key": stack.keys.function } });
      expect(changes.status).toBe(200);
      expect(((await changes.json()) as { items: unknown[] }).items).toEqual([]);
      expect((await fetch(`${stack.host.url}/admin/functions/nightlySweep`, { method: "POST", headers: { "x-functions-key": stack.keys.function } })).status).toBe(401);
      expect((await fetch(`${stack.host.url}/admin/functions/redriveDeadLetters`, { method: "POST", headers: { "x-functions-key": stack.keys.master, "content-type": "application/json" }, body: "{}" })).status).toBe(202);
    } finally {
      await stack.close();
    }
  }, 90_000);
});

describe("App Service authentication (Entra ID) when GW_ENABLE_ENTRA_AUTH is true", () => {
  const clientId = "5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
  const entra = localEntra(clientId);
  const other = localEntra(clientId); // same claims, another signing key: a forged token
  let guarded: LocalHost;
  beforeAll(async () => {
    guarded = await startLocalHost({ declarations, settings: {}, storageConnectionString: "UseDevelopmentStorage=true", log, functionKeys: ["fn-key-1"], eventGridSystemKey: "eg-system-key", masterKey: "master-key", easyAuth: entra.model });
  });
  afterAll(async () => guarded?.close());
  const call = (token?: string, headers: Record<string, string> = {}) => fetch(`${guarded.url}/api/ping`, { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });

  it("the API needs a valid Entra token and no function key (authLevel anonymous behind Easy Auth); anything else is 401 and runs nothing", async () => {
    const refused = await call();
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await call(undefined, { "x-functions-key": "fn-key-1" })).status).toBe(401); // a key is no way around sign-in
    expect((await call(other.issueToken())).status).toBe(401); // signed by someone else
    expect((await call(entra.issueToken({ aud: "api://another-app" }))).status).toBe(401);
    expect((await call(entra.issueToken({ iss: "https://login.microsoftonline.com/evil/v2.0" }))).status).toBe(401);
    expect((await call(entra.issueToken({ exp: Math.floor(Date.now() / 1000) - 600 }))).status).toBe(401);
    expect((await call(`${entra.issueToken().split(".").slice(0, 2).join(".")}.`)).status).toBe(401); // unsigned
    expect((await call(entra.issueToken())).status).toBe(200);
    expect((await call(entra.issueToken({ aud: `api://${clientId}` }))).status).toBe(200);
  });

  it("the Event Grid webhook and /admin are excluded from Easy Auth and keep their keys", async () => {
    takeInvoked();
    const bare = `${guarded.url}/runtime/webhooks/eventgrid?functionName=onEvent`;
    expect((await post(guarded, [egEvent("no-key")], { ...NOTIFICATION, authorization: `Bearer ${entra.issueToken()}` }, bare)).status).toBe(401);
    expect((await post(guarded, [egEvent("with-key")], NOTIFICATION)).status).toBe(200);
    expect(takeInvoked()).toEqual(["with-key"]);
    expect((await fetch(`${guarded.url}/admin/functions/tick`, { method: "POST", headers: { authorization: `Bearer ${entra.issueToken()}` } })).status).toBe(401);
  });

  it("a local stack with the setting on models it end to end: Event Grid still delivers with its key, the API takes the token and no key", async () => {
    const stack = await startLocalStack({ seed: caseStudySeed(undefined, new Date()), log: pino({ level: "silent" }), settings: { GW_ENABLE_ENTRA_AUTH: "true", GW_ENTRA_CLIENT_ID: clientId } });
    try {
      const version = ids(stack).plantVersion;
      const body = structuredClone(stack.arm.estate.get(version)) as Record<string, any>;
      body.properties.publishingProfile.targetRegions = ["West Europe", "North Europe", "East US"].map((name) => ({ name, regionalReplicaCount: 1 }));
      await armWrite(stack.arm, CALLERS.priya, "PUT", version, { location: body.location, tags: body.tags, properties: body.properties });
      await waitUntilQuiet(stack);
      expect(stack.inbox.cards()).toHaveLength(1);
      const api = `${stack.host.url}/api/resources/history?id=${encodeURIComponent(version)}`;
      expect((await fetch(api, { headers: { "x-functions-key": stack.keys.function } })).status).toBe(401);
      expect((await fetch(api, { headers: { authorization: `Bearer ${stack.issueToken!()}` } })).status).toBe(200);
    } finally {
      await stack.close();
    }
  }, 90_000);

  it("the functions' authLevel follows the setting: anonymous only for exactly true", () => {
    expect(httpAuthLevel({ GW_ENABLE_ENTRA_AUTH: "true" })).toBe("anonymous");
    expect(httpAuthLevel({ GW_ENABLE_ENTRA_AUTH: " TRUE " })).toBe("anonymous");
    for (const value of [undefined, "", "false", "yes", "1"]) expect(httpAuthLevel({ GW_ENABLE_ENTRA_AUTH: value })).toBe("function");
  });
});
