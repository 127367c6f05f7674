/**
 * SweepRunStore on Table Storage, table `<prefix>SweepRuns`, two rows per run:
 * - list row: PK `runs`, RK = inverted startedAt + `~` + subscription + `~` + encoded runId.
 *   "every run since X, any subscription, newest first" is one range query over one partition
 *   (RowKey lt the inverted time just before X).
 * - index row: PK `sub~<subscription>`, RK = encoded runId: `get(subscription, runId)` is a point read.
 * Both rows carry the whole record; figures are columns (readable in Storage Explorer), the
 * failures array and the transitions map are JSON string properties.
 * Partition and row key rules: https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model
 */
import { causeStatusOf } from "../../platform/sdkErrors.js";
import type { TableEntity } from "@azure/data-tables";
import type { SweepFailure, SweepRun, SweepRunStore } from "../../app/ports.js";
import { encodeKey, invertedTime } from "./tableKeys.js";
import { call, getOrUndefined, listAll, odata, openTable, type StorageConnection } from "./tableClients.js";

const LIST_PARTITION = "runs";
/** A string property holds at most 64 KiB (32 Ki UTF-16 characters); stay well under it. */
const MAX_FAILURES_CHARS = 30_000;

interface RunRow {
  runId: string;
  subscriptionId: string;
  startedAt: string;
  finishedAt?: string;
  status: string;
  galleries: number;
  definitions: number;
  versions: number;
  scaleSets: number;
  virtualMachines?: number;
  armRequests: number;
  snapshotsWritten: number;
  reconciled: number;
  failureCount: number;
  failures: string;
  transitions: string;
}

const indexPartition = (subscriptionId: string) => `sub~${encodeKey(subscriptionId.toLowerCase())}`;
const listRowKey = (run: Pick<SweepRun, "startedAt" | "subscriptionId" | "runId">) => `${invertedTime(run.startedAt)}~${encodeKey(run.subscriptionId.toLowerCase())}~${encodeKey(run.runId)}`;

/**
 * The failures as JSON that fits one property. A sweep that could read nothing of a large estate
 * can fail thousands of times; the record keeps the first ones and says how many it left out.
 */
export function failuresJson(failures: readonly SweepFailure[]): string {
  let json = JSON.stringify(failures);
  if (json.length <= MAX_FAILURES_CHARS) return json;
  const kept: SweepFailure[] = [];
  let size = 2;
  for (const failure of failures) {
    const next = JSON.stringify(failure).length + 1;
    if (size + next > MAX_FAILURES_CHARS - 300) break;
    kept.push(failure);
    size += next;
  }
  const omitted = failures.length - kept.length;
  kept.push({ resourceId: "(more)", operation: "(not stored)", reason: `${omitted} more failure(s) not stored: the record keeps the first ${kept.length}` });
  json = JSON.stringify(kept);
  return json;
}

function toRow(run: SweepRun): RunRow {
  return {
    runId: run.runId,
    subscriptionId: run.subscriptionId.toLowerCase(),
    startedAt: run.startedAt,
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    status: run.status,
    galleries: run.seen.galleries,
    definitions: run.seen.definitions,
    versions: run.seen.versions,
    scaleSets: run.seen.scaleSets,
    virtualMachines: run.seen.virtualMachines,
    armRequests: run.armRequests,
    snapshotsWritten: run.snapshotsWritten,
    reconciled: run.reconciled,
    failureCount: run.failures.length,
    failures: failuresJson(run.failures),
    transitions: JSON.stringify(run.transitions),
  };
}

function fromRow(row: RunRow): SweepRun {
  return {
    runId: row.runId,
    subscriptionId: row.subscriptionId,
    startedAt: row.startedAt,
    ...(row.finishedAt ? { finishedAt: row.finishedAt } : {}),
    status: row.status as SweepRun["status"],
    seen: { galleries: Number(row.galleries ?? 0), definitions: Number(row.definitions ?? 0), versions: Number(row.versions ?? 0), scaleSets: Number(row.scaleSets ?? 0), virtualMachines: Number(row.virtualMachines ?? 0) },
    armRequests: Number(row.armRequests ?? 0),
    snapshotsWritten: Number(row.snapshotsWritten ?? 0),
    transitions: JSON.parse(row.transitions || "{}") as SweepRun["transitions"],
    reconciled: Number(row.reconciled ?? 0),
    failures: JSON.parse(row.failures || "[]") as SweepFailure[],
  };
}

export function createTableSweepRunStore(conn: StorageConnection, prefix: string): SweepRunStore {
  const name = `${prefix}SweepRuns`;
  const table = () => openTable(conn, name);

  return {
    async record(run) {
      const client = await table();
      const row = toRow(run);
      const indexKey = { partitionKey: indexPartition(run.subscriptionId), rowKey: encodeKey(run.runId) };
      const listKey = { partitionKey: LIST_PARTITION, rowKey: listRowKey(run) };
      // A caller that recorded the run under another start time would otherwise leave a second list row behind.
      const previous = await getOrUndefined<RunRow>(client, indexKey.partitionKey, indexKey.rowKey);
      if (previous && previous.startedAt !== run.startedAt) {
        const staleKey = listRowKey({ startedAt: previous.startedAt, subscriptionId: previous.subscriptionId, runId: previous.runId });
        await call(name, "deleteEntity", (abortSignal) => client.deleteEntity(LIST_PARTITION, staleKey, { abortSignal })).catch((error: unknown) => {
          if (causeStatusOf(error) !== 404) throw error;
        });
      }
      // List row first: a run `get` can see is always also in `list`.
      const listEntity: TableEntity<RunRow> = { ...listKey, ...row };
      const indexEntity: TableEntity<RunRow> = { ...indexKey, ...row };
      await call(name, "upsertEntity", (abortSignal) => client.upsertEntity(listEntity, "Replace", { abortSignal }));
      await call(name, "upsertEntity", (abortSignal) => client.upsertEntity(indexEntity, "Replace", { abortSignal }));
    },

    async get(subscriptionId, runId) {
      const row = await getOrUndefined<RunRow>(await table(), indexPartition(subscriptionId), encodeKey(runId));
      return row ? fromRow(row) : undefined;
    },

    async list(options = {}) {
      const filters = [`PartitionKey eq ${odata(LIST_PARTITION)}`];
      if (options.since !== undefined) {
        // startedAt ≥ since ⇔ inverted(startedAt) ≤ inverted(since) < inverted(since − 1 ms); keys are fixed-width.
        filters.push(`RowKey lt ${odata(invertedTime(new Date(Date.parse(options.since) - 1).toISOString()))}`);
      }
      if (options.subscriptionId !== undefined) filters.push(`subscriptionId eq ${odata(options.subscriptionId.toLowerCase())}`);
      const rows = await listAll<RunRow>(await table(), filters.join(" and "), options.limit);
      return rows.map(fromRow);
    },
  };
}
