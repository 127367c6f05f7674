/**
 * The simulated ARM answers as real ARM and the Compute resource provider do, so that what
 * gallery-watch learns against it holds against Azure. Each test names the Microsoft source it
 * follows: a swagger path under /work/shared/fixtures/azure-rest-api-specs, an example file there,
 * or a learn.microsoft.com page.
 */
import http from "node:http";
import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ComputeManagementClient } from "@azure/arm-compute";
import { startArmSimulator, type ArmSimulatorOptions, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { apiVersionFor, armWrite } from "../../local/armWrite.js";
import { localDevCredential } from "../../local/localCredential.js";
import { fixturesDir, readFixture } from "../support/fixtures.js";
import { startEventReceiver, type EventReceiver } from "../support/eventReceiver.js";

const SUB = "0b1c2d3e-4f50-4a61-8b72-9c8d7e6f5a4b";
const rgPath = (rg: string) => `/subscriptions/${SUB}/resourceGroups/${rg}`;
const compute = (rg: string) => `${rgPath(rg)}/providers/Microsoft.Compute`;
const caller = { name: "Ana Fidelity", upn: "ana@contoso.example", oid: "11111111-2222-4333-8444-555555555555" };

const definitionBody = (extra: Record<string, unknown> = {}) => ({
  location: "westeurope",
  properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "contoso", offer: "gateway", sku: "2026" }, ...extra },
});
const versionBody = (regions: string[] = ["West Europe"]) => ({
  location: "westeurope",
  properties: {
    publishingProfile: { targetRegions: regions.map((name) => ({ name, regionalReplicaCount: 1 })) },
    storageProfile: { source: { virtualMachineId: `${compute("rg-src")}/virtualMachines/capture-vm` } },
  },
});
const scaleSetBody = (imageId: string, capacity = 2) => ({
  location: "westeurope",
  sku: { name: "Standard_D2s_v5", tier: "Standard", capacity },
  properties: { orchestrationMode: "Uniform", upgradePolicy: { mode: "Manual" }, virtualMachineProfile: { storageProfile: { imageReference: { id: imageId } } } },
});

