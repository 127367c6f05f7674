/**
 * The history question as the security team asks it, on the in-memory store: a typo'd id is
 * "never stored", not "exists and clean"; a deleted resource says so (when, who); every change up
 * to the time is reachable page by page; the timeline says what each write changed.
 */
import { describe, expect, it } from "vitest";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { Finding } from "../../shared/domain/findings.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import { InvalidContinuationTokenError, type ChangeRecord, type FindingStore, type Trigger } from "../../shared/app/ports.js";
import { differences, keyFacts, pointInTime, timeline, UnknownResourceError } from "../../shared/app/pointInTime.js";
import { MemoryResourceStore } from "../support/inMemoryPorts.js";
import { aGallery, aVersion, BASE, regions } from "../support/snapshotBuilders.js";

const PRIYA = { name: "Priya Patel", upn: "priya.patel@contoso.example" };

function byEvent(eventId: string, eventTime: string, caller: { name: string; upn: string } = PRIYA, operation = "Microsoft.Compute/galleries/images/versions/write"): Trigger {
  return {
    source: "event",
    attribution: { eventId, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime, operationName: operation, correlationId: `corr-${eventId}`, callerName: caller.name, callerUpn: caller.upn },
  };
}

/** The findings port answers "as of" from its own history; here a fixed answer per time. */
function findingsAt(answer: (key: string, at: string) => Finding[]): Pick<FindingStore, "asOf"> & FindingStore {
  return { asOf: async (key: string, at: string) => answer(key, at), forResource: async () => [], apply: async () => undefined, open: async () => [] } as unknown as FindingStore;
}
const noFindings = findingsAt(() => []);

async function record(store: MemoryResourceStore, snapshot: Snapshot, observedAt: string, trigger: Trigger): Promise<void> {
  await store.recordSnapshot({ snapshot, contentHash: JSON.stringify(snapshot).length.toString(16) + observedAt, observedAt, trigger });
}

const version = aVersion({ definition: "gateway-os" });

