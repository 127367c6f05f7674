/**
 * (b) Every official example response for galleries, image definitions and image versions is
 * loaded into the simulator and read back through the real @azure/arm-compute client and the ARM
 * reader; each field the brief lists must survive into the snapshot. (The scale-set examples are
 * read back in ./scaleSetExamples.test.ts.)
 * The examples' ids are messy on purpose (mixed case, `locations/westus`, `//`, no subscription):
 * the simulator stores each at the canonical id built from the example's request parameters.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { localDevCredential } from "../../local/localCredential.js";
import { computeArmInventoryFactory } from "../../shared/adapters/arm/computeArmInventory.js";
import { normalizeRegion } from "../../shared/domain/snapshots.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { ArmInventory } from "../../shared/app/ports.js";
import { fixturesDir, listFixtures, readFixture, SKIP_REASON } from "../support/fixtures.js";
import { recordValidated } from "./summary.js";

const present = fixturesDir() !== undefined;
if (!present) console.warn(SKIP_REASON);

const SUB = "5a0c8e6d-2b4f-4c1e-9d3a-7f6e5d4c3b2a";
const GALLERY_EXAMPLES = "azure-rest-api-specs/GalleryRP-2025-03-03/examples";

interface Loaded {
  readonly file: string;
  readonly id: string;
  readonly body: Record<string, any>;
}

/** The canonical id an example's request addresses, with a real GUID for the placeholder subscription. */
function idFor(raw: Record<string, string>, name?: string): string | undefined {
  // Placeholders such as {vmss-name} become plain names.
  const p = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === "string" ? v.replace(/[{}]/g, "") : v])) as Record<string, string>;
  const rg = p.resourceGroupName;
  if (!rg) return undefined;
  const base = `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Compute`;
  const gallery = p.galleryName;
  if (!gallery) return undefined;
  const image = p.galleryImageName;
  if (p.galleryImageVersionName) return `${base}/galleries/${gallery}/images/${image}/versions/${p.galleryImageVersionName}`;
  if (image) return name ? `${base}/galleries/${gallery}/images/${image}/versions/${name}` : `${base}/galleries/${gallery}/images/${image}`;
  return name ? `${base}/galleries/${gallery}/images/${name}` : `${base}/galleries/${gallery}`;
}

/** Every 200/201 response body of the examples, as resources at canonical ids (list items one by one). */
function loadExamples(): Loaded[] {
  const loaded: Loaded[] = [];
  for (const [index, file] of listFixtures(GALLERY_EXAMPLES).entries()) {
    if (/CommunityGallery_|ResetSharingProfile|EnableCommunity|AddToSharingProfile/.test(file) && !/Gallery_AddToSharingProfile/.test(file)) continue;
    // Placeholder subscriptions inside bodies (e.g. a scale set's image reference) get the same GUID.
    const example = JSON.parse(JSON.stringify(readFixture(file)).replace(/\{subscription-?[iI]d\}/g, SUB));
    // Each example in its own resource group: several describe the same names (Create, Get, Update of myGalleryName).
    const params = { ...(example.parameters as Record<string, string>), resourceGroupName: `example${index}` };
    const response = example.responses["200"]?.body ?? example.responses["201"]?.body;
    if (!response) continue;
    if (Array.isArray(response.value)) {
      for (const item of response.value) {
        const id = idFor(params, String(item.name ?? ""));
        if (id && parseResourceOk(id)) loaded.push({ file, id, body: item });
      }
    } else {
      const id = idFor(params);
      if (id && parseResourceOk(id)) loaded.push({ file, id, body: response });
    }
  }
  return loaded;
}