/** An unsigned JWT like Entra ID's (the simulator reads, never verifies, its claims). */
function jwt(claims: Record<string, string>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "none", typ: "JWT" })}.${encode({ aud: "https://management.azure.com/", ...claims })}.sig`;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** One HTTPS request to the simulator; the api-version ARM accepts for the path is added unless given. */
function call(sim: RunningArmSimulator, method: string, path: string, init: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const url = new URL(path, sim.url);
  if (!url.searchParams.has("api-version")) url.searchParams.set("api-version", apiVersionFor(url.pathname));
  const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: sim.caCertPem,
        headers: { authorization: `Bearer ${init.token ?? jwt({ oid: caller.oid, name: caller.name })}`, ...(payload ? { "content-type": "application/json" } : {}), ...(init.headers ?? {}) },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** A clock the test moves: provisioning, replication and throttling follow it, nothing sleeps. */
function manualClock(start = Date.parse("2026-11-25T08:00:00Z")) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

async function simulator(options: ArmSimulatorOptions, groups: string[]): Promise<RunningArmSimulator> {
  const sim = await startArmSimulator(options);
  for (const g of groups) sim.estate.putResourceGroup(SUB, g);
  return sim;
}

function sdk(sim: RunningArmSimulator): ComputeManagementClient {
  const agent = new https.Agent({ ca: sim.caCertPem, keepAlive: true });
  return new ComputeManagementClient(localDevCredential(caller), SUB, {
    endpoint: sim.url,
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [{ position: "perRetry", policy: { name: "trustSimulator", sendRequest: (request, next) => ((request.agent = agent), next(request)) } }],
  });
}

const poll = { updateIntervalInMs: 20 };

describe("long-running operations through the real SDK poller (x-ms-long-running-operation in GalleryRP.json and ComputeRP-2025-04-01/virtualMachineScaleSet.json)", () => {
  let sim: RunningArmSimulator;
  let client: ComputeManagementClient;
  const rg = "rg-lro";
  beforeAll(async () => {
    sim = await simulator({ settleMs: 120 }, [rg]);
    client = sdk(sim);
  });
  afterAll(async () => sim?.close());

  it("beginCreateOrUpdateAndWait for a gallery, an image definition and a version polls the operation until Succeeded (Galleries_CreateOrUpdate, GalleryImages_CreateOrUpdate, GalleryImageVersions_CreateOrUpdate)", async () => {
    const polls = () => sim.requestCounts()["GET operation"] ?? 0;
    const before = polls();
    const gallery = await client.galleries.beginCreateOrUpdateAndWait(rg, "lroGallery", { location: "westeurope", description: "LRO" }, poll);
    expect(gallery).toMatchObject({ name: "lroGallery", provisioningState: "Succeeded", description: "LRO" });
    const definition = await client.galleryImages.beginCreateOrUpdateAndWait(rg, "lroGallery", "def", { location: "westeurope", osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: "o", sku: "s" } }, poll);
    expect(definition.provisioningState).toBe("Succeeded");
    const version = await client.galleryImageVersions.beginCreateOrUpdateAndWait(
      rg,
      "lroGallery",
      "def",
      "1.0.0",
      { location: "westeurope", publishingProfile: { targetRegions: [{ name: "West Europe" }, { name: "North Europe" }] }, storageProfile: { source: { virtualMachineId: `${compute("rg-src")}/virtualMachines/vm` } } },
      poll,
    );
    expect(version.provisioningState).toBe("Succeeded");
    const expanded = await client.galleryImageVersions.get(rg, "lroGallery", "def", "1.0.0", { expand: "ReplicationStatus" });
    expect(expanded.replicationStatus?.aggregatedState).toBe("Completed");
    // The SDK really followed Azure-AsyncOperation: at least one status poll per write.
    expect(polls() - before).toBeGreaterThanOrEqual(3);
  });

  it("beginUpdateAndWait (PATCH, final state via Location) returns the merged gallery; beginDeleteAndWait ends with the resource gone (Galleries_Update, GalleryImageVersions_Delete)", async () => {
    await client.galleries.beginCreateOrUpdateAndWait(rg, "patchGallery", { location: "westeurope", description: "before", tags: { owner: "a", cost: "1" } }, poll);
    const patched = await client.galleries.beginUpdateAndWait(rg, "patchGallery", { tags: { owner: "b" } }, poll);
    expect(patched).toMatchObject({ provisioningState: "Succeeded", description: "before", tags: { owner: "b" } });
    expect(patched.tags).toEqual({ owner: "b" });
    await client.galleryImageVersions.beginDeleteAndWait(rg, "lroGallery", "def", "1.0.0", poll);
    await expect(client.galleryImageVersions.get(rg, "lroGallery", "def", "1.0.0")).rejects.toMatchObject({ statusCode: 404 });
  });

  it("scale sets: created with the api-version the SDK sends, updated by PATCH keeping the rest of sku (VirtualMachineScaleSets_CreateOrUpdate / _Update)", async () => {
    const image = `${compute(rg)}/galleries/lroGallery/images/def`;
    const created = await client.virtualMachineScaleSets.beginCreateOrUpdateAndWait(rg, "vmss", { location: "westeurope", sku: { name: "Standard_D2s_v5", capacity: 2 }, orchestrationMode: "Uniform", virtualMachineProfile: { storageProfile: { imageReference: { id: image } } } }, poll);
    expect(created).toMatchObject({ provisioningState: "Succeeded", sku: { capacity: 2 } });
    const updated = await client.virtualMachineScaleSets.beginUpdateAndWait(rg, "vmss", { sku: { capacity: 5 } }, poll);
    expect(updated.sku).toEqual({ name: "Standard_D2s_v5", capacity: 5 });
    expect(updated.virtualMachineProfile?.storageProfile?.imageReference?.id).toBe(image);
  });

  // Polled over raw HTTPS, not the SDK: Azure's final answer is empty (below), and @azure/arm-compute 24.1.0's
  // gallerySharingProfile.beginUpdateAndWait throws on it ("Cannot read properties of undefined (reading
  // 'operationType')" in sharingUpdateDeserializer). gallery-watch never shares galleries; only people do, with az or curl.
  it("the share action is long-running and ends with an empty result, as Azure's monitor poll answers 200 with no body (GallerySharingProfile_Update; azure-cli-recordings test_create_vm_with_shared_gallery_image.json #10–#12)", async () => {
    const groups = [{ type: "Subscriptions", ids: ["34a4ab42-0d72-47d9-bd1a-aed207386dac"] }];
    const accepted = await call(sim, "POST", `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Compute/galleries/lroGallery/share`, { body: { operationType: "Add", groups } });
    expect([accepted.status, accepted.body]).toEqual([202, undefined]);
    let status = "InProgress";
    while (status === "InProgress") {
      await new Promise((r) => setTimeout(r, 20));
      status = (await call(sim, "GET", String(accepted.headers["azure-asyncoperation"]))).body.status;
    }
    expect(status).toBe("Succeeded");
    const monitor = await call(sim, "GET", String(accepted.headers.location));
    expect([monitor.status, monitor.body]).toEqual([200, undefined]);
    const read = await client.galleries.get(rg, "lroGallery", { select: "Permissions" });
    expect(read.sharingProfile).toMatchObject({ permissions: "Groups", groups });
  });

  it("an operation that ends Failed rejects the poller with the operation's error, and the resource reads Failed (https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations)", async () => {
    sim.faults.add({ kind: "failProvisioning", method: "PUT", path: "/galleries/brokenGallery", times: 1 });
    await expect(client.galleries.beginCreateOrUpdateAndWait(rg, "brokenGallery", { location: "westeurope" }, poll)).rejects.toThrow(/internal execution error/i);
    expect((await client.galleries.get(rg, "brokenGallery")).provisioningState).toBe("Failed");
  });
});

describe("provisioning states and replication follow the settling time (manual clock)", () => {
  const clock = manualClock();
  const rg = "rg-settle";
  const gallery = `${compute(rg)}/galleries/settleGallery`;
  let sim: RunningArmSimulator;
  let receiver: EventReceiver;
  beforeAll(async () => {
    receiver = await startEventReceiver();
    sim = await simulator({ settleMs: 1000, clock: clock.now, eventSink: receiver.sink }, [rg]);
  });
  afterAll(async () => {
    await sim?.close();
    await receiver?.close();
  });

  it("a PUT answers 201 Creating with Azure-AsyncOperation only (capsOperations); the operation-status resource reads InProgress, then Succeeded with endTime (async-operations Learn page; azure-cli-recordings test_gallery_e2e.json #0–#2)", async () => {
    const put = await call(sim, "PUT", gallery, { body: { location: "West Europe", properties: { description: "settling" } } });
    expect(put.status).toBe(201);
    expect(put.body.properties.provisioningState).toBe("Creating");
    const statusUrl = new RegExp(`^${sim.url.replace(/\./g, "\\.")}/subscriptions/${SUB}/providers/Microsoft\\.Compute/locations/westeurope/capsOperations/[0-9a-f-]{36}\\?api-version=2025-03-03$`);
    expect(put.headers["azure-asyncoperation"]).toMatch(statusUrl);
    expect(put.headers.location).toBeUndefined();

    const running = await call(sim, "GET", String(put.headers["azure-asyncoperation"]));
    expect(running.body).toEqual({ name: expect.any(String), status: "InProgress", startTime: "2026-11-25T08:00:00.000Z" });
    clock.advance(999);
    expect((await call(sim, "GET", gallery)).body.properties.provisioningState).toBe("Creating");
    clock.advance(1);
    expect((await call(sim, "GET", String(put.headers["azure-asyncoperation"]))).body).toMatchObject({ status: "Succeeded", endTime: "2026-11-25T08:00:01.000Z" });
    const final = await call(sim, "GET", gallery);
    expect(final.status).toBe(200);
    expect(final.body).toMatchObject({ id: gallery, properties: { provisioningState: "Succeeded", description: "settling" } });

    const update = await call(sim, "PUT", gallery, { body: { location: "West Europe", properties: { description: "again" } } });
    expect(update.status).toBe(200);
    expect(update.body.properties.provisioningState).toBe("Updating");
    clock.advance(1000);
  });

  it("an image version replicates region by region: Replicating with progress → Completed, aggregatedState InProgress → Completed (GalleryImageVersion_Get_WithReplicationStatus.json)", async () => {
    await call(sim, "PUT", `${gallery}/images/def`, { body: definitionBody() });
    clock.advance(1000);
    const version = `${gallery}/images/def/versions/1.0.0`;
    expect((await call(sim, "PUT", version, { body: versionBody(["West Europe", "North Europe", "East US", "UK South"]) })).status).toBe(201);
    const status = async () => (await call(sim, "GET", `${version}?$expand=ReplicationStatus`)).body.properties;
    clock.advance(375); // 4 regions over 1000 ms: the first completes at 250, the second at 500
    let read = await status();
    expect(read.provisioningState).toBe("Creating");
    expect(read.replicationStatus.aggregatedState).toBe("InProgress");
    expect(read.replicationStatus.summary.map((s: any) => [s.region, s.state, s.progress])).toEqual([
      ["West Europe", "Completed", 100],
      ["North Europe", "Replicating", 50],
      ["East US", "Replicating", 0],
      ["UK South", "Replicating", 0],
    ]);
    clock.advance(625);
    read = await status();
    expect(read.provisioningState).toBe("Succeeded");
    expect(read.replicationStatus).toEqual({ aggregatedState: "Completed", summary: ["West Europe", "North Europe", "East US", "UK South"].map((region) => ({ region, state: "Completed", details: "", progress: 100 })) });
    // Adding a region replicates only that one; the others stay Completed.
    await call(sim, "PUT", version, { body: versionBody(["West Europe", "North Europe", "East US", "UK South", "Japan East"]) });
    clock.advance(500);
    read = await status();
    expect(read.provisioningState).toBe("Updating");
    expect(read.replicationStatus.summary.filter((s: any) => s.state !== "Completed")).toEqual([{ region: "Japan East", state: "Replicating", details: "", progress: 50 }]);
    clock.advance(500);
  });

  it("a DELETE answers 202, the resource reads Deleting until settled and then 404; the delete event goes out on acceptance (GalleryImageVersions_Delete; Learn: event-schema-subscriptions)", async () => {
    const version = `${gallery}/images/def/versions/1.0.0`;
    receiver.clear();
    const accepted = await call(sim, "DELETE", version);
    expect(accepted.status).toBe(202);
    // Deletes carry both headers (azure-cli-recordings test_gallery_e2e.json #32).
    expect(accepted.headers["azure-asyncoperation"]).toMatch(/\/providers\/Microsoft\.Compute\/locations\/westeurope\/capsOperations\//);
    expect(accepted.headers.location).toMatch(/\/capsOperations\/[0-9a-f-]{36}\?monitor=true&api-version=/);
    await sim.events.idle();
    expect(receiver.events.map((e) => [e.eventType, e.subject])).toEqual([["Microsoft.Resources.ResourceDeleteSuccess", version]]);
    expect((await call(sim, "GET", version)).body.properties.provisioningState).toBe("Deleting");
    clock.advance(1000);
    const gone = await call(sim, "GET", version);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("ResourceNotFound");
    expect((await call(sim, "GET", String(accepted.headers.location))).status).toBe(204);
  });
});

describe("PATCH merges as the swagger's Update operations do (GalleryImages_Update in GalleryRP.json, VirtualMachineScaleSets_Update)", () => {
  const rg = "rg-patch";
  const definition = `${compute(rg)}/galleries/g/images/def`;
  let sim: RunningArmSimulator;
  beforeAll(async () => {
    sim = await simulator({}, [rg]);
    await armWrite(sim, caller, "PUT", `${compute(rg)}/galleries/g`, { location: "westeurope", properties: {} });
    await armWrite(sim, caller, "PUT", definition, { ...definitionBody({ description: "keep me", recommended: { vCPUs: { min: 2, max: 4 }, memory: { min: 4, max: 16 } } }), tags: { owner: "a", approver: "b" } });
  });
  afterAll(async () => sim?.close());

  it("tags replace as a whole; properties merge deeply; arrays and scalars replace", async () => {
    const patched = await call(sim, "PATCH", definition, { body: { tags: { owner: "c" }, properties: { recommended: { vCPUs: { max: 8 } }, endOfLifeDate: "2027-01-31T00:00:00Z" } } });
    expect(patched.status).toBe(200);
    expect(patched.body.properties.provisioningState).toBeDefined();
    const read = (await call(sim, "GET", definition)).body;
    expect(read.tags).toEqual({ owner: "c" });
    expect(read.properties).toMatchObject({ description: "keep me", osState: "Specialized", endOfLifeDate: "2027-01-31T00:00:00Z", recommended: { vCPUs: { min: 2, max: 8 }, memory: { min: 4, max: 16 } } });
  });

  it("a PATCH without tags keeps them; a PATCH of a resource that does not exist is 404 ResourceNotFound", async () => {
    await call(sim, "PATCH", definition, { body: { properties: { description: "changed" } } });
    expect((await call(sim, "GET", definition)).body).toMatchObject({ tags: { owner: "c" }, properties: { description: "changed" } });
    const missing = await call(sim, "PATCH", `${compute(rg)}/galleries/g/images/nope`, { body: { properties: {} } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("ResourceNotFound");
  });
});

describe("request validation with ARM error bodies and Compute's codes", () => {
  const rg = "rg-valid";
  const gallery = `${compute(rg)}/galleries/g`;
  const definition = `${gallery}/images/def`;
  let sim: RunningArmSimulator;
  beforeAll(async () => {
    sim = await simulator({}, [rg]);
    await armWrite(sim, caller, "PUT", gallery, { location: "westeurope", properties: {} });
    await armWrite(sim, caller, "PUT", definition, definitionBody());
  });
  afterAll(async () => sim?.close());

  const { identifier: _identifier, ...withoutIdentifier } = definitionBody().properties;
  it.each([
    ["definition without osType (GalleryImageProperties.required)", `${gallery}/images/d1`, { location: "westeurope", properties: { osState: "Generalized", identifier: { publisher: "p", offer: "o", sku: "s" } } }, 400, "InvalidParameter", "properties.osType"],
    ["definition without osState", `${gallery}/images/d2`, { location: "westeurope", properties: { osType: "Linux", identifier: { publisher: "p", offer: "o", sku: "s" } } }, 400, "InvalidParameter", "properties.osState"],
    ["definition without identifier", `${gallery}/images/d3`, { location: "westeurope", properties: withoutIdentifier }, 400, "InvalidParameter", "properties.identifier"],
    ["definition without identifier.sku (GalleryImageIdentifier.required)", `${gallery}/images/d4`, { location: "westeurope", properties: { osType: "Linux", osState: "Generalized", identifier: { publisher: "p", offer: "o" } } }, 400, "InvalidParameter", "properties.identifier.sku"],
    ["version without a source (GalleryImageVersion_Create*.json storageProfile.source)", `${definition}/versions/1.0.0`, { location: "westeurope", properties: { publishingProfile: { targetRegions: [{ name: "West Europe" }] } } }, 400, "InvalidParameter", "properties.storageProfile.source"],
    ["version named 1.0 (galleryImageVersionName: Major.Minor.Patch)", `${definition}/versions/1.0`, versionBody(), 400, "InvalidParameter", "galleryImageVersionName"],
    ["version named 1.0.0.0", `${definition}/versions/1.0.0.0`, versionBody(), 400, "InvalidParameter", "galleryImageVersionName"],
    ["version named v1.0.0", `${definition}/versions/v1.0.0`, versionBody(), 400, "InvalidParameter", "galleryImageVersionName"],
    ["version 1.0.4294967296 (beyond int32)", `${definition}/versions/1.0.4294967296`, versionBody(), 400, "InvalidParameter", "galleryImageVersionName"],
    ["a change of osState (409, as Compute answers)", definition, definitionBody({ osState: "Generalized" }), 409, "PropertyChangeNotAllowed", "galleryImage.properties.osState"],
    ["a change of identifier.offer", definition, definitionBody({ identifier: { publisher: "contoso", offer: "other", sku: "2026" } }), 409, "PropertyChangeNotAllowed", "galleryImage.properties.identifier.offer"],
    ["a gallery in a resource group that does not exist", `${compute("rg-nowhere")}/galleries/g`, { location: "westeurope", properties: {} }, 404, "ResourceGroupNotFound", undefined],
    ["a definition whose gallery does not exist", `${compute(rg)}/galleries/nope/images/def`, definitionBody(), 404, "ParentResourceNotFound", undefined],
    ["a scale set from a gallery image that does not exist", `${compute(rg)}/virtualMachineScaleSets/vmss`, scaleSetBody(`${gallery}/images/missing`), 404, "GalleryImageNotFound", "imageReference.id"],
    ["a scale set pinned to a version that does not exist", `${compute(rg)}/virtualMachineScaleSets/vmss`, scaleSetBody(`${definition}/versions/9.9.9`), 404, "GalleryImageNotFound", "imageReference.id"],
    ["a tracked resource without location", `${gallery}/images/d5`, { properties: definitionBody().properties }, 400, "LocationRequired", undefined],
  ])("refuses %s", async (_label, path, body, status, code, target) => {
    const before = sim.estate.get(path);
    const answer = await call(sim, "PUT", path, { body });
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject({ code, message: expect.any(String) });
    if (target) expect(answer.body.error.target).toBe(target);
    // A refused write changes nothing.
    expect(sim.estate.get(path)).toEqual(before);
  });

  it("PATCH is validated on the merged result: osState cannot change that way either (409 PropertyChangeNotAllowed)", async () => {
    const answer = await call(sim, "PATCH", definition, { body: { properties: { osState: "Generalized" } } });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("PropertyChangeNotAllowed");
    expect(sim.estate.get(definition)!.properties).toMatchObject({ osState: "Specialized" });
  });

  it("accepts a version with its source under storageProfile.osDiskImage.source (GalleryImageVersion_Create.json), and a scale set from an existing definition", async () => {
    const version = await call(sim, "PUT", `${definition}/versions/2.0.0`, { body: { location: "westeurope", properties: { storageProfile: { osDiskImage: { source: { id: `${compute("rg-src")}/snapshots/os` } } } } } });
    expect(version.status).toBe(201);
    expect((await call(sim, "PUT", `${compute(rg)}/virtualMachineScaleSets/vmss-ok`, { body: scaleSetBody(definition) })).status).toBe(201);
  });

  it.each([
    // Older versions too, as Azure accepted them from the Azure CLI (azure-cli-recordings: 2020-09-30 for definitions, 2021-07-01 and 2022-01-03; 2022-11-01 is what `az vmss create` 2.45 sends).
    ["a gallery", `${gallery}`, ["2020-09-30", "2021-07-01", "2022-01-03", "2022-03-03", "2023-07-03", "2024-03-03", "2025-03-03"], ["2021-03-01", "2025-04-01"]],
    ["a scale set", `${compute(rg)}/virtualMachineScaleSets/vmss-ok`, ["2021-07-01", "2021-11-01", "2022-11-01", "2023-09-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-04-01"], ["2025-03-03", "2020-09-30"]],
    ["a resource group", rgPath(rg), ["2021-04-01", "2025-04-01"], ["2020-06-01"]],
  ])("api-version for %s: accepts the service's versions, refuses others with 400 InvalidApiVersionParameter in ARM's message shape", async (_label, path, accepted, refused) => {
    for (const version of accepted) expect((await call(sim, "GET", `${path}?api-version=${version}`)).status, version).toBe(200);
    for (const version of refused) {
      const answer = await call(sim, "GET", `${path}?api-version=${version}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe("InvalidApiVersionParameter");
      expect(answer.body.error.message).toMatch(new RegExp(`^The api-version '${version}' is invalid\\. The supported versions are '[0-9a-z,-]+'\\.$`));
      expect(answer.body.error.message).toContain(accepted.at(-1));
    }
  });

  it("seeded resources bypass validation and bring their resource group with them", async () => {
    const seeded = `${compute("rg-seeded")}/galleries/old/images/legacy`;
    sim.estate.put({ id: `${compute("rg-seeded")}/galleries/old`, body: { location: "westeurope", properties: {} } });
    sim.estate.put({ id: seeded, body: { location: "westeurope", properties: { osType: "Windows" } } });
    expect((await call(sim, "GET", seeded)).body.properties).toMatchObject({ osType: "Windows", provisioningState: "Succeeded" });
    expect((await call(sim, "GET", rgPath("rg-seeded"))).body).toMatchObject({ name: "rg-seeded", type: "Microsoft.Resources/resourceGroups", location: "westeurope" });
  });
});

