/**
 * FindingStore on Table Storage.
 * - `<prefix>Findings`: PK = encoded resource key, RK = fingerprint; writes conditional on the
 *   stored revision (a concurrent writer gets ConcurrentUpdateError and re-evaluates).
 * - `<prefix>FindingHistory`: PK = encoded resource key, RK = fingerprint + inverted time +
 *   revision: "which findings were open on this resource at time X" is one partition query.
 * - `<prefix>FindingIndex`: PK = `status~<status>`, RK = inverted updatedAt + `~` + fingerprint,
 *   with the finding's body: "every open finding, newest first" is a range query over one
 *   partition per status, never a scan of every resource's partition. Written by `apply()` after
 *   the finding row; the row under the previous status is deleted when the status (or updatedAt)
 *   moves. A crash between the two writes is repaired when the transition is retried (Functions
 *   retries the invocation): the retry path rewrites the index from `before` and `after`.
 */
import { statusOf } from "../../platform/sdkErrors.js";
import type { TableClient } from "@azure/data-tables";
import { setBounded } from "../../platform/boundedMap.js";
import type { Finding, FindingTransition } from "../../domain/findings.js";
import { tryParseResourceId } from "../../domain/resourceId.js";
import { decodeContinuation, encodeContinuation, type FindingStore, type Page } from "../../app/ports.js";
import { ConcurrentUpdateError } from "../../domain/errors.js";
import { canonicalJson } from "../../domain/contentHash.js";
import { encodeKey, invertedTime, rowKeyAtOrAfter } from "./tableKeys.js";
import { bodyProperties, call, countRows, createIfAbsent, getOrUndefined, insertIfAbsent, listAll, listPage, odata, openTable, readBody, upsertWithBody, type StorageConnection } from "./tableClients.js";
import type { IndexRebuild } from "../../app/ports.js";

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
  const index = () => openTable(conn, `${prefix}FindingIndex`);

  /** Write the finding's index row under its status; then remove the row it had under the previous status or time. */
  async function indexFinding(after: Finding, before: Pick<FindingRow, "status" | "updatedAt"> | undefined): Promise<void> {
    const table = await index();
    const row = indexRow(after);
    // Insert before delete: a concurrent reader may see the finding twice for a moment, never not at all.
    await upsertWithBody(table, row.entity, row.json);
    if (!before) return;
    const old = indexKeys(before.status, before.updatedAt, after.fingerprint);
    if (old.partitionKey === row.entity.partitionKey && old.rowKey === row.entity.rowKey) return;
    await deleteIfPresent(table, old.partitionKey, old.rowKey);
  }

  async function load(rows: readonly object[]): Promise<Finding[]> {
    const table = await findings();
    return Promise.all(rows.map(async (row) => JSON.parse(await readBody(table, row)) as Finding));
  }

  /**
   * The etag of each finding row this process last read or wrote, with its revision: `apply` right
   * after `forResource` (one judgement) writes conditionally on it instead of reading the row
   * again. Only a shortcut: a stale etag fails the write (412) and the row is read as before.
   */
  const known = new Map<string, { revision: number; etag: string }>();
  const remember = (pk: string, rk: string, revision: number, etag: string | undefined) => {
    if (etag) setBounded(known, `${pk}|${rk}`, { revision, etag }, 10_000);
  };

  async function applyOne(t: FindingTransition): Promise<void> {
    const table = await findings();
    const pk = encodeKey(t.after.resourceKey);
    const rk = t.fingerprint;
    const json = JSON.stringify(t.after);
    const row = { partitionKey: pk, rowKey: rk, resourceKey: t.after.resourceKey, ruleId: t.after.ruleId, status: t.after.status, revision: t.after.revision, updatedAt: t.after.updatedAt };
    const { properties, overflow } = bodyProperties(json);
    if (overflow.length > 0) throw new ConcurrentUpdateError("apply", table.tableName, `finding ${rk} is larger than one entity`);
    const expected = t.before?.revision;
    const cached = known.get(`${pk}|${rk}`);
    // The common case in one request: a new finding is inserted, a known one replaced on its etag.
    let etag: string | undefined;
    if (expected === undefined) etag = await createIfAbsent(table, { ...row, ...properties });
    else if (cached?.revision === expected) {
      etag = await call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity({ ...row, ...properties }, "Replace", { etag: cached.etag, abortSignal }))
        .then((r) => r.etag ?? "*")
        .catch((error: unknown) => (error instanceof ConcurrentUpdateError ? undefined : Promise.reject(error)));
    }
    if (etag === undefined) {
      // Not known here, or changed since: read the row to tell a retry of our own write from a conflict.
      const stored = await getOrUndefined<FindingRow>(table, pk, rk);
      if (stored && stored.revision === t.after.revision) {
        // A retry of a write that already landed: fine if it is the same finding, a conflict otherwise.
        const landed = JSON.parse(await readBody(table, stored)) as Finding;
        if (sameVerdict(landed, t.after)) {
          // The earlier attempt may have died before its history and index writes: complete them (idempotent).
          await writeHistory(landed);
          await indexFinding(landed, t.before);
          return;
        }
        throw new ConcurrentUpdateError("apply", table.tableName, `finding ${rk} revision ${t.after.revision} was written differently by another invocation`);
      }
      if ((stored?.revision ?? undefined) !== expected) {
        throw new ConcurrentUpdateError("apply", table.tableName, `finding ${rk} is at revision ${stored?.revision ?? "none"}, expected ${expected ?? "none"}`);
      }
      if (stored) etag = (await call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity({ ...row, ...properties }, "Replace", { etag: stored.etag, abortSignal }))).etag;
      else if ((etag = await createIfAbsent(table, { ...row, ...properties })) === undefined) throw new ConcurrentUpdateError("apply", table.tableName, `finding ${rk} was created by another invocation`);
    }
    remember(pk, rk, t.after.revision, etag);
    await Promise.all([writeHistory(t.after), indexFinding(t.after, t.before)]);
  }

  async function writeHistory(f: Finding): Promise<void> {
    await upsertWithBody(await history(), { partitionKey: encodeKey(f.resourceKey), rowKey: `${f.fingerprint}~${invertedTime(f.updatedAt)}~${String(f.revision).padStart(8, "0")}`, fingerprint: f.fingerprint, updatedAt: f.updatedAt, status: f.status }, JSON.stringify(f));
  }

  return {
    async forResource(resourceKey) {
      const table = await findings();
      const rows = await listAll<FindingRow>(table, `PartitionKey eq ${odata(encodeKey(resourceKey))}`);
      for (const row of rows) remember(row.partitionKey ?? "", row.rowKey ?? "", Number(row.revision), row.etag);
      return load(rows);
    },

    async apply(transitions) {
      // Each finding is its own row: they are written side by side.
      await Promise.all(transitions.map(applyOne));
    },

    async open(options = {}) {
      const table = await findings();
      const filter = `status ne 'resolved'${options.ruleId ? ` and ruleId eq ${odata(options.ruleId)}` : ""}`;
      return load(await listAll(table, filter));
    },

    async query(q): Promise<Page<Finding>> {
      if (q.states.length === 0) return { items: [] };
      const after = decodeContinuation(q.continuationToken);
      const table = await index();
      const conditions = [
        ...(after ? [`RowKey gt ${odata(after)}`] : []),
        // updatedAt >= since (tableKeys.ts).
        ...(q.since ? [rowKeyAtOrAfter(q.since)].filter((c) => c !== undefined) : []),
        ...(q.ruleId ? [`ruleId eq ${odata(q.ruleId)}`] : []),
        ...(q.severity ? [`severity eq ${odata(q.severity.toLowerCase())}`] : []),
        ...(q.subscriptionId ? [`subscriptionId eq ${odata(q.subscriptionId.toLowerCase())}`] : []),
      ];
      // One range query per status partition, limit + 1 each: merged by RowKey (the same order in
      // every partition), the extra row says whether another page exists.
      const perState = await Promise.all(
        [...new Set(q.states)].map((status) => listAll<IndexRow>(table, [`PartitionKey eq ${odata(`status~${status}`)}`, ...conditions].join(" and "), q.limit + 1)),
      );
      const merged = perState.flat().sort((a, b) => ((a.rowKey ?? "") < (b.rowKey ?? "") ? -1 : (a.rowKey ?? "") > (b.rowKey ?? "") ? 1 : 0));
      const page = merged.slice(0, q.limit);
      const items = await Promise.all(page.map(async (row) => JSON.parse(await readBody(table, row)) as Finding));
      return merged.length > q.limit ? { items, continuationToken: encodeContinuation(page[page.length - 1]!.rowKey!) } : { items };
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

interface IndexRow {
  fingerprint: string;
  status: string;
  updatedAt: string;
}

function indexKeys(status: string, updatedAt: string, fingerprint: string): { partitionKey: string; rowKey: string } {
  return { partitionKey: `status~${status}`, rowKey: `${invertedTime(updatedAt)}~${fingerprint}` };
}

/** The index row of a finding: keys, the filterable columns (lower-cased where people type them) and the body. */
function indexRow(f: Finding): { entity: { partitionKey: string; rowKey: string } & Record<string, string | number>; json: string } {
  const id = tryParseResourceId(f.resourceId);
  return {
    entity: {
      ...indexKeys(f.status, f.updatedAt, f.fingerprint),
      fingerprint: f.fingerprint,
      resourceKey: f.resourceKey,
      ruleId: f.ruleId,
      status: f.status,
      severity: f.severity,
      subscriptionId: id.ok ? id.id.subscriptionId : "",
      updatedAt: f.updatedAt,
      revision: f.revision,
    },
    json: JSON.stringify(f),
  };
}

async function deleteIfPresent(table: TableClient, partitionKey: string, rowKey: string): Promise<void> {
  await call(table.tableName, "deleteEntity", (abortSignal) =>
    table.deleteEntity(partitionKey, rowKey, { abortSignal }).catch((e: unknown) => {
      if (statusOf(e) !== 404) throw e;
      return undefined;
    }),
  );
}

/** The same finding apart from when it was evaluated: a duplicate delivery judged concurrently. */
function sameVerdict(a: Finding, b: Finding): boolean {
  const strip = ({ updatedAt: _u, firstSeenAt: _f, resolvedAt: _r, ...rest }: Finding) => canonicalJson(rest);
  return strip(a) === strip(b);
}

/**
 * `gallery-watch reindex` (shared/app/reindex.ts): `<prefix>FindingIndex` rebuilt from `<prefix>Findings`
 * for findings stored before the index existed. Writes only missing index rows. The running app may
 * move a finding between our read and our write (its apply deletes the old index row, which may not
 * be there yet): the finding row is read again afterwards and our row removed if it no longer matches.
 */
export function findingIndexRebuild(conn: StorageConnection, prefix: string, pageSize = 100): IndexRebuild {
  const findings = () => openTable(conn, `${prefix}Findings`);
  const index = () => openTable(conn, `${prefix}FindingIndex`);
  return {
    name: "FindingIndex",
    count: async () => countRows(await findings()),
    async rebuildPage(continuation) {
      const [table, idx] = await Promise.all([findings(), index()]);
      const page = await listPage<FindingRow>(table, { maxPageSize: pageSize, ...(continuation ? { continuationToken: continuation } : {}) });
      const written = await Promise.all(
        page.rows.map(async (row) => {
          const keys = indexKeys(row.status, row.updatedAt, row.rowKey ?? "");
          if (await getOrUndefined(idx, keys.partitionKey, keys.rowKey)) return false;
          const { entity, json } = indexRow(JSON.parse(await readBody(table, row)) as Finding);
          await upsertWithBody(idx, entity, json);
          const now = await getOrUndefined<FindingRow>(table, row.partitionKey ?? "", row.rowKey ?? "");
          if (now?.status === row.status && now.updatedAt === row.updatedAt) return true;
          await deleteIfPresent(idx, entity.partitionKey, entity.rowKey);
          return false;
        }),
      );
      return { scanned: page.rows.length, rebuilt: written.filter(Boolean).length, ...(page.continuationToken ? { continuation: page.continuationToken } : {}) };
    },
  };
}
