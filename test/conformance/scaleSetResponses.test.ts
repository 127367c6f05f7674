/**
 * Every scale-set body the simulated ARM serves — the PUT responses (create 201 and update 200),
 * a GET of each, `listAll` by subscription and `list` by resource group, page by page — validates
 * against the schema the operation declares in Microsoft's swagger
 * (specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2025-04-01/virtualMachineScaleSet.json,
 * with computeRPCommon.json and common-types/v1/common.json; `./virtualMachine.json` is not in the
 * fixtures and its definitions are stubbed, see ./specs.ts).
 *
 * The PUT bodies are the official examples' requests (VirtualMachineScaleSet_Create_FromASpecializedSharedImage.json,
 * VirtualMachineScaleSet_Create_FromAGeneralizedSharedImage.json) pointed at the case-study galleries,
 * plus the other image-reference forms gallery-watch reads: a pinned version, a direct-shared image,
 * a community image and a marketplace image.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { fixturesDir, readFixture, SKIP_REASON } from "../support/fixtures.js";
import { armRequest, type RawResponse } from "./armHttp.js";
import { scaleSetSwagger } from "./specs.js";
import { recordValidated } from "./summary.js";
import type { SwaggerSet } from "./swagger.js";

const present = fixturesDir() !== undefined;
if (!present) console.warn(SKIP_REASON);

const SUB = "3c1d2e4f-6a7b-4c8d-9e0f-a1b2c3d4e5f6";
const API = "2025-04-01";
const EXAMPLES = "azure-rest-api-specs/ComputeRP-2025-04-01/examples";
const rg = (name: string) => `/subscriptions/${SUB}/resourceGroups/${name}/providers/Microsoft.Compute`;
const vmss = (group: string, name: string) => `${rg(group)}/virtualMachineScaleSets/${name}`;

type Body = Record<string, any>;

/** An official example's request body with its image reference replaced (placeholders filled in). */
function exampleRequest(file: string, imageReference: Body, extra: { tags?: Record<string, string>; capacity?: number; properties?: Body } = {}): Body {
  const example = JSON.parse(JSON.stringify(readFixture(`${EXAMPLES}/${file}`)).replace(/\{subscription-id\}/g, SUB).replace(/\{vmss-name\}/g, "vmss")) as Body;
  const body = structuredClone(example.parameters.parameters) as Body;
  body.properties.virtualMachineProfile.storageProfile.imageReference = imageReference;
  Object.assign(body.properties, extra.properties ?? {});
  if (extra.tags) body.tags = extra.tags;
  if (extra.capacity !== undefined) body.sku.capacity = extra.capacity;
  return body;
}

interface Planned {
  readonly id: string;
  readonly body: Body;
}