describe("reads as Azure serves them", () => {
  const rg = "rg-reads";
  const gallery = `${compute(rg)}/galleries/shared`;
  const groups = [{ type: "Subscriptions", ids: ["34a4ab42-0d72-47d9-bd1a-aed207386dac", "380fd389-260b-41aa-bad9-0a83108c370b"] }, { type: "AADTenants", ids: ["c24c76aa-8897-4027-9b03-8f7928b54ff6"] }];
  let sim: RunningArmSimulator;
  beforeAll(async () => {
    sim = await simulator({}, []);
    sim.estate.put({ id: gallery, body: { location: "westus", properties: { description: "d", sharingProfile: { permissions: "Groups", groups } } } });
    sim.estate.put({ id: `${compute(rg)}/galleries/private`, body: { location: "westus", properties: { description: "p" } } });
    sim.estate.put({ id: `${gallery}/images/def`, body: definitionBody() });
    sim.estate.put({ id: `${gallery}/images/def/versions/1.0.0`, body: versionBody(["West Europe", "East US"]) });
  });
  afterAll(async () => sim?.close());

  it("a plain GET of a Groups gallery carries its sharingProfile, a private gallery's none; lists carry none (azure-cli-recordings test_create_vm_with_shared_gallery_image.json #2, test_gallery_e2e.json #2–#4; Gallery_ListBySubscription.json)", async () => {
    expect((await call(sim, "GET", gallery)).body.properties.sharingProfile).toEqual({ permissions: "Groups", groups });
    expect((await call(sim, "GET", `${compute(rg)}/galleries/private`)).body.properties).not.toHaveProperty("sharingProfile");
    for (const list of [`/subscriptions/${SUB}/providers/Microsoft.Compute/galleries`, `${compute(rg)}/galleries`]) {
      const page = (await call(sim, "GET", list)).body;
      expect(page.value).toHaveLength(2);
      for (const item of page.value) expect(item.properties).not.toHaveProperty("sharingProfile");
      expect(page.value.map((g: any) => g.properties.identifier.uniqueName)).toEqual([`${SUB}-PRIVATE`, `${SUB}-SHARED`]);
    }
  });

  it("the resource-group-scoped gallery list answers ids with the group upper-cased; the subscription list and the lists under a gallery keep its case (test_gallery_e2e.json #3 against #8, #12)", async () => {
    const byGroup = (await call(sim, "GET", `${compute(rg)}/galleries`)).body.value.map((g: any) => g.id);
    expect(byGroup).toEqual([`${compute(rg.toUpperCase())}/galleries/private`, `${compute(rg.toUpperCase())}/galleries/shared`]);
    expect((await call(sim, "GET", `${gallery}/images`)).body.value.map((d: any) => d.id)).toEqual([`${gallery}/images/def`]);
  });

  it("$select=Permissions shows a private gallery's {permissions: Private} (test_community_gallery_operations.json #27)", async () => {
    expect((await call(sim, "GET", `${compute(rg)}/galleries/private?$select=Permissions`)).body.properties.sharingProfile).toEqual({ permissions: "Private" });
  });

  it("with $select=Permissions or $expand=SharingProfile/Groups it has permissions and groups (Gallery_Get_WithSelectPermissions.json, Gallery_Get_WithExpandSharingProfileGroups.json)", async () => {
    for (const query of ["$select=Permissions", "$expand=SharingProfile/Groups"]) {
      expect((await call(sim, "GET", `${gallery}?${query}`)).body.properties.sharingProfile, query).toEqual({ permissions: "Groups", groups });
    }
  });

  it("an image version carries replicationStatus only with $expand=ReplicationStatus (GalleryImageVersions_Get $expand)", async () => {
    const version = `${gallery}/images/def/versions/1.0.0`;
    expect((await call(sim, "GET", version)).body.properties).not.toHaveProperty("replicationStatus");
    expect((await call(sim, "GET", `${compute(rg)}/galleries/shared/images/def/versions`)).body.value[0].properties).not.toHaveProperty("replicationStatus");
    expect((await call(sim, "GET", `${version}?$expand=ReplicationStatus`)).body.properties.replicationStatus).toMatchObject({ aggregatedState: "Completed", summary: [{ region: "West Europe" }, { region: "East US" }] });
  });
});

