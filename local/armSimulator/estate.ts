/**
 * The simulated estate: resource groups and the Microsoft.Compute resources in them, keyed by
 * lower-cased id, shaped the way Microsoft.Compute returns them (GalleryRP 2025-03-03, ComputeRP
 * 2025-04-01): server-filled id / name / type / provisioningState / publishedDate / uniqueId.
 *
 * Writes are long-running, as the swagger marks them (`x-ms-long-running-operation`): a resource
 * reads `Creating` (a network resource: `Updating`) / `Updating` / `Deleting` until its settling
 * time has passed, then `Succeeded` (or `Failed`); a deleted resource stays readable as `Deleting`,
 * then is gone. An image version
 * replicates region by region across that time (GalleryImageVersion_Get_WithReplicationStatus.json:
 * `replicationStatus.summary[]` per region, `aggregatedState`).
 */
import { randomUUID } from "node:crypto";
import { displayName, regionKey } from "./regions.js";

export interface SimulatedResource {
  readonly id: string;
  readonly body: Record<string, unknown>;
}

/** The network resources a VM needs (network.ts); stored and served like the others, judged by nobody. */
export type NetworkType = "virtualNetwork" | "networkSecurityGroup" | "publicIPAddress" | "networkInterface";
export type ResourceType = "gallery" | "imageDefinition" | "imageVersion" | "scaleSet" | "virtualMachine" | "disk" | NetworkType;

export interface ParsedPath {
  readonly type: ResourceType;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** Canonical id with canonical segment names. */
  readonly id: string;
  readonly parentId?: string;
  readonly name: string;
}

/** JSON bodies as ARM sends them: loosely typed on purpose, the simulator stores what clients send. */
export type Json = Record<string, any>;

export const ARM_TYPE: Readonly<Record<ResourceType, string>> = {
  gallery: "Microsoft.Compute/galleries",
  imageDefinition: "Microsoft.Compute/galleries/images",
  imageVersion: "Microsoft.Compute/galleries/images/versions",
  scaleSet: "Microsoft.Compute/virtualMachineScaleSets",
  virtualMachine: "Microsoft.Compute/virtualMachines",
  disk: "Microsoft.Compute/disks",
  virtualNetwork: "Microsoft.Network/virtualNetworks",
  networkSecurityGroup: "Microsoft.Network/networkSecurityGroups",
  publicIPAddress: "Microsoft.Network/publicIPAddresses",
  networkInterface: "Microsoft.Network/networkInterfaces",
};

export const OPERATION: Readonly<Record<ResourceType, string>> = {
  gallery: "Microsoft.Compute/galleries",
  imageDefinition: "Microsoft.Compute/galleries/images",
  imageVersion: "Microsoft.Compute/galleries/images/versions",
  scaleSet: "Microsoft.Compute/virtualMachineScaleSets",
  virtualMachine: "Microsoft.Compute/virtualMachines",
  disk: "Microsoft.Compute/disks",
  virtualNetwork: "Microsoft.Network/virtualNetworks",
  networkSecurityGroup: "Microsoft.Network/networkSecurityGroups",
  publicIPAddress: "Microsoft.Network/publicIPAddresses",
  networkInterface: "Microsoft.Network/networkInterfaces",
};

/** The network types by their lower-cased path segment (`publicIpAddresses` as az's template spells it is the same type). */
const NETWORK_SEGMENT: Readonly<Record<string, NetworkType>> = {
  virtualnetworks: "virtualNetwork",
  networksecuritygroups: "networkSecurityGroup",
  publicipaddresses: "publicIPAddress",
  networkinterfaces: "networkInterface",
};

/**
 * The Network RP's provisioning states are Succeeded, Updating, Deleting and Failed
 * (specification/network/resource-manager/Microsoft.Network/stable/2022-01-01/network.json#/definitions/ProvisioningState):
 * a network resource being created reads `Updating`, never `Creating`.
 */
const NETWORK_TYPES = new Set<ResourceType>(Object.values(NETWORK_SEGMENT));

