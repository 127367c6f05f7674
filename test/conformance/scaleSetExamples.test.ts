/**
 * Microsoft's official scale-set examples (ComputeRP 2025-04-01, `virtualMachineScaleSetExamples/`:
 * Create_FromASpecializedSharedImage / FromAGeneralizedSharedImage (200 and 201 bodies), the Get
 * variants, ListAll Maximum / Minimum set) are seeded into the simulated ARM and read back through
 * the real `@azure/arm-compute` 24.1.0 client — `virtualMachineScaleSets.get`, `.list` and
 * `.listAll` — then mapped with our own `toScaleSetSnapshot` and read once more through the ARM
 * reader. Every field gallery-watch relies on must survive: the image reference (`id` /
 * `sharedGalleryImageId` / `communityGalleryImageId`), `sku.capacity`, `orchestrationMode`,
 * tags, location and provisioningState.
 *
 * The examples' ids carry placeholders (`{subscription-id}`, `{resourceGroupName}`, `{vmss-name}`):
 * each body is stored at a canonical id in a resource group of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VirtualMachineScaleSet } from "@azure/arm-compute";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { localDevCredential } from "../../local/localCredential.js";
import { computeArmInventoryFactory } from "../../shared/adapters/arm/computeArmInventory.js";
import { toScaleSetSnapshot } from "../../shared/adapters/arm/snapshotMapping.js";
import { isSettled, type ScaleSetSnapshot } from "../../shared/domain/snapshots.js";
import { parseResourceId, tryParseResourceId } from "../../shared/domain/resourceId.js";
import { fixturesDir, listFixtures, readFixture, SKIP_REASON } from "../support/fixtures.js";
import { armRequest } from "./armHttp.js";
import { sdkClient } from "./sdkClient.js";
import { scaleSetSwagger } from "./specs.js";
import { recordValidated } from "./summary.js";
import type { SwaggerSet } from "./swagger.js";

const present = fixturesDir() !== undefined;
if (!present) console.warn(SKIP_REASON);

const SUB = "5a0c8e6d-2b4f-4c1e-9d3a-7f6e5d4c3b2a";
const EXAMPLES = "azure-rest-api-specs/ComputeRP-2025-04-01/examples";
const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

type Body = Record<string, any>;

interface ScaleSetExample {
  /** `<file> <status>[ #<item>]`, for messages and test names. */
  readonly label: string;
  readonly file: string;
  /** The response status the body was published under. */
  readonly status: number;
  readonly resourceGroup: string;
  readonly name: string;
  readonly id: string;
  /** The example's response body (one list item for ListAll), placeholders for the subscription filled in. */
  readonly body: Body;
}

