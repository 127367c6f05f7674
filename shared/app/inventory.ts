/**
 * The image inventory from the store (`gallery-watch images`, `GET /api/images`): each image
 * definition with its versions, their regions and replicas, its gallery's sharing, end of life,
 * `excludeFromLatest`, the scale sets that use it, and the open findings of each.
 *
 * Read by keys only: the stored ids of each watched subscription (`currentIn`: galleries →
 * definitions → versions), then one partition query per definition for its versions and one for
 * its referrers (the reference index), and one per version for its lineage (every machine
 * recorded running it, with first and last seen). No table scans, no ARM reads.
 */
import { parentOf, type ResourceId } from "../domain/resourceId.js";
import type { Finding } from "../domain/findings.js";
import { isMachine, machineCount, runningVersionKey, type GallerySnapshot, type ImageDefinitionSnapshot, type ImageVersionSnapshot, type MachineSnapshot, type ScaleSetSnapshot, type VirtualMachineSnapshot } from "../domain/snapshots.js";
import type { SnapshotRecord } from "../domain/records.js";
import { UnknownResourceError } from "../domain/errors.js";
import { decodeContinuation, encodeContinuation, type Dependencies, type LineageEntry, type Page } from "./ports.js";

export const OS_STATE_FILTERS = ["Specialized", "Generalized", "all"] as const;
export type OsStateFilter = (typeof OS_STATE_FILTERS)[number];

export const DEFAULT_INVENTORY_LIMIT = 50;
export const MAX_INVENTORY_LIMIT = 500;

export interface InventoryQuery {
  readonly subscriptions: readonly string[];
  /**
   * `Specialized` also lists definitions whose osState gallery-watch could not read (`Unknown`):
   * what ARM did not say is never assumed Generalized.
   */
  readonly osState: OsStateFilter;
  /** Definitions per page. */
  readonly limit?: number;
  readonly continuationToken?: string;
}

export interface InventoryRegion {
  /** Normalised, e.g. `eastus`. */
  readonly region: string;
  /** As ARM returned it, e.g. `East US`. */
  readonly name: string;
  readonly replicas: number;
}

export interface InventoryVersion {
  readonly id: string;
  readonly version: string;
  readonly provisioningState?: string;
  readonly regions: readonly InventoryRegion[];
  readonly totalReplicas: number;
  readonly excludeFromLatest: boolean;
  readonly endOfLifeDate?: string;
  readonly openFindings: number;
  /** Every scale set and VM recorded running it: first seen, and last seen once it no longer does (lineage). */
  readonly lineage: readonly LineageEntry[];
}

export interface InventoryScaleSet {
  readonly id: string;
  readonly capacity: number;
  /** `latest` (follows the definition) or the pinned version. */
  readonly follows: string;
  /** The version it runs now, when gallery-watch resolved it. */
  readonly runsVersion?: string;
  readonly openFindings: number;
}

export interface InventoryVirtualMachine {
  readonly id: string;
  /** `latest` (follows the definition), the pinned version, or `OS disk` (attached from a disk made from a version). */
  readonly follows: string;
  /** The version it runs, when gallery-watch resolved it. */
  readonly runsVersion?: string;
  readonly openFindings: number;
}

export interface InventoryDefinition {
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly gallery: string;
  readonly name: string;
  readonly osState: string;
  readonly osType: string;
  readonly endOfLifeDate?: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly galleryId: string;
  /** The gallery's sharing: Private, Groups (with whom), Community, or Unknown (never read with its sharing profile). */
  readonly sharing: { readonly permissions: string; readonly sharedWith: readonly string[]; readonly communityNames?: readonly string[] };
  readonly versions: readonly InventoryVersion[];
  readonly scaleSets: readonly InventoryScaleSet[];
  readonly virtualMachines: readonly InventoryVirtualMachine[];
  /** The definition's own open findings. */
  readonly openFindings: number;
  /** The gallery's open findings (e.g. shared-outside). */
  readonly galleryOpenFindings: number;
}

type Stores = Pick<Dependencies, "resources" | "findings">;

export function matchesOsState(osState: string, filter: OsStateFilter): boolean {
  if (filter === "all") return true;
  if (filter === "Specialized") return osState === "Specialized" || osState === "Unknown";
  return osState === "Generalized";
}

/**
 * One page of definitions, ordered by their key. The token is the last definition key returned,
 * so a page neither repeats nor skips a definition however the store changed in between.
 * Throws `InvalidContinuationTokenError` for a token it did not issue.
 */
