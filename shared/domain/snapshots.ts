/**
 * Typed snapshots of what ARM says about a watched resource at one moment. Plain data
 * (JSON-serialisable: dates are ISO strings), produced by the ARM reader and stored as history.
 * The rules read nothing else.
 */
import { enclosingOf, parentOf, tryParseResourceId, type ResourceId } from "./resourceId.js";

export type OsState = "Specialized" | "Generalized";
/** A version's or machine's view of its definition's osState; `Unknown` when it could not be read — never assumed safe. */
export type InheritedOsState = OsState | "Unknown";

interface SnapshotBase {
  readonly id: ResourceId;
  readonly location?: string;
  readonly tags: Readonly<Record<string, string>>;
  /** ARM provisioningState; `Succeeded`, `Failed`, `Canceled` are terminal. */
  readonly provisioningState?: string;
}

/** `Unknown` when ARM's answer carried no sharing profile (only `$select=Permissions` returns it): never read as Private. */
export type SharingPermission = "Private" | "Groups" | "Community" | "Unknown" | (string & {});

export interface GallerySnapshot extends SnapshotBase {
  readonly kind: "gallery";
  readonly sharing: {
    readonly permissions: SharingPermission;
    /** Subscriptions / AAD tenants the gallery is shared with (Groups). */
    readonly groups: ReadonlyArray<{ readonly type: string; readonly ids: readonly string[] }>;
    readonly community?: {
      /** ARM's `communityGalleryEnabled`: false until the gallery is published (see `sharingReach`). */
      readonly enabled?: boolean;
      readonly publicNames: readonly string[];
      readonly publicNamePrefix?: string;
      readonly publisherUri?: string;
    };
  };
}

/**
 * Who outside the gallery's own RBAC can use its images, as ARM reports the sharing profile:
 * - `public`: Community with `communityGalleryEnabled: true`. Learn, "Share images by using a
 *   community gallery": enabling (`az sig share enable-community`, POST /share EnableCommunity)
 *   is when Azure creates the public `Microsoft.Compute/CommunityGalleries` proxies, usable by
 *   anyone with an Azure subscription.
 * - `communityPrepared`: Community with `communityGalleryEnabled: false` — what Azure answers right
 *   after `az sig create --permissions Community` (azure-cli recording
 *   test_community_gallery_operations: public names assigned, `communityGalleryEnabled: false`).
 *   Nothing is public yet; one enable by an Owner or Compute Gallery Sharing Admin publishes it.
 *   Only an explicit `false` proves that: a Community profile without the flag is taken as public.
 * - `groups`: direct shared with at least one subscription or tenant (Learn, "Share a gallery with
 *   all users in a subscription or tenant": every user there gets read access).
 * - `nobody`: Private, or Groups with no subscription or tenant yet. Direct sharing grants access
 *   only to the subscriptions and tenants added with `az sig share add`; a Groups gallery is
 *   created that way and starts with none (recording test_create_vm_with_shared_gallery_image:
 *   `$select=Permissions` answers `{"permissions":"Groups"}`, no `groups`), so it shares with no one.
 * - `unknown`: ARM's answer carried no sharing profile, or a permission this code does not know.
 */
export type SharingReach = "public" | "communityPrepared" | "groups" | "nobody" | "unknown";

export function sharingReach(sharing: GallerySnapshot["sharing"]): SharingReach {
  const permissions = sharing.permissions.toLowerCase();
  if (permissions === "community") return sharing.community?.enabled === false ? "communityPrepared" : "public";
  if (permissions === "groups") return sharing.groups.some((g) => g.ids.length > 0) ? "groups" : "nobody";
  if (permissions === "private") return "nobody";
  return "unknown";
}

export interface ImageDefinitionSnapshot extends SnapshotBase {
  readonly kind: "imageDefinition";
  /** `Unknown` when ARM's answer had none: never assumed Generalized. */
  readonly osState: InheritedOsState;
  readonly osType: string;
  readonly identifier: { readonly publisher: string; readonly offer: string; readonly sku: string };
  readonly endOfLifeDate?: string;
}

export interface TargetRegionSnapshot {
  /** As ARM returned it, e.g. "East US". */
  readonly name: string;
  /** Normalised with {@link normalizeRegion}, e.g. "eastus". */
  readonly region: string;
  readonly regionalReplicaCount?: number;
  readonly storageAccountType?: string;
  readonly excludeFromLatest?: boolean;
  readonly encrypted: boolean;
}

