/**
 * The security team's question in one call: what did this resource look like at time X, was it
 * still there, who changed it (every change up to X, paged), and which findings stood then.
 *
 * Also the timeline a person reads (`gallery-watch history`): each change with who did it and
 * what differed from the snapshot before it.
 */
import type { ResourceId } from "../domain/resourceId.js";
import type { Finding } from "../domain/findings.js";
import type { Snapshot } from "../domain/snapshots.js";
import { changeTime, type ChangeRecord, type Dependencies, type SnapshotRecord, type Trigger } from "./ports.js";
import { UnknownResourceError } from "../domain/errors.js";
/** The error family lives in domain/errors.ts; re-exported where callers (functions/, the CLI) already look. */
export { UnknownResourceError } from "../domain/errors.js";

/** Changes per page when the caller names no limit; the largest page a caller may ask for. */
export const DEFAULT_CHANGE_LIMIT = 100;
export const MAX_CHANGE_LIMIT = 1000;

/** Who caused a change, as far as gallery-watch knows: the event's caller, or gallery-watch itself (sweep, re-check). */
export interface Actor {
  readonly source: Trigger["source"];
  readonly name?: string;
  readonly upn?: string;
  readonly appId?: string;
  readonly objectId?: string;
  readonly correlationId?: string;
  readonly operationName?: string;
  /** The sweep run that found it, for `source: "sweep"`. */
  readonly runId?: string;
}

export interface PointInTimeView {
  readonly resourceId: string;
  readonly asOf: string;
  /**
   * `present`: observed by then and not deleted; `deleted`: gone at `asOf` (see `deletedAt`,
   * `deletedBy`); `notYetObserved`: gallery-watch first stored it after `asOf`.
   */
  readonly state: "present" | "deleted" | "notYetObserved";
  readonly deleted: boolean;
  /** When the deletion happened (the event's time, or when the sweep found it missing). */
  readonly deletedAt?: string;
  readonly deletedBy?: Actor;
  /** The last snapshot stored at or before `asOf`; after a deletion, the resource as it last was. */
  readonly snapshot?: SnapshotRecord;
  /** Changes up to `asOf`, newest first: one page of at most `changesLimit`. */
  readonly changes: readonly ChangeRecord[];
  readonly changesLimit: number;
  /** Present when more changes exist: pass it back as `continuationToken` for the next page. */
  readonly continuationToken?: string;
  /** Findings as they stood at `asOf` (resolved ones included, with their status). */
  readonly findings: readonly Finding[];
}

export interface PointInTimeOptions {
  readonly limit?: number;
  readonly continuationToken?: string;
}

type Stores = Pick<Dependencies, "resources" | "findings">;

/** Throws {@link UnknownResourceError} for an id never stored, `InvalidContinuationTokenError` for a token the store did not issue. */
export async function pointInTime(deps: Stores, id: ResourceId, asOf: string, options: PointInTimeOptions = {}): Promise<PointInTimeView> {
  const limit = Math.min(Math.max(1, Math.trunc(options.limit ?? DEFAULT_CHANGE_LIMIT)), MAX_CHANGE_LIMIT);
  const [history, page, findings] = await Promise.all([
    deps.resources.history(id.key, { asOf, limit: 1 }),
    deps.resources.changesOf(id.key, { asOf, limit, ...(options.continuationToken ? { continuationToken: options.continuationToken } : {}) }),
    deps.findings.asOf(id.key, asOf),
  ]);
  const snapshot = history[0];
  if (!snapshot && page.items.length === 0 && !options.continuationToken && !(await everStored(deps, id))) throw new UnknownResourceError(id.display);
  // The first page usually holds the deciding change; later pages (or none) need their own look.
  const decided = options.continuationToken ? await deletionAt(deps, id, asOf) : (deletionIn(page.items) ?? (page.continuationToken ? await deletionAt(deps, id, asOf, page.continuationToken) : undefined));
  const deletion = decided === "present" ? undefined : decided;
  return {
    resourceId: id.display,
    asOf,
    state: deletion ? "deleted" : snapshot ? "present" : "notYetObserved",
    deleted: deletion !== undefined,
    ...(deletion ? { deletedAt: changeTime(deletion), deletedBy: actorOf(deletion.trigger) } : {}),
    ...(snapshot ? { snapshot } : {}),
    changes: page.items,
    changesLimit: limit,
    ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}),
    findings,
  };
}

async function everStored(deps: Stores, id: ResourceId): Promise<boolean> {
  const [snapshots, changes] = await Promise.all([deps.resources.history(id.key, { limit: 1 }), deps.resources.changesOf(id.key, { limit: 1 })]);
  return snapshots.length > 0 || changes.items.length > 0;
}