describe.skipIf(!present)("simulated ARM scale-set responses conform to virtualMachineScaleSet.json (2025-04-01)", () => {
  let sim: RunningArmSimulator;
  let swagger: SwaggerSet;
  const puts: Array<{ id: string; response: RawResponse; expectCreated: boolean }> = [];
  const planned: Planned[] = present
    ? [
        {
          // `latest` of a Generalized definition: the SaaS fleet.
          id: vmss("rg-saas", "vmss-saas-web"),
          body: exampleRequest("VirtualMachineScaleSet_Create_FromAGeneralizedSharedImage.json", { id: `${rg("rg-saas")}/galleries/saasGallery/images/web-generalized` }, { tags: { owner: "saas-sre", env: "prod" } }),
        },
        {
          // A pinned version of a Specialized definition, Flexible orchestration (which needs a fault-domain count:
          // https://learn.microsoft.com/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-orchestration-modes).
          id: vmss("rg-plant", "vmss-gateway"),
          body: exampleRequest("VirtualMachineScaleSet_Create_FromASpecializedSharedImage.json", { id: `${rg("rg-plant")}/galleries/plantGallery/images/gateway-os/versions/1.0.0` }, { capacity: 2, properties: { orchestrationMode: "Flexible", platformFaultDomainCount: 1 } }),
        },
        {
          id: vmss("rg-saas", "vmss-shared"),
          body: exampleRequest("VirtualMachineScaleSet_Create_FromAGeneralizedSharedImage.json", { sharedGalleryImageId: "/SharedGalleries/1b2c3d4e-SAASGALLERY/Images/web-generalized/Versions/latest" }, { capacity: 1 }),
        },
        {
          id: vmss("rg-forensics", "vmss-community"),
          body: exampleRequest("VirtualMachineScaleSet_Create_FromAGeneralizedSharedImage.json", { communityGalleryImageId: "/CommunityGalleries/forensicsgallery-5c6d7e8f/Images/triage-ws/Versions/latest" }, { capacity: 0 }),
        },
        {
          id: vmss("rg-saas", "vmss-marketplace"),
          body: exampleRequest("VirtualMachineScaleSet_Create_FromAGeneralizedSharedImage.json", { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2022-datacenter-azure-edition", version: "latest" }, { tags: {} }),
        },
      ]
    : [];
  const groups = ["rg-saas", "rg-plant", "rg-forensics"];

  beforeAll(async () => {
    swagger = scaleSetSwagger();
    // Two items per page, so every list is followed through nextLink.
    sim = await startArmSimulator({ seed: caseStudySeed(SUB, new Date("2026-11-24T00:00:00Z")), pageSize: 2 });
    for (const p of planned) puts.push({ id: p.id, response: await armRequest(sim, "PUT", p.id, { apiVersion: API, body: p.body }), expectCreated: true });
    // An update of an existing scale set (scale out): 200, not 201.
    const update = structuredClone(planned[0]!.body);
    update.sku.capacity = 5;
    puts.push({ id: planned[0]!.id, response: await armRequest(sim, "PUT", planned[0]!.id, { apiVersion: API, body: update }), expectCreated: false });
  });
  afterAll(async () => sim?.close());

  /** Follow a list through its nextLinks, validating each page as the operation's 200 schema. */
  async function listPages(path: string, check: (method: string, path: string, r: RawResponse) => void): Promise<Body[]> {
    const items: Body[] = [];
    let next: string | undefined = path;
    for (let page = 0; next; page++) {
      expect(page, `${path}: more pages than items could fill`).toBeLessThan(20);
      const response = await armRequest(sim, "GET", next, { apiVersion: API });
      check("GET", path, response);
      expect(response.status).toBe(200);
      items.push(...(response.body.value as Body[]));
      next = response.body.nextLink as string | undefined;
    }
    return items;
  }

  it("validates PUT (create and update), GET, listAll and list-by-resource-group bodies against the operations' declared schemas", async ({ task }) => {
    const failures: string[] = [];
    let checked = 0;
    const check = (method: string, path: string, r: RawResponse) => {
      checked++;
      const result = swagger.validateResponse(method, new URL(path, sim.url).pathname, r.status, r.body);
      if (r.status < 400 && !result.declared) failures.push(`${result.operationId}: status ${r.status} is not one the swagger declares`);
      for (const e of result.errors) failures.push(`${result.operationId} ${result.response} (${method} ${path}): ${e}`);
    };

    // PUT: 201 on create, 200 on update (VirtualMachineScaleSets_CreateOrUpdate declares both). The operation is
    // x-ms-long-running-operation: a 201 tells the client where to poll, with Azure-AsyncOperation or Location
    // (https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations).
    for (const put of puts) {
      check("PUT", put.id, put.response);
      expect(put.response.status, `${put.id}: ${put.response.text.slice(0, 300)}`).toBe(put.expectCreated ? 201 : 200);
      const { longRunning } = swagger.validateResponse("PUT", put.id, put.response.status, put.response.body);
      expect(longRunning).toBe(true);
      if (put.response.status === 201) expect(put.response.headers["azure-asyncoperation"] ?? put.response.headers.location, `${put.id}: no polling header on a long-running 201`).toMatch(/^https:\/\//);
    }

    // GET one (plain and with $expand=userData, which VirtualMachineScaleSets_Get accepts).
    for (const p of planned) {
      for (const query of ["", "?$expand=userData"]) {
        const got = await armRequest(sim, "GET", `${p.id}${query}`, { apiVersion: API });
        check("GET", p.id, got);
        expect(got.status).toBe(200);
      }
    }

    // listAll by subscription, then list by each resource group.
    const all = await listPages(`/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachineScaleSets`, check);
    expect(all.map((s) => String(s.id).toLowerCase()).sort()).toEqual(planned.map((p) => p.id.toLowerCase()).sort());
    const byGroup: Body[] = [];
    for (const group of groups) byGroup.push(...(await listPages(`${rg(group)}/virtualMachineScaleSets`, check)));
    expect(byGroup.map((s) => String(s.id).toLowerCase()).sort()).toEqual(planned.map((p) => p.id.toLowerCase()).sort());

    expect(failures).toEqual([]);
    // 6 PUTs + 10 GETs + 3 listAll pages + 4 resource-group pages.
    expect(checked).toBeGreaterThanOrEqual(23);
    const reached = swagger.stubsUsed();
    recordValidated(
      task,
      "scale-set responses",
      checked,
      `scale-set responses checked against virtualMachineScaleSet.json 2025-04-01 (+ computeRPCommon.json, common-types/v1/common.json); ./virtualMachine.json is not provided: ${swagger.stubsDeclared.length} of its definitions stubbed as any object (${reached.length === 0 ? "none reached by these bodies" : `reached: ${reached.join(", ")}`})`,
    );
  });

  it("keeps what gallery-watch reads from a scale set through PUT, GET and list", async () => {
    const listed = new Map<string, Body>();
    let next: string | undefined = `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachineScaleSets`;
    while (next) {
      const page = await armRequest(sim, "GET", next, { apiVersion: API });
      for (const item of page.body.value as Body[]) listed.set(String(item.id).toLowerCase(), item);
      next = page.body.nextLink;
    }
    for (const [index, p] of planned.entries()) {
      const got = (await armRequest(sim, "GET", p.id, { apiVersion: API })).body as Body;
      const expected = index === 0 ? 5 : p.body.sku.capacity; // the first was scaled out by the update
      for (const body of [got, listed.get(p.id.toLowerCase())!]) {
        expect(body.id.toLowerCase()).toBe(p.id.toLowerCase());
        expect(body.name).toBe(p.id.split("/").pop());
        expect(body.type).toBe("Microsoft.Compute/virtualMachineScaleSets");
        expect(body.location).toBe(p.body.location);
        expect(body.sku).toMatchObject({ name: p.body.sku.name, capacity: expected });
        expect(body.tags ?? {}).toEqual(p.body.tags ?? {});
        expect(body.properties.virtualMachineProfile.storageProfile.imageReference).toEqual(p.body.properties.virtualMachineProfile.storageProfile.imageReference);
        expect(body.properties.orchestrationMode).toBe(p.body.properties.orchestrationMode);
        expect(typeof body.properties.provisioningState).toBe("string");
      }
    }
  });

  it("the validator is not vacuous: bodies that break the swagger are refused", () => {
    const good = { id: vmss("rg-saas", "x"), name: "x", type: "Microsoft.Compute/virtualMachineScaleSets", location: "westus", sku: { name: "Standard_D1_v2", capacity: 3 }, properties: { orchestrationMode: "Uniform" } };
    expect(swagger.validate("VirtualMachineScaleSet", good)).toEqual([]);
    expect(swagger.validate("VirtualMachineScaleSet", { ...good, location: undefined })).not.toEqual([]);
    expect(swagger.validate("VirtualMachineScaleSet", { ...good, properties: { orchestrationMode: "Sideways" } })).not.toEqual([]);
    expect(swagger.validate("VirtualMachineScaleSet", { ...good, sku: { capacity: "three" } })).not.toEqual([]);
    expect(swagger.validate("VirtualMachineScaleSet", { ...good, tags: { owner: 7 } })).not.toEqual([]);
    expect(swagger.validateResponse("GET", `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachineScaleSets`, 200, { items: [] }).errors).not.toEqual([]);
    // A success status the operation does not declare is reported as undeclared (PUT declares 200 and 201 only).
    expect(swagger.validateResponse("PUT", vmss("rg-saas", "x"), 202, good).declared).toBe(false);
  });
});
