/**
 * What a scale set's image reference means now, given reads of the estate — shared by every
 * ArmInventory so that `latest` is resolved one way. A definition reference floats on `latest`
 * (the highest Major.Minor.Patch not excluded, in the scale set's region); a version reference is
 * pinned; shared / community gallery images may live in another tenant.
 * https://learn.microsoft.com/azure/virtual-machines/shared-image-galleries#image-versions
 *
 * Reads ARM could not answer now (throttled, failed) throw ArmReadError: no resolution is made on
 * a guess. No access is its own outcome (a blind spot); another tenant's unreadable image is
 * `unresolvable`.
 */
import { parentOf, type ResourceId } from "../../domain/resourceId.js";
import { resolveLatest, type ImageDefinitionSnapshot, type ImageResolution, type ImageVersionSnapshot, type InheritedOsState, type ScaleSetSnapshot } from "../../domain/snapshots.js";
import { ArmReadError } from "../../domain/errors.js";
import type { ArmInventory, ReadOutcome } from "../../app/ports.js";
import type { Snapshot } from "../../domain/snapshots.js";
import { parseSharedImageId } from "./snapshotMapping.js";

export interface ImageReads {
  definition(id: ResourceId): Promise<ReadOutcome<ImageDefinitionSnapshot>>;
  versions(definitionId: ResourceId, osState: InheritedOsState): Promise<ImageVersionSnapshot[]>;
  /** osState of a direct-shared or community gallery image, read in `location` through the scale set's subscription. */
  sharedImage(subscriptionId: string, kind: "sharedGallery" | "communityGallery", location: string, gallery: string, image: string): Promise<ReadOutcome<InheritedOsState>>;
}

export async function resolveImage(scaleSet: ScaleSetSnapshot, reads: ImageReads): Promise<ImageResolution> {
  const reference = scaleSet.imageReference;
  switch (reference.kind) {
    case "definition":
    case "version": {
      const definitionId = reference.kind === "definition" ? reference.definitionId : parentOf(reference.versionId)!;
      const definition = orThrow(await reads.definition(definitionId), "galleryImages.get", definitionId.display);
      if (definition.status === "noAccess") return { outcome: "noAccess", definitionId: definitionId.display, reason: definition.message };
      if (definition.status === "gone") return { outcome: "unresolvable", reason: `image definition ${definitionId.display} does not exist` };
      const osState = definition.snapshot.osState;
      if (reference.kind === "version") return { outcome: "resolved", definitionId: definition.snapshot.id.display, osState, versionId: reference.versionId.display };
      const latest = resolveLatest(await reads.versions(definitionId, osState), scaleSet.location);
      return { outcome: "resolved", definitionId: definition.snapshot.id.display, osState, ...(latest ? { versionId: latest.id.display } : {}) };
    }
    case "sharedGallery":
    case "communityGallery": {
      const what = reference.kind === "sharedGallery" ? "shared" : "community";
      const parts = parseSharedImageId(reference.id);
      if (!parts) return { outcome: "unresolvable", reason: `'${reference.id.slice(0, 200)}' is not a ${what} gallery image id` };
      if (!scaleSet.location) return { outcome: "unresolvable", reason: "the scale set has no location to read the shared image in" };
      const read = orThrow(await reads.sharedImage(scaleSet.id.subscriptionId, reference.kind, scaleSet.location, parts.gallery, parts.image), `${reference.kind}Images.get`, reference.id);
      if (read.status === "found") return { outcome: "resolved", definitionId: reference.id, osState: read.snapshot };
      // Another tenant's image we may not read: said plainly, never assumed safe.
      return { outcome: "unresolvable", reason: `${what} gallery image could not be read (${read.status}${"message" in read ? `: ${read.message}` : ""})` };
    }
    case "other":
      // A gallery-looking id we cannot parse is not "safe": say it could not be resolved.
      return reference.description.startsWith("unreadable gallery image id") ? { outcome: "unresolvable", reason: reference.description } : { outcome: "notGalleryImage" };
  }
}

/** Throttled and failed reads stop the resolution; the platform retries the whole invocation. */
export function orThrow<T>(read: ReadOutcome<T>, operation: string, id: string): Exclude<ReadOutcome<T>, { status: "throttled" | "failed" }> {
  if (read.status === "throttled") throw new ArmReadError("throttled", operation, id, read.message, read.retryAfterMs);
  if (read.status === "failed") throw new ArmReadError("failed", operation, id, read.message, undefined, { cause: read.cause });
  return read as Exclude<ReadOutcome<T>, { status: "throttled" | "failed" }>;
}

/** `ArmInventory.read` for every inventory: the kind of the id picks the read. */
export function readByKind(inventory: Omit<ArmInventory, "read">, id: ResourceId): Promise<ReadOutcome<Snapshot>> {
  switch (id.kind) {
    case "gallery":
      return inventory.readGallery(id);
    case "imageDefinition":
      return inventory.readImageDefinition(id);
    case "imageVersion":
      return inventory.readImageVersion(id);
    case "scaleSet":
      return inventory.readScaleSet(id);
  }
}