/**
 * Deleted at `asOf` when, newest first, a `deleted` change comes before any `written` one (a write
 * after a deletion is the resource created again). Only those two actions decide: a no-access or
 * unchanged re-read says nothing about existence.
 */
function deletionIn(changes: readonly ChangeRecord[]): ChangeRecord | "present" | undefined {
  for (const change of changes) {
    if (change.action === "deleted") return change;
    if (change.action === "written") return "present";
  }
  return undefined;
}

async function deletionAt(deps: Stores, id: ResourceId, asOf: string, from?: string): Promise<ChangeRecord | "present" | undefined> {
  let token = from;
  do {
    const page = await deps.resources.changesOf(id.key, { asOf, limit: 200, ...(token ? { continuationToken: token } : {}) });
    const decided = deletionIn(page.items);
    if (decided) return decided;
    token = page.continuationToken;
  } while (token);
  return undefined;
}

export function actorOf(trigger: Trigger): Actor {
  const attribution = trigger.source === "event" ? trigger.attribution : trigger.source === "recheck" ? trigger.attribution : undefined;
  return {
    source: trigger.source,
    ...(attribution?.callerName ? { name: attribution.callerName } : {}),
    ...(attribution?.callerUpn ? { upn: attribution.callerUpn } : {}),
    ...(attribution?.callerAppId ? { appId: attribution.callerAppId } : {}),
    ...(attribution?.callerObjectId ? { objectId: attribution.callerObjectId } : {}),
    ...(attribution?.correlationId ? { correlationId: attribution.correlationId } : {}),
    ...(attribution?.operationName ? { operationName: attribution.operationName } : {}),
    ...(trigger.source === "sweep" ? { runId: trigger.runId } : {}),
  };
}

/** "Priya Patel (priya.patel@contoso.example)", "app 04b0…", "gallery-watch sweep". */
export function describeActor(actor: Actor): string {
  const person = [actor.name, actor.upn ? `(${actor.upn})` : undefined].filter(Boolean).join(" ");
  if (person) return actor.appId && !actor.upn ? `${person} app ${actor.appId}` : person;
  if (actor.appId) return `app ${actor.appId}`;
  if (actor.objectId) return `object ${actor.objectId}`;
  if (actor.source === "sweep") return "gallery-watch sweep";
  if (actor.source === "recheck") return "gallery-watch re-check";
  return "unknown caller";
}

// ---------------------------------------------------------------- facts and differences

export type FactValue = string | readonly string[];

/** The facts a person checks first, by kind: what `history` shows and what the timeline compares. */
export function keyFacts(snapshot: Snapshot): Record<string, FactValue> {
  const tags = Object.entries(snapshot.tags).map(([k, v]) => `${k}=${v}`).sort();
  const common = { ...(snapshot.provisioningState ? { provisioningState: snapshot.provisioningState } : {}), ...(snapshot.location ? { location: snapshot.location } : {}) };
  switch (snapshot.kind) {
    case "gallery":
      return {
        kind: "gallery",
        ...common,
        sharing: snapshot.sharing.permissions,
        sharedWith: snapshot.sharing.groups.flatMap((g) => g.ids.map((id) => `${g.type}:${id}`)),
        ...(snapshot.sharing.community ? { communityNames: snapshot.sharing.community.publicNames } : {}),
        tags,
      };
    case "imageDefinition":
      return {
        kind: "imageDefinition",
        ...common,
        osState: snapshot.osState,
        osType: snapshot.osType,
        identifier: `${snapshot.identifier.publisher}/${snapshot.identifier.offer}/${snapshot.identifier.sku}`,
        endOfLifeDate: snapshot.endOfLifeDate ?? "none",
        tags,
      };
    case "imageVersion":
      return {
        kind: "imageVersion",
        ...common,
        osState: snapshot.osState,
        targetRegions: snapshot.targetRegions.map((t) => t.region),
        replicas: snapshot.targetRegions.map((t) => `${t.region}=${t.regionalReplicaCount ?? snapshot.replicaCount ?? 1}`),
        excludeFromLatest: String(snapshot.excludeFromLatest),
        endOfLifeDate: snapshot.endOfLifeDate ?? "none",
        tags,
      };
    default: {
      // A scale set or a VM: the image it runs.
      const ref = snapshot.imageReference;
      const image =
        ref.kind === "definition"
          ? `${ref.definitionId.display} (latest)`
          : ref.kind === "version"
            ? ref.versionId.display
            : ref.kind === "other"
              ? ref.description
              : ref.kind === "osDisk"
                ? `OS disk ${ref.diskId}`
                : ref.id;
      return {
        kind: snapshot.kind,
        ...common,
        image,
        ...(snapshot.image.outcome === "resolved" ? { imageOsState: snapshot.image.osState, runsVersion: snapshot.image.versionId ?? "none" } : {}),
        ...("capacity" in snapshot ? { capacity: String(snapshot.capacity) } : {}),
        ...("skuName" in snapshot && snapshot.skuName ? { sku: snapshot.skuName } : {}),
        ...("vmSize" in snapshot && snapshot.vmSize ? { size: snapshot.vmSize } : {}),
        tags,
      };
    }
  }
}

