/**
 * From @azure/arm-compute models (structurally typed here, so this file does not depend on the
 * SDK's model names, which change between majors) to our snapshots. The snapshot's id is the
 * canonical id we asked for, never the response's `id`: Microsoft's own examples return ids
 * with other casing, extra `locations/{region}` segments and doubled slashes.
 */
import { tryParseResourceId, type ResourceId } from "../../domain/resourceId.js";
import {
  normalizeRegion,
  type GallerySnapshot,
  type ImageDefinitionSnapshot,
  type ImageReferenceTarget,
  type ImageVersionSnapshot,
  type InheritedOsState,
  type ScaleSetSnapshot,
  type ImageResolution,
  type VirtualMachineSnapshot,
} from "../../domain/snapshots.js";

type Loose = Record<string, any> | undefined;

const iso = (value: unknown): string | undefined =>
  value instanceof Date ? (Number.isNaN(value.getTime()) ? undefined : value.toISOString()) : typeof value === "string" && value !== "" ? value : undefined;

const tagsOf = (model: Loose): Record<string, string> => Object.fromEntries(Object.entries((model?.tags ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));

function prune<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function base(id: ResourceId, model: Loose) {
  return prune({ id, location: model?.location as string | undefined, tags: tagsOf(model), provisioningState: model?.provisioningState as string | undefined });
}

export function toGallerySnapshot(id: ResourceId, gallery: Loose): GallerySnapshot {
  const sharing = gallery?.sharingProfile as Loose;
  const community = sharing?.communityGalleryInfo as Loose;
  return {
    kind: "gallery",
    ...base(id, gallery),
    sharing: {
      // Plain GETs and lists carry no sharingProfile (Gallery_Get.json, Gallery_ListBySubscription.json): unknown, never Private.
      permissions: (sharing?.permissions as string | undefined) ?? "Unknown",
      // `$select=Permissions` lists groups when there are some (Gallery_Get_WithSelectPermissions.json)
      // and none at all before the first `az sig share add` (recording test_create_vm_with_shared_gallery_image):
      // absent groups are no groups, which the rule reads as shared with nobody (snapshots.ts `sharingReach`).
      groups: ((sharing?.groups ?? []) as Loose[]).map((g) => ({ type: String(g?.type ?? ""), ids: ((g?.ids ?? []) as unknown[]).map(String) })),
      ...(community
        ? {
            community: prune({
              // Only a boolean counts: a missing or odd flag stays undefined, which is never read as "not public".
              enabled: typeof community.communityGalleryEnabled === "boolean" ? community.communityGalleryEnabled : undefined,
              publicNames: ((community.publicNames ?? []) as unknown[]).map(String),
              publicNamePrefix: community.publicNamePrefix as string | undefined,
              publisherUri: community.publisherUri as string | undefined,
            }),
          }
        : {}),
    },
  };
}

export function toDefinitionSnapshot(id: ResourceId, image: Loose): ImageDefinitionSnapshot {
  const identifier = (image?.identifier ?? {}) as Record<string, unknown>;
  return {
    kind: "imageDefinition",
    ...base(id, image),
    osState: image?.osState === "Specialized" ? "Specialized" : image?.osState === "Generalized" ? "Generalized" : "Unknown",
    osType: String(image?.osType ?? ""),
    identifier: { publisher: String(identifier.publisher ?? ""), offer: String(identifier.offer ?? ""), sku: String(identifier.sku ?? "") },
    ...prune({ endOfLifeDate: iso(image?.endOfLifeDate) }),
  };
}

export function toVersionSnapshot(id: ResourceId, version: Loose, osState: InheritedOsState): ImageVersionSnapshot {
  const publishing = (version?.publishingProfile ?? {}) as Record<string, any>;
  const source = version?.storageProfile?.source as Loose;
  return {
    kind: "imageVersion",
    ...base(id, version),
    version: id.version ?? "",
    osState,
    targetRegions: ((publishing.targetRegions ?? []) as Loose[]).map((t) =>
      prune({
        name: String(t?.name ?? ""),
        region: normalizeRegion(String(t?.name ?? "")),
        regionalReplicaCount: t?.regionalReplicaCount as number | undefined,
        storageAccountType: t?.storageAccountType as string | undefined,
        excludeFromLatest: t?.excludeFromLatest as boolean | undefined,
        encrypted: t?.encryption !== undefined && t?.encryption !== null,
      }),
    ),
    ...prune({
      replicaCount: publishing.replicaCount as number | undefined,
      endOfLifeDate: iso(publishing.endOfLifeDate),
      publishedDate: iso(publishing.publishedDate),
    }),
    excludeFromLatest: publishing.excludeFromLatest === true,
    ...(source ? { source: prune({ id: source.id as string | undefined, virtualMachineId: source.virtualMachineId as string | undefined, communityGalleryImageId: source.communityGalleryImageId as string | undefined }) } : {}),
  };
}

/** What a scale set's or VM's `imageReference` points at. */
export function imageReferenceTarget(reference: Loose): ImageReferenceTarget {
  const parsed = reference?.id ? tryParseResourceId(reference.id) : undefined;
  if (parsed?.ok && parsed.id.kind === "imageDefinition") return { kind: "definition", definitionId: parsed.id };
  if (parsed?.ok && parsed.id.kind === "imageVersion") return { kind: "version", versionId: parsed.id };
  // A gallery reference is more telling than a non-gallery `id` beside it (ARM accepts only one; examples carry several).
  if (reference?.sharedGalleryImageId) return { kind: "sharedGallery", id: String(reference.sharedGalleryImageId) };
  if (reference?.communityGalleryImageId) return { kind: "communityGallery", id: String(reference.communityGalleryImageId) };
  if (reference?.id) {
    const raw = String(reference.id);
    return { kind: "other", description: /\/galleries\//i.test(raw) && parsed && !parsed.ok ? `unreadable gallery image id: ${parsed.error.reason}` : `managed image ${raw.slice(0, 300)}` };
  }
  if (reference?.publisher) return { kind: "other", description: `marketplace ${reference.publisher}:${reference.offer}:${reference.sku}:${reference.version ?? "latest"}` };
  return { kind: "other", description: "no image reference" };
}

export function toScaleSetSnapshot(id: ResourceId, scaleSet: Loose, image: ImageResolution): ScaleSetSnapshot {
  return {
    kind: "scaleSet",
    ...base(id, scaleSet),
    capacity: Number(scaleSet?.sku?.capacity ?? 0),
    ...prune({ skuName: scaleSet?.sku?.name as string | undefined, orchestrationMode: scaleSet?.orchestrationMode as string | undefined }),
    imageReference: imageReferenceTarget(scaleSet?.virtualMachineProfile?.storageProfile?.imageReference),
    image,
  };
}

/**
 * A VM: its `storageProfile.imageReference`, or, when it has none (a specialized VM attached from
 * a managed OS disk: `createOption: Attach`), its OS disk, whose creation names the gallery version
 * (read by `resolveImage`). VirtualMachine in Microsoft's ComputeRP swagger (virtualMachine.json):
 * `properties.storageProfile.{imageReference, osDisk.managedDisk.id}`, `properties.hardwareProfile.vmSize`.
 */
export function toVirtualMachineSnapshot(id: ResourceId, vm: Loose, image: ImageResolution): VirtualMachineSnapshot {
  const storage = vm?.storageProfile as Loose;
  const reference = storage?.imageReference as Loose;
  const diskId = storage?.osDisk?.managedDisk?.id as string | undefined;
  const hasReference = reference !== undefined && reference !== null && Object.values(reference).some((v) => v !== undefined && v !== null && v !== "");
  return {
    kind: "virtualMachine",
    ...base(id, vm),
    ...prune({ vmSize: vm?.hardwareProfile?.vmSize as string | undefined, scaleSetId: vm?.virtualMachineScaleSet?.id as string | undefined }),
    imageReference: !hasReference && diskId ? { kind: "osDisk", diskId } : imageReferenceTarget(reference),
    image,
  };
}

/** What a managed disk was created from: `creationData.galleryImageReference` (a version id, or a shared / community one) as an image reference. */
export function diskImageTarget(disk: Loose): ImageReferenceTarget {
  const reference = disk?.creationData?.galleryImageReference as Loose;
  if (!reference) return { kind: "other", description: `disk created by ${String(disk?.creationData?.createOption ?? "an unknown option").slice(0, 40)}, not from a gallery image` };
  const target = imageReferenceTarget(reference);
  // A disk never names another disk; a gallery reference is what matters.
  return target.kind === "osDisk" ? { kind: "other", description: "no image reference" } : target;
}

/**
 * `/SharedGalleries/{uniqueName}/Images/{image}[/Versions/{v}]` (direct shared) or
 * `/CommunityGalleries/{publicName}/Images/{image}[/Versions/{v}]`: the parts needed to read it.
 */
export function parseSharedImageId(raw: string): { gallery: string; image: string; version?: string } | undefined {
  const m = /^\/(?:shared|community)Galleries\/([^/]+)\/images\/([^/]+)(?:\/versions\/([^/]+))?\/?$/i.exec(raw);
  if (!m) return undefined;
  return { gallery: m[1]!, image: m[2]!, ...(m[3] ? { version: m[3] } : {}) };
}

/** The id of a resource from a list response, or undefined when it does not parse (logged by the caller). */
export function listedId(model: Loose, expectedKind: ResourceId["kind"]): ResourceId | undefined {
  const parsed = tryParseResourceId(model?.id);
  return parsed.ok && parsed.id.kind === expectedKind ? parsed.id : undefined;
}

