/**
 * Request pacing shared by every instance of the app: Teams allows about 4 requests a second per
 * Workflows webhook, and on Azure Functions many instances may deliver at once, so a per-process
 * pacer would let N instances send N × 4/s. Each request claims the next free slot of its webhook
 * with a conditional write on one row (`<prefix>Pacing`, PK `pace`, RK a hash of the webhook URL —
 * never the URL, which carries a `sig=` secret), then waits for it.
 */
import { systemSleeper, type Sleeper } from "../../platform/clock.js";
import { createHash } from "node:crypto";
import type { TableClient } from "@azure/data-tables";
import { ConcurrentUpdateError } from "../../domain/errors.js";
import { call, getOrUndefined, insertIfAbsent, openTable, type StorageConnection } from "./tableClients.js";

/** Pacing reads the time and waits through the one clock (platform/clock.ts). */
export type SlotClock = Sleeper;

export interface TablePacer {
  /** Claims the next slot (ms since the epoch) at least `spacing` after every slot claimed before it, by any instance. */
  claim(): Promise<number>;
  /** Claims a slot and waits for it. */
  pace(): Promise<void>;
}

export function createTablePacer(conn: StorageConnection, prefix: string, webhookUrl: string, requestsPerSecond: number, clock: SlotClock = systemSleeper): TablePacer {
  // 5 % above the limit, so network jitter cannot squeeze an extra request into one second at the receiver.
  const spacingMs = Math.ceil((1000 / requestsPerSecond) * 1.05);
  const rowKey = createHash("sha256").update(webhookUrl).digest("hex").slice(0, 32);
  const table = () => openTable(conn, `${prefix}Pacing`);

  async function claim(): Promise<number> {
    const client: TableClient = await table();
    for (let attempt = 1; ; attempt++) {
      const row = await getOrUndefined<{ next: number }>(client, "pace", rowKey);
      const slot = Math.max(clock.now(), Number(row?.next ?? 0));
      const entity = { partitionKey: "pace", rowKey, next: slot + spacingMs };
      try {
        if (!row) {
          if (await insertIfAbsent(client, entity)) return slot;
        } else {
          await call(client.tableName, "updateEntity", (abortSignal) => client.updateEntity(entity, "Replace", { etag: row.etag, abortSignal }));
          return slot;
        }
      } catch (error) {
        if (!(error instanceof ConcurrentUpdateError) || attempt >= 50) throw error;
      }
    }
  }

  return {
    claim,
    async pace() {
      const wait = (await claim()) - clock.now();
      if (wait > 0) await clock.sleep(wait);
    },
  };
}
