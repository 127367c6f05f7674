/**
 * `gallery-watch reindex` against the real Azurite the test run starts (a fresh table prefix per
 * test): data written by the app, its index rows deleted (an app deployed before the indexes),
 * then rebuilt. The listings the indexes serve answer as before; a second run writes nothing; a
 * run that stops resumes from its checkpoint.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import type { TableClient } from "@azure/data-tables";
import { createTableFindingStore, findingIndexRebuild } from "../../shared/adapters/tables/tableFindingStore.js";
import { changeLogRebuild, createTableResourceStore, lineageRebuild } from "../../shared/adapters/tables/tableResourceStore.js";
import { createTableAlertOutbox, outboxIndexRebuild } from "../../shared/adapters/tables/tableAlertOutbox.js";
import { createTableReindexCheckpoints } from "../../shared/adapters/tables/tableReindexCheckpoints.js";
import { listAll, openTable, type StorageConnection } from "../../shared/adapters/tables/tableClients.js";
import { encodeKey } from "../../shared/adapters/tables/tableKeys.js";
import { reindex, type ReindexDependencies } from "../../shared/app/reindex.js";
import type { IndexRebuild } from "../../shared/app/ports.js";
import type { Finding, FindingTransition } from "../../shared/domain/findings.js";
import type { ChangeRecord, FindingQuery, Trigger } from "../../shared/app/ports.js";
import { BASE, aFinding, aVm } from "../support/snapshotBuilders.js";
import { contentHashOf } from "../../shared/domain/contentHash.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { Snapshot, VirtualMachineSnapshot } from "../../shared/domain/snapshots.js";

const conn = (): StorageConnection => ({ connectionString: inject("azuriteConnectionString") });
const newPrefix = () => `r${randomUUID().replace(/-/g, "").slice(0, 12)}`;
const clock = { now: () => new Date("2026-12-07T06:00:00.000Z") };

const finding = (n: number, overrides: Partial<Finding> = {}): Finding =>
  aFinding(`${BASE}/galleries/g/images/def${n}/versions/1.0.${n}`, { summary: `finding ${n}`, updatedAt: new Date(Date.UTC(2026, 10, 1) + n * 60_000).toISOString(), ...overrides });
const opened = (f: Finding): FindingTransition => ({ kind: "opened", fingerprint: f.fingerprint, after: f, alert: true, at: f.updatedAt });
const trigger = (eventId: string, eventTime: string): Trigger => ({
  source: "event",
  attribution: { eventId, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime, correlationId: `corr-${eventId}`, callerUpn: "Priya.Patel@contoso.example" },
});

/** What gallery-watch stored before the indexes existed: findings (open and resolved), changes, and alerts staged, pending and delivered. */
async function seed(prefix: string): Promise<void> {
  const findings = createTableFindingStore(conn(), prefix);
  const all = Array.from({ length: 12 }, (_, n) => finding(n));
  for (const f of all) await findings.apply([opened(f)]);
  for (const f of all.slice(0, 3)) {
    const resolved: Finding = { ...f, status: "resolved", updatedAt: "2026-11-03T00:00:00.000Z", resolvedAt: "2026-11-03T00:00:00.000Z", revision: f.revision + 1 };
    await findings.apply([{ kind: "resolved", fingerprint: f.fingerprint, before: f, after: resolved, alert: true, at: resolved.updatedAt }]);
  }
  const resources = createTableResourceStore(conn(), prefix);
  for (let n = 0; n < 9; n++) {
    const at = new Date(Date.UTC(2026, 10, 20) + n * 9 * 3_600_000).toISOString();
    const id = `${BASE}/galleries/g/images/def${n % 3}/versions/1.0.${n}`;
    const change: ChangeRecord = { resourceKey: id.toLowerCase(), resourceId: id, action: "written", observedAt: at, trigger: n % 4 === 3 ? { source: "sweep", runId: `run-${n}` } : trigger(`e${n}`, at) };
    await resources.recordChange(change);
  }
  const outbox = createTableAlertOutbox(conn(), prefix);
  const alerts = all.slice(3, 9).map((f) => ({ alertId: `${f.fingerprint}:${f.revision}`, transition: opened(f) }));
  await outbox.enqueue(alerts, "2026-11-02T00:00:00.000Z");
  await outbox.release(alerts.slice(0, 4), "2026-11-02T00:00:01.000Z"); // pending; the other two stay staged
  await outbox.markRetry(alerts[1]!.alertId, "2026-11-02T00:10:00.000Z", "429 Too Many Requests");
  await outbox.markDelivered(alerts[0]!.alertId, "2026-11-02T00:00:05.000Z");
}

