/** Table Storage adapters against the real Azurite the test run starts; a fresh table prefix per test. */
import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import fc from "fast-check";
import { createTableResourceStore } from "../../shared/adapters/tables/tableResourceStore.js";
import { createTableFindingStore } from "../../shared/adapters/tables/tableFindingStore.js";
import { createTableAlertOutbox } from "../../shared/adapters/tables/tableAlertOutbox.js";
import { contentHashOf } from "../../shared/domain/contentHash.js";
import { decodeKey, encodeKey, invertedTime } from "../../shared/adapters/tables/tableKeys.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { RULE_IDS } from "../../shared/domain/findings.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import { ConcurrentUpdateError } from "../../shared/domain/errors.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import type { Trigger } from "../../shared/app/ports.js";
import { aScaleSet, aVersion, aVm, BASE, NOW, policy, regions, SUB } from "../support/snapshotBuilders.js";

const parentOfVersion = (v: { id: { display: string } }) => parseResourceId(v.id.display.replace(/\/versions\/[^/]+$/, ""));
const conn = () => ({ connectionString: inject("azuriteConnectionString") });
const prefix = () => `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
const event = (id: string, time: string): Trigger => ({ source: "event", attribution: { eventId: id, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: time, callerUpn: "priya@contoso.example" } });
const record = (snapshot: Snapshot, observedAt: string, trigger: Trigger) => ({ snapshot, contentHash: contentHashOf(snapshot), observedAt, trigger });

describe("table keys", () => {
  it("never contain a character Table Storage forbids, are injective and reversible", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: "binary" }), fc.string({ maxLength: 300, unit: "binary" }), (a, b) => {
        const ea = encodeKey(a);
        expect(ea).not.toMatch(/[/\\#?\u0000-\u001f\u007f-\u009f]/);
        if (ea.startsWith("h~")) return;
        expect(decodeKey(ea)).toBe(a);
        if (a !== b) expect(encodeKey(b)).not.toBe(ea);
      }),
      { numRuns: 500 },
    );
  });

  it("orders inverted times newest first", () => {
    expect(invertedTime("2026-11-24T00:00:01Z") < invertedTime("2026-11-24T00:00:00Z")).toBe(true);
  });
});

describe("tableResourceStore", () => {
  it("returns every stored state, including those whose content hash starts with 'c' (continuation rows are told apart by content, not by '~c')", async () => {
    const store = createTableResourceStore(conn(), prefix());
    const states = ["c0ffee", "cafe00", "0abc00"].map((hashStart, i) => ({
      ...record(aVersion({ targetRegions: regions(...["West Europe", "North Europe", "East US"].slice(0, i + 1)) }), `2026-11-2${i}T10:00:00.000Z`, event(`e${i}`, `2026-11-2${i}T10:00:00Z`)),
      contentHash: `${hashStart}${"0".repeat(58)}`,
    }));
    for (const state of states) await store.recordSnapshot(state);
    const history = await store.history(aVersion().id.key);
    expect(history.map((h) => h.contentHash.slice(0, 6))).toEqual(["0abc00", "cafe00", "c0ffee"]);
  });

  it("a snapshot derived from a stored state that has moved on since is stale: nothing is written", async () => {
    const store = createTableResourceStore(conn(), prefix());
    const a = aScaleSet();
    const b = aScaleSet({ capacity: 3, tags: { moved: "yes" } });
    await store.recordSnapshot(record(a, "2026-11-20T10:00:00.000Z", event("e1", "2026-11-20T10:00:00Z")));
    await store.recordSnapshot(record(b, "2026-11-20T10:01:00.000Z", event("e2", "2026-11-20T10:01:00Z")));
    const derived = aScaleSet({ tags: { rederived: "from a" } });
    const result = await store.recordSnapshot({ ...record(derived, "2026-11-20T10:02:00.000Z", event("e3", "2026-11-20T10:02:00Z")), basis: contentHashOf(a) });
    expect(result).toEqual({ changed: false, stale: true });
    expect(contentHashOf((await store.current(a.id.key))!)).toBe(contentHashOf(b));
    expect((await store.history(a.id.key)).map((h) => h.contentHash)).toEqual([contentHashOf(b), contentHashOf(a)]);
  });

  it("creates its tables again when they disappear under a running app (a restarted Azurite, a deleted table)", async () => {
    const p = prefix();
    const store = createTableResourceStore(conn(), p);
    await store.recordSnapshot(record(aVersion(), "2026-11-20T10:00:00.000Z", event("e1", "2026-11-20T10:00:00Z")));
    const { TableServiceClient } = await import("@azure/data-tables");
    const service = TableServiceClient.fromConnectionString(inject("azuriteConnectionString"), { allowInsecureConnection: true });
    for (const table of ["Resources", "Snapshots", "Changes"]) await service.deleteTable(`${p}${table}`);

    const v2 = aVersion({ targetRegions: regions("West Europe") });
    expect((await store.recordSnapshot(record(v2, "2026-11-21T10:00:00.000Z", event("e2", "2026-11-21T10:00:00Z")))).changed).toBe(true);
    expect((await store.current(v2.id.key))?.kind).toBe("imageVersion");
    expect((await store.history(v2.id.key)).length).toBe(1);
  });

  it("lists the current resources of a subscription or one resource group by keys: galleries, their definitions and versions, scale sets", async () => {
    const store = createTableResourceStore(conn(), prefix());
    const other = aVersion({ id: parseResourceId(`${BASE.replace("/resourceGroups/rg/", "/resourceGroups/rg-other/")}/galleries/gal/images/def/versions/1.0.0`) });
    for (const s of [aVersion(), aScaleSet(), other]) await store.recordSnapshot(record(s, "2026-11-20T10:00:00.000Z", event(`e-${s.id.key}`, "2026-11-20T10:00:00Z")));
    // Parents are stored when they are judged; here only the leaves were, so write their rows too.
    const { aGallery, aDefinition } = await import("../support/snapshotBuilders.js");
    for (const s of [aGallery(), aDefinition(), aGallery({ id: parseResourceId(other.id.display.replace(/\/images\/.*$/, "")) }), aDefinition({ id: parentOfVersion(other) })]) {
      await store.recordSnapshot(record(s, "2026-11-20T10:00:00.000Z", event(`p-${s.id.key}`, "2026-11-20T10:00:00Z")));
    }
    await store.recordDeletion(aScaleSet().id, "2026-11-21T10:00:00.000Z", event("d1", "2026-11-21T10:00:00Z"));

    const all: string[] = [];
    for await (const id of store.currentIn(aVersion().id.subscriptionId)) all.push(id.key);
    expect(all.sort()).toEqual([aGallery().id.key, aDefinition().id.key, aVersion().id.key, other.id.key, parentOfVersion(other).key, other.id.key.replace(/\/images\/.*$/, "")].sort());
    const inGroup: string[] = [];
    for await (const id of store.currentIn(aVersion().id.subscriptionId, "RG-OTHER")) inGroup.push(id.key);
    expect(inGroup).toHaveLength(3);
  });

  it("writes history only when content changes, and answers 'as of' with one query", async () => {
    const store = createTableResourceStore(conn(), prefix());
    const v1 = aVersion();
    const v2 = aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") });
    expect((await store.recordSnapshot(record(v1, "2026-11-20T10:00:00.000Z", event("e1", "2026-11-20T10:00:00Z")))).changed).toBe(true);
    expect((await store.recordSnapshot(record(v1, "2026-11-21T10:00:00.000Z", { source: "sweep", runId: "r1" }))).changed).toBe(false);
    expect((await store.recordSnapshot(record(v2, "2026-11-22T10:00:00.000Z", event("e2", "2026-11-22T10:00:00Z")))).changed).toBe(true);
    const history = await store.history(v1.id.key);
    expect(history.map((h) => h.observedAt)).toEqual(["2026-11-22T10:00:00.000Z", "2026-11-20T10:00:00.000Z"]);
    const asOf = await store.history(v1.id.key, { asOf: "2026-11-21T23:00:00.000Z", limit: 1 });
    expect((asOf[0]?.snapshot as typeof v1).targetRegions).toHaveLength(2);
    const changes = await store.changes(v1.id.key, { asOf: "2026-11-21T23:00:00.000Z" });
    expect(changes.map((c) => c.trigger.source === "event" && c.trigger.attribution.callerUpn)).toEqual(["priya@contoso.example"]);
    expect((await store.current(v1.id.key)) as typeof v2).toMatchObject({ targetRegions: v2.targetRegions });
  });

  it("stores a snapshot far over the 64 KiB property limit whole", async () => {
    const store = createTableResourceStore(conn(), prefix());
    const tags = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`tag-${i}`, `value-${"x".repeat(80)}-${i}`]));
    const big = aVersion({ tags });
    expect(JSON.stringify(big).length).toBeGreaterThan(2_000_000);
    await store.recordSnapshot(record(big, "2026-11-24T10:00:00.000Z", event("big", "2026-11-24T10:00:00Z")));
    expect(await store.current(big.id.key)).toEqual(big);
    expect((await store.history(big.id.key))[0]?.snapshot).toEqual(big);
  });

  it("a duplicate event adds nothing; out-of-order events end in the same state as in-order ones", async () => {
    const dump = async (order: Array<[Snapshot, string, string]>) => {
      const store = createTableResourceStore(conn(), prefix());
      for (const [s, at, id] of order) await store.recordSnapshot(record(s, at, event(id, at)));
      const key = order[0]![0].id.key;
      return { current: await store.current(key), history: (await store.history(key)).map((h) => [h.observedAt, h.contentHash]), changes: (await store.changes(key)).map((c) => [c.action, c.trigger.source === "event" ? c.trigger.attribution.eventId : ""]) };
    };
    const a = aVersion();
    const b = aVersion({ excludeFromLatest: false });
    const inOrder = await dump([[a, "2026-11-24T10:00:00.000Z", "e1"], [b, "2026-11-24T11:00:00.000Z", "e2"]]);
    const withDuplicates = await dump([[a, "2026-11-24T10:00:00.000Z", "e1"], [a, "2026-11-24T10:00:00.000Z", "e1"], [b, "2026-11-24T11:00:00.000Z", "e2"], [b, "2026-11-24T11:00:00.000Z", "e2"]]);
    const reversed = await dump([[b, "2026-11-24T11:00:00.000Z", "e2"], [a, "2026-11-24T10:00:00.000Z", "e1"]]);
    expect(withDuplicates).toEqual(inOrder);
    expect(reversed.current).toEqual(inOrder.current);
    // The older observation arriving last never replaces the newer one; the log says it was stale.
    expect(reversed.changes).toEqual([["written", "e2"], ["stale", "e1"]]);
  });

  it("keeps the index of scale sets following a definition as they move, and forgets deleted resources", async () => {
    const store = createTableResourceStore(conn(), prefix());
    const defA = `${BASE}/galleries/gal/images/def`;
    const onA = aScaleSet();
    await store.recordSnapshot(record(onA, "2026-11-24T10:00:00.000Z", event("s1", "2026-11-24T10:00:00Z")));
    expect((await store.machinesReferencing(defA.toLowerCase())).map((s) => s.id.key)).toEqual([onA.id.key]);
    const onB = aScaleSet({ definition: "other" });
    await store.recordSnapshot(record(onB, "2026-11-24T11:00:00.000Z", event("s2", "2026-11-24T11:00:00Z")));
    expect(await store.machinesReferencing(defA.toLowerCase())).toEqual([]);
    expect(await store.machinesReferencing(`${BASE}/galleries/gal/images/other`.toLowerCase())).toHaveLength(1);
    const version = aVersion();
    await store.recordSnapshot(record(version, "2026-11-24T10:00:00.000Z", event("v1", "2026-11-24T10:00:00Z")));
    expect(await store.versionsOf(defA.toLowerCase())).toHaveLength(1);
    await store.recordDeletion(version.id, "2026-11-24T12:00:00.000Z", event("v1-del", "2026-11-24T12:00:00Z"));
    expect(await store.versionsOf(defA.toLowerCase())).toEqual([]);
    expect(await store.current(version.id.key)).toBeUndefined();
    expect((await store.changes(version.id.key))[0]?.action).toBe("deleted");
  });
});

describe("tableResourceStore: virtual machines", () => {
  it("indexes VMs beside scale sets under the definition they run (a pinned version's, or an OS disk's resolved one), lists them per subscription, and forgets a deleted one", async () => {
    const store = createTableResourceStore(conn(), prefix());
    const def = `${BASE}/galleries/gal/images/def`.toLowerCase();
    const pinned = aVm({ name: "drill-01" });
    const fromDisk = aVm({ name: "recovered", imageReference: { kind: "osDisk", diskId: `${BASE}/disks/recovered-os` } });
    const scaleSet = aScaleSet();
    for (const [s, n] of [[pinned, 1], [fromDisk, 2], [scaleSet, 3]] as const) await store.recordSnapshot(record(s, `2026-11-24T10:00:0${n}.000Z`, event(`m${n}`, "2026-11-24T10:00:00Z")));
    expect((await store.machinesReferencing(def)).map((m) => m.id.key).sort()).toEqual([pinned.id.key, fromDisk.id.key, scaleSet.id.key].sort());
    // What comes back is the snapshot as stored, ids revived.
    expect(await store.current(pinned.id.key)).toEqual(pinned);
    const listed: string[] = [];
    for await (const id of store.currentIn(SUB)) listed.push(id.key);
    expect(listed).toEqual(expect.arrayContaining([pinned.id.key, fromDisk.id.key, scaleSet.id.key]));
    await store.recordDeletion(pinned.id, "2026-11-24T12:00:00.000Z", event("m1-del", "2026-11-24T12:00:00Z"));
    expect((await store.machinesReferencing(def)).map((m) => m.id.key).sort()).toEqual([fromDisk.id.key, scaleSet.id.key].sort());
  });
});

describe("tableFindingStore and the outbox", () => {
  const violating = aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") });
  const evaluate = (at: Date) => ({ subjects: [violating.id.key], rules: [...RULE_IDS], results: evaluateSubject(violating, { definitions: [], versions: [] }, policy(), at), evaluatedAt: at.toISOString() });

  it("applies transitions conditionally: a retry of the same verdict is fine, a different one from the same start conflicts", async () => {
    const findings = createTableFindingStore(conn(), prefix());
    const t = computeTransitions([], evaluate(NOW));
    await findings.apply(t);
    await findings.apply(computeTransitions([], evaluate(new Date(NOW.getTime() + 5)))); // a concurrent duplicate: same verdict, another instant
    const stored = await findings.forResource(violating.id.key);
    expect(stored.map((f) => [f.ruleId, f.revision])).toEqual([["replication-breadth", 1]]);
    const different = { ...t[0]!, after: { ...t[0]!.after, magnitude: 99 } };
    await expect(findings.apply([different])).rejects.toBeInstanceOf(ConcurrentUpdateError);
  });

  it("answers which findings were open at a time", async () => {
    const findings = createTableFindingStore(conn(), prefix());
    const opened = computeTransitions([], evaluate(NOW));
    await findings.apply(opened);
    const later = new Date("2026-11-25T12:00:00Z");
    await findings.apply(computeTransitions(await findings.forResource(violating.id.key), { ...evaluate(later), results: [] }));
    expect((await findings.asOf(violating.id.key, "2026-11-24T18:00:00.000Z")).map((f) => f.status)).toEqual(["open"]);
    expect((await findings.asOf(violating.id.key, later.toISOString())).map((f) => f.status)).toEqual(["resolved"]);
    expect(await findings.open({ ruleId: "replication-breadth" })).toEqual([]);
  });

  it("stages alerts until released, claims each once under concurrency, and discards what a lost write staged", async () => {
    const outbox = createTableAlertOutbox(conn(), prefix());
    const [t] = computeTransitions([], evaluate(NOW));
    const alert = { alertId: `${t!.fingerprint}:1`, transition: t! };
    await outbox.enqueue([alert], NOW.toISOString());
    await outbox.enqueue([alert], NOW.toISOString()); // idempotent
    expect(await outbox.claimDue(NOW.toISOString(), 10, 60_000)).toEqual([]); // staged: not sendable
    await outbox.release([alert], NOW.toISOString());
    const claims = await Promise.all([outbox.claimDue(NOW.toISOString(), 10, 60_000), outbox.claimDue(NOW.toISOString(), 10, 60_000)]);
    expect(claims.flat().map((a) => a.alertId)).toEqual([alert.alertId]);
    const lost = { alertId: "lost:1", transition: t! };
    await outbox.enqueue([lost], NOW.toISOString());
    await outbox.discard([lost.alertId]);
    expect((await outbox.list()).map((a) => a.alertId)).toEqual([alert.alertId]);
  });

  it("claims the oldest alerts up to its limit, and the rest of the change the last of them belongs to, whatever the backlog", async () => {
    const outbox = createTableAlertOutbox(conn(), prefix());
    const [t] = computeTransitions([], evaluate(NOW));
    const at = (s: number) => new Date(NOW.getTime() + s * 1000).toISOString();
    /** An alert for `rule` on `resource`, judged (staged and released) at second `s`. */
    const alert = (resource: string, rule: string, s: number) => ({ alertId: `${resource}-${rule}:1`, transition: { ...t!, fingerprint: `${resource}-${rule}`, at: at(s), after: { ...t!.after, resourceKey: resource, fingerprint: `${resource}-${rule}` } } });
    // Enqueued newest first, so the order comes from the rows, not from the writes.
    const backlog = [alert("r4", "a", 4), alert("r3", "a", 3), alert("r2", "b", 2), alert("r2", "a", 2), alert("r1", "a", 1)];
    for (const a of backlog) {
      await outbox.enqueue([a], a.transition.at);
      await outbox.release([a], a.transition.at);
    }
    const claimed = await outbox.claimDue(at(10), 2, 60_000);
    expect(claimed.map((a) => a.alertId).sort()).toEqual(["r1-a:1", "r2-a:1", "r2-b:1"]);
    expect((await outbox.claimDue(at(10), 2, 60_000)).map((a) => a.alertId)).toEqual(["r3-a:1", "r4-a:1"]);
  });

  it("keeps one finding's cards in order: a later revision is not claimed while an earlier one is still owed", async () => {
    const outbox = createTableAlertOutbox(conn(), prefix());
    const findings = createTableFindingStore(conn(), prefix());
    const opened = computeTransitions([], evaluate(NOW));
    await findings.apply(opened);
    const resolved = computeTransitions(await findings.forResource(violating.id.key), { ...evaluate(new Date(NOW.getTime() + 1000)), results: [] });
    const first = { alertId: `${opened[0]!.fingerprint}:1`, transition: opened[0]! };
    const second = { alertId: `${resolved[0]!.fingerprint}:2`, transition: resolved[0]! };
    for (const a of [first, second]) {
      await outbox.enqueue([a], NOW.toISOString());
      await outbox.release([a], NOW.toISOString());
    }
    const later = new Date(NOW.getTime() + 60_000).toISOString();
    const [claimedFirst] = await outbox.claimDue(NOW.toISOString(), 10, 1000);
    expect(claimedFirst?.alertId).toBe(first.alertId);
    await outbox.markRetry(first.alertId, later, "429"); // Teams refused the Opened card for now
    expect(await outbox.claimDue(new Date(NOW.getTime() + 2000).toISOString(), 10, 1000)).toEqual([]); // the Resolved waits for it
    expect((await outbox.claimDue(later, 10, 1000)).map((a) => a.alertId)).toEqual([first.alertId]);
    await outbox.markDelivered(first.alertId, later);
    expect((await outbox.claimDue(later, 10, 1000)).map((a) => a.alertId)).toEqual([second.alertId]);
    await outbox.markDelivered(second.alertId, later);
    expect(await outbox.claimDue(later, 10, 1000)).toEqual([]);
    expect((await outbox.list({ state: "delivered" })).map((a) => a.alertId).sort()).toEqual([first.alertId, second.alertId].sort());
  });
});

it("parses resource ids used as keys back", () => {
  expect(parseResourceId(aVersion().id.key).key).toBe(aVersion().id.key);
});
