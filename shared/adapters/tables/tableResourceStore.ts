/**
 * ResourceStore on Table Storage: current resources (+ a reference index of scale sets and VMs), history
 * snapshots written only when the content hash changes, and the change log with attribution.
 *
 * - `<prefix>Resources`: PK = encoded parent key (a gallery's definitions and a definition's
 *   versions are one-partition queries), RK = encoded resource key. Index rows
 *   PK = `ref~<encoded definition key>`, RK = encoded scale set or VM key.
 * - `<prefix>Snapshots`: PK = encoded resource key, RK = inverted observed time + hash prefix.
 * - `<prefix>Changes`: PK = encoded resource key, RK = inverted event time + event id, so a
 *   duplicate delivery of one event writes nothing new.
 * - `<prefix>ChangeLog`: the same rows indexed by time across resources: PK = the UTC day
 *   (`yyyy-mm-dd`) of the change, RK = inverted time + encoded resource key + event id. "Changes
 *   since T" is one range query per day partition, newest first; caller and resource group are
 *   filtered server-side on lower-cased columns.
 */
import { statusOf } from "../../platform/sdkErrors.js";
import { setBounded } from "../../platform/boundedMap.js";
import type { TableClient, TableEntityResult } from "@azure/data-tables";
import { parentOf, parseResourceId, tryParseResourceId, type ResourceId, type ResourceKind } from "../../domain/resourceId.js";
import { isMachine, machineStates, referencedDefinitionKey, runningVersionKey, versionsRun, type ImageDefinitionSnapshot, type ImageVersionSnapshot, type MachineSnapshot, type Snapshot } from "../../domain/snapshots.js";
import { descendantKindsOf, RESOURCE_TYPES } from "../../domain/resourceTypes.js";
import { changeTime, type ChangeQuery, type ChangeRecord, type LineageEntry, type Page, type ResourceStore, type SnapshotRecord, type Trigger } from "../../app/ports.js";
import { ConcurrentUpdateError } from "../../domain/errors.js";
import { decodeContinuation, encodeContinuation } from "../../app/ports.js";
import { encodeKey, invertedTime, rowKeyAtOrAfter } from "./tableKeys.js";
import { bodyProperties, call, countRows, getOrUndefined, insertIfAbsent, listAll, listPage, odata, openTable, readBody, upsertWithBody, type StorageConnection } from "./tableClients.js";
import type { IndexRebuild } from "../../app/ports.js";

interface CurrentRow {
  kind: string;
  resourceKey: string;
  resourceId: string;
  observedAt: string;
  contentHash: string;
  deleted: boolean;
  deletedAt?: string;
  refDefinitionKey?: string;
  /** A machine's: the version it runs ("" when none or unresolved); rows written before lineage lack it. */
  runsVersionKey?: string;
}

/** Lineage (partition `lineage~<version key>`, row key the machine's): a machine that ran the version. */
interface LineageRow {
  machineId: string;
  kind: string;
  firstSeen: string;
  /** "" while the machine still runs the version (a Merge cannot remove a property). */
  lastSeen: string;
}

interface ChangeRow {
  resourceKey: string;
  resourceId: string;
  action: string;
  observedAt: string;
  contentHash?: string;
  trigger: string;
}

const MAX_ATTEMPTS = 5;
/** Change rows remembered as written: a few minutes of a burst's events. */
const CHANGES_REMEMBERED = 20_000;