/** Parse a resource path (not a list path). */
export function parseResourcePath(path: string): ParsedPath | undefined {
  const s = path.split("/").filter(Boolean);
  if (s[0]?.toLowerCase() !== "subscriptions" || s[2]?.toLowerCase() !== "resourcegroups" || s[4]?.toLowerCase() !== "providers") return undefined;
  const [sub, rg] = [s[1]!, s[3]!];
  const network = s[5]?.toLowerCase() === "microsoft.network" && s.length === 8 ? NETWORK_SEGMENT[s[6]!.toLowerCase()] : undefined;
  if (network) return { type: network, subscriptionId: sub, resourceGroup: rg, id: `/subscriptions/${sub}/resourceGroups/${rg}/providers/${ARM_TYPE[network]}/${s[7]}`, name: s[7]! };
  if (s[5]?.toLowerCase() !== "microsoft.compute") return undefined;
  const base = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute`;
  const rest = s.slice(6);
  const t = rest.map((x) => x.toLowerCase());
  if (rest.length === 2 && t[0] === "virtualmachinescalesets") return { type: "scaleSet", subscriptionId: sub, resourceGroup: rg, id: `${base}/virtualMachineScaleSets/${rest[1]}`, name: rest[1]! };
  if (rest.length === 2 && t[0] === "virtualmachines") return { type: "virtualMachine", subscriptionId: sub, resourceGroup: rg, id: `${base}/virtualMachines/${rest[1]}`, name: rest[1]! };
  if (rest.length === 2 && t[0] === "disks") return { type: "disk", subscriptionId: sub, resourceGroup: rg, id: `${base}/disks/${rest[1]}`, name: rest[1]! };
  if (t[0] !== "galleries" || rest.length < 2) return undefined;
  const gallery = `${base}/galleries/${rest[1]}`;
  if (rest.length === 2) return { type: "gallery", subscriptionId: sub, resourceGroup: rg, id: gallery, name: rest[1]! };
  if (t[2] !== "images" || rest.length < 4) return undefined;
  const image = `${gallery}/images/${rest[3]}`;
  if (rest.length === 4) return { type: "imageDefinition", subscriptionId: sub, resourceGroup: rg, id: image, parentId: gallery, name: rest[3]! };
  if (t[4] !== "versions" || rest.length !== 6) return undefined;
  return { type: "imageVersion", subscriptionId: sub, resourceGroup: rg, id: `${image}/versions/${rest[5]}`, parentId: image, name: rest[5]! };
}

export function resourceGroupId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}

export type Outcome = "Succeeded" | "Failed";
type Phase = "Creating" | "Updating" | "Deleting" | Outcome;

interface RegionReplication {
  readonly region: string;
  readonly startsAt: number;
  readonly completesAt: number;
}

interface Stored {
  /** The resource without provisioningState (computed from phase and time). */
  body: Json;
  phase: Phase;
  outcome: Outcome;
  settlesAt: number;
  replication?: RegionReplication[];
  /** What the resource provider fills in once the creation has finished (an image version's disk sizes). */
  onSettle?: (body: Json) => void;
}

export type GroupState = "missing" | "deleting" | "ready";

export class Estate {
  private readonly resources = new Map<string, Stored>();
  /** The resources' keys in order, kept until one is added or removed: a list reads a range of it, not the estate. */
  private sorted: string[] | undefined;
  private readonly groups = new Map<string, Stored>();

  constructor(
    private readonly settleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  // ---- resource groups -------------------------------------------------------------------

  group(subscriptionId: string, resourceGroup: string): Json | undefined {
    const stored = this.liveGroup(resourceGroupId(subscriptionId, resourceGroup).toLowerCase());
    return stored ? this.view(stored) : undefined;
  }

  groupState(subscriptionId: string, resourceGroup: string): GroupState {
    const stored = this.liveGroup(resourceGroupId(subscriptionId, resourceGroup).toLowerCase());
    if (!stored) return "missing";
    return this.provisioningState(stored) === "Deleting" ? "deleting" : "ready";
  }

  /** PUT a resource group (not long-running: ARM answers 200 / 201 with the group). */
  putGroup(subscriptionId: string, resourceGroup: string, request: Json): { body: Json; created: boolean } {
    const key = resourceGroupId(subscriptionId, resourceGroup).toLowerCase();
    const existing = this.liveGroup(key);
    const name = existing?.body.name ?? resourceGroup;
    const body: Json = {
      id: resourceGroupId(subscriptionId, name),
      name,
      type: "Microsoft.Resources/resourceGroups",
      location: existing?.body.location ?? request.location,
      ...(request.tags ? { tags: structuredClone(request.tags) } : {}),
      ...(request.managedBy ? { managedBy: request.managedBy } : {}),
      properties: {},
    };
    this.groups.set(key, { body, phase: "Succeeded", outcome: "Succeeded", settlesAt: 0 });
    return { body: this.view(this.groups.get(key)!), created: !existing };
  }

  /** Seeded resources create their group implicitly. */
  ensureGroup(subscriptionId: string, resourceGroup: string, location: string): void {
    if (this.groupState(subscriptionId, resourceGroup) === "missing") this.putGroup(subscriptionId, resourceGroup, { location });
  }

  /** Start deleting a group and everything in it; returns when it settles. */
  beginDeleteGroup(subscriptionId: string, resourceGroup: string): number {
    const key = resourceGroupId(subscriptionId, resourceGroup).toLowerCase();
    const group = this.liveGroup(key);
    if (!group) throw new Error(`no resource group ${key}`);
    const settlesAt = this.now() + this.settleMs;
    Object.assign(group, { phase: "Deleting", outcome: "Succeeded", settlesAt });
    for (const [id, stored] of this.resources) {
      if (id.startsWith(`${key}/`)) Object.assign(stored, { phase: "Deleting", outcome: "Succeeded", settlesAt });
    }
    this.liveGroup(key);
    return settlesAt;
  }

  /** The subscription's resource groups (ARM's Resource Groups - List), deleted ones gone. */
  groupsOf(subscriptionId: string): Json[] {
    const prefix = `/subscriptions/${subscriptionId.toLowerCase()}/resourcegroups/`;
    return [...this.groups.keys()].filter((key) => key.startsWith(prefix)).flatMap((key) => (this.liveGroup(key) ? [this.view(this.groups.get(key)!)] : []));
  }

  /** Every resource in a group (for tests and the group delete). */
  inGroup(subscriptionId: string, resourceGroup: string): string[] {
    const prefix = `${resourceGroupId(subscriptionId, resourceGroup).toLowerCase()}/`;
    return [...this.resources.keys()].filter((key) => key.startsWith(prefix) && this.live(key)).map((key) => String(this.resources.get(key)!.body.id));
  }

  setGroupTags(subscriptionId: string, resourceGroup: string, tags: Record<string, string>): void {
    const stored = this.liveGroup(resourceGroupId(subscriptionId, resourceGroup).toLowerCase());
    if (!stored) throw new Error(`no resource group ${resourceGroup}`);
    if (Object.keys(tags).length > 0) stored.body.tags = structuredClone(tags);
    else delete stored.body.tags;
  }

  // ---- resources -------------------------------------------------------------------------

  get(id: string): Json | undefined {
    const stored = this.live(id.toLowerCase());
    return stored ? this.view(stored) : undefined;
  }

  /** The resource as a client would send it back in a PUT (no server-computed state). */
  requestShape(id: string): Json | undefined {
    const stored = this.live(id.toLowerCase());
    if (!stored) return undefined;
    const { id: _id, name: _name, type: _type, ...rest } = structuredClone(stored.body);
    return rest;
  }

  /** Remove at once, without provisioning time (test helper). */
  delete(id: string): boolean {
    this.sorted = undefined;
    return this.resources.delete(id.toLowerCase());
  }

  list(): SimulatedResource[] {
    return [...this.resources.keys()].flatMap((key) => {
      const stored = this.live(key);
      return stored ? [{ id: String(stored.body.id), body: this.view(stored) }] : [];
    });
  }

  /** Children of a parent id (direct), sorted by id. */
  children(parentId: string, type: ResourceType): Json[] {
    const prefix = `${parentId.toLowerCase()}/`;
    return this.select(prefix, (key, body) => body.type === ARM_TYPE[type] && key.slice(prefix.length).split("/").length === 2);
  }

  /** Every resource of a type under a scope (a subscription or resource-group id prefix), sorted by id. */
  ofType(scope: string, type: ResourceType): Json[] {
    const prefix = scope.toLowerCase();
    return this.select(prefix, (_key, body) => body.type === ARM_TYPE[type]);
  }

  /**
   * Store a resource as ARM would after an accepted PUT (or the merged result of a PATCH); returns
   * the stored body and whether it was created. `seeding` stores it settled, as recorded.
   */
  put(path: ParsedPath, request: Json, options: { seeding?: boolean; outcome?: Outcome } = {}): { body: Json; created: boolean } {
    const now = this.now();
    const seeding = options.seeding ?? false;
    const key = path.id.toLowerCase();
    const existing = this.live(key);
    const previous = existing?.body.properties as Json | undefined;
    const properties: Json = structuredClone(request.properties ?? {});
    delete properties.provisioningState;
    delete properties.replicationStatus;
    if (path.type === "gallery") {
      properties.identifier = { uniqueName: previous?.identifier?.uniqueName ?? properties.identifier?.uniqueName ?? `${path.subscriptionId}-${path.name.toUpperCase()}` };
      properties.sharingProfile = seeding ? seededSharing(properties.sharingProfile) : sharingAfterPut(properties.sharingProfile, previous?.sharingProfile);
    }
    // `az sig image-definition create` sends `disallowed: {}`; Azure's answer drops the empty object (test_gallery_e2e.json #5).
    if (path.type === "imageDefinition" && isEmptyObject(properties.disallowed)) delete properties.disallowed;
    let replication: RegionReplication[] | undefined;
    let onSettle: Stored["onSettle"];
    if (path.type === "imageVersion") {
      const publishing = (properties.publishingProfile ??= {});
      // Server-filled: a client's PUT cannot set it, a seeded resource keeps the one it was recorded with.
      publishing.publishedDate = (seeding ? publishing.publishedDate : undefined) ?? previous?.publishingProfile?.publishedDate ?? new Date(now).toISOString();
      publishing.excludeFromLatest ??= false;
      publishing.targetRegions ??= [{ name: request.location ?? "westeurope", regionalReplicaCount: 1 }];
      if (!seeding) {
        fillPublishing(publishing);
        properties.storageProfile = storageAfterPut(properties.storageProfile, previous?.storageProfile);
        if (!existing) onSettle = (body) => fillDiskImages(body.properties?.storageProfile);
      }
      properties.storageProfile ??= {};
      replication = this.replicationPlan((publishing.targetRegions as Array<{ name: string }>).map((r) => String(r.name)), seeding ? undefined : existing, now, seeding);
    }
    if (path.type === "scaleSet") properties.uniqueId = properties.uniqueId ?? previous?.uniqueId ?? randomUUID();
    // Server-filled on a VM (virtualMachine.json VirtualMachineProperties: vmId, timeCreated, read-only)
    // and a disk (disk.json DiskProperties: uniqueId, timeCreated, diskState).
    if (path.type === "virtualMachine") {
      properties.vmId = previous?.vmId ?? randomUUID();
      properties.timeCreated = previous?.timeCreated ?? new Date(now).toISOString();
    }
    if (path.type === "disk") {
      properties.uniqueId = previous?.uniqueId ?? randomUUID();
      properties.timeCreated = previous?.timeCreated ?? new Date(now).toISOString();
      properties.diskState = request.managedBy ? "Attached" : "Unattached";
    }
    const extra =
      path.type === "scaleSet"
        ? pick(request, ["sku", "zones", "identity", "plan", "extendedLocation"])
        : path.type === "virtualMachine"
          ? pick(request, ["zones", "identity", "plan", "extendedLocation"])
          : path.type === "disk"
            ? pick(request, ["sku", "zones", "managedBy", "extendedLocation"])
            : path.type === "publicIPAddress"
              ? pick(request, ["sku", "zones", "extendedLocation"])
              : {};
    const body: Json = {
      id: path.id,
      name: path.name,
      type: ARM_TYPE[path.type],
      location: request.location ?? existing?.body.location ?? "westeurope",
      ...(request.tags ? { tags: structuredClone(request.tags) } : {}),
      ...extra,
      properties,
    };
    const stored: Stored = seeding
      ? { body, phase: "Succeeded", outcome: "Succeeded", settlesAt: 0, ...(replication ? { replication } : {}) }
      : { body, phase: existing || NETWORK_TYPES.has(path.type) ? "Updating" : "Creating", outcome: options.outcome ?? "Succeeded", settlesAt: now + this.settleMs, ...(replication ? { replication } : {}), ...(onSettle ? { onSettle } : {}) };
    if (!this.resources.has(key)) this.sorted = undefined;
    this.resources.set(key, stored);
    return { body: this.view(stored), created: !existing };
  }

  /** Start deleting one resource; it reads `Deleting` until it settles, then is gone (or `Failed`). */
  beginDelete(id: string, outcome: Outcome = "Succeeded"): number {
    const stored = this.live(id.toLowerCase());
    if (!stored) throw new Error(`no resource ${id}`);
    const settlesAt = this.now() + this.settleMs;
    Object.assign(stored, { phase: "Deleting", outcome, settlesAt });
    this.live(id.toLowerCase());
    return settlesAt;
  }

  /** Time at which the resource's current operation ends. */
  settlesAt(id: string): number {
    return this.live(id.toLowerCase())?.settlesAt ?? this.now();
  }

  /** The gallery share action changes the sharing profile without a provisioning phase of its own. */
  setSharing(id: string, sharingProfile: Json): void {
    const stored = this.live(id.toLowerCase());
    if (!stored) throw new Error(`no resource ${id}`);
    stored.body.properties = { ...stored.body.properties, sharingProfile: structuredClone(sharingProfile) };
  }

  /** The Tags API writes only the tags. */
  setTags(id: string, tags: Record<string, string>): void {
    const stored = this.live(id.toLowerCase());
    if (!stored) throw new Error(`no resource ${id}`);
    if (Object.keys(tags).length > 0) stored.body.tags = structuredClone(tags);
    else delete stored.body.tags;
  }

  /** Seed without provisioning delay (and without events); its resource group appears with it. */
  seed(resource: SimulatedResource): void {
    const path = parseResourcePath(resource.id);
    if (!path) throw new Error(`cannot seed '${resource.id}': not a gallery, image, version, scale set, VM or disk id`);
    this.ensureGroup(path.subscriptionId, path.resourceGroup, String(resource.body.location ?? "westeurope"));
    this.put(path, resource.body as Json, { seeding: true });
  }

  /** The replication status ARM reports with $expand=ReplicationStatus (GalleryImageVersion_Get_WithReplicationStatus.json). */
  replicationStatus(id: string): Json | undefined {
    const stored = this.live(id.toLowerCase());
    if (!stored) return undefined;
    const now = this.now();
    const settled = now >= stored.settlesAt;
    const failed = settled && stored.outcome === "Failed" && stored.phase !== "Succeeded";
    const regions = stored.replication ?? [];
    const summary = regions.map((r) => {
      if (failed && r.completesAt >= stored.settlesAt) return { region: r.region, state: "Failed", details: "Replication failed.", progress: 0 };
      if (now >= r.completesAt) return { region: r.region, state: "Completed", details: "", progress: 100 };
      const progress = now <= r.startsAt ? 0 : Math.min(99, Math.floor(((now - r.startsAt) / (r.completesAt - r.startsAt)) * 100));
      return { region: r.region, state: "Replicating", details: "", progress };
    });
    const aggregatedState = summary.some((s) => s.state === "Failed") ? "Failed" : summary.every((s) => s.state === "Completed") ? "Completed" : "InProgress";
    return { aggregatedState, summary };
  }

  // ---- internals -------------------------------------------------------------------------

  /**
   * Regions already replicated stay replicated; the others replicate one after another across the
   * settling time, so the last one completes when the version reads `Succeeded`.
   */
  private replicationPlan(regions: readonly string[], existing: Stored | undefined, now: number, seeding: boolean): RegionReplication[] {
    if (seeding) return regions.map((region) => ({ region, startsAt: 0, completesAt: 0 }));
    const done = new Map((existing?.replication ?? []).filter((r) => r.completesAt <= now).map((r) => [regionKey(r.region), r]));
    const pending = regions.filter((region) => !done.has(regionKey(region)));
    return regions.map((region) => {
      const previous = done.get(regionKey(region));
      if (previous) return { region, startsAt: previous.startsAt, completesAt: previous.completesAt };
      const i = pending.indexOf(region);
      return { region, startsAt: now + (this.settleMs * i) / pending.length, completesAt: now + (this.settleMs * (i + 1)) / pending.length };
    });
  }

  /** The live resources whose key starts with `prefix` and that `match`, sorted by id. */
  private select(prefix: string, match: (key: string, body: Json) => boolean): Json[] {
    const keys = (this.sorted ??= [...this.resources.keys()].sort());
    let lo = 0;
    for (let hi = keys.length; lo < hi; ) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < keys.length && keys[end]!.startsWith(prefix)) end++;
    const out: Json[] = [];
    // A range copied first: `live` may drop a settled deletion (and with it the order) as we read.
    for (const key of keys.slice(lo, end)) {
      const stored = this.live(key);
      if (stored && match(key, stored.body)) out.push(this.view(stored));
    }
    return out;
  }

  /** The stored resource unless its deletion has settled (then it is removed). */
  private live(key: string): Stored | undefined {
    const stored = this.resources.get(key);
    if (stored && stored.phase === "Deleting" && stored.outcome === "Succeeded" && this.now() >= stored.settlesAt) {
      this.resources.delete(key);
      this.sorted = undefined;
      return undefined;
    }
    return stored;
  }

  private liveGroup(key: string): Stored | undefined {
    const stored = this.groups.get(key);
    if (stored && stored.phase === "Deleting" && this.now() >= stored.settlesAt) {
      this.groups.delete(key);
      for (const id of [...this.resources.keys()]) if (id.startsWith(`${key}/`)) this.resources.delete(id);
      this.sorted = undefined;
      return undefined;
    }
    return stored;
  }

  private provisioningState(stored: Stored): string {
    if (stored.phase === "Succeeded" || stored.phase === "Failed") return stored.phase;
    return this.now() >= stored.settlesAt ? stored.outcome : stored.phase;
  }

  /** What a GET returns: the body with its provisioningState at this instant. */
  private view(stored: Stored): Json {
    const state = this.provisioningState(stored);
    // Settle for good once the time has come (a failed delete leaves the resource `Failed`).
    if (state !== stored.phase && (state === "Succeeded" || state === "Failed")) {
      stored.phase = state;
      if (state === "Succeeded" && stored.onSettle) stored.onSettle(stored.body);
      delete stored.onSettle;
    }
    return structuredClone({ ...stored.body, properties: { ...stored.body.properties, provisioningState: state } });
  }
}

/**
 * A client's PUT sets `permissions` and `communityGalleryInfo`; `groups`, `communityGalleryEnabled`
 * and `publicNames` are read-only (GalleryRP.json `SharingProfile`, `CommunityGalleryInfo`), changed
 * only by the share action, so they survive the PUT. A PUT without a sharing profile keeps it.
 *
 * Community: the public name is assigned when the PUT first carries `publicNamePrefix`
 * (`{prefix}-{uuid}`), the prefix itself is not echoed, and `communityGalleryEnabled` stays false
 * until the share action's EnableCommunity (test_community_gallery_operations.json #0: `az sig
 * create --permissions Community` answers `publicNames: ["pubname-9fe9…"]`, enabled false; #18
 * after enable-community: the same public name, enabled true).
 */
function sharingAfterPut(requested: Json | undefined, previous: Json | undefined): Json {
  if (!requested) return previous ? structuredClone(previous) : { permissions: "Private" };
  const previousInfo = previous?.communityGalleryInfo as Json | undefined;
  const requestedInfo = requested.communityGalleryInfo as Json | undefined;
  const info = requestedInfo ? communityInfo(requestedInfo, previousInfo) : previousInfo;
  return {
    permissions: requested.permissions ?? previous?.permissions ?? "Private",
    ...(previous?.groups ? { groups: structuredClone(previous.groups) } : {}),
    ...(info ? { communityGalleryInfo: structuredClone(info) } : {}),
  };
}

function communityInfo(requested: Json, previous: Json | undefined): Json {
  const prefix = requested.publicNamePrefix;
  const publicNames = (previous?.publicNames as string[] | undefined) ?? (typeof prefix === "string" && prefix ? [`${prefix}-${randomUUID()}`] : undefined);
  return {
    communityGalleryEnabled: previous?.communityGalleryEnabled ?? false,
    ...pick(requested, ["publisherUri", "publisherContact", "eula"]),
    ...(publicNames ? { publicNames } : {}),
  };
}

/** A seeded gallery keeps what it was recorded with; a community profile given by prefix gets its public name as a PUT would. */
function seededSharing(profile: Json | undefined): Json {
  if (!profile) return { permissions: "Private" };
  const info = profile.communityGalleryInfo as Json | undefined;
  if (!info || info.publicNames) return profile;
  return { ...profile, communityGalleryInfo: { ...communityInfo(info, undefined), ...(info.communityGalleryEnabled !== undefined ? { communityGalleryEnabled: info.communityGalleryEnabled } : {}) } };
}

/**
 * Target regions as the Gallery RP answers them: display names, each with its replica count (the
 * version's `replicaCount` where the region sets none) and storage account type, and the version's
 * own `replicaCount` and `storageAccountType` (test_gallery_e2e.json #14: `[{westus2, 1}, {eastus2}]`
 * with replicaCount 2 answers `West US 2` 1 and `East US 2` 2, each `Standard_LRS`).
 */
function fillPublishing(publishing: Json): void {
  publishing.replicaCount ??= 1;
  publishing.storageAccountType ??= "Standard_LRS";
  publishing.targetRegions = (publishing.targetRegions as Json[]).map((region) => ({
    ...region,
    name: displayName(String(region.name)),
    regionalReplicaCount: region.regionalReplicaCount ?? publishing.replicaCount,
    storageAccountType: region.storageAccountType ?? publishing.storageAccountType,
  }));
}

/**
 * An update PUT may leave the image source out (Azure keeps the stored one; the CLI's `az sig
 * image-version update` drops it on purpose: test_gallery_e2e.json #14), and may restate disk
 * settings (`hostCaching`), which merge onto the stored disk images by LUN.
 */
function storageAfterPut(requested: Json | undefined, previous: Json | undefined): Json | undefined {
  if (!previous) return requested;
  const request = requested ?? {};
  const out: Json = { ...structuredClone(previous), ...structuredClone(request) };
  if (!hasSource(request.source) && previous.source) out.source = structuredClone(previous.source);
  if (previous.osDiskImage || request.osDiskImage) out.osDiskImage = { ...structuredClone(previous.osDiskImage ?? {}), ...structuredClone(request.osDiskImage ?? {}) };
  if (Array.isArray(previous.dataDiskImages) && Array.isArray(request.dataDiskImages)) {
    out.dataDiskImages = (request.dataDiskImages as Json[]).map((disk) => ({ ...structuredClone((previous.dataDiskImages as Json[]).find((p) => p.lun === disk.lun) ?? {}), ...structuredClone(disk) }));
  }
  return out;
}

/**
 * Once a version is created, the Gallery RP reports the OS disk it captured: `sizeInGB`, `hostCaching`
 * and, when the source was given as `storageProfile.source`, an empty `osDiskImage.source`
 * (test_gallery_e2e.json #11, test_community_gallery_operations.json #17: a 30 GB ReadWrite disk
 * from a managed image). The simulator has no source disk to measure, so it reports those figures.
 * Data disks come from the source image, which the simulator does not model: none are invented.
 */
function fillDiskImages(storage: Json | undefined): void {
  if (!storage) return;
  const os = (storage.osDiskImage ??= {}) as Json;
  os.sizeInGB ??= 30;
  os.hostCaching ??= "ReadWrite";
  if (hasSource(storage.source)) os.source ??= {};
}

export function hasSource(source: unknown): boolean {
  return typeof source === "object" && source !== null && Object.keys(source).length > 0;
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

function pick(source: Json, keys: readonly string[]): Json {
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, structuredClone(source[k])]));
}