function parseResourceOk(id: string): boolean {
  try {
    parseResourceId(id);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!present)("official examples read back through @azure/arm-compute and the ARM reader", () => {
  let sim: RunningArmSimulator;
  let newInventory: () => ArmInventory;
  const examples = present ? loadExamples() : [];

  beforeAll(async () => {
    sim = await startArmSimulator();
    // Parents first, so each resource has its definition to inherit osState from.
    const depth = (id: string) => id.split("/").length;
    for (const e of [...examples].sort((a, b) => depth(a.id) - depth(b.id))) {
      const parts = e.id.split("/");
      // Ensure parents exist (an image version example without its definition example).
      // "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/galleries/x" has 9 parts, ".../images/y" 11.
      for (const parentDepth of [9, 11]) {
        if (parts.length > parentDepth) {
          const parent = parts.slice(0, parentDepth).join("/");
          if (!sim.estate.get(parent)) sim.estate.put({ id: parent, body: parentDepth === 9 ? { location: "westus", properties: {} } : { location: "westus", properties: { osType: "Windows", osState: "Generalized", identifier: { publisher: "p", offer: "o", sku: "s" } } } });
        }
      }
      sim.estate.put({ id: e.id, body: e.body });
    }
    newInventory = computeArmInventoryFactory({ credential: localDevCredential(), endpoint: sim.url, caCertPem: sim.caCertPem, timeoutMs: 5000, maxRetries: 1 });
  });
  afterAll(async () => sim?.close());

  it("loads every example response the brief's resources have", () => {
    const files = new Set(examples.map((e) => e.file.split("/").pop()));
    expect(files.size).toBeGreaterThanOrEqual(17);
    expect([...files].sort()).toEqual(expect.arrayContaining(["GalleryImageVersion_Get_WithReplicationStatus.json", "GalleryImage_Get.json", "Gallery_Get_WithSelectPermissions.json", "GalleryImage_ListByGallery.json", "GalleryImageVersion_ListByGalleryImage.json"]));
  });

  it("keeps every field the brief lists", async ({ task }) => {
    let read = 0;
    for (const e of examples) {
      const id = parseResourceId(e.id);
      const outcome = await newInventory().read(id);
      expect(outcome.status, `${e.file} → ${e.id}`).toBe("found");
      if (outcome.status !== "found") continue;
      read++;
      const s = outcome.snapshot as any;
      const p = e.body.properties ?? {};
      expect(s.id.key).toBe(id.key);
      expect(s.tags).toEqual(e.body.tags ?? {});
      switch (s.kind) {
        case "gallery": {
          const sharing = p.sharingProfile;
          if (sharing?.permissions) expect(s.sharing.permissions).toBe(sharing.permissions);
          expect(s.sharing.groups).toEqual((sharing?.groups ?? []).map((g: any) => ({ type: g.type, ids: g.ids ?? [] })));
          if (sharing?.communityGalleryInfo?.publicNames) expect(s.sharing.community.publicNames).toEqual(sharing.communityGalleryInfo.publicNames);
          break;
        }
        case "imageDefinition":
          expect(s.osState).toBe(p.osState);
          expect(s.osType).toBe(p.osType);
          expect(s.identifier).toEqual({ publisher: p.identifier.publisher, offer: p.identifier.offer, sku: p.identifier.sku });
          if (p.endOfLifeDate) expect(Date.parse(s.endOfLifeDate)).toBe(Date.parse(p.endOfLifeDate));
          break;
        case "imageVersion": {
          const pub = p.publishingProfile ?? {};
          expect(s.targetRegions.map((t: any) => [t.region, t.regionalReplicaCount, t.storageAccountType, t.excludeFromLatest, t.encrypted])).toEqual(
            (pub.targetRegions ?? []).map((t: any) => [normalizeRegion(t.name), t.regionalReplicaCount, t.storageAccountType, t.excludeFromLatest, t.encryption !== undefined]),
          );
          expect(s.replicaCount).toBe(pub.replicaCount);
          expect(s.excludeFromLatest).toBe(pub.excludeFromLatest === true);
          if (pub.endOfLifeDate) expect(Date.parse(s.endOfLifeDate)).toBe(Date.parse(pub.endOfLifeDate));
          if (pub.publishedDate) expect(Date.parse(s.publishedDate)).toBe(Date.parse(pub.publishedDate));
          if (p.storageProfile?.source?.id) expect(s.source.id).toBe(p.storageProfile.source.id);
          if (p.storageProfile?.source?.virtualMachineId) expect(s.source.virtualMachineId).toBe(p.storageProfile.source.virtualMachineId);
          if (p.storageProfile?.source?.communityGalleryImageId) expect(s.source.communityGalleryImageId).toBe(p.storageProfile.source.communityGalleryImageId);
          expect(s.provisioningState).toBe("Succeeded");
          expect(["Specialized", "Generalized"], `${e.file} → ${e.id}`).toContain(s.osState);
          break;
        }
      }
    }
    expect(read).toBe(examples.length);
    recordValidated(task, "gallery examples", read, `gallery examples: ${read} resources from ${new Set(examples.map((e) => e.file)).size} GalleryRP 2025-03-03 example files read back through @azure/arm-compute and the ARM reader`);
  });
});