describe("pointInTime", () => {
  it("refuses an id gallery-watch never stored instead of answering an empty, clean-looking view", async () => {
    const store = new MemoryResourceStore();
    await record(store, version, "2026-11-20T10:00:05Z", byEvent("e1", "2026-11-20T10:00:00Z"));
    const typo = parseResourceId(`${BASE}/galleries/gal/images/gateway-oss/versions/1.0.0`);
    await expect(pointInTime({ resources: store, findings: noFindings }, typo, "2026-11-24T00:00:00Z")).rejects.toBeInstanceOf(UnknownResourceError);
    await expect(pointInTime({ resources: store, findings: noFindings }, typo, "2026-11-24T00:00:00Z")).rejects.toThrow(/never stored .*gateway-oss/);
  });

  it("answers 'not yet observed' (not unknown) for a time before gallery-watch first stored it", async () => {
    const store = new MemoryResourceStore();
    await record(store, version, "2026-11-20T10:00:05Z", byEvent("e1", "2026-11-20T10:00:00Z"));
    const view = await pointInTime({ resources: store, findings: noFindings }, version.id, "2026-11-01T00:00:00Z");
    expect(view).toMatchObject({ state: "notYetObserved", deleted: false, changes: [] });
    expect(view.snapshot).toBeUndefined();
  });

  it("gives the snapshot in force at the time, the changes up to it and the findings then", async () => {
    const store = new MemoryResourceStore();
    const wide = aVersion({ definition: "gateway-os", targetRegions: regions("West Europe", "North Europe", "East US") });
    await record(store, version, "2026-11-20T10:00:05Z", byEvent("e1", "2026-11-20T10:00:00Z"));
    await record(store, wide, "2026-11-21T10:00:05Z", byEvent("e2", "2026-11-21T10:00:00Z"));
    const asked: string[] = [];
    const findings = findingsAt((_key, at) => (asked.push(at), []));
    const then = await pointInTime({ resources: store, findings }, version.id, "2026-11-20T12:00:00Z");
    expect(then.state).toBe("present");
    expect(then.snapshot?.snapshot).toEqual(version);
    expect(then.changes.map((c) => c.trigger.source === "event" && c.trigger.attribution.eventId)).toEqual(["e1"]);
    expect(asked).toEqual(["2026-11-20T12:00:00Z"]);
    const now = await pointInTime({ resources: store, findings: noFindings }, version.id, "2026-11-22T00:00:00Z");
    expect(now.snapshot?.snapshot).toEqual(wide);
    expect(now.changes.map((c) => c.trigger.source === "event" && c.trigger.attribution.eventId)).toEqual(["e2", "e1"]);
  });

  it("marks a resource deleted at the time, with when and who, and keeps how it last was", async () => {
    const store = new MemoryResourceStore();
    await record(store, version, "2026-11-20T10:00:05Z", byEvent("e1", "2026-11-20T10:00:00Z"));
    const sam = { name: "Sam Okafor", upn: "sam.okafor@contoso.example" };
    await store.recordDeletion(version.id, "2026-11-22T09:00:03Z", byEvent("d1", "2026-11-22T09:00:00Z", sam, "Microsoft.Compute/galleries/images/versions/delete"));
    const deps = { resources: store, findings: noFindings };

    const after = await pointInTime(deps, version.id, "2026-11-23T00:00:00Z");
    expect(after).toMatchObject({ state: "deleted", deleted: true, deletedAt: "2026-11-22T09:00:00Z", deletedBy: { source: "event", name: "Sam Okafor", upn: "sam.okafor@contoso.example" } });
    expect(after.snapshot?.snapshot).toEqual(version);
    expect(after.changes[0]?.action).toBe("deleted");

    const before = await pointInTime(deps, version.id, "2026-11-21T00:00:00Z");
    expect(before).toMatchObject({ state: "present", deleted: false });
    expect(before.deletedAt).toBeUndefined();
  });

  it("is present again once the resource is created again after its deletion", async () => {
    const store = new MemoryResourceStore();
    await record(store, version, "2026-11-20T10:00:05Z", byEvent("e1", "2026-11-20T10:00:00Z"));
    await store.recordDeletion(version.id, "2026-11-21T00:00:00Z", { source: "sweep", runId: "nightly-1" });
    expect(await pointInTime({ resources: store, findings: noFindings }, version.id, "2026-11-21T12:00:00Z")).toMatchObject({ deleted: true, deletedBy: { source: "sweep", runId: "nightly-1" } });
    await record(store, aVersion({ definition: "gateway-os", excludeFromLatest: false }), "2026-11-22T10:00:05Z", byEvent("e3", "2026-11-22T10:00:00Z"));
    expect(await pointInTime({ resources: store, findings: noFindings }, version.id, "2026-11-23T00:00:00Z")).toMatchObject({ state: "present", deleted: false });
  });

  it("decides 'deleted' even when the deletion is beyond the first page of changes", async () => {
    const store = new MemoryResourceStore();
    await record(store, version, "2026-11-20T10:00:05Z", byEvent("e1", "2026-11-20T10:00:00Z"));
    await store.recordDeletion(version.id, "2026-11-20T11:00:00Z", byEvent("d1", "2026-11-20T11:00:00Z"));
    // Re-reads that found nothing new (each an event gallery-watch logged) after the deletion.
    for (let i = 0; i < 5; i++) await store.recordChange({ resourceKey: version.id.key, resourceId: version.id.display, action: "noAccess", observedAt: `2026-11-20T12:0${i}:00.000Z`, trigger: byEvent(`n${i}`, `2026-11-20T12:0${i}:00.000Z`) });
    const view = await pointInTime({ resources: store, findings: noFindings }, version.id, "2026-11-21T00:00:00Z", { limit: 2 });
    expect(view.changes).toHaveLength(2);
    expect(view.deleted).toBe(true);
    expect(view.deletedAt).toBe("2026-11-20T11:00:00Z");
  });

  it("pages every change up to the time, none silently dropped, and states the page size", async () => {
    const store = new MemoryResourceStore();
    await record(store, version, "2026-11-01T00:00:00Z", byEvent("first", "2026-11-01T00:00:00Z"));
    const at = (i: number) => new Date(Date.parse("2026-11-02T00:00:00Z") + i * 60_000).toISOString();
    for (let i = 0; i < 249; i++) {
      await store.recordChange({ resourceKey: version.id.key, resourceId: version.id.display, action: "unchanged", observedAt: at(i), trigger: byEvent(`e${i}`, at(i)) });
    }
    const later: ChangeRecord = { resourceKey: version.id.key, resourceId: version.id.display, action: "unchanged", observedAt: "2026-12-31T00:00:00Z", trigger: byEvent("later", "2026-12-31T00:00:00Z") };
    await store.recordChange(later);
    const deps = { resources: store, findings: noFindings };
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const view = await pointInTime(deps, version.id, "2026-12-01T00:00:00Z", { limit: 100, ...(token ? { continuationToken: token } : {}) });
      expect(view.changesLimit).toBe(100);
      expect(view.changes.length).toBeLessThanOrEqual(100);
      seen.push(...view.changes.map((c) => (c.trigger.source === "event" ? c.trigger.attribution.eventId : "?")));
      token = view.continuationToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(250);
    expect(new Set(seen).size).toBe(250);
    expect(seen[0]).toBe("e248");
    expect(seen.at(-1)).toBe("first");
    expect(seen).not.toContain("later");
    await expect(pointInTime(deps, version.id, "2026-12-01T00:00:00Z", { continuationToken: "not-a-token" })).rejects.toBeInstanceOf(InvalidContinuationTokenError);
  });
});