export function createTableResourceStore(conn: StorageConnection, prefix: string): ResourceStore {
  const resources = () => openTable(conn, `${prefix}Resources`);
  const snapshots = () => openTable(conn, `${prefix}Snapshots`);
  const changes = () => openTable(conn, `${prefix}Changes`);
  const changeLog = () => openTable(conn, `${prefix}ChangeLog`);
  /** Change rows (both tables) this process wrote or is writing, by `PK|RK` of the per-resource row. */
  const changesWritten = new Map<string, Promise<void>>();

  async function loadSnapshot(table: TableClient, row: object): Promise<Snapshot> {
    const snapshot = JSON.parse(await readBody(table, row)) as Omit<Snapshot, "id"> & { id: string };
    return revive(snapshot);
  }

  async function writeChange(change: ChangeRecord): Promise<void> {
    const table = await changes();
    const { row, indexRow } = changeRows(change);
    const key = `${row.partitionKey}|${row.rowKey}`;
    // Insert-if-absent rows never change once written, so one this process wrote (or is writing)
    // needs no request again: Event Grid delivers every event at least once, in a burst often
    // twice and side by side. A write that fails is forgotten, so the retry writes.
    const known = changesWritten.get(key);
    if (known) return known;
    const writing = Promise.all([insertIfAbsent(table, row), changeLog().then((log) => insertIfAbsent(log, indexRow))]).then(() => undefined);
    setBounded(changesWritten, key, writing, CHANGES_REMEMBERED);
    writing.catch(() => changesWritten.get(key) === writing && changesWritten.delete(key));
    return writing;
  }

  async function changesSince(q: ChangeQuery): Promise<Page<ChangeRecord>> {
    const after = decodeContinuation(q.continuationToken);
    const table = await changeLog();
    const sinceMs = Date.parse(q.since);
    const untilMs = q.until === undefined ? undefined : Date.parse(q.until);
    if (Number.isNaN(sinceMs) || (untilMs !== undefined && Number.isNaN(untilMs))) throw new Error("changesSince: since/until must be ISO times");
    // With no upper bound, start a day ahead: event times come from ARM's clock, not ours. Never
    // later than that either: no day partition beyond it holds anything.
    let startMs = Math.min(untilMs ?? Number.POSITIVE_INFINITY, Date.now() + DAY_MS);
    if (after) startMs = Math.min(startMs, EPOCH_INVERTED - Number(after.slice(0, 13)));
    // Nor earlier than the first stored day: tables return rows in PartitionKey order, so the
    // first row of the log names it (one short read), and a `since` years back walks only the
    // days that hold something instead of one empty partition per day (`since=99999d` took 107 s).
    const [first] = await listAll<ChangeRow>(table, `PartitionKey ge ${odata("1970-01-01")}`, 1);
    if (!first?.partitionKey) return { items: [] };
    const firstDayMs = Math.max(utcDayStart(sinceMs), Date.parse(`${first.partitionKey}T00:00:00Z`));
    const conditions = [
      ...(after ? [`RowKey gt ${odata(after)}`] : []),
      // time >= since (tableKeys.ts).
      ...[rowKeyAtOrAfter(q.since)].filter((c) => c !== undefined),
      // time < until  <=>  inverted(time) > inverted(until).
      ...(q.until ? [`RowKey ge ${odata(String(Number(invertedTime(q.until)) + 1).padStart(13, "0"))}`] : []),
      ...(q.resourceGroup ? [`resourceGroup eq ${odata(q.resourceGroup.toLowerCase())}`] : []),
      ...(q.caller
        ? [`(${["callerUpnLc", "callerAppIdLc", "callerObjectIdLc", "callerNameLc"].map((c) => `${c} eq ${odata(q.caller!.toLowerCase())}`).join(" or ")})`]
        : []),
    ];
    const rows: Array<ChangeRow & { rowKey?: string }> = [];
    // Day partitions newest first, DAYS_AT_ONCE read together (a sparse filter over many days is
    // bounded by round trips / DAYS_AT_ONCE); RowKeys start with the inverted time, so the
    // concatenation in day order is in time order.
    for (let day = utcDayStart(startMs); day >= firstDayMs && rows.length <= q.limit; day -= DAYS_AT_ONCE * DAY_MS) {
      const days = Array.from({ length: DAYS_AT_ONCE }, (_, i) => day - i * DAY_MS).filter((d) => d >= firstDayMs);
      const want = q.limit + 1 - rows.length;
      const found = await Promise.all(days.map((d) => listAll<ChangeRow>(table, [`PartitionKey eq ${odata(new Date(d).toISOString().slice(0, 10))}`, ...conditions].join(" and "), want)));
      for (const dayRows of found) rows.push(...dayRows);
    }
    const page = rows.slice(0, q.limit);
    const items = page.map(changeOf);
    return rows.length > q.limit ? { items, continuationToken: encodeContinuation(page[page.length - 1]!.rowKey!) } : { items };
  }

  /** Move the reference index row when a scale set or VM starts or stops following a definition. */
  /**
   * Lineage follows a machine's recorded state: a machine found running a version it did not run
   * before starts (or resumes) its row under that version, and ends the row of the one it ran.
   */
  async function indexLineage(table: TableClient, machine: { readonly key: string; readonly display: string; readonly kind: string }, previous: string | undefined, next: string | undefined, at: string): Promise<void> {
    if (previous === next) return;
    const rk = encodeKey(machine.key);
    const merge = (versionKey: string, entity: Partial<LineageRow>) =>
      call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity({ partitionKey: `lineage~${encodeKey(versionKey)}`, rowKey: rk, ...entity }, "Merge", { abortSignal })).catch((e: unknown) => {
        if (statusOf(e) !== 404) throw e;
      });
    if (previous) await merge(previous, { lastSeen: at });
    if (!next) return;
    const pk = `lineage~${encodeKey(next)}`;
    const row = await getOrUndefined<LineageRow>(table, pk, rk);
    const entity: LineageRow & { partitionKey: string; rowKey: string } = { partitionKey: pk, rowKey: rk, machineId: machine.display, kind: machine.kind, firstSeen: at, lastSeen: "" };
    if (!row && (await insertIfAbsent(table, entity))) return;
    // Running it again (re-created, or moved back): first seen as before.
    if (!row || row.lastSeen !== "") await merge(next, { lastSeen: "" });
  }

  async function indexReference(table: TableClient, scaleSetKey: string, previous: string | undefined, next: string | undefined): Promise<void> {
    if (previous === next) return;
    if (previous) {
      await call(table.tableName, "deleteEntity", (abortSignal) =>
        table.deleteEntity(`ref~${encodeKey(previous)}`, encodeKey(scaleSetKey), { abortSignal }).catch((e: unknown) => {
          if (statusOf(e) !== 404) throw e;
          return undefined;
        }),
      );
    }
    if (next) {
      await call(table.tableName, "upsertEntity", (abortSignal) =>
        table.upsertEntity({ partitionKey: `ref~${encodeKey(next)}`, rowKey: encodeKey(scaleSetKey), scaleSetKey, definitionKey: next }, "Replace", { abortSignal }),
      );
    }
  }

  async function listCurrent<T extends Snapshot>(partitionKey: string, kind: T["kind"]): Promise<T[]> {
    const table = await resources();
    const rows = await listAll<CurrentRow>(table, `PartitionKey eq ${odata(partitionKey)} and kind eq ${odata(kind)} and deleted eq false`);
    return Promise.all(rows.map((row) => loadSnapshot(table, row) as Promise<T>));
  }

  return {
    async recordSnapshot(record: SnapshotRecord) {
      const { snapshot, contentHash, observedAt, trigger } = record;
      const key = snapshot.id.key;
      const table = await resources();
      const pk = partitionOf(snapshot.id);
      const rk = encodeKey(key);
      const refDefinitionKey = isMachine(snapshot) ? referencedDefinitionKey(snapshot) : undefined;
      const json = JSON.stringify(snapshot);
      let changed = false;
      let stale = false;
      let recorded: Promise<void> | undefined;
      for (let attempt = 1; ; attempt++) {
        const current = await getOrUndefined<CurrentRow>(table, pk, rk);
        changed = !current || current.contentHash !== contentHash || current.deleted;
        // Unchanged, or a read observed earlier than what is stored (a slow concurrent invocation),
        // or derived from a stored state that has moved on since — a deletion included (a scale set
        // re-judged from its stored state while `az group delete` records it deleted): nothing to write.
        stale = changed && current !== undefined && (current.deleted ? record.basis !== undefined : current.observedAt > observedAt || (record.basis !== undefined && current.contentHash !== record.basis));
        if (!changed || stale) {
          changed = false;
          break;
        }
        // History before the current row: a crash between the two leaves an observation without
        // its current row (the retry writes both), never a current row whose history is lost.
        await upsertWithBody(await snapshots(), { partitionKey: encodeKey(key), rowKey: `${invertedTime(observedAt)}~${contentHash.slice(0, 16)}`, resourceKey: key, observedAt, contentHash, trigger: JSON.stringify(trigger) }, json);
        const row = { partitionKey: pk, rowKey: rk, kind: snapshot.kind, resourceKey: key, resourceId: snapshot.id.display, observedAt, contentHash, deleted: false, refDefinitionKey: refDefinitionKey ?? "", ...(isMachine(snapshot) ? { runsVersionKey: runningVersionKey(snapshot) ?? "" } : {}) };
        const { properties, overflow } = bodyProperties(json);
        // The change row goes alongside the current row: it says this event's re-read found a new
        // state (in a race of two such reads, both did); its key is the event's, so never twice.
        if (!recorded) {
          recorded = writeChange({ resourceKey: key, resourceId: snapshot.id.display, action: "written", observedAt, contentHash, trigger });
          recorded.catch(() => undefined); // awaited below; this only keeps a failure from surfacing as unhandled meanwhile
        }
        try {
          // Conditional write of the current row: of concurrent duplicate deliveries, exactly one wins.
          if (overflow.length > 0) await upsertWithBody(table, row, json);
          else if (current) await call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity({ ...row, ...properties }, "Replace", { etag: current.etag, abortSignal }));
          else if (!(await insertIfAbsent(table, { ...row, ...properties }))) throw new ConcurrentUpdateError("createEntity", table.tableName, "created concurrently");
        } catch (error) {
          if (error instanceof ConcurrentUpdateError && attempt < MAX_ATTEMPTS) continue;
          throw error;
        }
        await Promise.all([
          indexReference(table, key, current?.refDefinitionKey || undefined, refDefinitionKey),
          isMachine(snapshot) ? indexLineage(table, { key, display: snapshot.id.display, kind: snapshot.kind }, current?.deleted ? undefined : current?.runsVersionKey || undefined, runningVersionKey(snapshot), observedAt) : undefined,
          recorded,
        ]);
        break;
      }
      if (recorded) await recorded;
      else if (trigger.source !== "sweep") {
        await writeChange({ resourceKey: key, resourceId: snapshot.id.display, action: stale ? "stale" : "unchanged", observedAt, contentHash, trigger });
      }
      return { changed, ...(stale ? { stale } : {}) };
    },

    async recordDeletion(id: ResourceId, observedAt: string, trigger: Trigger) {
      const table = await resources();
      const current = await getOrUndefined<CurrentRow>(table, partitionOf(id), encodeKey(id.key));
      if (current && !current.deleted) {
        await call(table.tableName, "updateEntity", (abortSignal) =>
          table.updateEntity({ partitionKey: current.partitionKey ?? "", rowKey: current.rowKey ?? "", deleted: true, deletedAt: observedAt }, "Merge", { etag: current.etag, abortSignal }),
        );
        await Promise.all([
          indexReference(table, id.key, current.refDefinitionKey || undefined, undefined),
          indexLineage(table, { key: id.key, display: id.display, kind: current.kind }, current.runsVersionKey || undefined, undefined, observedAt),
        ]);
      }
      await writeChange({ resourceKey: id.key, resourceId: id.display, action: "deleted", observedAt, trigger });
    },

    recordChange: writeChange,
    changesSince,

    async current(key: string) {
      const parsed = parseResourceId(key);
      const table = await resources();
      const row = await getOrUndefined<CurrentRow>(table, partitionOf(parsed), encodeKey(parsed.key));
      return row && !row.deleted ? loadSnapshot(table, row) : undefined;
    },

    async *currentIn(subscriptionId: string, resourceGroup?: string) {
      const table = await resources();
      const inGroup = (id: ResourceId) => resourceGroup === undefined || id.resourceGroup.toLowerCase() === resourceGroup.toLowerCase();
      // Deleted parents are walked too: a resource-group delete leaves their children marked current.
      const rowsOf = (partitionKey: string, kind: string) => listAll<CurrentRow>(table, `PartitionKey eq ${odata(partitionKey)} and kind eq ${odata(kind)}`);
      for (const gallery of await rowsOf(`galleries~${subscriptionId.toLowerCase()}`, "gallery")) {
        const galleryId = parseResourceId(gallery.resourceId);
        if (!inGroup(galleryId)) continue;
        if (!gallery.deleted) yield galleryId;
        for (const definition of await rowsOf(encodeKey(gallery.resourceKey), "imageDefinition")) {
          if (!definition.deleted) yield parseResourceId(definition.resourceId);
          for (const version of await rowsOf(encodeKey(definition.resourceKey), "imageVersion")) if (!version.deleted) yield parseResourceId(version.resourceId);
        }
      }
      // Then the kinds standing alone under the subscription (scale sets, VMs), one partition each.
      for (const kind of STANDALONE_KINDS) {
        for (const row of await rowsOf(rootPartition(kind, subscriptionId.toLowerCase()), kind)) {
          const id = parseResourceId(row.resourceId);
          if (!row.deleted && inGroup(id)) yield id;
        }
      }
    },

    definitionsOf: (galleryKey) => listCurrent<ImageDefinitionSnapshot>(encodeKey(galleryKey), "imageDefinition"),
    versionsOf: (definitionKey) => listCurrent<ImageVersionSnapshot>(encodeKey(definitionKey), "imageVersion"),

    async machinesReferencing(definitionKey: string) {
      const table = await resources();
      const refs = await listAll<{ scaleSetKey: string }>(table, `PartitionKey eq ${odata(`ref~${encodeKey(definitionKey)}`)}`);
      const found = await Promise.all(refs.map((r) => this.current(r.scaleSetKey)));
      return found.filter((s): s is MachineSnapshot => s !== undefined && isMachine(s));
    },

    async lineage(versionKey: string) {
      const table = await resources();
      const rows = await listAll<LineageRow>(table, `PartitionKey eq ${odata(`lineage~${encodeKey(versionKey)}`)}`);
      // By machine id, as the in-memory store (encoded row keys sort otherwise).
      rows.sort((a, b) => (a.machineId.toLowerCase() < b.machineId.toLowerCase() ? -1 : 1));
      return rows.map((r) => ({ machineId: r.machineId, kind: r.kind as LineageEntry["kind"], firstSeen: r.firstSeen, ...(r.lastSeen ? { lastSeen: r.lastSeen } : {}) }));
    },

    async history(key, options = {}) {
      const table = await snapshots();
      const filter = `PartitionKey eq ${odata(encodeKey(key))}${options.asOf ? ` and RowKey ge ${odata(invertedTime(options.asOf))}` : ""}`;
      const rows = await listAll<Record<string, unknown>>(table, filter, options.limit ?? 50);
      return Promise.all(
        rows
          // Continuation rows of a large body carry no contentHash of their own.
          .filter((row) => typeof row.contentHash === "string")
          .map(async (row) => ({
            snapshot: await loadSnapshot(table, row),
            contentHash: String(row.contentHash),
            observedAt: String(row.observedAt),
            trigger: JSON.parse(String(row.trigger)) as Trigger,
          })),
      );
    },

    async changes(key, options = {}) {
      const table = await changes();
      const filter = `PartitionKey eq ${odata(encodeKey(key))}${options.asOf ? ` and RowKey ge ${odata(invertedTime(options.asOf))}` : ""}`;
      const rows = await listAll<ChangeRow>(table, filter, options.limit ?? 50);
      return rows.map(changeOf);
    },

    // Pages by RowKey (inverted time + discriminator): the token is the last RowKey returned, so a
    // page never repeats or skips a row however many were written since.
    async changesOf(key, options) {
      const table = await changes();
      const after = decodeContinuation(options.continuationToken);
      const filter =
        `PartitionKey eq ${odata(encodeKey(key))}` +
        (options.asOf ? ` and RowKey ge ${odata(invertedTime(options.asOf))}` : "") +
        (after ? ` and RowKey gt ${odata(after)}` : "");
      const rows = await listAll<ChangeRow>(table, filter, options.limit + 1);
      const page = rows.slice(0, options.limit);
      const last = page.at(-1);
      return {
        items: page.map(changeOf),
        ...(rows.length > options.limit && last?.rowKey ? { continuationToken: encodeContinuation(last.rowKey) } : {}),
      };
    },
  };
}

