/**
 * What Microsoft's recorded Azure traffic (../shared/fixtures/azure-cli-recordings/, replayed in full
 * by test/conformance/azureCliReplay.test.ts) and Learn say the simulator must do beyond the replay:
 * decoded paths in events, today's throttling counters, and the shared / community gallery reads
 * through the real @azure/arm-compute client gallery-watch uses.
 */
import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ComputeManagementClient } from "@azure/arm-compute";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { armWrite } from "../../local/armWrite.js";
import { localDevCredential } from "../../local/localCredential.js";
import { armRequest } from "../conformance/armHttp.js";
import { startEventReceiver, type EventReceiver } from "../support/eventReceiver.js";

const SUB = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
const OTHER_SUB = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
const caller = { name: "Ada Admin", upn: "ada@contoso.example", oid: "2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b" };
const compute = (rg: string) => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Compute`;

function sdk(sim: RunningArmSimulator, subscriptionId: string): ComputeManagementClient {
  const agent = new https.Agent({ ca: sim.caCertPem, keepAlive: true });
  return new ComputeManagementClient(localDevCredential(caller), subscriptionId, {
    endpoint: sim.url,
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [{ position: "perRetry", policy: { name: "trustSimulator", sendRequest: (request, next) => ((request.agent = agent), next(request)) } }],
  });
}

describe("request paths are percent-decoded, as ARM decodes them", () => {
  let sim: RunningArmSimulator;
  let receiver: EventReceiver;
  beforeAll(async () => {
    receiver = await startEventReceiver();
    sim = await startArmSimulator({ eventSink: receiver.sink });
  });
  afterAll(async () => {
    await sim?.close();
    await receiver?.close();
  });

  it("PUT resourceGroups/rg-z%C3%BCrich creates rg-zürich; the group's and the gallery's events carry the decoded ids", async () => {
    const encoded = `/subscriptions/${SUB}/resourceGroups/rg-z%C3%BCrich`;
    const created = await armWrite(sim, caller, "PUT", encoded, { location: "switzerlandnorth" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "rg-zürich", id: `/subscriptions/${SUB}/resourceGroups/rg-zürich` });
    const gallery = await armWrite(sim, caller, "PUT", `${encoded}/providers/Microsoft.Compute/galleries/g1`, { location: "westeurope" });
    expect((gallery.body as any).id).toBe(`${compute("rg-zürich")}/galleries/g1`);
    // Read back under either spelling of the same name.
    expect((await armRequest(sim, "GET", `${compute("rg-zürich")}/galleries/g1`, { apiVersion: "2025-03-03" })).status).toBe(200);
    await sim.events.idle();
    expect(receiver.events.map((e) => e.subject)).toEqual([`/subscriptions/${SUB}/resourceGroups/rg-zürich`, `${compute("rg-zürich")}/galleries/g1`]);
    expect(receiver.events[1].data.resourceUri).toBe(`${compute("rg-zürich")}/galleries/g1`);
  });

  it("a malformed percent-encoding is a clear 400, not a 5xx", async () => {
    const answer = await armRequest(sim, "GET", `${sim.url}/subscriptions/${SUB}/resourceGroups/rg-%E0%A4?api-version=2021-04-01`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("InvalidRequestUri");
  });
});

describe("throttling counters as today's ARM sends them (Learn: Understand how Azure Resource Manager throttles requests)", () => {
  let sim: RunningArmSimulator;
  beforeAll(async () => {
    sim = await startArmSimulator({ clock: () => Date.parse("2026-12-01T00:00:00Z") });
    sim.estate.put({ id: `${compute("rg-t")}/galleries/g`, body: { location: "westeurope", properties: {} } });
  });
  afterAll(async () => sim?.close());

  it("a read carries the principal's remaining reads (249 of 250) and the subscription's global remaining reads (3749 of 3750), shared by every principal", async () => {
    const jwt = (oid: string) => `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ oid })).toString("base64url")}.`;
    const first = await armRequest(sim, "GET", `${compute("rg-t")}/galleries/g`, { apiVersion: "2025-03-03", bearer: jwt("aaaaaaaa-0000-4000-8000-00000000000a") });
    expect([first.headers["x-ms-ratelimit-remaining-subscription-reads"], first.headers["x-ms-ratelimit-remaining-subscription-global-reads"]]).toEqual(["249", "3749"]);
    const other = await armRequest(sim, "GET", `${compute("rg-t")}/galleries/g`, { apiVersion: "2025-03-03", bearer: jwt("aaaaaaaa-0000-4000-8000-00000000000b") });
    expect([other.headers["x-ms-ratelimit-remaining-subscription-reads"], other.headers["x-ms-ratelimit-remaining-subscription-global-reads"]]).toEqual(["249", "3748"]);
    const write = await armRequest(sim, "PATCH", `${compute("rg-t")}/galleries/g`, { apiVersion: "2025-03-03", body: { tags: { a: "b" } }, bearer: jwt("aaaaaaaa-0000-4000-8000-00000000000a") });
    expect([write.headers["x-ms-ratelimit-remaining-subscription-writes"], write.headers["x-ms-ratelimit-remaining-subscription-global-writes"]]).toEqual(["199", "2999"]);
  });
});

describe("shared and community gallery reads through @azure/arm-compute (SharedGalleryImages_Get, CommunityGalleryImages_Get, …)", () => {
  let sim: RunningArmSimulator;
  let uniqueName = "";
  let publicName = "";
  beforeAll(async () => {
    sim = await startArmSimulator();
    sim.estate.putResourceGroup(SUB, "rg-img", "westeurope");
    const put = (path: string, body: unknown) => armWrite(sim, caller, "PUT", path, body, { wait: true, pollMs: 5 });
    const definition = (offer: string) => ({ location: "westeurope", properties: { osType: "Linux", osState: "Specialized", hyperVGeneration: "V2", identifier: { publisher: "contoso", offer, sku: "1" } } });
    const version = { location: "westeurope", properties: { publishingProfile: { targetRegions: [{ name: "westeurope" }] }, storageProfile: { source: { id: `${compute("rg-img")}/images/managed` } } } };
    await put(`${compute("rg-img")}/galleries/groups`, { location: "westeurope", properties: { sharingProfile: { permissions: "Groups" } } });
    await put(`${compute("rg-img")}/galleries/groups/images/edge`, definition("edge"));
    await put(`${compute("rg-img")}/galleries/groups/images/edge/versions/1.0.0`, version);
    const community = { publisherUri: "https://c.example", publisherContact: "c@c.example", eula: "https://c.example/eula", publicNamePrefix: "contoso" };
    const created = await put(`${compute("rg-img")}/galleries/public`, { location: "westeurope", properties: { sharingProfile: { permissions: "Community", communityGalleryInfo: community } } });
    await put(`${compute("rg-img")}/galleries/public/images/kiosk`, definition("kiosk"));
    await put(`${compute("rg-img")}/galleries/public/images/kiosk/versions/1.0.0`, version);
    uniqueName = String((sim.estate.get(`${compute("rg-img")}/galleries/groups`)!.properties as any).identifier.uniqueName);
    publicName = String((created.body as any).properties.sharingProfile.communityGalleryInfo.publicNames[0]);
  });
  afterAll(async () => sim?.close());

  it("a Groups gallery is readable once shared with the subscription: image (osState), version, lists; unshared it is 404", async () => {
    const client = sdk(sim, SUB);
    await expect(client.sharedGalleryImages.get("westeurope", uniqueName, "edge")).rejects.toMatchObject({ statusCode: 404 });
    await armWrite(sim, caller, "POST", `${compute("rg-img")}/galleries/groups/share`, { operationType: "Add", groups: [{ type: "Subscriptions", ids: [SUB] }] }, { wait: true, pollMs: 5 });
    const image = await client.sharedGalleryImages.get("westeurope", uniqueName, "edge");
    expect(image).toMatchObject({ name: "edge", location: "westeurope", osState: "Specialized", architecture: "x64", uniqueId: `/SharedGalleries/${uniqueName}/Images/edge` });
    const version = await client.sharedGalleryImageVersions.get("westeurope", uniqueName, "edge", "1.0.0");
    expect(version).toMatchObject({ name: "1.0.0", uniqueId: `/SharedGalleries/${uniqueName}/Images/edge/Versions/1.0.0`, excludeFromLatest: false });
    const listed: string[] = [];
    for await (const v of client.sharedGalleryImageVersions.list("westeurope", uniqueName, "edge")) listed.push(String(v.name));
    expect(listed).toEqual(["1.0.0"]);
    const galleries: string[] = [];
    for await (const g of client.sharedGalleries.list("West Europe")) galleries.push(String(g.name));
    expect(galleries).toEqual([uniqueName]);
    // Another subscription it was not shared with cannot read it.
    await expect(sdk(sim, OTHER_SUB).sharedGalleryImages.get("westeurope", uniqueName, "edge")).rejects.toMatchObject({ statusCode: 404 });
  });

  it("a Community gallery is readable by any subscription only after EnableCommunity (before it nothing is public)", async () => {
    const client = sdk(sim, OTHER_SUB);
    await expect(client.communityGalleryImages.get("westeurope", publicName, "kiosk")).rejects.toMatchObject({ statusCode: 404 });
    await armWrite(sim, caller, "POST", `${compute("rg-img")}/galleries/public/share`, { operationType: "EnableCommunity" }, { wait: true, pollMs: 5 });
    expect(await client.communityGalleryImages.get("westeurope", publicName, "kiosk")).toMatchObject({ name: "kiosk", osState: "Specialized", uniqueId: `/CommunityGalleries/${publicName}/Images/kiosk` });
    expect(await client.communityGalleries.get("westeurope", publicName)).toMatchObject({ name: publicName, communityMetadata: { publicNames: [publicName], publisherContact: "c@c.example" } });
    const versions: string[] = [];
    for await (const v of client.communityGalleryImageVersions.list("westeurope", publicName, "kiosk")) versions.push(String(v.name));
    expect(versions).toEqual(["1.0.0"]);
  });
});
