/**
 * CheckGate on Table Storage (`<prefix>Checks`, PK = encoded resource key, RK `check`): holds
 * across instances, since every decision is a conditional write on the one row. After a check the
 * row stays for the coalescing window (`until`): events in that window queue one follow-up at its
 * end instead of re-reading at once. A row past its `until`, or claimed longer ago than `staleMs`
 * (an invocation that died mid-check), no longer holds anything back.
 */
import { causeStatusOf } from "../../platform/sdkErrors.js";
import type { CheckGate } from "../../app/ports.js";
import { ConcurrentUpdateError } from "../../domain/errors.js";
import { encodeKey } from "./tableKeys.js";
import { call, createIfAbsent, getOrUndefined, openTable, type StorageConnection } from "./tableClients.js";

interface GateRow {
  claimedAt: string;
  /** Set when the check finished: the row holds events back until then. */
  until?: string;
  /** A follow-up or re-check is queued: further events need do nothing. */
  followUp: boolean;
}

const RK = "check";

export function createTableCheckGate(conn: StorageConnection, prefix: string, windowMs = 2_000, staleMs = 300_000): CheckGate {
  const table = () => openTable(conn, `${prefix}Checks`);
  const isStale = (row: GateRow, now: string) => (row.until ? row.until <= now : Date.parse(now) - Date.parse(row.claimedAt) > staleMs);

  return {
    async enter(key, now) {
      const client = await table();
      const pk = encodeKey(key);
      for (let attempt = 1; attempt <= 20; attempt++) {
        // One request for a quiet resource: the insert's response carries the etag that `leave` is conditional on.
        const created = await createIfAbsent(client, { partitionKey: pk, rowKey: RK, claimedAt: now, followUp: false } as GateRow & { partitionKey: string; rowKey: string });
        if (created !== undefined) return { kind: "run", token: created };
        const row = await getOrUndefined<GateRow>(client, pk, RK);
        if (!row) continue; // cleared in between: try to claim again
        try {
          if (isStale(row, now)) {
              const { etag } = await call(client.tableName, "updateEntity", (abortSignal) =>
              client.updateEntity({ partitionKey: pk, rowKey: RK, claimedAt: now, followUp: false }, "Replace", { etag: row.etag, abortSignal }),
            );
            return { kind: "run", token: etag ?? "" };
          }
          if (row.followUp) return { kind: "coalesced", queueFollowUp: false };
          await call(client.tableName, "updateEntity", (abortSignal) => client.updateEntity({ partitionKey: pk, rowKey: RK, followUp: true }, "Merge", { etag: row.etag, abortSignal }));
          return { kind: "coalesced", queueFollowUp: true };
        } catch (error) {
          if (!(error instanceof ConcurrentUpdateError)) throw error;
        }
      }
      // Heavy contention on one resource: checking once more is always safe.
      return { kind: "run", token: "" };
    },

    async takeOver(key, now) {
      const client = await table();
      const { etag } = await call(client.tableName, "upsertEntity", (abortSignal) =>
        client.upsertEntity({ partitionKey: encodeKey(key), rowKey: RK, claimedAt: now, followUp: false }, "Replace", { abortSignal }),
      );
      return etag ?? "";
    },

    async leave(key, token, ended) {
      const client = await table();
      const pk = encodeKey(key);
      try {
        if (ended === "failed") {
          await call(client.tableName, "deleteEntity", (abortSignal) => client.deleteEntity(pk, RK, { etag: token || "*", abortSignal }));
        } else if (ended === "pending") {
          await call(client.tableName, "updateEntity", (abortSignal) => client.updateEntity({ partitionKey: pk, rowKey: RK, followUp: true }, "Merge", { etag: token || "*", abortSignal }));
        } else {
          // Hold the window: events in it queue one follow-up rather than each re-reading ARM.
          const until = new Date(Date.now() + windowMs).toISOString();
          await call(client.tableName, "updateEntity", (abortSignal) => client.updateEntity({ partitionKey: pk, rowKey: RK, until }, "Merge", { etag: token || "*", abortSignal }));
        }
      } catch (error) {
        // The row changed under us: an event queued a follow-up, which now owns it. A row already gone is fine too.
        if (error instanceof ConcurrentUpdateError) return;
        if (causeStatusOf(error) === 404) return;
        throw error;
      }
    },
  };
}
