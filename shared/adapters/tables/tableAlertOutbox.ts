/**
 * The alert outbox on Table Storage (`<prefix>Alerts`). The partition `outbox` keeps every alert
 * (the delivery log); two small index partitions hold only what is owed, so a sender never
 * scans the log: `due` (one row per pending alert: when it is due, its lease) and `staged`.
 * An alert is stored before it is sent; its id is deterministic (fingerprint:revision), so the
 * same transition recomputed after a retry never creates a second alert. Senders claim index
 * rows with an etag-conditional lease, so two concurrent senders never both send one alert, and
 * only the lowest pending revision of a finding is claimable, so its cards arrive in order.
 * The findings feed (publishFindings.ts) is a second channel with its own table (`table`), so
 * neither channel's backlog or failures hold up the other.
 */
import { causeStatusOf } from "../../platform/sdkErrors.js";
import type { FindingTransition } from "../../domain/findings.js";
import { setBounded } from "../../platform/boundedMap.js";
import type { AlertOutbox, AlertState, Attribution, OutboxAlert, OwedReason } from "../../app/ports.js";
import { ConcurrentUpdateError } from "../../domain/errors.js";
import { changeKey } from "../../domain/changeKey.js";
import { groupKeyOf, planGroups } from "../../domain/alertGroups.js";
import pLimit from "p-limit";
import { encodeKey } from "./tableKeys.js";
import { call, countRows, createIfAbsent, getOrUndefined, insertIfAbsent, listAll, listPage, odata, openTable, readBody, bodyProperties, type StorageConnection } from "./tableClients.js";
import type { IndexRebuild } from "../../app/ports.js";

const PARTITION = "outbox";
const DUE = "due";
const STAGED = "staged";
/** One row per group key: when its last grouped card was claimed (Alertmanager's group_interval, across senders). */
const GROUP = "group";

interface GroupRow {
  groupKey: string;
  lastGroupAt: string;
}

/** Index row of an alert that is owed: what claiming needs, nothing else. */
interface IndexRow {
  alertId: string;
  fingerprint: string;
  revision: number;
  nextAttemptAt: string;
  createdAt: string;
  leaseUntil: string;
  /** The alert's storm group key (alertGroups.ts); absent on rows written before grouping. */
  groupKey?: string;
}

interface AlertRow {
  alertId: string;
  state: AlertState;
  attempts: number;
  nextAttemptAt: string;
  leaseUntil: string;
  createdAt: string;
  deliveredAt?: string;
  lastError?: string;
  /** "" once resent (a Merge cannot remove a property). */
  owedReason?: OwedReason | "";
  owedSince?: string;
  ambiguousAt?: string;
  retrySince?: string;
}

function entity(item: Pick<OutboxAlert, "alertId" | "transition" | "attribution">, state: AlertState, now: string) {
  const { properties, overflow } = bodyProperties(JSON.stringify({ transition: item.transition, ...(item.attribution ? { attribution: item.attribution } : {}) }));
  if (overflow.length > 0) throw new Error(`alert ${item.alertId} is larger than one table entity`);
  const row: AlertRow = { alertId: item.alertId, state, attempts: 0, nextAttemptAt: now, leaseUntil: "", createdAt: now };
  return { partitionKey: PARTITION, rowKey: encodeKey(item.alertId), ...row, ...properties };
}

function indexRow(partition: string, item: Pick<OutboxAlert, "alertId" | "transition" | "attribution">, createdAt: string): IndexRow & { partitionKey: string; rowKey: string } {
  return {
    groupKey: groupKeyOf(item),
    partitionKey: partition,
    rowKey: encodeKey(item.alertId),
    alertId: item.alertId,
    fingerprint: item.transition.fingerprint,
    revision: item.transition.after.revision,
    nextAttemptAt: createdAt,
    createdAt,
    leaseUntil: "",
  };
}

/**
 * Takes a key's group row when the recent-rows query did not return it: insert it, or, when it
 * exists (older than that query's reach, or inserted by another sender meanwhile), replace it
 * conditionally if its last grouped card is an interval old. False: another sender has the key.
 */
