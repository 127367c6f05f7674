/**
 * The VM bodies the simulated ARM serves (issue 20). Microsoft's virtualMachine.json and disk.json
 * are NOT in ../shared/fixtures (only the scale-set swagger and computeRPCommon.json are), so the
 * `VirtualMachine` envelope and the VM operations cannot be validated against their swagger here.
 * What can be: the profiles a VM shares with a scale set's VM profile, defined in
 * computeRPCommon.json (ComputeRP 2025-04-01) — `properties.storageProfile` (`StorageProfile`, with
 * `ImageReference`, `OSDisk`, `ManagedDiskParameters`), `properties.hardwareProfile`
 * (`HardwareProfile`) — in the PUT answers (create and update), a GET and every listAll page; and
 * the long-running PUT's polling header, as the scale-set suite checks it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { fixturesDir, SKIP_REASON } from "../support/fixtures.js";
import { armRequest, type RawResponse } from "./armHttp.js";
import { computeCommonSwagger } from "./specs.js";
import { recordValidated } from "./summary.js";
import type { SwaggerSet } from "./swagger.js";

const present = fixturesDir() !== undefined;
if (!present) console.warn(SKIP_REASON);

const SUB = "3c1d2e4f-6a7b-4c8d-9e0f-a1b2c3d4e5f6";
const API = "2025-04-01";
const rg = (name: string) => `/subscriptions/${SUB}/resourceGroups/${name}/providers/Microsoft.Compute`;
type Body = Record<string, any>;

const vm = (storageProfile: Body): Body => ({
  location: "westeurope",
  tags: { owner: "plant-ops" },
  properties: { hardwareProfile: { vmSize: "Standard_D2s_v3" }, storageProfile, networkProfile: { networkInterfaces: [] } },
});
const PLANNED: ReadonlyArray<{ id: string; body: Body }> = [
  { id: `${rg("rg-plant")}/virtualMachines/gw-drill`, body: vm({ imageReference: { id: `${rg("rg-plant")}/galleries/plantGallery/images/gateway-os/versions/1.0.0` }, osDisk: { osType: "Windows", createOption: "FromImage", caching: "ReadWrite", managedDisk: { storageAccountType: "Premium_LRS" }, deleteOption: "Delete" } }) },
  { id: `${rg("rg-saas")}/virtualMachines/web-01`, body: vm({ imageReference: { id: `${rg("rg-saas")}/galleries/saasGallery/images/web-generalized` }, osDisk: { createOption: "FromImage" } }) },
  { id: `${rg("rg-saas")}/virtualMachines/market-01`, body: vm({ imageReference: { publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2022-datacenter-azure-edition", version: "latest" }, osDisk: { createOption: "FromImage" } }) },
];

describe.skipIf(!present)("simulated ARM VM bodies conform to the profiles computeRPCommon.json (2025-04-01) defines", () => {
  let sim: RunningArmSimulator;
  let swagger: SwaggerSet;
  const puts: Array<{ id: string; response: RawResponse; created: boolean }> = [];

  beforeAll(async () => {
    swagger = computeCommonSwagger();
    sim = await startArmSimulator({ seed: caseStudySeed(SUB, new Date("2026-11-24T00:00:00Z")), pageSize: 2 });
    for (const p of PLANNED) puts.push({ id: p.id, response: await armRequest(sim, "PUT", p.id, { apiVersion: API, body: p.body }), created: true });
    // An update (retagging): 200, with the OS disk the create made kept.
    const update = structuredClone((await armRequest(sim, "GET", PLANNED[0]!.id, { apiVersion: API })).body) as Body;
    update.tags = { owner: "plant-ops", drill: "q4" };
    delete update.properties.provisioningState;
    puts.push({ id: PLANNED[0]!.id, response: await armRequest(sim, "PUT", PLANNED[0]!.id, { apiVersion: API, body: update }), created: false });
  });
  afterAll(async () => sim?.close());

  it("validates storageProfile and hardwareProfile of PUT (create, update), GET and listAll bodies; a create answers 201 with where to poll", async ({ task }) => {
    const failures: string[] = [];
    let checked = 0;
    const check = (where: string, body: Body) => {
      checked++;
      expect(body.type, where).toBe("Microsoft.Compute/virtualMachines");
      for (const [definition, value] of [["StorageProfile", body.properties?.storageProfile], ["HardwareProfile", body.properties?.hardwareProfile]] as const) {
        for (const e of swagger.validate(definition, value)) failures.push(`${where} ${definition}: ${e}`);
      }
    };
    for (const put of puts) {
      expect(put.response.status, `${put.id}: ${put.response.text.slice(0, 300)}`).toBe(put.created ? 201 : 200);
      if (put.created) expect(put.response.headers["azure-asyncoperation"], `${put.id}: a long-running 201 says where to poll`).toMatch(/^https:\/\/.*\/operations\//);
      check(`PUT ${put.id}`, put.response.body);
      expect(put.response.body.properties.storageProfile.osDisk.managedDisk.id, "the Compute RP names the OS disk it made").toMatch(/\/disks\/[^/]+_OsDisk_1_[0-9a-f]{32}$/);
    }
    for (const p of PLANNED) check(`GET ${p.id}`, (await armRequest(sim, "GET", p.id, { apiVersion: API })).body);
    const listed: Body[] = [];
    for (let next: string | undefined = `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachines`; next; ) {
      const page = await armRequest(sim, "GET", next, { apiVersion: API });
      expect(page.status).toBe(200);
      for (const item of page.body.value as Body[]) {
        check(`listAll ${item.id}`, item);
        listed.push(item);
      }
      next = page.body.nextLink;
    }
    expect(listed.map((v) => String(v.id).toLowerCase()).sort()).toEqual(PLANNED.map((p) => p.id.toLowerCase()).sort());
    expect(failures).toEqual([]);
    recordValidated(task, "VM profiles", checked, "VM storageProfile / hardwareProfile checked against computeRPCommon.json 2025-04-01; virtualMachine.json and disk.json are not in the fixtures, so the VM envelope, its operations and disk bodies are not validated against a swagger");
  });

  it("the validator is not vacuous: profiles that break the swagger are refused", () => {
    expect(swagger.validate("StorageProfile", { imageReference: { id: "/x" }, osDisk: { createOption: "FromImage" } })).toEqual([]);
    expect(swagger.validate("StorageProfile", { osDisk: { createOption: 7 } })).not.toEqual([]);
    expect(swagger.validate("StorageProfile", { osDisk: {} })).not.toEqual([]);
    expect(swagger.validate("HardwareProfile", { vmSize: 42 })).not.toEqual([]);
    // The swagger lists sizes as an enum (x-ms-enum, modelAsString): the bodies above use one it lists.
    expect(swagger.validate("HardwareProfile", { vmSize: "Standard_D2s_v3" })).toEqual([]);
  });
});