/**
 * What differs between two snapshots of one resource, one line per fact:
 * `targetRegions: westeurope, northeurope → +eastus, +uksouth`, `excludeFromLatest: true → false`.
 * `before` absent: the first snapshot, described by its facts.
 */
export function differences(before: Snapshot | undefined, after: Snapshot): string[] {
  const next = keyFacts(after);
  // Nothing stored before (gallery-watch first saw it here): say what it was, the facts a rule reads.
  if (!before) return ["first stored", ...FIRST_FACTS.filter((name) => next[name] !== undefined).map((name) => `${name}: ${asList(next[name]).join(", ") || "none"}`)];
  const previous = keyFacts(before);
  const lines: string[] = [];
  for (const name of new Set([...Object.keys(previous), ...Object.keys(next)])) {
    const a = previous[name];
    const b = next[name];
    if (same(a, b)) continue;
    if (name === "replicas") {
      // Added or removed regions are already on the targetRegions line; say only what changed in place.
      const was = new Map(asList(a).map((r) => r.split("=") as [string, string]));
      const moved = asList(b).map((r) => r.split("=") as [string, string]).filter(([region, n]) => was.has(region) && was.get(region) !== n);
      if (moved.length > 0) lines.push(`replicas: ${moved.map(([region, n]) => `${region} ${was.get(region)} → ${n}`).join(", ")}`);
      continue;
    }
    if (Array.isArray(a) || Array.isArray(b)) {
      const was = asList(a);
      const now = asList(b);
      const changes = [...now.filter((x) => !was.includes(x)).map((x) => `+${x}`), ...was.filter((x) => !now.includes(x)).map((x) => `-${x}`)];
      lines.push(`${name}: ${was.length > 0 ? was.join(", ") : "none"} → ${changes.length > 0 ? changes.join(", ") : "reordered"}`);
    } else {
      lines.push(`${name}: ${a ?? "none"} → ${b ?? "none"}`);
    }
  }
  return lines;
}

const FIRST_FACTS = ["osState", "sharing", "sharedWith", "targetRegions", "excludeFromLatest", "endOfLifeDate", "image", "capacity"] as const;

function asList(value: FactValue | undefined): readonly string[] {
  return value === undefined ? [] : typeof value === "string" ? [value] : value;
}

function same(a: FactValue | undefined, b: FactValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface TimelineEntry {
  /** The event's time, or when gallery-watch observed it. */
  readonly time: string;
  readonly observedAt: string;
  readonly action: string;
  readonly who: string;
  readonly actor: Actor;
  /** Fields that differ from the snapshot before (written changes only). */
  readonly whatChanged: readonly string[];
  readonly contentHash?: string;
}

/**
 * Changes (newest first) with what each write changed: a `written` change is matched to its
 * snapshot (same content hash and observation time) and compared with the snapshot before it.
 * `snapshots` are the history, newest first.
 */
export function timeline(changes: readonly ChangeRecord[], snapshots: readonly SnapshotRecord[]): TimelineEntry[] {
  const indexOf = (change: ChangeRecord) => {
    const exact = snapshots.findIndex((s) => s.contentHash === change.contentHash && s.observedAt === change.observedAt);
    return exact >= 0 ? exact : snapshots.findIndex((s) => s.contentHash === change.contentHash && s.observedAt <= change.observedAt);
  };
  return changes.map((change) => {
    const actor = actorOf(change.trigger);
    let whatChanged: string[] = [];
    if (change.action === "written" && change.contentHash) {
      const at = indexOf(change);
      if (at >= 0) whatChanged = differences(snapshots[at + 1]?.snapshot, snapshots[at]!.snapshot);
    }
    return {
      time: changeTime(change),
      observedAt: change.observedAt,
      action: change.action,
      who: describeActor(actor),
      actor,
      whatChanged,
      ...(change.contentHash ? { contentHash: change.contentHash } : {}),
    };
  });
}
