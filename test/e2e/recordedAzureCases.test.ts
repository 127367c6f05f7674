/**
 * Two things real Azure does that the local stack must do too, end to end through `npm start`'s
 * stack (simulated ARM → Event Grid → functions → store → Teams inbox), one stack for the file:
 *
 * - ARM decodes request paths: a resource group written as `resourceGroups/rg-z%C3%BCrich` (what
 *   curl sends for `rg-zürich`) is `rg-zürich`, its events carry that id, and its cards arrive;
 * - scale sets built from a direct-shared (`sharedGalleryImageId`) or community
 *   (`communityGalleryImageId`) image are judged from the image's osState, read through the
 *   sharedGalleries / communityGalleries routes as Azure answers them (Microsoft's azure-cli
 *   recordings in ../shared/fixtures/azure-cli-recordings/): a Specialized image draws the
 *   scale-set-use card, not a "could not verify" one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { armWrite, type Caller } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";
import { scaleSetBody } from "../../local/scenarios/replay.js";

const ada: Caller = { name: "Ada Admin", upn: "ada@contoso.example", oid: "1f0e2d3c-4b5a-4968-8776-655443322110" };
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ log: pino({ level: "silent" }) });
});
afterAll(async () => {
  await stack?.close();
});

/** Run writes and return the cards they produced (their title lines and full text). */
async function cardsFrom(run: () => Promise<void>): Promise<Array<{ title: string; text: string }>> {
  const before = stack.inbox.cards().length;
  await run();
  await waitUntilQuiet(stack);
  return stack.inbox
    .cards()
    .slice(before)
    .map((c) => {
      const content = (c.card as any).attachments[0].content;
      return { title: String(content.body[0].items[0].text), text: JSON.stringify(content) };
    });
}