describe.skipIf(fixturesDir() === undefined)("the share action answers 202 with an empty body, as Azure did (azure-cli-recordings test_community_gallery_operations.json #3, #24; test_create_vm_with_shared_gallery_image.json #10; requests of Gallery_AddToSharingProfile.json, Gallery_EnableCommunityGallery.json, Gallery_ResetSharingProfile.json)", () => {
  const rg = "rg-share";
  const gallery = `${compute(rg)}/galleries/myGalleryName`;
  const example = (name: string) => readFixture<any>(`azure-rest-api-specs/GalleryRP-2025-03-03/examples/${name}`);
  let sim: RunningArmSimulator;
  beforeAll(async () => {
    sim = await simulator({}, [rg]);
    await armWrite(sim, caller, "PUT", gallery, { location: "westus", properties: { description: "community candidate" } });
  });
  afterAll(async () => sim?.close());

  it("Add: 202 with no body, Azure-AsyncOperation and Location (monitor) on capsOperations; the monitor poll answers 200 with no body; the gallery now shares to those groups", async () => {
    const add = example("Gallery_AddToSharingProfile.json");
    const answer = await call(sim, "POST", `${gallery}/share`, { body: add.parameters.sharingUpdate });
    expect(answer.status).toBe(202);
    expect(answer.body).toBeUndefined();
    expect(answer.headers["azure-asyncoperation"]).toMatch(/\/locations\/westus\/capsOperations\/[0-9a-f-]{36}\?api-version=/);
    expect(answer.headers.location).toMatch(/\/locations\/westus\/capsOperations\/[0-9a-f-]{36}\?monitor=true&api-version=/);
    const monitor = await call(sim, "GET", String(answer.headers.location));
    expect([monitor.status, monitor.body]).toEqual([200, undefined]);
    expect((await call(sim, "GET", `${gallery}?$select=Permissions`)).body.properties.sharingProfile).toEqual({ permissions: "Groups", groups: add.parameters.sharingUpdate.groups });
  });

  it("EnableCommunity is refused until sharingProfile.communityGalleryInfo is set (CommunityGallery_Create.json sets it); the public name is assigned at that write, enabled only by EnableCommunity (test_community_gallery_operations.json #0, #18)", async () => {
    const enable = example("Gallery_EnableCommunityGallery.json");
    const refused = await call(sim, "POST", `${gallery}/share`, { body: enable.parameters.sharingUpdate });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: "InvalidParameter", target: "sharingProfile.communityGalleryInfo" });
    const info = example("CommunityGallery_Create.json").parameters.gallery.properties.sharingProfile.communityGalleryInfo;
    const written = (await armWrite(sim, caller, "PATCH", gallery, { properties: { sharingProfile: { communityGalleryInfo: info } } })).body as any;
    const { publicNamePrefix: _prefix, ...echoed } = info;
    expect(written.properties.sharingProfile.communityGalleryInfo).toEqual({ ...echoed, communityGalleryEnabled: false, publicNames: [expect.stringMatching(/^PirPublic-[0-9a-f-]{36}$/)] });
    const publicNames = written.properties.sharingProfile.communityGalleryInfo.publicNames;
    const answer = await call(sim, "POST", `${gallery}/share`, { body: enable.parameters.sharingUpdate });
    expect(answer.status).toBe(202);
    expect(answer.body).toBeUndefined();
    const sharing = (await call(sim, "GET", `${gallery}?$select=Permissions`)).body.properties.sharingProfile;
    expect(sharing.permissions).toBe("Community");
    expect(sharing.communityGalleryInfo).toEqual({ ...echoed, communityGalleryEnabled: true, publicNames });
  });

  it("Reset: 202 with no body, and the gallery is Private again", async () => {
    const reset = example("Gallery_ResetSharingProfile.json");
    const answer = await call(sim, "POST", `${gallery}/share`, { body: reset.parameters.sharingUpdate });
    expect([answer.status, answer.body]).toEqual([202, undefined]);
    expect((await call(sim, "GET", `${gallery}?$select=Permissions`)).body.properties.sharingProfile).toEqual({ permissions: "Private" });
  });

  it("an unknown operationType is 400 InvalidParameter", async () => {
    const answer = await call(sim, "POST", `${gallery}/share`, { body: { operationType: "Publish" } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("InvalidParameter");
  });
});