const DAY_MS = 86_400_000;
/** Day partitions of the change log read at once by `changesSince`. */
const DAYS_AT_ONCE = 8;
/** inverted(t) = EPOCH_INVERTED - t in ms. */
const EPOCH_INVERTED = Number(invertedTime(new Date(0).toISOString()));

function utcDayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

function changeOf(row: ChangeRow): ChangeRecord {
  return {
    resourceKey: row.resourceKey,
    resourceId: row.resourceId,
    action: row.action,
    observedAt: row.observedAt,
    ...(row.contentHash ? { contentHash: row.contentHash } : {}),
    trigger: JSON.parse(row.trigger) as Trigger,
  };
}

/** Versions live under their definition, definitions under their gallery; galleries, scale sets and VMs under their subscription. */
function partitionOf(id: ResourceId): string {
  const parent = parentOf(id);
  if (parent) return encodeKey(parent.key);
  return rootPartition(id.kind, id.subscriptionId);
}

/** `galleries~{sub}`, `scaleSets~{sub}`, `virtualMachines~{sub}`: one partition per subscription-level kind. */
function rootPartition(kind: ResourceKind, subscriptionId: string): string {
  return `${kind === "gallery" ? "galleries" : `${kind}s`}~${subscriptionId}`;
}

/** Subscription-level kinds with nothing nested under them (the gallery is walked with its children). */
const STANDALONE_KINDS: readonly ResourceKind[] = RESOURCE_TYPES.filter((t) => !t.parent && descendantKindsOf(t.kind).length === 0).map((t) => t.kind);

