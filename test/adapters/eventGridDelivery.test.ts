/**
 * The simulated Event Grid delivers like Event Grid: the documented headers, the documented retry
 * schedule and retry policy, no retry for the codes Event Grid never retries, and dead letters in
 * the documented format and blob layout — never a dropped event.
 *
 * Sources:
 * - https://learn.microsoft.com/azure/event-grid/delivery-properties and
 *   https://learn.microsoft.com/azure/event-grid/receive-events (the aeg-* headers)
 * - https://learn.microsoft.com/azure/event-grid/delivery-and-retry (schedule, policy, codes not retried, dead letters)
 * - https://learn.microsoft.com/azure/event-grid/manage-event-delivery#dead-letter-event-format
 * - https://learn.microsoft.com/azure/event-grid/event-schema-subscriptions (resource_action_success example)
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { EventEmitter, RETRY_JITTER, RETRY_SCHEDULE_MS, retryDelayMs, type DeliveryClock, type EventGridEvent, type EventSink } from "../../local/armSimulator/events.js";
import type { DeadLetterStore } from "../../shared/app/deadLetterPorts.js";
import { createBlobDeadLetterStore } from "../../shared/adapters/blobs/blobDeadLetters.js";

const SUB = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a";
const GALLERY = `/subscriptions/${SUB}/resourceGroups/rg-dl/providers/Microsoft.Compute/galleries/dlGallery`;

interface Received {
  headers: http.IncomingHttpHeaders;
  body: any;
}
let received: Received[] = [];
/** Status the receiver answers with, per request (index = request number); the last one repeats. */
let statuses: number[] = [200];
let receiver: http.Server;
let receiverUrl = "";

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      const status = statuses[Math.min(received.length, statuses.length - 1)]!;
      received.push({ headers: req.headers, body: JSON.parse(text) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/events`;
});
afterAll(async () => {
  await new Promise<void>((r) => receiver.close(() => r()));
});

function reset(answers: number[]): void {
  received = [];
  statuses = answers;
}

function writeEvent(overrides: Partial<EventGridEvent> = {}): EventGridEvent {
  return {
    id: randomUUID(),
    topic: `/subscriptions/${SUB}`,
    subject: GALLERY,
    eventType: "Microsoft.Resources.ResourceWriteSuccess",
    eventTime: new Date().toISOString(),
    dataVersion: "2",
    metadataVersion: "1",
    data: { operationName: "Microsoft.Compute/galleries/write", resourceUri: GALLERY, status: "Succeeded", authorization: { scope: GALLERY, action: "Microsoft.Compute/galleries/write" } },
    ...overrides,
  };
}

/** A clock that only moves when the emitter sleeps: 24 h of schedule in milliseconds, exactly. */
function virtualClock(): { clock: DeliveryClock; sleeps: number[] } {
  let now = Date.parse("2025-03-01T00:00:00Z");
  const sleeps: number[] = [];
  return {
    sleeps,
    clock: {
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
        await new Promise((r) => setImmediate(r));
      },
    },
  };
}

/** An in-memory dead-letter container. */
function memoryStore(): DeadLetterStore & { blobs: Map<string, unknown[]> } {
  const blobs = new Map<string, unknown[]>();
  return {
    container: "memory",
    blobs,
    write: async (name, events) => void blobs.set(name, [...events]),
    list: async () => [...blobs.keys()],
    read: async (name) => ({ name, events: blobs.get(name) ?? [] }),
    settle: async (name) => void blobs.delete(name),
  };
}

const sink = (schema: EventSink["schema"]): EventSink => ({ url: receiverUrl, schema });

/** Every blob in an Azurite dead-letter container, read through the adapter. */
async function deadLetterBlobs(connectionString: string, container: string) {
  const store = createBlobDeadLetterStore({ connectionString }, container);
  return Promise.all((await store.list(100)).map((name) => store.read(name)));
}

describe("delivery headers (delivery-properties, receive-events)", () => {
  it.each(["EventGridSchema", "CloudEventSchemaV1_0"] as const)("%s: aeg-event-type Notification, delivery count from 0, upper-case subscription name, data and metadata versions", async (schema) => {
    reset([503, 200]);
    const emitter = new EventEmitter(sink(schema), { subscriptionName: "gallery-Watch-dev", timeScale: 1 / 1000 });
    emitter.emit(writeEvent());
    await emitter.idle();
    expect(received).toHaveLength(2);
    for (const [i, { headers }] of received.entries()) {
      expect(headers["aeg-event-type"]).toBe("Notification");
      expect(headers["aeg-delivery-count"]).toBe(String(i));
      expect(headers["aeg-subscription-name"]).toBe("GALLERY-WATCH-DEV");
      expect(headers["aeg-data-version"]).toBe("2");
      expect(headers["aeg-metadata-version"]).toBe("1");
    }
    if (schema === "CloudEventSchemaV1_0") {
      expect(received[0]!.headers["content-type"]).toMatch(/^application\/cloudevents-batch\+json/);
      expect(received[0]!.body[0]).toMatchObject({ specversion: "1.0", type: "Microsoft.Resources.ResourceWriteSuccess", source: `/subscriptions/${SUB}`, subject: GALLERY });
    } else {
      expect(received[0]!.headers["content-type"]).toMatch(/^application\/json/);
      expect(received[0]!.body[0]).toMatchObject({ eventType: "Microsoft.Resources.ResourceWriteSuccess", subject: GALLERY, dataVersion: "2", metadataVersion: "1" });
    }
    expect(emitter.sent).toHaveLength(1);
    expect(emitter.sent[0]!.attempts).toBe(2);
  });

  it("keeps `new EventEmitter(sink)` working for existing callers, defaulting the subscription name to gallery-watch (infra/watch/eventSubscription.bicep)", async () => {
    reset([200]);
    const emitter = new EventEmitter(sink("EventGridSchema"));
    emitter.emit(writeEvent());
    await emitter.idle();
    expect(received[0]!.headers["aeg-subscription-name"]).toBe("GALLERY-WATCH");
    expect(received[0]!.headers["aeg-delivery-count"]).toBe("0");
    const silent = new EventEmitter(undefined);
    silent.emit(writeEvent());
    await silent.idle();
    expect(silent.sent).toHaveLength(0);
  });

  it("an action event's subject is the target resource, like Learn's resource_action_success example, with the fixture's envelope", async () => {
    reset([200]);
    const fixture = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../../shared/fixtures/eventgrid/ResourceDeleteSuccess.eventgrid.json"), "utf8")) as Array<Record<string, unknown>>;
    const emitter = new EventEmitter(sink("EventGridSchema"));
    emitter.emit(
      writeEvent({
        eventType: "Microsoft.Resources.ResourceActionSuccess",
        subject: `${GALLERY}/share`,
        data: { operationName: "Microsoft.Compute/galleries/share/action", resourceUri: `${GALLERY}/share`, status: "Succeeded", authorization: { scope: GALLERY, action: "Microsoft.Compute/galleries/share/action" } },
      }),
    );
    await emitter.idle();
    const event = received[0]!.body[0] as Record<string, any>;
    expect(event.subject).toBe(GALLERY);
    expect(event.data.resourceUri).toBe(GALLERY);
    expect(event.data.operationName).toBe("Microsoft.Compute/galleries/share/action");
    expect(Object.keys(event).sort()).toEqual(Object.keys(fixture[0]!).sort());
  });
});

describe("retry schedule and policy (delivery-and-retry)", () => {
  it("retries after 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, 12 h and dead-letters when the 24 h time to live runs out", async () => {
    reset([503]);
    const { clock, sleeps } = virtualClock();
    const store = memoryStore();
    const emitter = new EventEmitter(sink("EventGridSchema"), { clock, random: () => 0.5, deadLetter: { store } });
    const event = writeEvent();
    emitter.emit(event);
    await emitter.idle();
    const at = emitter.attempts.map((a) => a.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // Ten waits, eleven attempts: the 12th would fall after 24 h (82 000 s + 12 h > 86 400 s).
    expect(gaps).toEqual([...RETRY_SCHEDULE_MS, 43_200_000]);
    expect(emitter.attempts.map((a) => a.deliveryCount)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(received.map((r) => r.headers["aeg-delivery-count"])).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    // Then it waits out the time to live, and 5 minutes more before writing the dead letter.
    expect(sleeps.slice(-2)).toEqual([86_400_000 - 82_000_000, 300_000]);
    expect(emitter.deadLettered).toMatchObject([{ id: event.id, reason: "TimeToLiveExceeded", attempts: 11, lastHttpStatusCode: 503, lastDeliveryOutcome: "ServiceUnavailable" }]);
    expect(store.blobs.size).toBe(1);
  });

  it("stops at the subscription's max delivery attempts (MaxDeliveryAttemptsExceeded), whichever of attempts and time to live comes first", async () => {
    reset([500]);
    const { clock } = virtualClock();
    const store = memoryStore();
    const emitter = new EventEmitter(sink("EventGridSchema"), { clock, random: () => 0.5, maxDeliveryAttempts: 3, deadLetter: { store } });
    emitter.emit(writeEvent());
    await emitter.idle();
    expect(received).toHaveLength(3);
    expect(emitter.deadLettered).toMatchObject([{ reason: "MaxDeliveryAttemptsExceeded", attempts: 3, lastHttpStatusCode: 500 }]);
  });

  it("randomises every step a little (±10 %), as Event Grid does", async () => {
    for (const [failed, step] of [...RETRY_SCHEDULE_MS, 43_200_000, 43_200_000].entries()) {
      expect(retryDelayMs(failed + 1, () => 0)).toBe(Math.round(step * (1 - RETRY_JITTER)));
      expect(retryDelayMs(failed + 1, () => 1)).toBe(Math.round(step * (1 + RETRY_JITTER)));
    }
    reset([503, 503, 503, 200]);
    const { clock } = virtualClock();
    const emitter = new EventEmitter(sink("EventGridSchema"), { clock });
    emitter.emit(writeEvent());
    await emitter.idle();
    const at = emitter.attempts.map((a) => a.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps).toHaveLength(3);
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(RETRY_SCHEDULE_MS[i]! * (1 - RETRY_JITTER));
      expect(gap).toBeLessThanOrEqual(RETRY_SCHEDULE_MS[i]! * (1 + RETRY_JITTER));
    });
    expect(emitter.sent).toHaveLength(1);
  });

  it.each([400, 401, 403, 404, 413])("does not retry %i: one attempt, then dead-lettered", async (status) => {
    reset([status]);
    const store = memoryStore();
    const emitter = new EventEmitter(sink("EventGridSchema"), { timeScale: 1 / 1000, deadLetter: { store } });
    emitter.emit(writeEvent());
    await emitter.idle();
    expect(received).toHaveLength(1);
    expect(emitter.deadLettered).toMatchObject([{ reason: "UndeliverableDueToClientError", attempts: 1, lastHttpStatusCode: status }]);
  });

  it.each([408, 429, 500, 503])("retries %i until it is accepted", async (status) => {
    reset([status, status, 202]);
    const emitter = new EventEmitter(sink("EventGridSchema"), { timeScale: 1 / 1000, deadLetter: { store: memoryStore() } });
    emitter.emit(writeEvent());
    await emitter.idle();
    expect(received).toHaveLength(3);
    expect(emitter.sent).toHaveLength(1);
    expect(emitter.deadLettered).toHaveLength(0);
  });

  it("an unreachable endpoint is retried and dead-lettered, never dropped", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise<void>((r) => closed.close(() => r()));
    const store = memoryStore();
    const emitter = new EventEmitter({ url, schema: "EventGridSchema" }, { timeScale: 1 / 1000, maxDeliveryAttempts: 2, deadLetter: { store } });
    emitter.emit(writeEvent());
    await emitter.idle();
    expect(emitter.attempts).toHaveLength(2);
    expect(emitter.deadLettered).toMatchObject([{ reason: "MaxDeliveryAttemptsExceeded", attempts: 2, lastDeliveryOutcome: "GenericError" }]);
    expect(emitter.deadLettered[0]!.lastHttpStatusCode).toBeUndefined();
  });
});

describe("dead letters in Azurite (manage-event-delivery#dead-letter-event-format)", () => {
  it("Event Grid schema: a blob {TOPIC}/{SUBSCRIPTION}/{yyyy}/{MM}/{dd}/{HH}/{guid}.json holding the event plus its dead-letter properties", async () => {
    reset([400]);
    const container = `dl${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const connectionString = inject("azuriteConnectionString");
    const emitter = new EventEmitter(sink("EventGridSchema"), { timeScale: 1 / 1000, deadLetter: { connectionString, container } });
    const event = writeEvent();
    const before = new Date();
    emitter.emit(event);
    await emitter.idle();
    const blobs = await deadLetterBlobs(connectionString, container);
    expect(blobs).toHaveLength(1);
    expect(blobs[0]!.name).toMatch(new RegExp(`^GALLERY-WATCH-${SUB.toUpperCase()}/GALLERY-WATCH/\\d{4}/\\d{2}/\\d{2}/\\d{2}/[0-9a-f-]{36}\\.json$`));
    expect(blobs[0]!.name.split("/").slice(2, 4)).toEqual([String(before.getUTCFullYear()), String(before.getUTCMonth() + 1).padStart(2, "0")]);
    const [record] = blobs[0]!.events as Array<Record<string, unknown>>;
    expect(record).toMatchObject({ ...event, deadLetterReason: "UndeliverableDueToClientError", deliveryAttempts: 1, lastDeliveryOutcome: "BadRequest", lastHttpStatusCode: 400 });
    expect(Date.parse(String(record!.publishTime))).toBeGreaterThanOrEqual(before.getTime() - 1000);
    expect(Date.parse(String(record!.lastDeliveryAttemptTime))).toBeGreaterThanOrEqual(Date.parse(String(record!.publishTime)));
    expect(emitter.deadLettered[0]).toMatchObject({ container, blobName: blobs[0]!.name });
  });

  it("CloudEvents 1.0: the same properties as lower-case extension attributes", async () => {
    reset([413]);
    const container = `dl${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const connectionString = inject("azuriteConnectionString");
    const emitter = new EventEmitter(sink("CloudEventSchemaV1_0"), { timeScale: 1 / 1000, topicName: "my-topic", subscriptionName: "to-function", deadLetter: { connectionString, container } });
    const event = writeEvent();
    emitter.emit(event);
    await emitter.idle();
    const blobs = await deadLetterBlobs(connectionString, container);
    expect(blobs[0]!.name.startsWith("MY-TOPIC/TO-FUNCTION/")).toBe(true);
    expect(blobs[0]!.events![0]).toMatchObject({
      specversion: "1.0",
      id: event.id,
      source: event.topic,
      type: event.eventType,
      deadletterreason: "UndeliverableDueToClientError",
      deliveryattempts: 1,
      lastdeliveryoutcome: "RequestEntityTooLarge",
      lasthttpstatuscode: 413,
    });
    expect(Object.keys(blobs[0]!.events![0] as object)).toEqual(expect.arrayContaining(["publishtime", "lastdeliveryattempttime"]));
  });
});
