/**
 * The simulated estate: an in-memory map of ARM resources keyed by lower-cased id, shaped the
 * way Microsoft.Compute returns them (GalleryRP 2025-03-03, ComputeRP 2025-04-01): server-filled
 * id / name / type / provisioningState / publishedDate / replicationStatus.
 */
import { randomUUID } from "node:crypto";

export interface SimulatedResource {
  readonly id: string;
  readonly body: Record<string, unknown>;
}

export type ResourceType = "gallery" | "imageDefinition" | "imageVersion" | "scaleSet";

export interface ParsedPath {
  readonly type: ResourceType;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** Canonical id with canonical segment names. */
  readonly id: string;
  readonly parentId?: string;
  readonly name: string;
}

const ARM_TYPE: Readonly<Record<ResourceType, string>> = {
  gallery: "Microsoft.Compute/galleries",
  imageDefinition: "Microsoft.Compute/galleries/images",
  imageVersion: "Microsoft.Compute/galleries/images/versions",
  scaleSet: "Microsoft.Compute/virtualMachineScaleSets",
};

export const OPERATION: Readonly<Record<ResourceType, string>> = {
  gallery: "Microsoft.Compute/galleries",
  imageDefinition: "Microsoft.Compute/galleries/images",
  imageVersion: "Microsoft.Compute/galleries/images/versions",
  scaleSet: "Microsoft.Compute/virtualMachineScaleSets",
};