describe("throttling per subscription and principal, reads and writes apart (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling)", () => {
  const clock = manualClock();
  const rg = "rg-throttle";
  const gallery = `${compute(rg)}/galleries/g`;
  let sim: RunningArmSimulator;
  beforeAll(async () => {
    sim = await simulator({ clock: clock.now, throttle: { reads: { burst: 3, perSecond: 1 }, writes: { burst: 2, perSecond: 0.25 } } }, [rg]);
    sim.estate.put({ id: gallery, body: { location: "westeurope", properties: {} } });
  });
  afterAll(async () => sim?.close());

  it("counts down x-ms-ratelimit-remaining-subscription-reads, answers 429 SubscriptionRequestsThrottled with Retry-After when empty, and refills with time", async () => {
    const token = jwt({ oid: "aaaaaaaa-0000-4000-8000-000000000001" });
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await call(sim, "GET", gallery, { token });
      expect(answer.status).toBe(200);
      remaining.push(String(answer.headers["x-ms-ratelimit-remaining-subscription-reads"]));
    }
    expect(remaining).toEqual(["2", "1", "0"]);
    const throttled = await call(sim, "GET", gallery, { token });
    expect(throttled.status).toBe(429);
    expect(throttled.body.error.code).toBe("SubscriptionRequestsThrottled");
    expect(throttled.headers["retry-after"]).toBe("1");
    expect(sim.requestCounts()["THROTTLED reads"]).toBe(1);
    // Writes have their own bucket.
    const write = await call(sim, "PUT", gallery, { token, body: { location: "westeurope", properties: {} } });
    expect(write.status).toBe(200);
    expect(write.headers["x-ms-ratelimit-remaining-subscription-writes"]).toBe("1");
    clock.advance(1000);
    expect((await call(sim, "GET", gallery, { token })).status).toBe(200);
  });

  it("Retry-After is whole seconds until a token is back (writes refill 0.25/s → 4)", async () => {
    const token = jwt({ oid: "aaaaaaaa-0000-4000-8000-000000000002" });
    for (let i = 0; i < 2; i++) expect((await call(sim, "PATCH", gallery, { token, body: { tags: { i: String(i) } } })).status).toBe(200);
    const throttled = await call(sim, "DELETE", `${gallery}/images/none`, { token });
    expect(throttled.status).toBe(429);
    expect(throttled.headers["retry-after"]).toBe("4");
    expect(throttled.headers["x-ms-ratelimit-remaining-subscription-writes"]).toBe("0");
    expect(sim.requestCounts()["THROTTLED writes"]).toBe(1);
  });

  it("a 429 names the principal (oid and UPN), never the bearer token", async () => {
    const exhaust = async (token: string) => {
      for (let i = 0; i < 3; i++) await call(sim, "GET", gallery, { token });
      return call(sim, "GET", gallery, { token });
    };
    const named = jwt({ oid: "aaaaaaaa-0000-4000-8000-000000000006", upn: "priya.patel@contoso.example" });
    const answer = await exhaust(named);
    expect(answer.status).toBe(429);
    expect(answer.body.error.message).toContain("actor 'aaaaaaaa-0000-4000-8000-000000000006 (priya.patel@contoso.example)'");
    expect(JSON.stringify(answer.body)).not.toContain(named);
    // A token that is no JWT, or carries no oid or appid, is keyed by a fingerprint: its text never comes back.
    for (const token of ["opaque-secret-token-value-0123456789", jwt({ upn: "sam.okafor@contoso.example" })]) {
      const refused = await exhaust(token);
      expect(refused.status).toBe(429);
      expect(JSON.stringify(refused.body)).not.toContain(token);
      expect(JSON.stringify(refused.body)).not.toContain(token.slice(0, 20));
      expect(refused.body.error.message).toMatch(/actor '(sam\.okafor@contoso\.example \()?token-sha256:[0-9a-f]{16}/);
    }
  });

  it("another principal (oid, else appid, else the token's fingerprint) has its own bucket", async () => {
    const exhaust = async (token: string) => {
      for (let i = 0; i < 3; i++) await call(sim, "GET", gallery, { token });
      return (await call(sim, "GET", gallery, { token })).status;
    };
    expect(await exhaust(jwt({ oid: "aaaaaaaa-0000-4000-8000-000000000003" }))).toBe(429);
    expect(await exhaust(jwt({ appid: "bbbbbbbb-0000-4000-8000-000000000004" }))).toBe(429);
    expect(await exhaust("opaque-token-1")).toBe(429);
    expect((await call(sim, "GET", gallery, { token: "opaque-token-2" })).status).toBe(200);
    expect((await call(sim, "GET", gallery, { token: jwt({ oid: "aaaaaaaa-0000-4000-8000-000000000005" }) })).status).toBe(200);
  });
});