/** Every listing the indexes serve, as a person would see it. */
async function listings(prefix: string) {
  const findings = createTableFindingStore(conn(), prefix);
  const query = async (q: Omit<FindingQuery, "continuationToken">) => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await findings.query({ ...q, ...(token ? { continuationToken: token } : {}) });
      out.push(...page.items.map((f) => `${f.status} ${f.summary} r${f.revision}`));
      token = page.continuationToken;
    } while (token);
    return out;
  };
  const resources = createTableResourceStore(conn(), prefix);
  const changes = await resources.changesSince({ since: "2026-11-01T00:00:00Z", until: "2026-12-01T00:00:00Z", limit: 100 });
  const byCaller = await resources.changesSince({ since: "2026-11-01T00:00:00Z", until: "2026-12-01T00:00:00Z", limit: 100, caller: "priya.patel@contoso.example" });
  const alerts = await openTable(conn(), `${prefix}Alerts`);
  const index = async (partition: string) =>
    (await listAll<Record<string, unknown>>(alerts, `PartitionKey eq '${partition}'`)).map(({ etag: _e, timestamp: _t, ...row }) => row);
  const outbox = createTableAlertOutbox(conn(), prefix);
  return {
    open: await query({ states: ["open"], limit: 5 }),
    resolved: await query({ states: ["resolved"], limit: 5 }),
    changes: changes.items.map((c) => `${c.resourceKey} ${c.observedAt} ${c.trigger.source}`),
    byCaller: byCaller.items.length,
    due: await index("due"),
    staged: await index("staged"),
    stagedAlerts: (await outbox.staged("2026-12-01T00:00:00.000Z")).map((a) => a.alertId).sort(),
  };
}

async function deleteAll(table: TableClient, filter?: string): Promise<number> {
  const rows = await listAll(table, filter ?? "PartitionKey ne ''");
  for (const row of rows) await table.deleteEntity(row.partitionKey!, row.rowKey!);
  return rows.length;
}

/** An app deployed before the indexes: the index rows were never written. */
async function dropIndexes(prefix: string): Promise<void> {
  expect(await deleteAll(await openTable(conn(), `${prefix}FindingIndex`))).toBe(12);
  expect(await deleteAll(await openTable(conn(), `${prefix}ChangeLog`))).toBe(9);
  expect(await deleteAll(await openTable(conn(), `${prefix}Alerts`), "PartitionKey eq 'due' or PartitionKey eq 'staged'")).toBe(5);
}

function deps(prefix: string, pageSize?: number): ReindexDependencies {
  return {
    indexes: [findingIndexRebuild(conn(), prefix, pageSize), changeLogRebuild(conn(), prefix, pageSize), outboxIndexRebuild(conn(), prefix, pageSize)],
    checkpoints: createTableReindexCheckpoints(conn(), prefix),
    clock,
  };
}

const FIGURES = { FindingIndex: 12, ChangeLog: 9, AlertOutboxIndex: 6 };