async function history(id: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.host.url}/api/resources/history?id=${encodeURIComponent(id)}`, { headers: { "x-functions-key": stack.keys.function } });
  return { status: response.status, body: response.status === 200 ? await response.json() : undefined };
}

const put = (path: string, body: unknown) => armWrite(stack.arm, ada, "PUT", path, body, { wait: true });
const definition = (osState: "Specialized" | "Generalized", offer: string) => ({
  location: "westeurope",
  tags: { owner: "platform-images", approver: "ciso" },
  properties: { osType: "Linux", osState, hyperVGeneration: "V2", identifier: { publisher: "contoso", offer, sku: "2026" } },
});
const version = (rg: string, regions: string[]) => ({
  location: "westeurope",
  tags: { owner: "platform-images", approver: "ciso" },
  properties: {
    publishingProfile: { targetRegions: regions.map((name) => ({ name, regionalReplicaCount: 1 })), excludeFromLatest: true },
    storageProfile: { source: { virtualMachineId: `/subscriptions/${stack.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/capture-vm` } },
  },
});

describe("a resource group with a non-ASCII name, written percent-encoded as curl sends it", () => {
  it("is rg-zürich: the version replicated too widely raises its card, and history knows it under the decoded id", async () => {
    const encoded = `/subscriptions/${stack.subscriptionId}/resourceGroups/rg-z%C3%BCrich`;
    const gallery = `${encoded}/providers/Microsoft.Compute/galleries/zurichGallery`;
    const cards = await cardsFrom(async () => {
      await armWrite(stack.arm, ada, "PUT", encoded, { location: "switzerlandnorth" });
      await put(gallery, { location: "westeurope", tags: { owner: "platform-images" }, properties: { description: "Zürich plant images" } });
      await put(`${gallery}/images/plc-os`, definition("Specialized", "plc-os"));
      await put(`${gallery}/images/plc-os/versions/1.0.0`, version("rg-zürich", ["West Europe", "North Europe", "Switzerland North"]));
    });
    const decodedVersion = `/subscriptions/${stack.subscriptionId}/resourceGroups/rg-zürich/providers/Microsoft.Compute/galleries/zurichGallery/images/plc-os/versions/1.0.0`;
    expect(stack.arm.estate.resourceGroup(stack.subscriptionId, "rg-zürich")?.name).toBe("rg-zürich");
    expect(stack.arm.estate.resourceGroup(stack.subscriptionId, "rg-z%C3%BCrich")).toBeUndefined();
    expect(cards.map((c) => c.title)).toContain("Opened: replication-breadth (high)");
    const card = cards.find((c) => c.title === "Opened: replication-breadth (high)")!;
    expect(card.text).toContain("rg-zürich");
    expect(card.text).not.toContain("%C3%BC");
    const stored = await history(decodedVersion);
    expect(stored.status).toBe(200);
    expect(stored.body.findings).toEqual(expect.arrayContaining([expect.objectContaining({ ruleId: "replication-breadth", status: "open" })]));
    expect(stored.body.changes[0].trigger.attribution).toMatchObject({ callerName: "Ada Admin" });
  });
});

describe("scale sets on a shared or community gallery image of a Specialized definition", () => {
  const rg = "rg-shared-images";
  const base = () => `/subscriptions/${stack.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Compute`;
  const scaleSet = (reference: Record<string, string>) => {
    const body = scaleSetBody("unused", 3) as any;
    body.properties.virtualMachineProfile.storageProfile.imageReference = reference;
    return body;
  };

  beforeAll(async () => {
    await waitUntilQuiet(stack);
    await armWrite(stack.arm, ada, "PUT", `/subscriptions/${stack.subscriptionId}/resourceGroups/${rg}`, { location: "westeurope" });
    // `az sig create --permissions Groups`, then `az sig share add --subscription-ids <ours>` (test_create_vm_with_shared_gallery_image.json #0, #10).
    await put(`${base()}/galleries/groupsGallery`, { location: "westeurope", tags: { owner: "platform-images" }, properties: { sharingProfile: { permissions: "Groups" } } });
    await put(`${base()}/galleries/groupsGallery/images/edge-os`, definition("Specialized", "edge-os"));
    await put(`${base()}/galleries/groupsGallery/images/edge-os/versions/1.0.0`, version(rg, ["West Europe"]));
    await armWrite(stack.arm, ada, "POST", `${base()}/galleries/groupsGallery/share`, { operationType: "Add", groups: [{ type: "Subscriptions", ids: [stack.subscriptionId] }] }, { wait: true });
    // `az sig create --permissions Community --public-name-prefix …`, then `az sig share enable-community` (test_community_gallery_operations.json #0, #3).
    const community = { publisherUri: "https://images.contoso.example", publisherContact: "images@contoso.example", eula: "https://images.contoso.example/eula", publicNamePrefix: "contoso" };
    await put(`${base()}/galleries/publicGallery`, { location: "westeurope", tags: { owner: "platform-images" }, properties: { sharingProfile: { permissions: "Community", communityGalleryInfo: community } } });
    await put(`${base()}/galleries/publicGallery/images/kiosk-os`, definition("Specialized", "kiosk-os"));
    await put(`${base()}/galleries/publicGallery/images/kiosk-os/versions/1.0.0`, version(rg, ["West Europe"]));
    await armWrite(stack.arm, ada, "POST", `${base()}/galleries/publicGallery/share`, { operationType: "EnableCommunity" }, { wait: true });
    await waitUntilQuiet(stack);
  });

  it("sharedGalleryImageId: scale-set-use (critical), judged from the shared image's osState", async () => {
    const uniqueName = String((stack.arm.estate.get(`${base()}/galleries/groupsGallery`)!.properties as any).identifier.uniqueName);
    const cards = await cardsFrom(() => put(`${base()}/virtualMachineScaleSets/vmss-shared`, scaleSet({ sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/edge-os/Versions/1.0.0` })).then(() => undefined));
    const card = cards.find((c) => c.text.includes("vmss-shared"));
    expect(card?.title).toBe("Opened: scale-set-use (critical)");
    expect(card!.text).toContain("a specialized image");
    expect(card!.text).not.toContain("could not verify");
  });

  it("communityGalleryImageId: scale-set-use (critical), judged from the community image's osState", async () => {
    const publicName = String((stack.arm.estate.get(`${base()}/galleries/publicGallery`)!.properties as any).sharingProfile.communityGalleryInfo.publicNames[0]);
    const cards = await cardsFrom(() => put(`${base()}/virtualMachineScaleSets/vmss-community`, scaleSet({ communityGalleryImageId: `/CommunityGalleries/${publicName}/Images/kiosk-os/Versions/1.0.0` })).then(() => undefined));
    const card = cards.find((c) => c.text.includes("vmss-community"));
    expect(card?.title).toBe("Opened: scale-set-use (critical)");
    expect(card!.text).toContain("a specialized image");
    expect(card!.text).not.toContain("could not verify");
  });

  it("the Compute RP refuses an osProfile over the Specialized shared image, as Azure does", async () => {
    const uniqueName = String((stack.arm.estate.get(`${base()}/galleries/groupsGallery`)!.properties as any).identifier.uniqueName);
    const body = scaleSet({ sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/edge-os/Versions/1.0.0` });
    body.properties.virtualMachineProfile.osProfile = { computerNamePrefix: "edge", adminUsername: "azureuser" };
    await expect(put(`${base()}/virtualMachineScaleSets/vmss-refused`, body)).rejects.toThrow(/400: .*"code":"InvalidParameter","message":"Parameter 'osProfile' is not allowed\."/);
  });
});