async function takeGroupRow(table: Awaited<ReturnType<typeof openTable>>, row: { partitionKey: string; rowKey: string; groupKey: string; lastGroupAt: string }, intervalMs: number): Promise<boolean> {
  if ((await createIfAbsent(table, row)) !== undefined) return true;
  const existing = await getOrUndefined<GroupRow>(table, row.partitionKey, row.rowKey);
  if (!existing || Date.parse(row.lastGroupAt) - Date.parse(existing.lastGroupAt) < intervalMs) return false;
  return call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity(row, "Replace", { etag: existing.etag, abortSignal })).then(
    () => true,
    (error: unknown) => (error instanceof ConcurrentUpdateError ? false : Promise.reject(error)),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function createTableAlertOutbox(conn: StorageConnection, prefix: string, table = "Alerts"): AlertOutbox {
  const alerts = () => openTable(conn, `${prefix}${table}`);
  /** Alerts this process staged and has not yet released or discarded, with their createdAt (bounded: a crash leaves entries behind). */
  const stagedHere = new Map<string, string>();

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
      ...(row.owedReason ? { owedReason: row.owedReason } : {}),
      ...(row.owedSince ? { owedSince: row.owedSince } : {}),
      ...(row.ambiguousAt ? { ambiguousAt: row.ambiguousAt } : {}),
      ...(row.retrySince ? { retrySince: row.retrySince } : {}),
    };
  }

  async function update(alertId: string, patch: Partial<AlertRow>): Promise<void> {
    const table = await alerts();
    await call(table.tableName, "updateEntity", (abortSignal) =>
      table.updateEntity({ partitionKey: PARTITION, rowKey: encodeKey(alertId), ...patch }, "Merge", { abortSignal }),
    );
  }

  async function removeIndex(partition: string, alertId: string): Promise<void> {
    const table = await alerts();
    await call(table.tableName, "deleteEntity", (abortSignal) => table.deleteEntity(partition, encodeKey(alertId), { abortSignal })).catch((error: unknown) => {
      if (causeStatusOf(error) !== 404) throw error;
    });
  }

  return {
    async enqueue(items, now) {
      const table = await alerts();
      // The alert and its `staged` index row side by side. A retry that finds the alert already
      // past staged removes the index row it just wrote again (reconcileStaged would ignore it too).
      await Promise.all(
        items.map(async (item) => {
          const [created] = await Promise.all([insertIfAbsent(table, entity(item, "staged", now)), insertIfAbsent(table, indexRow(STAGED, item, now))]);
          if (created) return setBounded(stagedHere, item.alertId, now, 10_000);
          const existing = await getOrUndefined<AlertRow>(table, PARTITION, encodeKey(item.alertId));
          if (existing && existing.state !== "staged") await removeIndex(STAGED, item.alertId);
        }),
      );
    },

    async claimDue(now, limit, leaseMs, grouping) {
      const table = await alerts();
      const owed = await listAll<IndexRow>(table, `PartitionKey eq '${DUE}'`);
      // A finding's cards go out in revision order: only its lowest owed revision may be claimed.
      const lowest = new Map<string, number>();
      for (const row of owed) lowest.set(row.fingerprint, Math.min(lowest.get(row.fingerprint) ?? Number.POSITIVE_INFINITY, Number(row.revision)));
      let eligible = owed
        .filter((row) => Number(row.revision) === lowest.get(row.fingerprint) && row.nextAttemptAt <= now && !(row.leaseUntil && row.leaseUntil > now))
        .sort((a, b) => compare(a.createdAt, b.createdAt));
      // Storm grouping (alertGroups.ts): the backlog per key decides; a key is held while its last
      // grouped card is younger than the interval, and a grouped key is claimed whole.
      const grouped = new Map<string, typeof eligible>();
      let heldUntil: string | undefined;
      const holds = new Map<string, string>();
      if (grouping) {
        const backlog = new Map<string, number>();
        for (const row of eligible) if (row.groupKey) backlog.set(row.groupKey, (backlog.get(row.groupKey) ?? 0) + 1);
        const recent = await listAll<GroupRow>(table, `PartitionKey eq '${GROUP}' and lastGroupAt ge ${odata(new Date(Date.parse(now) - 2 * grouping.intervalMs).toISOString())}`);
        const plans = planGroups(backlog, new Map(recent.map((r) => [r.groupKey, r.lastGroupAt])), now, grouping);
        const held = new Set<string>();
        for (const [key, plan] of plans) {
          if (plan.mode === "hold") {
            held.add(key);
            holds.set(key, plan.until);
            heldUntil = heldUntil === undefined || plan.until < heldUntil ? plan.until : heldUntil;
          } else if (plan.mode === "group") {
            // One grouped card per key and interval across every sender: the group row is taken
            // conditionally; a sender that loses leaves the key to the winner.
            const row = recent.find((r) => r.groupKey === key);
            const entityRow = { partitionKey: GROUP, rowKey: encodeKey(key), groupKey: key, lastGroupAt: now };
            const won = row
              ? await call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity(entityRow, "Replace", { etag: row.etag, abortSignal })).then(
                  () => true,
                  (error: unknown) => (error instanceof ConcurrentUpdateError ? false : Promise.reject(error)),
                )
              : await takeGroupRow(table, entityRow, grouping.intervalMs);
            const until = new Date(Date.parse(now) + grouping.intervalMs).toISOString();
            // Either way the key is held for an interval from now: by this grouped card, or by the winner's.
            holds.set(key, until);
            if (won) grouped.set(key, eligible.filter((r) => r.groupKey === key).slice(0, grouping.maxAlerts));
            else {
              held.add(key);
              heldUntil = heldUntil === undefined || until < heldUntil ? until : heldUntil;
            }
          }
        }
        eligible = eligible.filter((row) => !(row.groupKey && (held.has(row.groupKey) || plans.get(row.groupKey)?.mode === "group")));
      }
      // Only the oldest `limit` are loaded, with those as old as the last of them: the alerts of one
      // change are staged by one judgement, at one time. A backlog costs a claim no more requests.
      const cutoff = eligible[Math.min(limit, eligible.length) - 1]?.createdAt;
      const load = (index: (typeof eligible)[number]) =>
        getOrUndefined<AlertRow>(table, PARTITION, encodeKey(index.alertId)).then(async (row) =>
          // An owed alert with a due row is a refusal being retried.
          row && (row.state === "pending" || row.state === "owed") ? { index, alert: await toAlert(row) } : undefined,
        );
      const loadMany = pLimit(32);
      const [loaded, groupLoaded] = await Promise.all([
        Promise.all(eligible.filter((index) => cutoff !== undefined && index.createdAt <= cutoff).map((index) => loadMany(() => load(index)))),
        Promise.all([...grouped.values()].flat().map((index) => loadMany(() => load(index)))),
      ]);
      // Oldest first, and the alerts of one change next to each other: the card for a change is
      // built from one claim, so `limit` may be exceeded to finish the change it is in.
      const keyed = loaded.filter((d) => d !== undefined).map((d) => ({ ...d, key: changeKey(d.alert) }));
      keyed.sort((a, b) => compare(a.index.createdAt, b.index.createdAt) || compare(a.key, b.key) || compare(a.index.alertId, b.index.alertId));
      const leaseUntil = new Date(Date.parse(now) + leaseMs).toISOString();
      const lease = async (index: (typeof eligible)[number]): Promise<boolean> => {
        try {
          await call(table.tableName, "updateEntity", (abortSignal) =>
            table.updateEntity({ partitionKey: DUE, rowKey: index.rowKey ?? "", leaseUntil }, "Merge", { etag: index.etag, abortSignal }),
          );
          return true;
        } catch (error) {
          // Another sender claimed it first (412), or has sent it and removed its due row since our listing (404).
          if (error instanceof ConcurrentUpdateError || causeStatusOf(error) === 404) return false;
          throw error;
        }
      };
      const claimed: OutboxAlert[] = [];
      let lastKey: string | undefined;
      for (const { index, alert, key } of keyed) {
        if (claimed.length >= limit && key !== lastKey) break;
        if (!(await lease(index))) continue;
        claimed.push(alert);
        lastKey = key;
      }
      // A grouped key's alerts, leased side by side: they go out on one card.
      const leaseMany = pLimit(16);
      const groupClaimed = await Promise.all(
        groupLoaded.filter((d) => d !== undefined).map((d) => leaseMany(async () => ((await lease(d.index)) ? { ...d.alert, groupKey: d.index.groupKey! } : undefined))),
      );
      const all: OutboxAlert[] = [...claimed, ...groupClaimed.filter((a) => a !== undefined)];
      return Object.assign(all, { ...(heldUntil === undefined ? {} : { heldUntil }), ...(holds.size > 0 ? { holds } : {}) });
    },

    async release(items, now) {
      const table = await alerts();
      await Promise.all(
        items.map(async (item) => {
          // Staged → pending only if still staged; one this invocation just staged is (nothing moves
          // a staged alert but its own judgement, or reconcileStaged minutes later).
          let createdAt = stagedHere.get(item.alertId);
          stagedHere.delete(item.alertId);
          if (createdAt === undefined) {
            const existing = await getOrUndefined<AlertRow>(table, PARTITION, encodeKey(item.alertId));
            if (existing && existing.state !== "staged") return removeIndex(STAGED, item.alertId);
            createdAt = existing?.createdAt ?? now;
          }
          // The due row may land first: a sender skips an alert that is not yet pending and finds it on its next pass.
          await Promise.all([
            call(table.tableName, "upsertEntity", (abortSignal) => table.upsertEntity(entity(item, "pending", createdAt), "Replace", { abortSignal })),
            call(table.tableName, "upsertEntity", (abortSignal) => table.upsertEntity(indexRow(DUE, item, createdAt), "Replace", { abortSignal })),
          ]);
          await removeIndex(STAGED, item.alertId);
        }),
      );
    },

    async discard(alertIds) {
      const table = await alerts();
      for (const alertId of alertIds) {
        stagedHere.delete(alertId);
        const row = await getOrUndefined<AlertRow>(table, PARTITION, encodeKey(alertId));
        if (row?.state !== "staged") continue;
        await call(table.tableName, "deleteEntity", (abortSignal) => table.deleteEntity(PARTITION, encodeKey(alertId), { etag: row.etag, abortSignal })).catch((error: unknown) => {
          if (!(error instanceof ConcurrentUpdateError) && causeStatusOf(error) !== 404) throw error;
        });
        await removeIndex(STAGED, alertId);
      }
    },

    async staged(before) {
      const table = await alerts();
      const staged = await listAll<IndexRow>(table, `PartitionKey eq '${STAGED}' and createdAt lt ${odata(before)}`);
      const rows = await Promise.all(staged.map((index) => getOrUndefined<AlertRow>(table, PARTITION, encodeKey(index.alertId))));
      return Promise.all(rows.filter((row): row is NonNullable<typeof row> => row?.state === "staged").map((row) => toAlert(row)));
    },

    async markDelivered(alertId, at) {
      await update(alertId, { state: "delivered", deliveredAt: at, leaseUntil: "" });
      await removeIndex(DUE, alertId);
    },

    async markRetry(alertId, nextAttemptAt, error) {
      const table = await alerts();
      const row = await getOrUndefined<AlertRow>(table, PARTITION, encodeKey(alertId));
      await update(alertId, { attempts: (row?.attempts ?? 0) + 1, nextAttemptAt, lastError: error.slice(0, 500), leaseUntil: "" });
      await call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity({ partitionKey: DUE, rowKey: encodeKey(alertId), nextAttemptAt, leaseUntil: "" }, "Merge", { abortSignal }));
    },

    async markOwed(alertId, owed) {
      const table = await alerts();
      const row = await getOrUndefined<AlertRow>(table, PARTITION, encodeKey(alertId));
      await update(alertId, {
        state: "owed",
        owedReason: owed.reason,
        owedSince: row?.state === "owed" && row.owedSince ? row.owedSince : owed.at,
        ...(owed.reason === "ambiguous" ? { ambiguousAt: owed.at } : {}),
        attempts: (row?.attempts ?? 0) + 1,
        ...(owed.nextAttemptAt ? { nextAttemptAt: owed.nextAttemptAt } : {}),
        lastError: `${owed.at}: ${owed.error}`.slice(0, 500),
        leaseUntil: "",
      });
      if (owed.nextAttemptAt) {
        await call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity({ partitionKey: DUE, rowKey: encodeKey(alertId), nextAttemptAt: owed.nextAttemptAt, leaseUntil: "" }, "Merge", { abortSignal }));
      } else await removeIndex(DUE, alertId);
    },

    async unclaim(alertIds) {
      const table = await alerts();
      for (const alertId of alertIds) {
        await call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity({ partitionKey: DUE, rowKey: encodeKey(alertId), leaseUntil: "" }, "Merge", { abortSignal })).catch((error: unknown) => {
          if (causeStatusOf(error) !== 404) throw error;
        });
      }
    },

    async resend(alertId, now) {
      const table = await alerts();
      const row = await getOrUndefined<AlertRow>(table, PARTITION, encodeKey(alertId));
      if (!row || (row.state !== "owed" && row.state !== "failed")) return false;
      const alert = await toAlert(row);
      // Pending again with a fresh retry window; createdAt stays (its place in line, shared with the alerts of its change).
      await update(alertId, { state: "pending", attempts: 0, nextAttemptAt: now, leaseUntil: "", owedReason: "", owedSince: "", retrySince: now });
      const due = await getOrUndefined<IndexRow>(table, DUE, encodeKey(alertId));
      // A refusal still being retried keeps its due row and any lease on it: a sender holding it may be sending it now.
      if (due) await call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity({ partitionKey: DUE, rowKey: encodeKey(alertId), nextAttemptAt: now }, "Merge", { abortSignal }));
      else await call(table.tableName, "upsertEntity", (abortSignal) => table.upsertEntity({ ...indexRow(DUE, alert, row.createdAt), nextAttemptAt: now }, "Replace", { abortSignal }));
      return true;
    },

    async list(options = {}) {
      const table = await alerts();
      const rows = await listAll<AlertRow>(table, `PartitionKey eq '${PARTITION}'${options.state ? ` and state eq ${odata(options.state)}` : ""}`);
      rows.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
      return Promise.all(rows.slice(0, options.limit ?? rows.length).map((row) => toAlert(row)));
    },
  };
}