function loadScaleSetExamples(): ScaleSetExample[] {
  const out: ScaleSetExample[] = [];
  for (const file of listFixtures(EXAMPLES)) {
    const example = JSON.parse(JSON.stringify(readFixture(file)).replace(/\{subscription-?[iI]d\}/g, SUB)) as Body;
    const short = file.split("/").pop()!.replace(/\.json$/, "");
    for (const [status, response] of Object.entries(example.responses as Record<string, { body?: Body }>)) {
      if (!status.startsWith("2") || !response.body) continue;
      const items: Body[] = Array.isArray(response.body.value) ? response.body.value : [response.body];
      items.forEach((body, index) => {
        const n = out.length;
        // Placeholder names ({vmss-name}, {virtualMachineScaleSetName}) become plain names; a body without one gets its own.
        const name = String(example.parameters.vmScaleSetName ?? body.name ?? `vmss${n}`).replace(/[^A-Za-z0-9._-]/g, "") || `vmss${n}`;
        const resourceGroup = `example${n}`;
        out.push({ label: `${short} ${status}${items.length > 1 ? ` #${index}` : ""}`, file, status: Number(status), resourceGroup, name, id: `/subscriptions/${SUB}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`, body });
      });
    }
  }
  return out;
}

/** The image reference fields gallery-watch reads, as the example states them. */
const referenceOf = (body: Body | undefined): Body => body?.properties?.virtualMachineProfile?.storageProfile?.imageReference ?? body?.virtualMachineProfile?.storageProfile?.imageReference ?? {};
const pick = (ref: Body) => ({ id: ref.id, sharedGalleryImageId: ref.sharedGalleryImageId, communityGalleryImageId: ref.communityGalleryImageId });

/**
 * What the snapshot's image reference must be, from the example alone: a parseable gallery
 * definition / version id wins, then a direct-shared id, then a community id, else "other"
 * (the precedence documented on `imageReferenceTarget`: ARM accepts one; generated examples carry several).
 */
function expectImageReference(snapshot: ScaleSetSnapshot, ref: Body, label: string): void {
  const parsed = ref.id ? tryParseResourceId(ref.id) : undefined;
  const target = snapshot.imageReference as Record<string, any>;
  if (parsed?.ok && parsed.id.kind === "imageDefinition") expect(target.definitionId?.key, label).toBe(parsed.id.key);
  else if (parsed?.ok && parsed.id.kind === "imageVersion") expect(target.versionId?.key, label).toBe(parsed.id.key);
  else if (ref.sharedGalleryImageId) expect(target, label).toEqual({ kind: "sharedGallery", id: ref.sharedGalleryImageId });
  else if (ref.communityGalleryImageId) expect(target, label).toEqual({ kind: "communityGallery", id: ref.communityGalleryImageId });
  else expect(target.kind, label).toBe("other");
}

/**
 * The provisioningState a GET of a seeded example returns. Seeding stores a resource as ARM holds
 * it once its operation has finished (`estate.put`: "without provisioning delay"), so a create
 * response's non-terminal `Creating` reads back as `Succeeded`; a terminal state (the Get and
 * ListAll examples' lower-case `succeeded`) must survive, compared case-insensitively as
 * gallery-watch does (`isSettled`). Non-terminal states are checked through a real PUT below.
 */
const seededState = (body: Body): string => {
  const recorded = body.properties?.provisioningState;
  return typeof recorded === "string" && TERMINAL.has(recorded.toLowerCase()) ? recorded.toLowerCase() : "succeeded";
};

/**
 * The image the create examples name (myResourceGroup/mySharedGallery/mySharedImage), so the ARM
 * reader can resolve its `latest` and a simulator that checks the image exists accepts their PUT.
 */
function seedCreateExamplesImage(sim: RunningArmSimulator, osState: "Specialized" | "Generalized" = "Specialized"): void {
  const gallery = `/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/galleries/mySharedGallery`;
  sim.estate.put({ id: gallery, body: { location: "westus", properties: {} } });
  sim.estate.put({ id: `${gallery}/images/mySharedImage`, body: { location: "westus", properties: { osType: "Linux", osState, identifier: { publisher: "p", offer: "o", sku: "s" } } } });
  sim.estate.put({
    id: `${gallery}/images/mySharedImage/versions/1.0.0`,
    body: { location: "westus", properties: { publishingProfile: { targetRegions: [{ name: "West US", regionalReplicaCount: 1 }] }, storageProfile: { source: { virtualMachineId: `/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachines/capture` } } } },
  });
}

describe.skipIf(!present)("official scale-set examples read back through @azure/arm-compute and toScaleSetSnapshot", () => {
  const examples = present ? loadScaleSetExamples() : [];
  let sim: RunningArmSimulator;
  let swagger: SwaggerSet;
  const viaList = new Map<string, VirtualMachineScaleSet>();

  beforeAll(async () => {
    swagger = scaleSetSwagger();
    sim = await startArmSimulator();
    seedCreateExamplesImage(sim);
    for (const e of examples) sim.estate.put({ id: e.id, body: e.body });
    for await (const model of sdkClient(sim, SUB).virtualMachineScaleSets.listAll()) viaList.set(String(model.id).toLowerCase(), model);
  });
  afterAll(async () => sim?.close());

  it("loads every scale-set example body (create 200 / 201, Get variants, ListAll maximum and minimum)", () => {
    const files = new Set(examples.map((e) => e.file.split("/").pop()));
    expect([...files].sort()).toEqual(listFixtures(EXAMPLES).map((f) => f.split("/").pop()).sort());
    expect(examples.map((e) => e.label)).toEqual(
      expect.arrayContaining(["VirtualMachineScaleSet_Create_FromASpecializedSharedImage 201", "VirtualMachineScaleSet_Create_FromAGeneralizedSharedImage 200", "VirtualMachineScaleSet_ListAll_MinimumSet_Gen 200"]),
    );
    // listAll returns exactly the seeded scale sets.
    expect([...viaList.keys()].sort()).toEqual(examples.map((e) => e.id.toLowerCase()).sort());
  });

  it("the published bodies themselves validate against the swagger loader (a positive control for ./swagger.ts)", () => {
    for (const e of examples) {
      const path = /ListAll/.test(e.file) ? `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachineScaleSets` : e.id;
      const body = /ListAll/.test(e.file) ? { value: [e.body] } : e.body;
      expect(swagger.validateResponse(/_Create_/.test(e.file) ? "PUT" : "GET", path, e.status, body).errors, e.label).toEqual([]);
    }
  });

  it.for(examples.map((e) => [e.label, e] as const))("%s keeps every field gallery-watch reads", async ([, e], { task }) => {
    // What the simulator serves for the seeded example is still a VirtualMachineScaleSets_Get 200 body.
    const served = await armRequest(sim, "GET", e.id);
    expect(served.status, e.label).toBe(200);
    expect(swagger.validateResponse("GET", e.id, served.status, served.body).errors, e.label).toEqual([]);

    const client = sdkClient(sim, SUB);
    const id = parseResourceId(e.id);
    const got = await client.virtualMachineScaleSets.get(e.resourceGroup, e.name);
    const listed = viaList.get(e.id.toLowerCase());
    const byGroup: VirtualMachineScaleSet[] = [];
    for await (const model of client.virtualMachineScaleSets.list(e.resourceGroup)) byGroup.push(model);
    expect(listed, `${e.label}: not in listAll`).toBeDefined();
    expect(byGroup.map((m) => String(m.id).toLowerCase()), `${e.label}: list by resource group`).toEqual([e.id.toLowerCase()]);

    const ref = referenceOf(e.body);
    for (const [how, model] of [["get", got], ["listAll", listed!], ["list", byGroup[0]!]] as const) {
      const label = `${e.label} via ${how}`;
      expect(String(model.id).toLowerCase(), label).toBe(e.id.toLowerCase());
      expect(model.location, label).toBe(e.body.location);
      expect(model.sku?.capacity, label).toBe(e.body.sku?.capacity);
      expect(model.orchestrationMode, label).toBe(e.body.properties?.orchestrationMode);
      expect(model.tags ?? {}, label).toEqual(e.body.tags ?? {});
      expect(pick(referenceOf(model as Body)), label).toEqual(pick(ref));
      expect(model.provisioningState?.toLowerCase(), label).toBe(seededState(e.body));

      // Our mapping keeps them into the snapshot gallery-watch stores and judges.
      const snapshot = toScaleSetSnapshot(id, model, { outcome: "notGalleryImage" });
      expect(snapshot.id.key, label).toBe(id.key);
      expect(snapshot.location, label).toBe(e.body.location);
      expect(snapshot.capacity, label).toBe(e.body.sku?.capacity ?? 0);
      expect(snapshot.skuName, label).toBe(e.body.sku?.name);
      expect(snapshot.orchestrationMode, label).toBe(e.body.properties?.orchestrationMode);
      expect(snapshot.tags, label).toEqual(e.body.tags ?? {});
      expect(snapshot.provisioningState?.toLowerCase(), label).toBe(seededState(e.body));
      expectImageReference(snapshot, ref, label);
    }

    // The ARM reader (same SDK, plus image resolution) agrees, and resolves a gallery definition's `latest`.
    const read = await computeArmInventoryFactory({ credential: localDevCredential(), endpoint: sim.url, caCertPem: sim.caCertPem, timeoutMs: 5000, maxRetries: 0 })().read(id);
    expect(read.status, e.label).toBe("found");
    if (read.status !== "found" || read.snapshot.kind !== "scaleSet") throw new Error(`${e.label}: not read as a scale set`);
    const s = read.snapshot;
    expect([s.capacity, s.orchestrationMode, s.tags, s.location, s.provisioningState?.toLowerCase()], e.label).toEqual([e.body.sku?.capacity ?? 0, e.body.properties?.orchestrationMode, e.body.tags ?? {}, e.body.location, seededState(e.body)]);
    expectImageReference(s, ref, e.label);
    const definition = ref.id ? tryParseResourceId(ref.id) : undefined;
    if (definition?.ok && definition.id.kind === "imageDefinition") {
      expect(s.image, e.label).toMatchObject({ outcome: "resolved", osState: "Specialized" });
      expect(String((s.image as { definitionId?: string }).definitionId).toLowerCase(), e.label).toBe(definition.id.key);
      expect(String((s.image as { versionId?: string }).versionId).toLowerCase(), e.label).toBe(`${definition.id.key}/versions/1.0.0`);
    } else expect(s.image.outcome, e.label).not.toBe("resolved");

    recordValidated(task, "scale-set examples", 1);
    recordValidated(task, "scale-set responses", 1);
  });

  it("a scale set still being created reads back as Creating (not settled) through the SDK and the mapping", async () => {
    // The create examples' own requests, PUT against a simulator that keeps them provisioning for an hour:
    // the official 201 bodies say `Creating`, and gallery-watch must not judge such a scale set yet.
    const slow = await startArmSimulator({ settleMs: 3_600_000 });
    try {
      const client = sdkClient(slow, SUB);
      for (const file of ["VirtualMachineScaleSet_Create_FromASpecializedSharedImage.json", "VirtualMachineScaleSet_Create_FromAGeneralizedSharedImage.json"]) {
        // Both examples name the same image; each describes it as its title says (the generalized one sends an
        // osProfile, which Compute refuses over a Specialized image: "Parameter 'osProfile' is not allowed.").
        seedCreateExamplesImage(slow, file.includes("Specialized") ? "Specialized" : "Generalized");
        const example = JSON.parse(JSON.stringify(readFixture(`${EXAMPLES}/${file}`)).replace(/\{subscription-id\}/g, SUB).replace(/\{[A-Za-z-]+\}/g, "x")) as Body;
        const name = file.includes("Specialized") ? "vmss-specialized" : "vmss-generalized";
        const id = `/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`;
        const put = await armRequest(slow, "PUT", id, { body: example.parameters.parameters });
        expect(put.status, file).toBe(201);
        expect(put.body.properties.provisioningState, file).toBe(example.responses["201"].body.properties.provisioningState);
        const model = await client.virtualMachineScaleSets.get("myResourceGroup", name);
        expect(model.provisioningState, file).toBe("Creating");
        const snapshot = toScaleSetSnapshot(parseResourceId(id), model, { outcome: "notGalleryImage" });
        expect(snapshot.provisioningState, file).toBe("Creating");
        expect(isSettled(snapshot), file).toBe(false);
        expect(snapshot.capacity, file).toBe(example.responses["201"].body.sku.capacity);
      }
    } finally {
      await slow.close();
    }
  });
});