export interface ImageVersionSnapshot extends SnapshotBase {
  readonly kind: "imageVersion";
  /** Major.Minor.Patch. */
  readonly version: string;
  /** Inherited from the parent image definition. */
  readonly osState: InheritedOsState;
  readonly targetRegions: readonly TargetRegionSnapshot[];
  /** Version-level default for regions that set no `regionalReplicaCount`. */
  readonly replicaCount?: number;
  readonly excludeFromLatest: boolean;
  readonly endOfLifeDate?: string;
  readonly publishedDate?: string;
  readonly source?: { readonly id?: string; readonly virtualMachineId?: string; readonly communityGalleryImageId?: string };
}

/** What a scale set's or VM's `imageReference` points at, parsed. */
export type ImageReferenceTarget =
  | { readonly kind: "definition"; readonly definitionId: ResourceId } // floats on `latest`
  | { readonly kind: "version"; readonly versionId: ResourceId } // pinned
  | { readonly kind: "sharedGallery"; readonly id: string }
  | { readonly kind: "communityGallery"; readonly id: string }
  /**
   * A VM with no image reference whose OS disk was attached (`az vm create --attach-os-disk`, or
   * `--image <version> --specialized` creating the disk first): the managed disk's
   * `creationData.galleryImageReference` names the gallery version it was made from.
   */
  | { readonly kind: "osDisk"; readonly diskId: string }
  | { readonly kind: "other"; readonly description: string }; // marketplace, managed image, none

/** What the reader could find out about the image a scale set or VM runs. */
export type ImageResolution =
  | {
      readonly outcome: "resolved";
      readonly definitionId: string;
      readonly osState: InheritedOsState;
      /** The version `latest` means now, or the pinned one; absent when the definition has no eligible version. */
      readonly versionId?: string;
    }
  /** Another tenant's shared or community image that could not be read, or an id that does not parse. */
  | { readonly outcome: "unresolvable"; readonly reason: string }
  /** gallery-watch may not read the image definition (403): a blind spot, not a verdict. */
  | { readonly outcome: "noAccess"; readonly definitionId: string; readonly reason: string }
  | { readonly outcome: "notGalleryImage" }
  /** Listed, not resolved yet: the judging use case resolves it (`ArmInventory.resolveImage`) before anything is stored or judged. */
  | { readonly outcome: "pending" };

export interface ScaleSetSnapshot extends SnapshotBase {
  readonly kind: "scaleSet";
  readonly capacity: number;
  readonly skuName?: string;
  readonly orchestrationMode?: string;
  readonly imageReference: ImageReferenceTarget;
  readonly image: ImageResolution;
}

export interface VirtualMachineSnapshot extends SnapshotBase {
  readonly kind: "virtualMachine";
  readonly vmSize?: string;
  /**
   * The Flexible scale set this VM is an instance of (`properties.virtualMachineScaleSet.id`): in
   * Flexible orchestration a scale set's instances are VMs of their own, and its capacity counts them
   * (https://learn.microsoft.com/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-orchestration-modes).
   */
  readonly scaleSetId?: string;
  readonly imageReference: ImageReferenceTarget;
  readonly image: ImageResolution;
}

/** What runs instances of an image: a scale set (its capacity) or one virtual machine. */
export type MachineSnapshot = ScaleSetSnapshot | VirtualMachineSnapshot;

export type Snapshot = GallerySnapshot | ImageDefinitionSnapshot | ImageVersionSnapshot | MachineSnapshot;

/** A scale set or a VM: what carries an image reference. */
export function isMachine(snapshot: Snapshot): snapshot is MachineSnapshot {
  return "imageReference" in snapshot;
}

/** Machines it runs: a scale set's capacity, one for a VM. */
export function machineCount(machine: MachineSnapshot): number {
  return "capacity" in machine ? machine.capacity : 1;
}

/**
 * The image definition a machine follows or was built from (what its reference index is keyed
 * on): the definition or the pinned version's definition in its image reference, or, for a VM
 * attached from an OS disk, the definition of the version the disk was created from (as resolved).
 */
