/**
 * No input makes the Event Grid handler throw (a throw is a 5xx, and Event Grid retries a 5xx for
 * 24 h): arbitrary events in both schemas, with text that includes lone UTF-16 surrogates, go
 * through the handler with in-memory ports. Every key an accepted event leads to must be one
 * Table Storage can hold (the table adapters encode keys with `encodeKey`).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { handleResourceEvent, type EventSettings } from "../../shared/app/handleResourceEvent.js";
import { encodeKey } from "../../shared/adapters/tables/tableKeys.js";
import type { ChangeRecord } from "../../shared/app/ports.js";
import { aWorld } from "../support/inMemoryPorts.js";
import { SUB, aDefinition, aGallery, aVersion, policy } from "../support/snapshotBuilders.js";

const settings: EventSettings = {
  policy: policy(),
  portalUrl: "https://portal.example.test",
  recheckDelaySeconds: 60,
  recheckMaxAttempts: 3,
  maxEventBytes: 64 * 1024,
  watchedSubscriptions: new Set([SUB]),
};
const VERSION = aVersion().id.display;

/** Any UTF-16 code unit, lone surrogates included (what a JSON body's `\ud800` escape becomes). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const text = fc.oneof(fc.string({ unit: codeUnit, maxLength: 40 }), fc.constantFrom("\ud800", "a\udfffb", "\u0000", "%E0%A4%A", "~", "/", ""));
const idLike = fc.oneof({ arbitrary: fc.constant(VERSION), weight: 4 }, text, text.map((t) => `${VERSION}${t}`), text.map((t) => `/subscriptions/${SUB}/resourceGroups/${t}/providers/Microsoft.Compute/galleries/g`));
const operation = fc.constantFrom("Microsoft.Compute/galleries/images/versions/write", "Microsoft.Resources/tags/write", "Microsoft.Resources/subscriptions/resourceGroups/delete", "Microsoft.Compute/galleries/write");
const eventType = fc.constantFrom("Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Resources.ResourceActionSuccess");
const claims = fc.dictionary(fc.oneof(text, fc.constantFrom("name", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "appid")), fc.oneof(text, fc.integer(), fc.constant(null)), { maxKeys: 4 });
const data = fc.record(
  { operationName: fc.oneof({ arbitrary: operation, weight: 4 }, text), resourceUri: idLike, status: fc.oneof({ arbitrary: fc.constant("Succeeded"), weight: 4 }, text), correlationId: text, claims, httpRequest: fc.record({ clientIpAddress: text, method: text }, { requiredKeys: [] }) },
  { requiredKeys: ["operationName", "resourceUri"] },
);
const time = fc.oneof({ arbitrary: fc.constant("2026-11-24T12:00:00Z"), weight: 4 }, text);
const eventGrid = fc.record({ id: text, topic: fc.oneof(fc.constant(`/subscriptions/${SUB}`), text), subject: idLike, eventType: fc.oneof({ arbitrary: eventType, weight: 4 }, text), eventTime: time, dataVersion: fc.constant("2"), metadataVersion: fc.constant("1"), data: fc.oneof({ arbitrary: data, weight: 4 }, fc.anything()) }, { requiredKeys: ["id", "eventType", "subject", "eventTime", "data", "topic", "dataVersion"] });
const cloudEvent = fc.record({ specversion: fc.oneof({ arbitrary: fc.constant("1.0"), weight: 4 }, text), id: text, source: fc.oneof(fc.constant(`/subscriptions/${SUB}`), text), subject: idLike, type: fc.oneof({ arbitrary: eventType, weight: 4 }, text), time, data: fc.oneof({ arbitrary: data, weight: 4 }, fc.anything()) }, { requiredKeys: ["specversion", "id", "type", "source", "subject", "time", "data"] });

/** The in-memory world, with every change row's keys encoded as the table adapter encodes them. */
function aStrictWorld() {
  const world = aWorld();
  world.azure.put(aGallery(), aDefinition(), aVersion());
  const record = world.resources.recordChange.bind(world.resources);
  world.resources.recordChange = async (change: ChangeRecord) => {
    encodeKey(change.resourceKey);
    if (change.trigger.source === "event") encodeKey(change.trigger.attribution.eventId);
    return record(change);
  };
  return world;
}

describe("no event input makes the handler throw", () => {
  it("refuses an event id holding a lone UTF-16 surrogate with one log line, in both schemas", async () => {
    const world = aStrictWorld();
    const base = { topic: `/subscriptions/${SUB}`, subject: VERSION, data: { operationName: "Microsoft.Compute/galleries/images/versions/write", resourceUri: VERSION, status: "Succeeded" } };
    const eg = await handleResourceEvent(world.deps(), settings, { ...base, id: "\ud800", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-24T12:00:00Z", dataVersion: "2", metadataVersion: "1" });
    const ce = await handleResourceEvent(world.deps(), settings, { id: "x\udc00", specversion: "1.0", source: base.topic, subject: VERSION, type: "Microsoft.Resources.ResourceWriteSuccess", time: "2026-11-24T12:00:00Z", data: base.data });
    expect(eg.disposition).toBe("invalid");
    expect(ce.disposition).toBe("invalid");
  });

  it("arbitrary Event Grid and CloudEvents input: never a throw, every stored key encodable", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof({ arbitrary: eventGrid, weight: 3 }, { arbitrary: cloudEvent, weight: 3 }, fc.anything()), async (raw) => {
        const world = aStrictWorld();
        const result = await handleResourceEvent(world.deps(), settings, raw);
        expect(["accepted", "ignored", "invalid"]).toContain(result.disposition);
      }),
      { numRuns: 2_000 },
    );
  });
});