/** Snapshots are stored as JSON; ids come back as full ResourceId objects. */
function revive(stored: Record<string, any>): Snapshot {
  const snapshot = { ...stored, id: parseResourceId(stored.id.display ?? stored.id) } as Record<string, any>;
  if (snapshot.imageReference) {
    // A scale set or a VM: its reference's ids come back as full ResourceId objects too.
    const ref = snapshot.imageReference;
    if (ref.kind === "definition") snapshot.imageReference = { ...ref, definitionId: parseResourceId(ref.definitionId.display) };
    if (ref.kind === "version") snapshot.imageReference = { ...ref, versionId: parseResourceId(ref.versionId.display) };
  }
  return snapshot as Snapshot;
}

/**
 * The rows one change is stored as: the per-resource row (`<prefix>Changes`) and the cross-resource
 * index row (`<prefix>ChangeLog`). Both keys are deterministic, so a retry (or the same event
 * delivered again) completes them and never doubles them; `reindex` rebuilds the index row from
 * the stored change with the same keys.
 */
function changeRows(change: ChangeRecord): { row: ChangeRow & { partitionKey: string; rowKey: string }; indexRow: ChangeRow & { partitionKey: string; rowKey: string } & Record<string, string> } {
  const time = changeTime(change);
  const discriminator =
    change.trigger.source === "event"
      ? `e~${change.trigger.attribution.eventId}`
      : change.trigger.source === "sweep"
        ? `s~${change.trigger.runId}`
        : `r~${change.trigger.attempt}~${change.observedAt}`;
  const row: ChangeRow & { partitionKey: string; rowKey: string } = {
    partitionKey: encodeKey(change.resourceKey),
    rowKey: `${invertedTime(time)}~${encodeKey(discriminator)}`,
    resourceKey: change.resourceKey,
    resourceId: change.resourceId,
    action: change.action,
    observedAt: change.observedAt,
    ...(change.contentHash ? { contentHash: change.contentHash } : {}),
    trigger: JSON.stringify(change.trigger),
  };
  const attribution = change.trigger.source === "event" ? change.trigger.attribution : change.trigger.source === "recheck" ? change.trigger.attribution : undefined;
  const id = tryParseResourceId(change.resourceId);
  const utc = new Date(Date.parse(time)).toISOString();
  const indexRow: ChangeRow & { partitionKey: string; rowKey: string } & Record<string, string> = {
    ...row,
    partitionKey: utc.slice(0, 10),
    rowKey: `${invertedTime(time)}~${encodeKey(change.resourceKey)}~${encodeKey(discriminator)}`,
    time: utc,
    subscriptionId: id.ok ? id.id.subscriptionId : "",
    resourceGroup: id.ok ? id.id.resourceGroup.toLowerCase() : "",
    // Lower-cased copies for the --caller filter (Table Storage compares strings exactly); "" when unknown.
    callerUpnLc: attribution?.callerUpn?.toLowerCase() ?? "",
    callerAppIdLc: attribution?.callerAppId?.toLowerCase() ?? "",
    callerObjectIdLc: attribution?.callerObjectId?.toLowerCase() ?? "",
    callerNameLc: attribution?.callerName?.toLowerCase() ?? "",
  };
  return { row, indexRow };
}