describe("what changed", () => {
  it("names added and removed regions against the snapshot before", () => {
    const before = aVersion({ targetRegions: regions("West Europe", "North Europe") });
    const after = aVersion({ targetRegions: regions("West Europe", "North Europe", "East US", "UK South"), excludeFromLatest: false });
    expect(differences(before, after)).toEqual(["targetRegions: westeurope, northeurope → +eastus, +uksouth", "excludeFromLatest: true → false"]);
    expect(differences(after, before)).toContain("targetRegions: westeurope, northeurope, eastus, uksouth → -eastus, -uksouth");
  });

  it("says a replica count that changed in place, and a gallery's sharing", () => {
    expect(differences(aVersion({ targetRegions: regions(["West Europe", 1]) }), aVersion({ targetRegions: regions(["West Europe", 3]) }))).toEqual(["replicas: westeurope 1 → 3"]);
    expect(differences(aGallery(), aGallery({ sharing: { permissions: "Community", groups: [] } }))).toEqual(["sharing: Private → Community"]);
  });

  it("gives the key facts of a version: osState, regions and replicas, excludeFromLatest, end of life, tags", () => {
    expect(keyFacts(aVersion({ targetRegions: regions(["West Europe", 2], "North Europe"), replicaCount: 1 }))).toMatchObject({
      kind: "imageVersion",
      osState: "Specialized",
      targetRegions: ["westeurope", "northeurope"],
      replicas: ["westeurope=2", "northeurope=1"],
      excludeFromLatest: "true",
      endOfLifeDate: "2027-06-30T00:00:00Z",
      tags: ["approver=ciso", "owner=platform"],
    });
  });

  it("puts who and what changed on each written change of the timeline", async () => {
    const store = new MemoryResourceStore();
    await record(store, version, "2026-11-20T10:00:05Z", { source: "sweep", runId: "nightly-1" });
    await record(store, aVersion({ definition: "gateway-os", targetRegions: regions("West Europe", "North Europe", "East US") }), "2026-11-21T10:00:05Z", byEvent("e2", "2026-11-21T10:00:00Z"));
    const changes = (await store.changesOf(version.id.key, { limit: 10 })).items;
    const entries = timeline(changes, await store.history(version.id.key));
    expect(entries.map((e) => [e.time, e.who, e.action, e.whatChanged])).toEqual([
      ["2026-11-21T10:00:00Z", "Priya Patel (priya.patel@contoso.example)", "written", ["targetRegions: westeurope, northeurope → +eastus"]],
      [
        "2026-11-20T10:00:05Z",
        "gallery-watch sweep",
        "written",
        ["first stored", "osState: Specialized", "targetRegions: westeurope, northeurope", "excludeFromLatest: true", "endOfLifeDate: 2027-06-30T00:00:00Z"],
      ],
    ]);
    expect(entries[0]?.actor.correlationId).toBe("corr-e2");
  });
});