/**
 * `gallery-watch reindex` (shared/app/reindex.ts): the `due` and `staged` index rows rebuilt from the
 * `outbox` partition, for alerts stored before the index partitions existed. A pending alert gets
 * its `due` row (with its own nextAttemptAt), a staged one its `staged` row; only missing rows are
 * written, never a lease overwritten. If the running app moves the alert between our read and our
 * write (delivered, released), the row we wrote is removed again.
 */
export function outboxIndexRebuild(conn: StorageConnection, prefix: string, pageSize = 100): IndexRebuild {
  const alerts = () => openTable(conn, `${prefix}Alerts`);
  const filter = `PartitionKey eq '${PARTITION}'`;
  return {
    name: "AlertOutboxIndex",
    count: async () => countRows(await alerts(), filter),
    async rebuildPage(continuation) {
      const table = await alerts();
      const page = await listPage<AlertRow>(table, { filter, maxPageSize: pageSize, ...(continuation ? { continuationToken: continuation } : {}) });
      const written = await Promise.all(
        page.rows.map(async (row) => {
          const partition = row.state === "pending" ? DUE : row.state === "staged" ? STAGED : undefined;
          if (!partition || (await getOrUndefined(table, partition, encodeKey(row.alertId)))) return false;
          const { transition, attribution } = JSON.parse(await readBody(table, row)) as { transition: FindingTransition; attribution?: Attribution };
          const index = { ...indexRow(partition, { alertId: row.alertId, transition, ...(attribution ? { attribution } : {}) }, row.createdAt), ...(partition === DUE ? { nextAttemptAt: row.nextAttemptAt } : {}) };
          if (!(await insertIfAbsent(table, index))) return false;
          const now = await getOrUndefined<AlertRow>(table, PARTITION, encodeKey(row.alertId));
          if (now?.state === row.state) return true;
          await call(table.tableName, "deleteEntity", (abortSignal) => table.deleteEntity(partition, index.rowKey, { abortSignal })).catch((error: unknown) => {
            if (causeStatusOf(error) !== 404) throw error;
          });
          return false;
        }),
      );
      return { scanned: page.rows.length, rebuilt: written.filter(Boolean).length, ...(page.continuationToken ? { continuation: page.continuationToken } : {}) };
    },
  };
}
