/**
 * Request validation as ARM and the Compute resource provider answer it, after ARM's own checks
 * (api-version, resource group, parent). Codes and message shapes follow what Compute returns:
 *
 * - a missing required property: 400 `InvalidParameter`, "Required parameter '…' is missing (null).",
 *   `target` naming the property. Required per GalleryRP.json (2025-03-03): `GalleryImageProperties`
 *   requires `osType`, `osState`, `identifier`; `GalleryImageIdentifier` requires `publisher`,
 *   `offer`, `sku`; a new image version needs its source, `storageProfile.source` or
 *   `storageProfile.osDiskImage.source` (GalleryImageVersion_Create*.json). An update PUT of an
 *   existing version may leave it out: Azure keeps the stored source (test_gallery_e2e.json #14 in
 *   ../shared/fixtures/azure-cli-recordings/, `az sig image-version update` answered 200;
 *   GalleryImageVersion_Update_WithoutSourceId.json).
 * - a property that cannot change once created (osType, osState, identifier): 409
 *   `PropertyChangeNotAllowed`, "Changing property '…' is not allowed.".
 * - an image version name that is not Major.Minor.Patch (the `galleryImageVersionName` parameter of
 *   GalleryRP.json: "Allowed characters are digits and periods. Digits must be within the range of a
 *   32-bit integer. Format: <MajorVersion>.<MinorVersion>.<Patch>"): 400 `InvalidParameter`.
 * - a tracked resource without `location`: 400 `LocationRequired` (ARM).
 * - a scale set whose `imageReference.id` names a gallery image that does not exist: 404
 *   `GalleryImageNotFound`, the code Compute answers (retried on by Azure/AgentBaker, "retry VMSS
 *   creation on GalleryImageNotFound error", https://github.com/Azure/AgentBaker/pull/8239).
 * - a scale set with an `osProfile` over a Specialized image (a gallery definition or version, a
 *   shared or community gallery image): 400 `InvalidParameter` "Parameter 'osProfile' is not
 *   allowed." — the Compute RP's answer, quoted by Microsoft in "Troubleshoot shared image galleries
 *   in Azure" (MicrosoftDocs azure-docs, articles/virtual-machines/troubleshooting-shared-images.md:
 *   "Cause: Admin username, password, or SSH keys were provided for a VM that was created from a
 *   specialized image version") and in the errors reported against it (e.g.
 *   hashicorp/terraform-provider-azurerm#14549, Azure/azure-sdk-for-java#11912:
 *   `{"code":"InvalidParameter","message":"Parameter 'osProfile' is not allowed."}`).
 */
import { armError, type ArmFailure } from "./errors.js";
import { hasSource, parseResourcePath, type Estate, type Json, type ParsedPath } from "./estate.js";
import { validateNetworkWrite } from "./network.js";

/** The osState of the image a scale set's `imageReference` names (`undefined` when it names no gallery image the simulator knows). */
export type ImageOsState = (imageReference: Json) => string | undefined;

const INT32_MAX = 2_147_483_647;

export function validateVersionName(name: string): ArmFailure | undefined {
  const parts = name.split(".");
  const valid = parts.length === 3 && parts.every((p) => /^\d{1,10}$/.test(p) && Number(p) <= INT32_MAX);
  if (valid) return undefined;
  return armError(
    400,
    "InvalidParameter",
    `The gallery image version name '${name}' is invalid. The name must be in the format <MajorVersion>.<MinorVersion>.<Patch>, with each part an integer within the range of a 32-bit integer, e.g. 1.0.0.`,
    "galleryImageVersionName",
  );
}

/**
 * Validates the resource as it will be stored: the PUT body, or the PATCH merged onto the current
 * resource. `existing` is the current resource, if any.
 */
export function validateWrite(path: ParsedPath, resource: Json, existing: Json | undefined, estate: Estate, imageOsState: ImageOsState): ArmFailure | undefined {
  if (typeof resource.location !== "string" || resource.location.trim() === "") return armError(400, "LocationRequired", "The location property is required for this definition.");
  const properties = (resource.properties ?? {}) as Json;
  switch (path.type) {
    case "imageDefinition":
      return required(properties, ["osType", "osState", "identifier", "identifier.publisher", "identifier.offer", "identifier.sku"])
        ?? oneOf(properties, "osType", ["Windows", "Linux"])
        ?? oneOf(properties, "osState", ["Generalized", "Specialized"])
        ?? unchanged(properties, existing?.properties as Json | undefined, ["osType", "osState", "identifier.publisher", "identifier.offer", "identifier.sku"]);
    case "imageVersion": {
      const nameRefused = validateVersionName(path.name);
      if (nameRefused) return nameRefused;
      const storage = (properties.storageProfile ?? {}) as Json;
      if (!existing && !hasSource(storage.source) && !hasSource((storage.osDiskImage as Json | undefined)?.source)) {
        return armError(400, "InvalidParameter", "Required parameter 'properties.storageProfile.source' is missing (null). Specify the image source in 'storageProfile.source' or 'storageProfile.osDiskImage.source'.", "properties.storageProfile.source");
      }
      return undefined;
    }
    case "scaleSet":
      return galleryImageExists(properties, "virtualMachineProfile.storageProfile", estate) ?? noOsProfileOnSpecialized(properties.virtualMachineProfile as Json | undefined, imageOsState);
    case "virtualMachine":
      // The same two checks on a VM's own profiles (virtualMachine.json: properties.storageProfile,
      // properties.osProfile), and an attached OS disk must exist.
      return galleryImageExists(properties, "storageProfile", estate) ?? noOsProfileOnSpecialized(properties, imageOsState) ?? attachedDiskExists(properties, estate);
    case "disk":
      return galleryImageExists(properties, "creationData.galleryImageReference", estate);
    case "gallery":
      return undefined;
    case "virtualNetwork":
    case "networkSecurityGroup":
    case "publicIPAddress":
    case "networkInterface":
      return validateNetworkWrite(path, resource, estate);
  }
}