export function referencedDefinitionId(machine: MachineSnapshot): ResourceId | undefined {
  const ref = machine.imageReference;
  if (ref.kind === "definition") return ref.definitionId;
  if (ref.kind === "version") return parentOf(ref.versionId);
  if (ref.kind === "osDisk" && machine.image.outcome === "resolved") {
    const parsed = tryParseResourceId(machine.image.definitionId);
    return parsed.ok ? enclosingOf(parsed.id, "imageDefinition") : undefined;
  }
  return undefined;
}

export function referencedDefinitionKey(machine: MachineSnapshot): string | undefined {
  return referencedDefinitionId(machine)?.key;
}

/** The gallery version a machine runs now, as resolved when it was read (a key), if any. */
export function runningVersionKey(machine: MachineSnapshot): string | undefined {
  return machine.image.outcome === "resolved" && machine.image.versionId ? machine.image.versionId.toLowerCase() : undefined;
}

/**
 * What was recorded of a machine, oldest first, as the version it ran at each moment: its recorded
 * states, and its deletions (which record no state) as running nothing. A deletion recorded at the
 * same moment as a state comes first: a delete event whose machine is back records the deletion,
 * then the machine as it is now (app/checkResource.ts).
 */
export function machineStates(recorded: ReadonlyArray<{ readonly snapshot: Snapshot; readonly observedAt: string }>, deletedAt: readonly string[]): Array<{ runs: string | undefined; at: string }> {
  const states = [
    ...deletedAt.map((at) => ({ runs: undefined, at, order: 0 })),
    ...recorded.flatMap((r) => (isMachine(r.snapshot) ? [{ runs: runningVersionKey(r.snapshot), at: r.observedAt, order: 1 }] : [])),
  ];
  return states.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.order - b.order)).map(({ runs, at }) => ({ runs, at }));
}

/**
 * The versions a machine ran, from what was recorded of it oldest first — each state the version it
 * ran then (undefined: none resolved, or deleted): per version, when it was first seen running it
 * and, unless it runs it still, when it was last (the first state after that ran something else or
 * was a deletion). What the lineage index holds for a machine, worked out again from its history.
 */
export function versionsRun(states: ReadonlyArray<{ readonly runs: string | undefined; readonly at: string }>): Map<string, { firstSeen: string; lastSeen?: string }> {
  const runs = new Map<string, { firstSeen: string; lastSeen?: string }>();
  let running: string | undefined;
  for (const { runs: version, at } of states) {
    if (version === running) continue;
    const ended = running === undefined ? undefined : runs.get(running);
    if (ended) ended.lastSeen = at;
    running = version;
    if (version === undefined) continue;
    const run = runs.get(version);
    if (run) delete run.lastSeen; // running it again: first seen as before
    else runs.set(version, { firstSeen: at });
  }
  return runs;
}

const TERMINAL = new Set(["succeeded", "failed", "canceled", "cancelled"]);

/** A resource still being created/updated is not judged yet; absent state counts as settled. */
export function isSettled(snapshot: Pick<SnapshotBase, "provisioningState">): boolean {
  return snapshot.provisioningState === undefined || TERMINAL.has(snapshot.provisioningState.toLowerCase());
}

/** "East US", "eastus", " EASTUS " → "eastus". */
export function normalizeRegion(name: string): string {
  return name.replace(/[\s_-]+/g, "").toLowerCase();
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The version ARM picks for `latest`: the highest Major.Minor.Patch whose `excludeFromLatest`
 * is not set. When `region` is given, a target region's own `excludeFromLatest` also excludes
 * the version for deployments in that region, and a version not replicated there is not a candidate.
 * https://learn.microsoft.com/azure/virtual-machines/shared-image-galleries#image-versions
 */
export function resolveLatest<V extends Pick<ImageVersionSnapshot, "version" | "excludeFromLatest" | "targetRegions" | "provisioningState">>(
  versions: readonly V[],
  region?: string,
): V | undefined {
  const wanted = region === undefined ? undefined : normalizeRegion(region);
  let best: V | undefined;
  for (const v of versions) {
    if (v.excludeFromLatest) continue;
    if (v.provisioningState !== undefined && v.provisioningState.toLowerCase() === "failed") continue;
    if (wanted !== undefined) {
      const target = v.targetRegions.find((t) => t.region === wanted);
      if (v.targetRegions.length > 0 && (target === undefined || target.excludeFromLatest === true)) continue;
    }
    if (best === undefined || compareVersions(v.version, best.version) > 0) best = v;
  }
  return best;
}
