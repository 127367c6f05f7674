/**
 * A VM as @azure/arm-compute hands it over (properties flattened) → its snapshot: what its image
 * reference points at, or, with none, the OS disk it was attached from; and what a managed disk says
 * it was created from. Table-driven, pure.
 */
import { describe, expect, it } from "vitest";
import { diskImageTarget, toVirtualMachineSnapshot } from "../../shared/adapters/arm/snapshotMapping.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import { BASE } from "../support/snapshotBuilders.js";

const id = parseResourceId(`${BASE}/virtualMachines/vm1`);
const version = `${BASE}/galleries/gal/images/def/versions/1.0.0`;
const disk = `${BASE}/disks/vm1_OsDisk_1_0123456789abcdef0123456789abcdef`;

describe("toVirtualMachineSnapshot", () => {
  it.each([
    ["a pinned gallery version", { imageReference: { id: version }, osDisk: { managedDisk: { id: disk } } }, { kind: "version" }],
    ["a definition (latest)", { imageReference: { id: `${BASE}/galleries/gal/images/def` }, osDisk: { managedDisk: { id: disk } } }, { kind: "definition" }],
    ["a community image", { imageReference: { communityGalleryImageId: "/CommunityGalleries/pub-1/Images/img/Versions/latest" } }, { kind: "communityGallery" }],
    ["no image reference: attached from its OS disk", { osDisk: { createOption: "Attach", managedDisk: { id: disk } } }, { kind: "osDisk", diskId: disk }],
    ["an empty image reference: attached from its OS disk", { imageReference: {}, osDisk: { createOption: "Attach", managedDisk: { id: disk } } }, { kind: "osDisk", diskId: disk }],
    ["a marketplace image", { imageReference: { publisher: "Canonical", offer: "ubuntu-24_04-lts", sku: "server", version: "latest" } }, { kind: "other", description: "marketplace Canonical:ubuntu-24_04-lts:server:latest" }],
    ["neither an image nor a managed disk", {}, { kind: "other", description: "no image reference" }],
  ])("%s", (_label, storageProfile, expected) => {
    const snapshot = toVirtualMachineSnapshot(id, { location: "westeurope", provisioningState: "Succeeded", hardwareProfile: { vmSize: "Standard_D2s_v3" }, storageProfile, tags: { owner: "ops" } }, { outcome: "pending" });
    expect(snapshot).toMatchObject({ kind: "virtualMachine", vmSize: "Standard_D2s_v3", tags: { owner: "ops" }, provisioningState: "Succeeded", image: { outcome: "pending" } });
    expect(snapshot.imageReference).toMatchObject(expected);
  });
});

describe("a VM of a Flexible scale set", () => {
  it("names its scale set (properties.virtualMachineScaleSet.id), so the set's capacity and the VM are not counted twice", () => {
    const scaleSet = `${BASE}/virtualMachineScaleSets/web-flex`;
    const member = toVirtualMachineSnapshot(id, { location: "westeurope", virtualMachineScaleSet: { id: scaleSet }, storageProfile: { imageReference: { id: version } } }, { outcome: "pending" });
    expect(member.scaleSetId).toBe(scaleSet);
    const alone = toVirtualMachineSnapshot(id, { location: "westeurope", storageProfile: { imageReference: { id: version } } }, { outcome: "pending" });
    expect(alone).not.toHaveProperty("scaleSetId");
  });
});

describe("diskImageTarget", () => {
  it.each([
    ["made from a gallery version", { creationData: { createOption: "FromImage", galleryImageReference: { id: version } } }, { kind: "version" }],
    ["made from a shared gallery image", { creationData: { createOption: "FromImage", galleryImageReference: { sharedGalleryImageId: "/SharedGalleries/x/Images/y/Versions/1.0.0" } } }, { kind: "sharedGallery" }],
    ["made from a marketplace image", { creationData: { createOption: "FromImage", imageReference: { id: "/Subscriptions/x/Providers/Microsoft.Compute/Locations/westeurope/Publishers/p/ArtifactTypes/VMImage/Offers/o/Skus/s/Versions/1" } } }, { kind: "other", description: "disk created by FromImage, not from a gallery image" }],
    ["an empty disk", { creationData: { createOption: "Empty" } }, { kind: "other", description: "disk created by Empty, not from a gallery image" }],
  ])("%s", (_label, model, expected) => {
    expect(diskImageTarget(model)).toMatchObject(expected);
  });
});