describe("resource groups and the Tags API (https://learn.microsoft.com/rest/api/resources/resource-groups, https://learn.microsoft.com/rest/api/resources/tags)", () => {
  const clock = manualClock();
  let sim: RunningArmSimulator;
  let receiver: EventReceiver;
  beforeAll(async () => {
    receiver = await startEventReceiver();
    sim = await simulator({ clock: clock.now, settleMs: 2000, eventSink: receiver.sink }, []);
  });
  afterAll(async () => {
    await sim?.close();
    await receiver?.close();
  });

  it("PUT creates a group (201), again updates it (200); a write into it then works", async () => {
    const created = await call(sim, "PUT", rgPath("rg-life"), { body: { location: "westeurope", tags: { team: "images" } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: rgPath("rg-life"), name: "rg-life", type: "Microsoft.Resources/resourceGroups", location: "westeurope", tags: { team: "images" }, properties: { provisioningState: "Succeeded" } });
    expect((await call(sim, "PUT", rgPath("rg-life"), { body: { location: "westeurope" } })).status).toBe(200);
    expect((await call(sim, "PUT", `${compute("rg-life")}/galleries/g`, { body: { location: "westeurope", properties: {} } })).status).toBe(201);
  });

  it("DELETE is long-running (202 + Location), removes everything inside, and emits only the group's ResourceDeleteSuccess", async () => {
    await call(sim, "PUT", `${compute("rg-life")}/galleries/g/images/def`, { body: definitionBody() });
    await call(sim, "PUT", `${compute("rg-life")}/galleries/g/images/def/versions/1.0.0`, { body: versionBody() });
    clock.advance(2000);
    await sim.events.idle();
    receiver.clear();
    const accepted = await call(sim, "DELETE", rgPath("rg-life"));
    expect(accepted.status).toBe(202);
    expect(accepted.headers.location).toMatch(new RegExp(`/subscriptions/${SUB}/operationresults/[0-9a-f-]{36}\\?api-version=2021-04-01$`));
    expect((await call(sim, "GET", String(accepted.headers.location))).status).toBe(202);
    expect((await call(sim, "GET", rgPath("rg-life"))).body.properties.provisioningState).toBe("Deleting");
    expect((await call(sim, "PUT", `${compute("rg-life")}/galleries/late`, { body: { location: "westeurope", properties: {} } })).body.error.code).toBe("ResourceGroupBeingDeleted");
    clock.advance(2000);
    expect((await call(sim, "GET", String(accepted.headers.location))).status).toBe(200);
    expect((await call(sim, "GET", rgPath("rg-life"))).body.error.code).toBe("ResourceGroupNotFound");
    expect((await call(sim, "GET", `${compute("rg-life")}/galleries/g/images/def/versions/1.0.0`)).body.error.code).toBe("ResourceGroupNotFound");
    expect(sim.estate.list().filter((r) => r.id.includes("/rg-life/"))).toEqual([]);
    await sim.events.idle();
    expect(receiver.events).toHaveLength(1);
    expect(receiver.events[0]).toMatchObject({
      eventType: "Microsoft.Resources.ResourceDeleteSuccess",
      subject: rgPath("rg-life"),
      data: { operationName: "Microsoft.Resources/subscriptions/resourceGroups/delete", resourceUri: rgPath("rg-life"), resourceProvider: "Microsoft.Resources" },
    });
    expect((await call(sim, "DELETE", rgPath("rg-life"))).status).toBe(404);
  });

  it("tags: PUT replaces, PATCH Merge / Replace / Delete; each emits Microsoft.Resources/tags/write on {resourceId}/providers/Microsoft.Resources/tags/default", async () => {
    await call(sim, "PUT", rgPath("rg-tags"), { body: { location: "westeurope" } });
    const gallery = `${compute("rg-tags")}/galleries/g`;
    await call(sim, "PUT", gallery, { body: { location: "westeurope", tags: { owner: "a" }, properties: {} } });
    await sim.events.idle();
    receiver.clear();
    const tagsUri = `${gallery}/providers/Microsoft.Resources/tags/default`;
    const put = await call(sim, "PUT", tagsUri, { body: { properties: { tags: { owner: "b", approver: "c" } } } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ id: tagsUri, name: "default", type: "Microsoft.Resources/tags", properties: { tags: { owner: "b", approver: "c" } } });
    await call(sim, "PATCH", tagsUri, { body: { operation: "Merge", properties: { tags: { cost: "7" } } } });
    expect(sim.estate.get(gallery)!.tags).toEqual({ owner: "b", approver: "c", cost: "7" });
    await call(sim, "PATCH", tagsUri, { body: { operation: "Delete", properties: { tags: { approver: "c" } } } });
    expect(sim.estate.get(gallery)!.tags).toEqual({ owner: "b", cost: "7" });
    await call(sim, "PATCH", tagsUri, { body: { operation: "Replace", properties: { tags: { only: "this" } } } });
    expect((await call(sim, "GET", gallery)).body.tags).toEqual({ only: "this" });
    await sim.events.idle();
    expect(receiver.events).toHaveLength(4);
    for (const event of receiver.events) {
      expect(event).toMatchObject({ eventType: "Microsoft.Resources.ResourceWriteSuccess", subject: tagsUri, data: { operationName: "Microsoft.Resources/tags/write", resourceUri: tagsUri, resourceProvider: "Microsoft.Resources" } });
    }
    const bad = await call(sim, "PATCH", tagsUri, { body: { operation: "Upsert", properties: { tags: {} } } });
    expect(bad.status).toBe(400);
    expect((await call(sim, "PUT", `${compute("rg-tags")}/galleries/none/providers/Microsoft.Resources/tags/default`, { body: { properties: { tags: {} } } })).status).toBe(404);
  });
});

describe("the rest of a subscription topic's traffic, on demand and at a rate (Learn: event-schema-subscriptions)", () => {
  const rg = "rg-noise";
  const scaleSet = `${compute(rg)}/virtualMachineScaleSets/vmss`;
  const gallery = `${compute(rg)}/galleries/g`;
  let sim: RunningArmSimulator;
  let receiver: EventReceiver;
  beforeAll(async () => {
    receiver = await startEventReceiver();
    sim = await simulator({ eventSink: receiver.sink }, []);
    sim.estate.put({ id: gallery, body: { location: "westeurope", properties: {} } });
    sim.estate.put({ id: scaleSet, body: scaleSetBody(`${gallery}/images/def`, 3) });
  });
  afterAll(async () => {
    await sim?.close();
    await receiver?.close();
  });

  it("emits instance, extension, restart, start, application and application-version events with Compute's operation names", async () => {
    receiver.clear();
    expect(sim.noise.emit("scaleSetInstance", 2)).toEqual([`${scaleSet}/virtualMachines/0`, `${scaleSet}/virtualMachines/1`]);
    sim.noise.emit("scaleSetExtension");
    sim.noise.emit("scaleSetRestart");
    sim.noise.emit("scaleSetStart");
    sim.noise.emit("galleryApplication");
    sim.noise.emit("galleryApplicationVersion");
    await sim.events.idle();
    expect(receiver.events.map((e) => [e.eventType, e.data.operationName, e.subject.replace(compute(rg), "")])).toEqual([
      ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write", "/virtualMachineScaleSets/vmss/virtualMachines/0"],
      ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write", "/virtualMachineScaleSets/vmss/virtualMachines/1"],
      ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/virtualMachineScaleSets/extensions/write", expect.stringMatching(/^\/virtualMachineScaleSets\/vmss\/extensions\/\w+$/)],
      ["Microsoft.Resources.ResourceActionSuccess", "Microsoft.Compute/virtualMachineScaleSets/restart/action", "/virtualMachineScaleSets/vmss"],
      ["Microsoft.Resources.ResourceActionSuccess", "Microsoft.Compute/virtualMachineScaleSets/start/action", "/virtualMachineScaleSets/vmss"],
      ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/galleries/applications/write", expect.stringMatching(/^\/galleries\/g\/applications\/[\w-]+$/)],
      ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/galleries/applications/versions/write", expect.stringMatching(/^\/galleries\/g\/applications\/[\w-]+\/versions\/1\.0\.\d+$/)],
    ]);
  });

  it("a capacity change is a real write of the scale set: sku.capacity changes and a normal write event names it", async () => {
    receiver.clear();
    const before = Number((sim.estate.get(scaleSet) as any).sku.capacity);
    sim.noise.emit("scaleSetCapacity");
    const after = Number((sim.estate.get(scaleSet) as any).sku.capacity);
    expect(Math.abs(after - before)).toBe(1);
    expect((await call(sim, "GET", scaleSet)).body.sku.capacity).toBe(after);
    await sim.events.idle();
    expect(receiver.events).toHaveLength(1);
    expect(receiver.events[0]).toMatchObject({ eventType: "Microsoft.Resources.ResourceWriteSuccess", subject: scaleSet, data: { operationName: "Microsoft.Compute/virtualMachineScaleSets/write", claims: { name: "Azure Monitor Autoscale" } } });
  });

  it("start({ perSecond, kinds }) keeps producing until stop()", async () => {
    receiver.clear();
    sim.noise.start({ perSecond: 50, kinds: ["scaleSetExtension", "galleryApplication"] });
    expect(sim.noise.running).toBe(true);
    const deadline = Date.now() + 10_000;
    while (receiver.events.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    sim.noise.stop();
    expect(sim.noise.running).toBe(false);
    expect(receiver.events.length).toBeGreaterThanOrEqual(6);
    expect(new Set(receiver.events.map((e) => e.data.operationName))).toEqual(new Set(["Microsoft.Compute/virtualMachineScaleSets/extensions/write", "Microsoft.Compute/galleries/applications/write"]));
  });

  it("can be driven with curl: POST /_simulator/noise emits now, starts at a rate and stops", async () => {
    receiver.clear();
    const post = async (body: unknown) => {
      const response = await new Promise<{ status: number; body: any }>((resolve, reject) => {
        const payload = JSON.stringify(body);
        const req = https.request(`${sim.url}/_simulator/noise`, { method: "POST", ca: sim.caCertPem, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
        req.on("error", reject);
        req.end(payload);
      });
      return response;
    };
    expect(await post({ kind: "scaleSetRestart", count: 2 })).toMatchObject({ status: 200, body: { emitted: [scaleSet, scaleSet] } });
    expect(await post({ perSecond: 20, kinds: ["galleryApplication"] })).toEqual({ status: 200, body: { running: true } });
    expect(await post({ stop: true })).toEqual({ status: 200, body: { running: false } });
    expect((await post({ kind: "nonsense" })).status).toBe(400);
    await sim.events.idle();
    expect(receiver.events.filter((e) => e.data.operationName === "Microsoft.Compute/virtualMachineScaleSets/restart/action")).toHaveLength(2);
  });

  it("refuses a kind it has nothing to act on", async () => {
    const empty = await startArmSimulator({});
    try {
      expect(() => empty.noise.emit("scaleSetRestart")).toThrow(/no scale set/);
    } finally {
      await empty.close();
    }
  });
});

describe("lost deliveries on demand: a write with x-simulator-drop-event: true changes the estate and emits nothing", () => {
  const rg = "rg-drop";
  const gallery = `${compute(rg)}/galleries/g`;
  let sim: RunningArmSimulator;
  let receiver: EventReceiver;
  const drop = { "x-simulator-drop-event": "true" };
  beforeAll(async () => {
    receiver = await startEventReceiver();
    sim = await simulator({ eventSink: receiver.sink }, []);
  });
  afterAll(async () => {
    await sim?.close();
    await receiver?.close();
  });

  it("PUT / PATCH / POST / tags / DELETE of a resource and of a resource group", async () => {
    await call(sim, "PUT", rgPath(rg), { body: { location: "westeurope" }, headers: drop });
    await call(sim, "PUT", gallery, { body: { location: "westeurope", properties: {} }, headers: drop });
    await call(sim, "PATCH", gallery, { body: { tags: { a: "1" } }, headers: drop });
    await call(sim, "PATCH", `${gallery}/providers/Microsoft.Resources/tags/default`, { body: { operation: "Merge", properties: { tags: { b: "2" } } }, headers: drop });
    await call(sim, "PATCH", gallery, { body: { properties: { sharingProfile: { communityGalleryInfo: { publisherUri: "https://contoso.example", publisherContact: "c@contoso.example", eula: "eula", publicNamePrefix: "contoso" } } } }, headers: drop });
    await call(sim, "POST", `${gallery}/share`, { body: { operationType: "EnableCommunity" }, headers: drop });
    expect(sim.estate.get(gallery)).toMatchObject({ tags: { a: "1", b: "2" }, properties: { sharingProfile: { permissions: "Community" } } });
    // A control write that is delivered: only its event arrives.
    await call(sim, "PUT", `${gallery}/images/def`, { body: definitionBody() });
    await call(sim, "DELETE", gallery.replace("/galleries/g", "/galleries/g/images/def"), { headers: drop });
    await call(sim, "DELETE", rgPath(rg), { headers: drop });
    expect(sim.estate.get(gallery)).toBeUndefined();
    await sim.events.idle();
    expect(receiver.events.map((e) => [e.eventType, e.subject])).toEqual([["Microsoft.Resources.ResourceWriteSuccess", `${gallery}/images/def`]]);
  });

  it("an action event's subject is the gallery acted on (Learn: ResourceActionSuccess example)", async () => {
    sim.estate.put({ id: `${compute("rg-act")}/galleries/g`, body: { location: "westeurope", properties: {} } });
    receiver.clear();
    await armWrite(sim, caller, "POST", `${compute("rg-act")}/galleries/g/share`, { operationType: "Add", groups: [{ type: "Subscriptions", ids: ["34a4ab42-0d72-47d9-bd1a-aed207386dac"] }] });
    await sim.events.idle();
    expect(receiver.events.map((e) => [e.eventType, e.subject, e.data.resourceUri, e.data.operationName])).toEqual([
      ["Microsoft.Resources.ResourceActionSuccess", `${compute("rg-act")}/galleries/g`, `${compute("rg-act")}/galleries/g`, "Microsoft.Compute/galleries/share/action"],
    ]);
  });
});
