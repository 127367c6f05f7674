/**
 * DigestLog on Table Storage, table `<prefix>Digests`: one row per digest period, PK `digests`,
 * RK = inverted midnight of the period + `~` + `YYYY-MM-DD` (newest first, so "the previous
 * digest" is the first sent row after today's key). The claim is an insert-if-absent (409 when
 * another sender has it); taking over a stale claim and recording the send are conditional on
 * the row's ETag (412 when another sender moved first):
 * https://learn.microsoft.com/rest/api/storageservices/insert-entity,
 * https://learn.microsoft.com/rest/api/storageservices/update-entity2 (If-Match).
 */
import { randomUUID } from "node:crypto";
import type { TableEntity } from "@azure/data-tables";
import type { ClaimResult, DigestLog, DigestRecord } from "../../app/ports.js";
import { ConcurrentUpdateError } from "../../domain/errors.js";
import { invertedTime } from "./tableKeys.js";
import { call, getOrUndefined, insertIfAbsent, listAll, odata, openTable, type StorageConnection } from "./tableClients.js";

const PARTITION = "digests";
/** Periods looked back over for the previous sent digest (a claimed-but-never-sent day is skipped). */
const LOOK_BACK = 60;

interface DigestRow {
  digestId: string;
  period: string;
  claimedAt: string;
  claimToken: string;
  sentAt?: string;
  until?: string;
}

const rowKey = (period: string) => `${invertedTime(`${period}T00:00:00.000Z`)}~${period}`;
const toRecord = (row: DigestRow): DigestRecord => ({
  digestId: row.digestId,
  period: row.period,
  claimedAt: row.claimedAt,
  ...(row.until ? { until: row.until } : {}),
  ...(row.sentAt ? { sentAt: row.sentAt } : {}),
});

export function createTableDigestLog(conn: StorageConnection, prefix: string): DigestLog {
  const name = `${prefix}Digests`;
  const table = () => openTable(conn, name);

  return {
    async claim(record, options) {
      const client = await table();
      const rk = rowKey(record.period);
      for (let attempt = 0; attempt < 3; attempt++) {
        const claimToken = randomUUID();
        const entity: TableEntity<DigestRow> = { partitionKey: PARTITION, rowKey: rk, digestId: record.digestId, period: record.period, claimedAt: record.claimedAt, claimToken };
        if (await insertIfAbsent(client, entity)) return { outcome: "claimed", claim: claimToken };
        const existing = await getOrUndefined<DigestRow>(client, PARTITION, rk);
        if (!existing) continue; // released between our insert and our read: try the insert again
        if (!options.force) {
          if (existing.sentAt) return { outcome: "sent", record: toRecord(existing) };
          if (existing.claimedAt > options.staleBefore) return { outcome: "inProgress", record: toRecord(existing) };
        }
        try {
          // Replace (not merge): a forced re-send starts a fresh, unsent claim.
          await call(name, "updateEntity", (abortSignal) => client.updateEntity(entity, "Replace", { etag: existing.etag, abortSignal }));
          return { outcome: "claimed", claim: claimToken };
        } catch (error) {
          if (!(error instanceof ConcurrentUpdateError)) throw error;
          const winner = await getOrUndefined<DigestRow>(client, PARTITION, rk);
          if (!winner) continue;
          return winner.sentAt ? { outcome: "sent", record: toRecord(winner) } : { outcome: "inProgress", record: toRecord(winner) };
        }
      }
      throw new ConcurrentUpdateError("claim", name, `digest ${record.digestId}: the claim row kept changing under us`);
    },

    async markSent(digestId, claim, sent) {
      const client = await table();
      const period = digestId.replace(/^digest:/, "");
      const row = await getOrUndefined<DigestRow>(client, PARTITION, rowKey(period));
      if (!row || row.claimToken !== claim) return false;
      try {
        await call(name, "updateEntity", (abortSignal) =>
          client.updateEntity({ partitionKey: PARTITION, rowKey: rowKey(period), sentAt: sent.sentAt, until: sent.until }, "Merge", { etag: row.etag, abortSignal }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConcurrentUpdateError) return false;
        throw error;
      }
    },

    async release(digestId, claim) {
      const client = await table();
      const period = digestId.replace(/^digest:/, "");
      const row = await getOrUndefined<DigestRow>(client, PARTITION, rowKey(period));
      if (!row || row.claimToken !== claim || row.sentAt) return;
      await call(name, "deleteEntity", (abortSignal) => client.deleteEntity(PARTITION, rowKey(period), { etag: row.etag, abortSignal })).catch((error: unknown) => {
        if (!(error instanceof ConcurrentUpdateError)) throw error; // someone took it over: theirs now
      });
    },

    async previousSent(period) {
      const rows = await listAll<DigestRow>(await table(), `PartitionKey eq ${odata(PARTITION)} and RowKey gt ${odata(rowKey(period))}`, LOOK_BACK);
      const sent = rows.find((row) => row.sentAt);
      return sent ? toRecord(sent) : undefined;
    },
  };
}
