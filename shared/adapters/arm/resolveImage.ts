/**
 * What a scale set's or VM's image reference means now, given reads of the estate — shared by
 * every ArmInventory so that `latest` is resolved one way. A definition reference floats on
 * `latest` (the highest Major.Minor.Patch not excluded, in the machine's region); a version
 * reference is pinned; shared / community gallery images may live in another tenant; a VM attached
 * from an OS disk runs the gallery version its disk was created from (the disk's
 * `creationData.galleryImageReference`), read from the disk.
 * https://learn.microsoft.com/azure/virtual-machines/shared-image-galleries#image-versions
 *
 * Reads ARM could not answer now (throttled, failed) throw ArmReadError: no resolution is made on
 * a guess. No access is its own outcome (a blind spot); another tenant's unreadable image is
 * `unresolvable`.
 */
import { parentOf, type ResourceId } from "../../domain/resourceId.js";
import { resolveLatest, type ImageDefinitionSnapshot, type ImageReferenceTarget, type ImageResolution, type ImageVersionSnapshot, type InheritedOsState, type MachineSnapshot } from "../../domain/snapshots.js";
import { ArmReadError } from "../../domain/errors.js";
import type { ArmInventory, ReadOutcome } from "../../app/ports.js";
import type { Snapshot } from "../../domain/snapshots.js";
import { parseSharedImageId } from "./snapshotMapping.js";
import { resourceType } from "../../domain/resourceTypes.js";

export interface ImageReads {
  definition(id: ResourceId): Promise<ReadOutcome<ImageDefinitionSnapshot>>;
  versions(definitionId: ResourceId, osState: InheritedOsState): Promise<ImageVersionSnapshot[]>;
  /** osState of a direct-shared or community gallery image, read in `location` through the machine's subscription. */
  sharedImage(subscriptionId: string, kind: "sharedGallery" | "communityGallery", location: string, gallery: string, image: string): Promise<ReadOutcome<InheritedOsState>>;
  /** What a managed disk was created from (`creationData.galleryImageReference`, as an image reference). */
  diskImage(diskId: string): Promise<ReadOutcome<ImageReferenceTarget>>;
}

export async function resolveImage(machine: MachineSnapshot, reads: ImageReads): Promise<ImageResolution> {
  return resolveReference(machine, machine.imageReference, reads);
}

async function resolveReference(machine: MachineSnapshot, reference: ImageReferenceTarget, reads: ImageReads): Promise<ImageResolution> {
  switch (reference.kind) {
    case "definition":
    case "version": {
      const definitionId = reference.kind === "definition" ? reference.definitionId : parentOf(reference.versionId)!;
      const definition = orThrow(await reads.definition(definitionId), "galleryImages.get", definitionId.display);
      if (definition.status === "noAccess") return { outcome: "noAccess", definitionId: definitionId.display, reason: definition.message };
      if (definition.status === "gone") return { outcome: "unresolvable", reason: `image definition ${definitionId.display} does not exist` };
      const osState = definition.snapshot.osState;
      if (reference.kind === "version") return { outcome: "resolved", definitionId: definition.snapshot.id.display, osState, versionId: reference.versionId.display };
      const latest = resolveLatest(await reads.versions(definitionId, osState), machine.location);
      return { outcome: "resolved", definitionId: definition.snapshot.id.display, osState, ...(latest ? { versionId: latest.id.display } : {}) };
    }
    case "sharedGallery":
    case "communityGallery": {
      const what = reference.kind === "sharedGallery" ? "shared" : "community";
      const parts = parseSharedImageId(reference.id);
      if (!parts) return { outcome: "unresolvable", reason: `'${reference.id.slice(0, 200)}' is not a ${what} gallery image id` };
      if (!machine.location) return { outcome: "unresolvable", reason: "the machine has no location to read the shared image in" };
      const read = orThrow(await reads.sharedImage(machine.id.subscriptionId, reference.kind, machine.location, parts.gallery, parts.image), `${reference.kind}Images.get`, reference.id);
      if (read.status === "found") return { outcome: "resolved", definitionId: reference.id, osState: read.snapshot };
      // Another tenant's image we may not read: said plainly, never assumed safe.
      return { outcome: "unresolvable", reason: `${what} gallery image could not be read (${read.status}${"message" in read ? `: ${read.message}` : ""})` };
    }
    case "osDisk": {
      const disk = orThrow(await reads.diskImage(reference.diskId), "disks.get", reference.diskId);
      if (disk.status === "noAccess") return { outcome: "noAccess", definitionId: reference.diskId, reason: disk.message };
      if (disk.status === "gone") return { outcome: "unresolvable", reason: `OS disk ${reference.diskId.slice(0, 300)} does not exist` };
      // A disk made from a gallery image names its version: resolved as that reference would be (never another disk).
      return disk.snapshot.kind === "osDisk" ? { outcome: "notGalleryImage" } : resolveReference(machine, disk.snapshot, reads);
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

/** Each kind's read, by the `get` operation its row in domain/resourceTypes.ts declares. */
const READS: Readonly<Record<string, (inventory: Omit<ArmInventory, "read">, id: ResourceId) => Promise<ReadOutcome<Snapshot>>>> = {
  "galleries.get": (inventory, id) => inventory.readGallery(id),
  "galleryImages.get": (inventory, id) => inventory.readImageDefinition(id),
  "galleryImageVersions.get": (inventory, id) => inventory.readImageVersion(id),
  "virtualMachineScaleSets.get": (inventory, id) => inventory.readScaleSet(id),
  "virtualMachines.get": (inventory, id) => inventory.readVirtualMachine(id),
};

/** `ArmInventory.read` for every inventory: the kind of the id picks the read. */
export function readByKind(inventory: Omit<ArmInventory, "read">, id: ResourceId): Promise<ReadOutcome<Snapshot>> {
  const get = resourceType(id.kind).arm.get;
  const read = READS[get];
  if (!read) throw new TypeError(`no ARM read for '${get}' (kind ${id.kind})`);
  return read(inventory, id);
}
