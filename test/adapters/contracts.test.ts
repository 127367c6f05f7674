/**
 * Port contracts, run against both implementations: the in-memory fakes of test/support (what the
 * fast use-case tests judge with) and the Table adapters against the Azurite the test run starts.
 * A fake that drifts from the real store fails here, not silently in every test that trusts it.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { createTableDigestLog } from "../../shared/adapters/tables/tableDigestLog.js";
import { createTableSweepRunStore } from "../../shared/adapters/tables/tableSweepRunStore.js";
import { createTableResourceStore } from "../../shared/adapters/tables/tableResourceStore.js";
import type { DigestLog, ResourceStore, SweepRun, SweepRunStore } from "../../shared/app/ports.js";
import { contentHashOf } from "../../shared/domain/contentHash.js";
import { InMemoryDigestLog } from "../support/inMemoryDigestPorts.js";
import { MemoryResourceStore, MemorySweepRuns } from "../support/inMemoryPorts.js";
import { aScaleSet, aVm } from "../support/snapshotBuilders.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { Snapshot, VirtualMachineSnapshot } from "../../shared/domain/snapshots.js";

const conn = () => ({ connectionString: inject("azuriteConnectionString") });
const prefix = () => `c${randomUUID().replace(/-/g, "").slice(0, 12)}`;
const SUB_A = "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f";
const SUB_B = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";

const digestLogs: ReadonlyArray<[string, () => DigestLog]> = [
  ["in-memory", () => new InMemoryDigestLog()],
  ["table", () => createTableDigestLog(conn(), prefix())],
];

describe.each(digestLogs)("DigestLog contract: %s", (_name, make) => {
  const record = (period: string, claimedAt: string) => ({ digestId: `digest:${period}`, period, claimedAt });

  it("one claim per period: a second sender sees it in progress, then sent; only the claim's owner marks it", async () => {
    const log = make();
    const first = await log.claim(record("2026-12-01", "2026-12-01T07:00:00.000Z"), { staleBefore: "2026-12-01T06:00:00.000Z" });
    expect(first.outcome).toBe("claimed");
    const second = await log.claim(record("2026-12-01", "2026-12-01T07:00:01.000Z"), { staleBefore: "2026-12-01T06:00:00.000Z" });
    expect(second.outcome).toBe("inProgress");
    if (first.outcome !== "claimed") throw new Error("unreachable");
    expect(await log.markSent("digest:2026-12-01", "not-the-claim", { sentAt: "2026-12-01T07:00:02.000Z", until: "2026-12-01T07:00:00.000Z" })).toBe(false);
    expect(await log.markSent("digest:2026-12-01", first.claim, { sentAt: "2026-12-01T07:00:02.000Z", until: "2026-12-01T07:00:00.000Z" })).toBe(true);
    const third = await log.claim(record("2026-12-01", "2026-12-01T08:00:00.000Z"), { staleBefore: "2026-12-01T07:30:00.000Z" });
    expect(third).toMatchObject({ outcome: "sent", record: { digestId: "digest:2026-12-01", sentAt: "2026-12-01T07:00:02.000Z" } });
  });

  it("a stale unsent claim is taken over; a released one can be claimed again; previousSent finds the newest earlier sent period", async () => {
    const log = make();
    const dead = await log.claim(record("2026-12-02", "2026-12-02T07:00:00.000Z"), { staleBefore: "2026-12-02T06:00:00.000Z" });
    expect(dead.outcome).toBe("claimed");
    const takeover = await log.claim(record("2026-12-02", "2026-12-02T08:00:00.000Z"), { staleBefore: "2026-12-02T07:30:00.000Z" });
    expect(takeover.outcome).toBe("claimed");
    if (takeover.outcome !== "claimed") throw new Error("unreachable");
    await log.release("digest:2026-12-02", takeover.claim);
    expect((await log.claim(record("2026-12-02", "2026-12-02T08:00:05.000Z"), { staleBefore: "2026-12-02T07:30:00.000Z" })).outcome).toBe("claimed");

    for (const period of ["2026-11-28", "2026-11-30"]) {
      const claimed = await log.claim(record(period, `${period}T07:00:00.000Z`), { staleBefore: `${period}T06:00:00.000Z` });
      if (claimed.outcome !== "claimed") throw new Error(`${period} not claimed`);
      await log.markSent(`digest:${period}`, claimed.claim, { sentAt: `${period}T07:00:01.000Z`, until: `${period}T07:00:00.000Z` });
    }
    expect((await log.previousSent("2026-12-02"))?.period).toBe("2026-11-30");
    expect(await log.previousSent("2026-11-28")).toBeUndefined();
  });
});

const sweepStores: ReadonlyArray<[string, () => SweepRunStore]> = [
  ["in-memory", () => new MemorySweepRuns()],
  ["table", () => createTableSweepRunStore(conn(), prefix())],
];

function aRun(subscriptionId: string, startedAt: string, overrides: Partial<SweepRun> = {}): SweepRun {
  return {
    runId: `${startedAt}-${subscriptionId.slice(0, 4)}`,
    subscriptionId,
    startedAt,
    status: "succeeded",
    seen: { galleries: 1, definitions: 2, versions: 3, scaleSets: 4, virtualMachines: 0 },
    armRequests: 10,
    snapshotsWritten: 1,
    transitions: {},
    reconciled: 0,
    failures: [],
    ...overrides,
  };
}

describe.each(sweepStores)("SweepRunStore contract: %s", (_name, make) => {
  it("a run recorded at its start is replaced at its end, one record per run", async () => {
    const store = make();
    const started = aRun(SUB_A, "2026-12-01T02:00:00.000Z", { status: "running" });
    await store.record(started);
    const finished = { ...started, status: "partial" as const, finishedAt: "2026-12-01T02:03:00.000Z", failures: [{ resourceId: `/subscriptions/${SUB_A}`, operation: "galleries.list", reason: "throttled: 429" }] };
    await store.record(finished);
    expect(await store.get(SUB_A, started.runId)).toEqual(finished);
    expect(await store.get(SUB_B, started.runId)).toBeUndefined();
    expect(await store.list()).toEqual([finished]);
  });

  it("lists newest first, bounded by since, one subscription's, and at most limit", async () => {
    const store = make();
    const runs = [aRun(SUB_A, "2026-12-01T02:00:00.000Z"), aRun(SUB_B, "2026-12-02T02:00:00.000Z"), aRun(SUB_A, "2026-12-03T02:00:00.000Z")];
    for (const run of [runs[1]!, runs[0]!, runs[2]!]) await store.record(run);
    expect((await store.list()).map((r) => r.startedAt)).toEqual(["2026-12-03T02:00:00.000Z", "2026-12-02T02:00:00.000Z", "2026-12-01T02:00:00.000Z"]);
    expect((await store.list({ since: "2026-12-02T00:00:00.000Z" })).map((r) => r.startedAt)).toEqual(["2026-12-03T02:00:00.000Z", "2026-12-02T02:00:00.000Z"]);
    expect((await store.list({ subscriptionId: SUB_A })).map((r) => r.startedAt)).toEqual(["2026-12-03T02:00:00.000Z", "2026-12-01T02:00:00.000Z"]);
    expect((await store.list({ limit: 1 })).map((r) => r.startedAt)).toEqual(["2026-12-03T02:00:00.000Z"]);
  });
});

const resourceStores: ReadonlyArray<[string, () => ResourceStore]> = [
  ["in-memory", () => new MemoryResourceStore()],
  ["table", () => createTableResourceStore(conn(), prefix())],
];

describe.each(resourceStores)("ResourceStore contract: %s", (_name, make) => {
  const event = (eventId: string) => ({ source: "event", attribution: { eventId, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-24T12:00:00Z" } }) as const;
  const groupDeleted = { source: "event", attribution: { eventId: "group-delete", eventType: "Microsoft.Resources.ResourceDeleteSuccess", eventTime: "2026-11-24T12:00:05Z", operationName: "Microsoft.Resources/subscriptions/resourceGroups/delete" } } as const;

  it("a resource recorded deleted stays deleted when a judgement made from its stored state is written after the deletion", async () => {
    // `az group delete`: the group's definition is recorded deleted, which re-judges the scale set
    // following it from its stored state, while the walk records that scale set deleted too.
    const store = make();
    const scaleSet = aScaleSet();
    const stored = contentHashOf(scaleSet);
    await store.recordSnapshot({ snapshot: scaleSet, contentHash: stored, observedAt: "2026-11-24T12:00:01.000Z", trigger: event("e-1") });
    await store.recordDeletion(scaleSet.id, "2026-11-24T12:00:06.000Z", groupDeleted);

    const rejudged = { ...scaleSet, image: { outcome: "unresolvable", reason: "image definition does not exist" } } as const;
    const fromStore = await store.recordSnapshot({ snapshot: rejudged, contentHash: contentHashOf(rejudged), observedAt: "2026-11-24T12:00:06.500Z", trigger: groupDeleted, basis: stored });

    expect(fromStore).toEqual({ changed: false, stale: true });
    expect(await store.current(scaleSet.id.key)).toBeUndefined();
  });

  it("a resource ARM shows again after its deletion (re-created) is recorded present again", async () => {
    const store = make();
    const scaleSet = aScaleSet();
    await store.recordSnapshot({ snapshot: scaleSet, contentHash: contentHashOf(scaleSet), observedAt: "2026-11-24T12:00:01.000Z", trigger: event("e-1") });
    await store.recordDeletion(scaleSet.id, "2026-11-24T12:00:06.000Z", groupDeleted);

    const recreated = await store.recordSnapshot({ snapshot: scaleSet, contentHash: contentHashOf(scaleSet), observedAt: "2026-11-24T12:00:09.000Z", trigger: event("e-3") });

    expect(recreated.changed).toBe(true);
    expect((await store.current(scaleSet.id.key))?.id.key).toBe(scaleSet.id.key);
  });

  it("lineage: every machine that ran a version, first seen running it and last seen (absent while it still does)", async () => {
    const store = make();
    const write = (snapshot: Snapshot, at: string, id: string) => store.recordSnapshot({ snapshot, contentHash: contentHashOf(snapshot), observedAt: at, trigger: event(id) });
    const v1 = aVm({ name: "drill" });
    const v2 = aVm({ name: "drill", version: "2.0.0" });
    const other = aVm({ name: "workstation" });
    await write(v1, "2026-11-24T12:00:00.000Z", "e-1");
    await write(other, "2026-11-24T12:01:00.000Z", "e-2");
    // Moved to 2.0.0, then deleted; the workstation still runs 1.0.0.
    await write(v2, "2026-11-24T13:00:00.000Z", "e-3");
    await store.recordDeletion(v2.id, "2026-11-24T14:00:00.000Z", event("e-4"));
    // A re-read of the workstation with nothing new keeps its first sighting.
    await write({ ...other, tags: { owner: "o" } }, "2026-11-24T15:00:00.000Z", "e-5");

    const key = (v: VirtualMachineSnapshot) => parseResourceId(v.image.outcome === "resolved" ? v.image.versionId! : "").key;
    expect(await store.lineage(key(v1))).toEqual([
      { machineId: v1.id.display, kind: "virtualMachine", firstSeen: "2026-11-24T12:00:00.000Z", lastSeen: "2026-11-24T13:00:00.000Z" },
      { machineId: other.id.display, kind: "virtualMachine", firstSeen: "2026-11-24T12:01:00.000Z" },
    ]);
    expect(await store.lineage(key(v2))).toEqual([{ machineId: v2.id.display, kind: "virtualMachine", firstSeen: "2026-11-24T13:00:00.000Z", lastSeen: "2026-11-24T14:00:00.000Z" }]);
    // Back on 1.0.0 (re-created): running it again, first seen as before.
    await write(v1, "2026-11-24T16:00:00.000Z", "e-6");
    expect((await store.lineage(key(v1)))[0]).toEqual({ machineId: v1.id.display, kind: "virtualMachine", firstSeen: "2026-11-24T12:00:00.000Z" });
    expect(await store.lineage(parseResourceId(`${v1.image.outcome === "resolved" ? v1.image.definitionId : ""}/versions/9.9.9`).key)).toEqual([]);
  });
});
