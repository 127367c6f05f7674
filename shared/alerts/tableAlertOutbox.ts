/**
 * The alert outbox on Table Storage (`<prefix>Alerts`, one partition: alert volume is small).
 * An alert is stored before it is sent; its id is deterministic (fingerprint:revision), so the
 * same transition recomputed after a retry never creates a second alert. Senders claim rows
 * with an etag-conditional lease, so two concurrent senders never both send one alert.
 */
import type { FindingTransition } from "../domain/findings.js";
import type { AlertOutbox, AlertState, Attribution, OutboxAlert } from "../ports.js";
import { ConcurrentUpdateError } from "../errors.js";
import { changeKey } from "./changeKey.js";
import { encodeKey } from "../storage/tableKeys.js";
import { call, getOrUndefined, insertIfAbsent, listAll, odata, openTable, readBody, bodyProperties, type StorageConnection } from "../storage/tableClients.js";

const PARTITION = "outbox";

interface AlertRow {
  alertId: string;
  state: AlertState;
  attempts: number;
  nextAttemptAt: string;
  leaseUntil: string;
  createdAt: string;
  deliveredAt?: string;
  lastError?: string;
}

function entity(item: Pick<OutboxAlert, "alertId" | "transition" | "attribution">, state: AlertState, now: string) {
  const { properties, overflow } = bodyProperties(JSON.stringify({ transition: item.transition, ...(item.attribution ? { attribution: item.attribution } : {}) }));
  if (overflow.length > 0) throw new Error(`alert ${item.alertId} is larger than one table entity`);
  const row: AlertRow = { alertId: item.alertId, state, attempts: 0, nextAttemptAt: now, leaseUntil: "", createdAt: now };
  return { partitionKey: PARTITION, rowKey: encodeKey(item.alertId), ...row, ...properties };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function createTableAlertOutbox(conn: StorageConnection, prefix: string): AlertOutbox {
  const alerts = () => openTable(conn, `${prefix}Alerts`);

  async function toAlert(row: AlertRow & object): Promise<OutboxAlert> {
    const body = JSON.parse(await readBody(await alerts(), row)) as { transition: FindingTransition; attribution?: Attribution };
    return {
      alertId: row.alertId,
      transition: body.transition,
      ...(body.attribution ? { attribution: body.attribution } : {}),
      state: row.state,
      attempts: row.attempts,
      nextAttemptAt: row.nextAttemptAt,
      createdAt: row.createdAt,
      ...(row.deliveredAt ? { deliveredAt: row.deliveredAt } : {}),
      ...(row.lastError ? { lastError: row.lastError } : {}),
    };
  }

  async function update(alertId: string, patch: Partial<AlertRow>): Promise<void> {
    const table = await alerts();
    await call(table.tableName, "updateEntity", (abortSignal) =>
      table.updateEntity({ partitionKey: PARTITION, rowKey: encodeKey(alertId), ...patch }, "Merge", { abortSignal }),
    );
  }

  return {
    async enqueue(items, now) {
      const table = await alerts();
      for (const item of items) await insertIfAbsent(table, entity(item, "staged", now));
    },

    async claimDue(now, limit, leaseMs) {
      const table = await alerts();
      const rows = await listAll<AlertRow>(table, `PartitionKey eq '${PARTITION}' and state eq 'pending' and nextAttemptAt le ${odata(now)}`);
      // Oldest first, and the alerts of one change next to each other: the card for a change is
      // built from one claim, so `limit` may be exceeded to finish the change it is in.
      const due = await Promise.all(rows.map(async (row) => ({ row, alert: await toAlert(row) })));
      const keyed = due.map((d) => ({ ...d, key: changeKey(d.alert) }));
      keyed.sort((a, b) => compare(a.row.createdAt, b.row.createdAt) || compare(a.key, b.key) || compare(a.row.alertId, b.row.alertId));
      const leaseUntil = new Date(Date.parse(now) + leaseMs).toISOString();
      const claimed: OutboxAlert[] = [];
      let lastKey: string | undefined;
      for (const { row, alert, key } of keyed) {
        if (claimed.length >= limit && key !== lastKey) break;
        if (row.leaseUntil && row.leaseUntil > now) continue;
        try {
          await call(table.tableName, "updateEntity", (abortSignal) =>
            table.updateEntity({ partitionKey: PARTITION, rowKey: row.rowKey ?? "", leaseUntil }, "Merge", { etag: row.etag, abortSignal }),
          );
          claimed.push(alert);
          lastKey = key;
        } catch (error) {
          if (error instanceof ConcurrentUpdateError) continue; // another sender claimed it first
          throw error;
        }
      }
      return claimed;
    },

    async release(items, now) {
      const table = await alerts();
      for (const item of items) {
        const existing = await getOrUndefined<AlertRow>(table, PARTITION, encodeKey(item.alertId));
        if (existing && existing.state !== "staged") continue; // already pending, delivered or failed: leave it
        await call(table.tableName, "upsertEntity", (abortSignal) => table.upsertEntity(entity(item, "pending", existing?.createdAt ?? now), "Replace", { abortSignal }));
      }
    },

    async discard(alertIds) {
      const table = await alerts();
      for (const alertId of alertIds) {
        const row = await getOrUndefined<AlertRow>(table, PARTITION, encodeKey(alertId));
        if (row?.state !== "staged") continue;
        await call(table.tableName, "deleteEntity", (abortSignal) => table.deleteEntity(PARTITION, encodeKey(alertId), { etag: row.etag, abortSignal })).catch((error: unknown) => {
          if (!(error instanceof ConcurrentUpdateError) && (error as { cause?: { statusCode?: number } }).cause?.statusCode !== 404) throw error;
        });
      }
    },

    async staged(before) {
      const table = await alerts();
      const rows = await listAll<AlertRow>(table, `PartitionKey eq '${PARTITION}' and state eq 'staged' and createdAt lt ${odata(before)}`);
      return Promise.all(rows.map((row) => toAlert(row)));
    },

    markDelivered: (alertId, at) => update(alertId, { state: "delivered", deliveredAt: at, leaseUntil: "" }),

    async markRetry(alertId, nextAttemptAt, error) {
      const table = await alerts();
      const row = await getOrUndefined<AlertRow>(table, PARTITION, encodeKey(alertId));
      await update(alertId, { attempts: (row?.attempts ?? 0) + 1, nextAttemptAt, lastError: error.slice(0, 500), leaseUntil: "" });
    },

    async markFailed(alertId, at, error) {
      await update(alertId, { state: "failed", lastError: `${at}: ${error}`.slice(0, 500), leaseUntil: "" });
    },

    async list(options = {}) {
      const table = await alerts();
      const rows = await listAll<AlertRow>(table, `PartitionKey eq '${PARTITION}'${options.state ? ` and state eq ${odata(options.state)}` : ""}`);
      rows.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
      return Promise.all(rows.slice(0, options.limit ?? rows.length).map((row) => toAlert(row)));
    },
  };
}
