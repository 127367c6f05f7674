/**
 * FindingStore on Table Storage.
 * - `<prefix>Findings`: PK = encoded resource key, RK = fingerprint; writes conditional on the
 *   stored revision (a concurrent writer gets ConcurrentUpdateError and re-evaluates).
 * - `<prefix>FindingHistory`: PK = encoded resource key, RK = fingerprint + inverted time +
 *   revision: "which findings were open on this resource at time X" is one partition query.
 */
import type { Finding, FindingTransition } from "../domain/findings.js";
import type { FindingStore } from "../ports.js";
import { ConcurrentUpdateError } from "../errors.js";
import { canonicalJson } from "./contentHash.js";
import { encodeKey, invertedTime } from "./tableKeys.js";
import { bodyProperties, call, getOrUndefined, insertIfAbsent, listAll, odata, openTable, readBody, upsertWithBody, type StorageConnection } from "./tableClients.js";

interface FindingRow {
  resourceKey: string;
  ruleId: string;
  status: string;
  revision: number;
  updatedAt: string;
}

export function createTableFindingStore(conn: StorageConnection, prefix: string): FindingStore {
  const findings = () => openTable(conn, `${prefix}Findings`);
  const history = () => openTable(conn, `${prefix}FindingHistory`);

  async function load(rows: readonly object[]): Promise<Finding[]> {
    const table = await findings();
    return Promise.all(rows.map(async (row) => JSON.parse(await readBody(table, row)) as Finding));
  }

  async function applyOne(t: FindingTransition): Promise<void> {
    const table = await findings();
    const pk = encodeKey(t.after.resourceKey);
    const rk = t.fingerprint;
    const json = JSON.stringify(t.after);
    const row = { partitionKey: pk, rowKey: rk, resourceKey: t.after.resourceKey, ruleId: t.after.ruleId, status: t.after.status, revision: t.after.revision, updatedAt: t.after.updatedAt };
    const stored = await getOrUndefined<FindingRow>(table, pk, rk);
    if (stored && stored.revision === t.after.revision) {
      // A retry of a write that already landed: fine if it is the same finding, a conflict otherwise.
      if (sameVerdict(JSON.parse(await readBody(table, stored)) as Finding, t.after)) return;
      throw new ConcurrentUpdateError("apply", table.tableName, `finding ${rk} revision ${t.after.revision} was written differently by another invocation`);
    }
    const expected = t.before?.revision;
    if ((stored?.revision ?? undefined) !== expected) {
      throw new ConcurrentUpdateError("apply", table.tableName, `finding ${rk} is at revision ${stored?.revision ?? "none"}, expected ${expected ?? "none"}`);
    }
    const { properties, overflow } = bodyProperties(json);
    if (overflow.length > 0) throw new ConcurrentUpdateError("apply", table.tableName, `finding ${rk} is larger than one entity`);
    if (stored) {
      await call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity({ ...row, ...properties }, "Replace", { etag: stored.etag, abortSignal }));
    } else if (!(await insertIfAbsent(table, { ...row, ...properties }))) {
      throw new ConcurrentUpdateError("apply", table.tableName, `finding ${rk} was created by another invocation`);
    }
    await upsertWithBody(await history(), { partitionKey: pk, rowKey: `${rk}~${invertedTime(t.after.updatedAt)}~${String(t.after.revision).padStart(8, "0")}`, fingerprint: rk, updatedAt: t.after.updatedAt, status: t.after.status }, json);
  }

  return {
    async forResource(resourceKey) {
      const table = await findings();
      return load(await listAll(table, `PartitionKey eq ${odata(encodeKey(resourceKey))}`));
    },

    async apply(transitions) {
      for (const t of transitions) await applyOne(t);
    },

    async open(options = {}) {
      const table = await findings();
      const filter = `status ne 'resolved'${options.ruleId ? ` and ruleId eq ${odata(options.ruleId)}` : ""}`;
      return load(await listAll(table, filter));
    },

    async asOf(resourceKey, at) {
      const table = await history();
      const rows = await listAll<{ fingerprint: string; updatedAt: string }>(table, `PartitionKey eq ${odata(encodeKey(resourceKey))}`);
      const latest = new Map<string, (typeof rows)[number]>();
      // Rows sort by fingerprint, then newest first: the first row at or before `at` per fingerprint is the one in force.
      for (const row of rows) if (row.updatedAt <= at && !latest.has(row.fingerprint)) latest.set(row.fingerprint, row);
      return Promise.all([...latest.values()].map(async (row) => JSON.parse(await readBody(table, row)) as Finding));
    },
  };
}

/** The same finding apart from when it was evaluated: a duplicate delivery judged concurrently. */
function sameVerdict(a: Finding, b: Finding): boolean {
  const strip = ({ updatedAt: _u, firstSeenAt: _f, resolvedAt: _r, ...rest }: Finding) => canonicalJson(rest);
  return strip(a) === strip(b);
}