function at(source: Json | undefined, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((node, key) => (node && typeof node === "object" ? (node as Json)[key] : undefined), source);
}

function required(properties: Json, paths: readonly string[]): ArmFailure | undefined {
  for (const path of paths) {
    const value = at(properties, path);
    if (value === undefined || value === null || value === "") return armError(400, "InvalidParameter", `Required parameter 'properties.${path}' is missing (null).`, `properties.${path}`);
  }
  return undefined;
}

function oneOf(properties: Json, path: string, allowed: readonly string[]): ArmFailure | undefined {
  const value = String(at(properties, path));
  if (allowed.some((a) => a.toLowerCase() === value.toLowerCase())) return undefined;
  return armError(400, "InvalidParameter", `The value '${value}' of parameter 'properties.${path}' is invalid. Allowed values are '${allowed.join("', '")}'.`, `properties.${path}`);
}

function unchanged(properties: Json, previous: Json | undefined, paths: readonly string[]): ArmFailure | undefined {
  if (!previous) return undefined;
  for (const path of paths) {
    const before = at(previous, path);
    const after = at(properties, path);
    if (before === undefined) continue;
    if (String(before).toLowerCase() !== String(after).toLowerCase()) {
      return armError(409, "PropertyChangeNotAllowed", `Changing property 'galleryImage.properties.${path}' is not allowed.`, `galleryImage.properties.${path}`);
    }
  }
  return undefined;
}

/** A scale set, VM or disk built from a gallery image (definition = latest, or a version) needs that image to exist. */
function galleryImageExists(properties: Json, storagePath: string, estate: Estate): ArmFailure | undefined {
  const imageId = at(properties, storagePath.endsWith("galleryImageReference") ? `${storagePath}.id` : `${storagePath}.imageReference.id`);
  if (typeof imageId !== "string") return undefined;
  const target = parseResourcePath(imageId);
  if (!target || (target.type !== "imageDefinition" && target.type !== "imageVersion")) return undefined;
  const found = estate.get(target.id);
  if (found && found.properties?.provisioningState !== "Deleting") return undefined;
  return armError(404, "GalleryImageNotFound", `The gallery image '${imageId}' is not found. Check that the image exists and is replicated to the scale set's region.`, "imageReference.id");
}

/** VMs from a Specialized image keep the source's OS configuration: an `osProfile` is refused (a scale set's `virtualMachineProfile`, or a VM's own properties). */
function noOsProfileOnSpecialized(profile: Json | undefined, imageOsState: ImageOsState): ArmFailure | undefined {
  const osProfile = profile?.osProfile;
  if (osProfile === undefined || osProfile === null) return undefined;
  const reference = profile?.storageProfile?.imageReference as Json | undefined;
  if (!reference || imageOsState(reference)?.toLowerCase() !== "specialized") return undefined;
  return armError(400, "InvalidParameter", "Parameter 'osProfile' is not allowed.");
}

/**
 * A VM attached from an existing managed disk (`storageProfile.osDisk.createOption: Attach`, how a
 * specialized VM is made from a disk) needs that disk. Not in ../shared/fixtures (no VM swagger or
 * examples there): the code and wording follow the Compute RP's answer for a missing resource.
 */
function attachedDiskExists(properties: Json, estate: Estate): ArmFailure | undefined {
  const osDisk = at(properties, "storageProfile.osDisk") as Json | undefined;
  if (String(osDisk?.createOption ?? "").toLowerCase() !== "attach") return undefined;
  const diskId = at(osDisk, "managedDisk.id");
  if (typeof diskId !== "string" || diskId === "") return armError(400, "InvalidParameter", "Required parameter 'osDisk.managedDisk.id' is missing (null).", "osDisk.managedDisk.id");
  const target = parseResourcePath(diskId);
  if (target?.type === "disk" && estate.get(target.id)) return undefined;
  return armError(404, "NotFound", `Disk '${diskId.split("/").pop() ?? diskId}' is not found.`, "osDisk.managedDisk.id");
}