export async function imageInventory(deps: Stores, query: InventoryQuery): Promise<Page<InventoryDefinition>> {
  const limit = Math.min(Math.max(1, Math.trunc(query.limit ?? DEFAULT_INVENTORY_LIMIT)), MAX_INVENTORY_LIMIT);
  const after = decodeContinuation(query.continuationToken);
  const keys = await definitionIds(deps, query.subscriptions);
  const galleries = new Map<string, Promise<GallerySnapshot | undefined>>();
  const items: InventoryDefinition[] = [];
  for (const id of keys) {
    if (after !== undefined && id.key <= after) continue;
    const definition = await deps.resources.current(id.key);
    if (definition?.kind !== "imageDefinition" || !matchesOsState(definition.osState, query.osState)) continue;
    // A token only when one more definition matches: the last page never promises an empty one.
    if (items.length === limit) return { items, continuationToken: encodeContinuation(keyOf(items.at(-1)!)) };
    const galleryKey = parentOf(id)!.key;
    if (!galleries.has(galleryKey)) galleries.set(galleryKey, deps.resources.current(galleryKey) as Promise<GallerySnapshot | undefined>);
    items.push(await entry(deps, definition, await galleries.get(galleryKey)!, galleryKey));
  }
  return { items };
}

/** Every stored definition id of the subscriptions, by key (keys only: `currentIn` walks partitions). */
async function definitionIds(deps: Stores, subscriptions: readonly string[]): Promise<ResourceId[]> {
  const byKey = new Map<string, ResourceId>();
  for (const subscriptionId of subscriptions) {
    for await (const id of deps.resources.currentIn(subscriptionId)) if (id.kind === "imageDefinition") byKey.set(id.key, id);
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const keyOf = (item: InventoryDefinition) => item.id.toLowerCase();
const openCount = (findings: readonly Finding[]) => findings.filter((f) => f.status !== "resolved").length;

async function entry(deps: Stores, definition: ImageDefinitionSnapshot, gallery: GallerySnapshot | undefined, galleryKey: string): Promise<InventoryDefinition> {
  const id = definition.id;
  const [versions, machines, ownFindings, galleryFindings] = await Promise.all([
    deps.resources.versionsOf(id.key),
    deps.resources.machinesReferencing(id.key),
    deps.findings.forResource(id.key),
    deps.findings.forResource(galleryKey),
  ]);
  const byKey = (a: MachineSnapshot, b: MachineSnapshot) => (a.id.key < b.id.key ? -1 : 1);
  const scaleSets = machines.filter((m): m is ScaleSetSnapshot => "capacity" in m).sort(byKey);
  const vms = machines.filter((m): m is VirtualMachineSnapshot => !("capacity" in m)).sort(byKey);
  const [versionEntries, scaleSetEntries, vmEntries] = await Promise.all([
    Promise.all([...versions].sort(byVersion).map((v) => versionEntry(deps, v))),
    Promise.all(scaleSets.map((s) => scaleSetEntry(deps, s))),
    Promise.all(vms.map((vm) => vmEntry(deps, vm))),
  ]);
  return {
    id: id.display,
    subscriptionId: id.subscriptionId,
    resourceGroup: id.resourceGroup,
    gallery: id.gallery ?? "",
    name: id.image ?? "",
    osState: definition.osState,
    osType: definition.osType,
    ...(definition.endOfLifeDate ? { endOfLifeDate: definition.endOfLifeDate } : {}),
    tags: definition.tags,
    galleryId: parentOf(id)!.display,
    sharing: gallery
      ? {
          permissions: gallery.sharing.permissions,
          sharedWith: gallery.sharing.groups.flatMap((g) => g.ids.map((x) => `${g.type}:${x}`)),
          ...(gallery.sharing.community ? { communityNames: gallery.sharing.community.publicNames } : {}),
        }
      : { permissions: "Unknown", sharedWith: [] },
    versions: versionEntries,
    scaleSets: scaleSetEntries,
    virtualMachines: vmEntries,
    openFindings: openCount(ownFindings),
    galleryOpenFindings: openCount(galleryFindings),
  };
}

async function versionEntry(deps: Stores, v: ImageVersionSnapshot): Promise<InventoryVersion> {
  const [findings, lineage] = [deps.findings.forResource(v.id.key), deps.resources.lineage(v.id.key)];
  lineage.catch(() => undefined); // awaited below, after the findings
  const regions = v.targetRegions.map((t) => ({ region: t.region, name: t.name, replicas: t.regionalReplicaCount ?? v.replicaCount ?? 1 }));
  return {
    id: v.id.display,
    version: v.version,
    ...(v.provisioningState ? { provisioningState: v.provisioningState } : {}),
    regions,
    totalReplicas: regions.reduce((n, r) => n + r.replicas, 0),
    excludeFromLatest: v.excludeFromLatest,
    ...(v.endOfLifeDate ? { endOfLifeDate: v.endOfLifeDate } : {}),
    openFindings: openCount(await findings),
    lineage: await lineage,
  };
}

async function scaleSetEntry(deps: Stores, s: ScaleSetSnapshot): Promise<InventoryScaleSet> {
  const ref = s.imageReference;
  const follows = ref.kind === "version" ? (ref.versionId.version ?? ref.versionId.display) : "latest";
  const runs = s.image.outcome === "resolved" && s.image.versionId ? s.image.versionId.split("/").at(-1) : undefined;
  return {
    id: s.id.display,
    capacity: s.capacity,
    follows,
    ...(runs ? { runsVersion: runs } : {}),
    openFindings: openCount(await deps.findings.forResource(s.id.key)),
  };
}

async function vmEntry(deps: Stores, vm: VirtualMachineSnapshot): Promise<InventoryVirtualMachine> {
  const ref = vm.imageReference;
  const follows = ref.kind === "version" ? (ref.versionId.version ?? ref.versionId.display) : ref.kind === "osDisk" ? "OS disk" : "latest";
  const runs = vm.image.outcome === "resolved" && vm.image.versionId ? vm.image.versionId.split("/").at(-1) : undefined;
  return { id: vm.id.display, follows, ...(runs ? { runsVersion: runs } : {}), openFindings: openCount(await deps.findings.forResource(vm.id.key)) };
}

function byVersion(a: ImageVersionSnapshot, b: ImageVersionSnapshot): number {
  const pa = a.version.split(".").map(Number);
  const pb = b.version.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** One machine running an image version now: `gallery-watch usage`. */
export interface VersionUser {
  readonly id: string;
  readonly kind: MachineSnapshot["kind"];
  readonly resourceGroup: string;
  /** VMs 1, a scale set its capacity. */
  readonly machines: number;
  /** Pinned to the version (or made from its disk), or following the definition's `latest` to it. */
  readonly follows: "pinned" | "latest";
  /** The oldest stored snapshot of the unbroken run of snapshots that run this version (as far as the history read goes). */
  readonly since: string;
  /** Who wrote that snapshot's change, when an event named someone. */
  readonly sinceBy?: string;
}

/** Snapshots read per machine to tell since when it runs the version. */
const USAGE_HISTORY = 200;

/**
 * Which machines run `versionId` now, and since when — what a person asks before deleting or
 * retiring a version. From the reference index (the machines recorded under its definition) and
 * each machine's stored snapshots; no ARM reads. Throws UnknownResourceError for a version
 * gallery-watch never stored.
 */
export async function versionUsers(deps: Pick<Dependencies, "resources">, versionId: ResourceId): Promise<VersionUser[]> {
  const definition = parentOf(versionId);
  const stored = await deps.resources.current(versionId.key);
  if (!definition || (stored === undefined && (await deps.resources.history(versionId.key, { limit: 1 })).length === 0)) throw new UnknownResourceError(versionId.display);
  const machines = (await deps.resources.machinesReferencing(definition.key)).filter((m) => runningVersionKey(m) === versionId.key);
  const users = await Promise.all(
    machines.map(async (machine): Promise<VersionUser> => {
      let since: SnapshotRecord | undefined;
      for (const record of await deps.resources.history(machine.id.key, { limit: USAGE_HISTORY })) {
        if (!isMachine(record.snapshot) || runningVersionKey(record.snapshot) !== versionId.key) break;
        since = record;
      }
      // An event's caller, or the one a re-check was queued for (the sweep names nobody).
      const attribution = since && "attribution" in since.trigger ? since.trigger.attribution : undefined;
      const by = attribution?.callerUpn ?? attribution?.callerName;
      return {
        id: machine.id.display,
        kind: machine.kind,
        resourceGroup: machine.id.resourceGroup,
        machines: machineCount(machine),
        follows: machine.imageReference.kind === "definition" ? "latest" : "pinned",
        since: since?.observedAt ?? "",
        ...(by ? { sinceBy: by } : {}),
      };
    }),
  );
  return users.sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : a.id < b.id ? -1 : 1));
}