/** Parse a resource path (not a list path). */
export function parseResourcePath(path: string): ParsedPath | undefined {
  const s = path.split("/").filter(Boolean);
  if (s[0]?.toLowerCase() !== "subscriptions" || s[2]?.toLowerCase() !== "resourcegroups" || s[4]?.toLowerCase() !== "providers" || s[5]?.toLowerCase() !== "microsoft.compute") return undefined;
  const [sub, rg] = [s[1]!, s[3]!];
  const base = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute`;
  const rest = s.slice(6);
  const t = rest.map((x) => x.toLowerCase());
  if (rest.length === 2 && t[0] === "virtualmachinescalesets") return { type: "scaleSet", subscriptionId: sub, resourceGroup: rg, id: `${base}/virtualMachineScaleSets/${rest[1]}`, name: rest[1]! };
  if (t[0] !== "galleries" || rest.length < 2) return undefined;
  const gallery = `${base}/galleries/${rest[1]}`;
  if (rest.length === 2) return { type: "gallery", subscriptionId: sub, resourceGroup: rg, id: gallery, name: rest[1]! };
  if (t[2] !== "images" || rest.length < 4) return undefined;
  const image = `${gallery}/images/${rest[3]}`;
  if (rest.length === 4) return { type: "imageDefinition", subscriptionId: sub, resourceGroup: rg, id: image, parentId: gallery, name: rest[3]! };
  if (t[4] !== "versions" || rest.length !== 6) return undefined;
  return { type: "imageVersion", subscriptionId: sub, resourceGroup: rg, id: `${image}/versions/${rest[5]}`, parentId: image, name: rest[5]! };
}

export class Estate {
  private readonly resources = new Map<string, Record<string, unknown>>();

  constructor(private readonly settleMs: number) {}

  get(id: string): Record<string, unknown> | undefined {
    const stored = this.resources.get(id.toLowerCase());
    return stored ? this.settled(stored) : undefined;
  }

  delete(id: string): boolean {
    return this.resources.delete(id.toLowerCase());
  }

  list(): SimulatedResource[] {
    return [...this.resources.values()].map((body) => ({ id: String(body.id), body: this.settled(body) }));
  }

  /** Children of a parent id (direct), or every resource of a type in a subscription / resource group. */
  children(parentId: string, type: ResourceType): Record<string, unknown>[] {
    const prefix = `${parentId.toLowerCase()}/`;
    return [...this.resources.entries()]
      .filter(([key, body]) => key.startsWith(prefix) && body.type === ARM_TYPE[type] && !key.slice(prefix.length).split("/").slice(2).length)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, body]) => this.settled(body));
  }

  ofType(scope: string, type: ResourceType): Record<string, unknown>[] {
    const prefix = scope.toLowerCase();
    return [...this.resources.entries()]
      .filter(([key, body]) => key.startsWith(prefix) && body.type === ARM_TYPE[type])
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, body]) => this.settled(body));
  }

  /** Store a resource as ARM would after a PUT; returns the stored body and whether it was created. */
  put(path: ParsedPath, request: Record<string, any>, now = new Date(), seeding = false): { body: Record<string, unknown>; created: boolean } {
    const key = path.id.toLowerCase();
    const existing = this.resources.get(key);
    const properties: Record<string, any> = structuredClone(request.properties ?? {});
    delete properties.provisioningState;
    delete properties.replicationStatus;
    if (path.type === "gallery") {
      properties.identifier = { uniqueName: (existing?.properties as any)?.identifier?.uniqueName ?? `${path.subscriptionId.slice(0, 8)}-${path.name.toUpperCase()}` };
      properties.sharingProfile ??= (existing?.properties as any)?.sharingProfile ?? { permissions: "Private" };
    }
    if (path.type === "imageVersion") {
      const publishing = (properties.publishingProfile ??= {});
      // Server-filled: a client's PUT cannot set it, a seeded resource keeps the one it was recorded with.
      publishing.publishedDate = (seeding ? publishing.publishedDate : undefined) ?? (existing?.properties as any)?.publishingProfile?.publishedDate ?? now.toISOString();
      publishing.excludeFromLatest ??= false;
      publishing.targetRegions ??= [{ name: request.location ?? "westeurope", regionalReplicaCount: 1 }];
      properties.storageProfile ??= {};
    }
    const body: Record<string, unknown> = {
      id: path.id,
      name: path.name,
      type: ARM_TYPE[path.type],
      location: request.location ?? existing?.location ?? "westeurope",
      ...(request.tags ? { tags: request.tags } : {}),
      ...(path.type === "scaleSet" && request.sku ? { sku: request.sku } : {}),
      properties: { ...properties, provisioningState: existing ? "Updating" : "Creating" },
      settlesAt: now.getTime() + this.settleMs,
    };
    if (path.type === "scaleSet") (body.properties as any).uniqueId ??= randomUUID();
    this.resources.set(key, body);
    return { body: this.settled(body), created: !existing };
  }

  /** Seed without provisioning delay (and without events). */
  seed(resource: SimulatedResource): void {
    const path = parseResourcePath(resource.id);
    if (!path) throw new Error(`cannot seed '${resource.id}': not a gallery, image, version or scale set id`);
    const { body } = this.put(path, resource.body, new Date(), true);
    this.resources.set(path.id.toLowerCase(), { ...body, settlesAt: 0 });
  }

  /** Replace a stored body as is (share actions). */
  replace(id: string, body: Record<string, unknown>): void {
    this.resources.set(id.toLowerCase(), { ...body, settlesAt: 0 });
  }

  /** What a GET returns: the body with provisioningState settled once its time has come. */
  private settled(stored: Record<string, unknown>): Record<string, unknown> {
    const { settlesAt, ...body } = stored as Record<string, any>;
    const properties = { ...body.properties };
    if (Date.now() >= Number(settlesAt ?? 0)) properties.provisioningState = "Succeeded";
    return structuredClone({ ...body, properties });
  }
}

/** The replication status ARM reports with $expand=ReplicationStatus. */
export function replicationStatus(body: Record<string, any>): Record<string, unknown> {
  const regions = (body.properties?.publishingProfile?.targetRegions ?? []) as Array<{ name: string }>;
  const done = body.properties?.provisioningState === "Succeeded";
  return {
    aggregatedState: done ? "Completed" : "InProgress",
    summary: regions.map((r) => ({ region: r.name, state: done ? "Completed" : "Replicating", progress: done ? 100 : 50, details: "" })),
  };
}