describe("gallery-watch reindex", () => {
  it("rebuilds the finding, change and outbox indexes: the listings answer as before, and a second run writes nothing", async () => {
    const prefix = newPrefix();
    await seed(prefix);
    const before = await listings(prefix);
    expect(before.open).toHaveLength(9);
    expect(before.resolved).toHaveLength(3);
    expect(before.changes).toHaveLength(9);
    expect(before.due).toHaveLength(3);
    expect(before.staged).toHaveLength(2);

    await dropIndexes(prefix);
    const dropped = await listings(prefix);
    expect([dropped.open, dropped.resolved, dropped.changes, dropped.due, dropped.staged, dropped.stagedAlerts]).toEqual([[], [], [], [], [], []]);

    const first = await reindex(deps(prefix));
    expect(first.map((r) => [r.index, r.scanned, r.rebuilt, r.resumed])).toEqual([
      ["FindingIndex", FIGURES.FindingIndex, 12, false],
      ["ChangeLog", FIGURES.ChangeLog, 9, false],
      ["AlertOutboxIndex", FIGURES.AlertOutboxIndex, 5, false],
    ]);
    expect(await listings(prefix)).toEqual(before);

    const second = await reindex(deps(prefix));
    expect(second.map((r) => [r.index, r.scanned, r.rebuilt])).toEqual([
      ["FindingIndex", 12, 0],
      ["ChangeLog", 9, 0],
      ["AlertOutboxIndex", 6, 0],
    ]);
    expect(await listings(prefix)).toEqual(before);
  });

  it("resumes from its checkpoint after a run that stopped part way", async () => {
    const prefix = newPrefix();
    await seed(prefix);
    const before = await listings(prefix);
    await dropIndexes(prefix);

    // Three findings a page; the run dies on the second page.
    const stopping = deps(prefix, 3);
    const findingIndex = stopping.indexes[0]!;
    let pages = 0;
    const dying: IndexRebuild = {
      ...findingIndex,
      rebuildPage: (continuation) => (++pages === 2 ? Promise.reject(new Error("connection lost")) : findingIndex.rebuildPage(continuation)),
    };
    await expect(reindex({ ...stopping, indexes: [dying] })).rejects.toThrow("connection lost");
    expect(await createTableReindexCheckpoints(conn(), prefix).read("FindingIndex")).toMatchObject({ scanned: 3, rebuilt: 3 });

    const resumed = await reindex(deps(prefix, 3));
    expect(resumed[0]).toMatchObject({ index: "FindingIndex", scanned: 12, rebuilt: 12, resumed: true });
    expect(await listings(prefix)).toEqual(before);
    // The pass is complete: the next run starts over and finds nothing missing.
    expect((await reindex(deps(prefix, 3)))[0]).toMatchObject({ index: "FindingIndex", scanned: 12, rebuilt: 0, resumed: false });
  });

  it("reports each index's progress to the terminal's bar", async () => {
    const prefix = newPrefix();
    await seed(prefix);
    await dropIndexes(prefix);
    const events: string[] = [];
    await reindex(deps(prefix, 5), {
      only: ["ChangeLog"],
      progress: {
        start: (name, total, scanned) => events.push(`start ${name} ${total} ${scanned}`),
        advance: (name, scanned, rebuilt) => events.push(`${name} ${scanned} ${rebuilt}`),
        finish: (name) => events.push(`finish ${name}`),
      },
    });
    expect(events).toEqual(["start ChangeLog 9 0", "ChangeLog 5 5", "ChangeLog 9 9", "finish ChangeLog"]);
  });

  it("works out the lineage of machines recorded before it existed from their history, names what each runs, and a second run writes nothing", async () => {
    const prefix = newPrefix();
    const store = createTableResourceStore(conn(), prefix);
    const write = (snapshot: Snapshot, at: string, id: string) => store.recordSnapshot({ snapshot, contentHash: contentHashOf(snapshot), observedAt: at, trigger: trigger(id, at) });
    const drill = aVm({ name: "drill" });
    const workstation = aVm({ name: "workstation" });
    await write(drill, "2026-11-24T12:00:00.000Z", "l-1");
    await write(workstation, "2026-11-24T12:01:00.000Z", "l-2");
    await write(aVm({ name: "drill", version: "2.0.0" }), "2026-11-24T13:00:00.000Z", "l-3");
    await store.recordDeletion(drill.id, "2026-11-24T14:00:00.000Z", trigger("l-4", "2026-11-24T14:00:00.000Z"));
    const versionKey = (v: VirtualMachineSnapshot) => parseResourceId(v.image.outcome === "resolved" ? v.image.versionId! : "").key;
    const v1 = versionKey(drill);
    const v2 = versionKey(aVm({ version: "2.0.0" }));
    const before = { v1: await store.lineage(v1), v2: await store.lineage(v2) };
    expect(before.v1).toHaveLength(2);
    expect(before.v2).toHaveLength(1);

    // As an app deployed before lineage left it: no lineage rows, machine rows not naming what they run.
    const table = await openTable(conn(), `${prefix}Resources`);
    expect(await deleteAll(table, "PartitionKey gt 'lineage~' and PartitionKey lt 'lineagf'")).toBe(3);
    for (const row of await listAll<Record<string, unknown>>(table, "kind eq 'virtualMachine'")) {
      const { etag: _etag, timestamp: _timestamp, runsVersionKey: _runs, ...rest } = row;
      await table.updateEntity(rest as { partitionKey: string; rowKey: string }, "Replace");
    }
    expect([await store.lineage(v1), await store.lineage(v2)]).toEqual([[], []]);

    const only = { ...deps(prefix), indexes: [lineageRebuild(conn(), prefix)] };
    expect((await reindex(only)).map((r) => [r.index, r.scanned, r.rebuilt])).toEqual([["Lineage", 2, 3]]);
    expect({ v1: await store.lineage(v1), v2: await store.lineage(v2) }).toEqual(before);
    expect((await reindex(only)).map((r) => [r.index, r.scanned, r.rebuilt])).toEqual([["Lineage", 2, 0]]);

    // Rows the live index started late (first seen at the machine's next recorded change) or never
    // ended (the machine moved before its row named what it ran): history puts both right.
    const lineageKey = (versionKey: string, vm: VirtualMachineSnapshot) => ({ partitionKey: `lineage~${encodeKey(versionKey)}`, rowKey: encodeKey(vm.id.key) });
    await table.updateEntity({ ...lineageKey(v1, workstation), firstSeen: "2026-11-24T12:30:00.000Z" }, "Merge");
    await table.updateEntity({ ...lineageKey(v1, drill), lastSeen: "" }, "Merge");
    expect((await reindex(only)).map((r) => [r.index, r.scanned, r.rebuilt])).toEqual([["Lineage", 2, 2]]);
    expect({ v1: await store.lineage(v1), v2: await store.lineage(v2) }).toEqual(before);

    // The workstation's row names its version again: moving it ends that version's lineage.
    await write(aVm({ name: "workstation", version: "2.0.0" }), "2026-11-24T15:00:00.000Z", "l-5");
    expect((await store.lineage(v1)).find((e) => e.machineId === workstation.id.display)).toEqual({ machineId: workstation.id.display, kind: "virtualMachine", firstSeen: "2026-11-24T12:01:00.000Z", lastSeen: "2026-11-24T15:00:00.000Z" });
  });
});