/** Recorded states of one machine read to work out its lineage (a scale set autoscaling records many). */
const LINEAGE_HISTORY = 10_000;

/**
 * `gallery-watch reindex` (shared/app/reindex.ts): the lineage index worked out again from each
 * machine's recorded history (domain `versionsRun`), for machines recorded before lineage existed:
 * their lineage would otherwise start at their next recorded change, and their current row would
 * not name the version they run (`runsVersionKey`), so nothing would ever end that version's row.
 * Writes only what history adds: a missing lineage row, an earlier first sighting, an end a row
 * still open lacks (history is written before the current row, so it is never behind the index);
 * and `runsVersionKey` on a current row without one, conditional on the row as read (a machine the
 * app records meanwhile is worked out again). A second run writes nothing.
 */
export function lineageRebuild(conn: StorageConnection, prefix: string, pageSize = 100): IndexRebuild {
  const resources = () => openTable(conn, `${prefix}Resources`);
  const changes = () => openTable(conn, `${prefix}Changes`);
  const store = createTableResourceStore(conn, prefix);
  // Current rows only: lineage rows in the same table carry a kind too, but no content hash.
  const machineRows = `(kind eq 'scaleSet' or kind eq 'virtualMachine') and contentHash ne ''`;

  /** One pass over a machine; a row the app changed meanwhile (412) throws ConcurrentUpdateError. */
  async function rebuildOnce(table: TableClient, row: TableEntityResult<CurrentRow>): Promise<number> {
    // Its recorded states, and its deletions from its change rows (a deletion records no state).
    const [recorded, deletions] = await Promise.all([
      store.history(row.resourceKey, { limit: LINEAGE_HISTORY }),
      changes().then((c) => listAll<ChangeRow>(c, `PartitionKey eq ${odata(encodeKey(row.resourceKey))} and action eq 'deleted'`, LINEAGE_HISTORY)),
    ]);
    const last = recorded[0]?.snapshot;
    // What it runs now, by its current row: that version's lineage is open, whatever else history says.
    const runsNow = row.deleted ? undefined : row.runsVersionKey || (last && isMachine(last) ? runningVersionKey(last) : undefined);
    const rk = encodeKey(row.resourceKey);
    let written = 0;
    for (const [versionKey, run] of versionsRun(machineStates(recorded, deletions.map((d) => d.observedAt)))) {
      const lastSeen = versionKey === runsNow ? undefined : run.lastSeen;
      const pk = `lineage~${encodeKey(versionKey)}`;
      const existing = await getOrUndefined<LineageRow>(table, pk, rk);
      if (!existing) {
        const entity: LineageRow & { partitionKey: string; rowKey: string } = { partitionKey: pk, rowKey: rk, machineId: row.resourceId, kind: row.kind, firstSeen: run.firstSeen, lastSeen: lastSeen ?? "" };
        if (await insertIfAbsent(table, entity)) written++;
        else throw new ConcurrentUpdateError("createEntity", table.tableName, "lineage row written meanwhile");
        continue;
      }
      const fix: Partial<LineageRow> = { ...(run.firstSeen < existing.firstSeen ? { firstSeen: run.firstSeen } : {}), ...(existing.lastSeen === "" && lastSeen ? { lastSeen } : {}) };
      if (Object.keys(fix).length === 0) continue;
      // Conditional on the row as read: the app may have moved the machine back onto it meanwhile.
      await call(table.tableName, "updateEntity", (abortSignal) => table.updateEntity({ partitionKey: pk, rowKey: rk, ...fix }, "Merge", { etag: existing.etag, abortSignal }));
      written++;
    }
    if (row.deleted || row.runsVersionKey !== undefined) return written;
    await call(table.tableName, "updateEntity", (abortSignal) =>
      table.updateEntity({ partitionKey: row.partitionKey ?? "", rowKey: row.rowKey ?? "", runsVersionKey: runsNow ?? "" }, "Merge", { etag: row.etag, abortSignal }),
    );
    return written;
  }

  async function rebuildMachine(table: TableClient, read: TableEntityResult<CurrentRow>): Promise<number> {
    let row: TableEntityResult<CurrentRow> | undefined = read;
    for (let attempt = 1; row; attempt++) {
      try {
        return await rebuildOnce(table, row);
      } catch (error) {
        // The app recorded the machine meanwhile: work it out again from its history as it is now.
        if (!(error instanceof ConcurrentUpdateError) || attempt >= MAX_ATTEMPTS) throw error;
        row = await getOrUndefined<CurrentRow>(table, row.partitionKey ?? "", row.rowKey ?? "");
      }
    }
    return 0;
  }

  return {
    name: "Lineage",
    count: async () => countRows(await resources(), machineRows),
    async rebuildPage(continuation) {
      const table = await resources();
      const page = await listPage<CurrentRow>(table, { filter: machineRows, maxPageSize: pageSize, ...(continuation ? { continuationToken: continuation } : {}) });
      let rebuilt = 0;
      for (const row of page.rows) rebuilt += await rebuildMachine(table, row);
      return { scanned: page.rows.length, rebuilt, ...(page.continuationToken ? { continuation: page.continuationToken } : {}) };
    },
  };
}

/** `gallery-watch reindex` (shared/app/reindex.ts): `<prefix>ChangeLog` rebuilt from `<prefix>Changes` (rows never change once written, so inserting the missing ones is all). */
export function changeLogRebuild(conn: StorageConnection, prefix: string, pageSize = 500): IndexRebuild {
  const changes = () => openTable(conn, `${prefix}Changes`);
  const changeLog = () => openTable(conn, `${prefix}ChangeLog`);
  return {
    name: "ChangeLog",
    count: async () => countRows(await changes()),
    async rebuildPage(continuation) {
      const [table, log] = await Promise.all([changes(), changeLog()]);
      const page = await listPage<ChangeRow>(table, { maxPageSize: pageSize, ...(continuation ? { continuationToken: continuation } : {}) });
      const written = await Promise.all(page.rows.map((row) => insertIfAbsent(log, changeRows(changeOf(row)).indexRow)));
      return { scanned: page.rows.length, rebuilt: written.filter(Boolean).length, ...(page.continuationToken ? { continuation: page.continuationToken } : {}) };
    },
  };
}
