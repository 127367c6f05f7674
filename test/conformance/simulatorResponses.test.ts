/**
 * (a) Every body the simulated ARM serves for the scenario estate validates against the schema its
 * operation declares in Microsoft's swagger (GalleryRP 2025-03-03; CloudError from the compute
 * common types; `resource-management/v3/types.json#TrackedResource` is not in the fixtures and is
 * stubbed, see ./specs.ts). Error bodies are checked in ./errorBodies.test.ts.
 */
import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { localDevCredential } from "../../local/localCredential.js";
import { armWrite } from "../../local/armWrite.js";
import { LOCAL_SUBSCRIPTION } from "../../local/subscription.js";
import { fixturesDir, SKIP_REASON } from "../support/fixtures.js";
import { galleryRpSwagger } from "./specs.js";
import { recordValidated } from "./summary.js";

const present = fixturesDir() !== undefined;
if (!present) console.warn(SKIP_REASON);

describe.skipIf(!present)("simulated ARM responses conform to GalleryRP.json (2025-03-03)", () => {
  let sim: RunningArmSimulator;
  let token = "";
  const rg = `/subscriptions/${LOCAL_SUBSCRIPTION}/resourceGroups`;
  beforeAll(async () => {
    sim = await startArmSimulator({ seed: caseStudySeed(LOCAL_SUBSCRIPTION, new Date("2026-11-24T00:00:00Z")), pageSize: 2 });
    token = (await localDevCredential().getToken("x"))!.token;
    // Beyond the seed: a gallery shared to groups and a community gallery (their sharing profiles are the richest bodies).
    const caller = { name: "Conformance", upn: "c@contoso.example" };
    await armWrite(sim, caller, "POST", `${rg}/rg-plant/providers/Microsoft.Compute/galleries/plantGallery/share`, { operationType: "Add", groups: [{ type: "Subscriptions", ids: ["34a4ab42-0d72-47d9-bd1a-aed207386dac"] }, { type: "AADTenants", ids: ["c24c76aa-80fc-4c3b-a2e9-1b7e1e0b9b6f"] }] }, { wait: true });
    // Community sharing needs the publisher's community info on the gallery first (CommunityGallery_Create.json), then the share action (Gallery_EnableCommunityGallery.json).
    const forensics = `${rg}/rg-forensics/providers/Microsoft.Compute/galleries/forensicsGallery`;
    const communityInfo = { publisherUri: "https://forensics.contoso.example", publisherContact: "images@contoso.example", eula: "https://forensics.contoso.example/eula", publicNamePrefix: "forensics" };
    await armWrite(sim, caller, "PUT", forensics, { location: "westeurope", tags: { owner: "platform-images" }, properties: { description: "Forensics lab workstation images", sharingProfile: { permissions: "Private", communityGalleryInfo: communityInfo } } }, { wait: true });
    await armWrite(sim, caller, "POST", `${forensics}/share`, { operationType: "EnableCommunity" }, { wait: true });
  });
  afterAll(async () => sim?.close());

  const get = (path: string): Promise<{ status: number; body: any }> =>
    new Promise((resolve, reject) => {
      const url = new URL(path.startsWith("https:") ? path : `${sim.url}${path}${path.includes("?") ? "&" : "?"}api-version=2025-03-03`);
      https
        .get(url, { ca: sim.caCertPem, headers: { authorization: `Bearer ${token}` } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || "null") }));
        })
        .on("error", reject);
    });

  /** Follow nextLink pages; validate each page as the list operation's 200 body. */
  async function pages(path: string, check: (path: string, r: { status: number; body: any }) => void): Promise<any[]> {
    const items: any[] = [];
    let next: string | undefined = path;
    while (next) {
      const response = await get(next);
      expect(response.status).toBe(200);
      check(path, response);
      items.push(...response.body.value);
      next = response.body.nextLink;
    }
    return items;
  }

  it("validates every gallery, image definition and image version body, single and listed", async ({ task }) => {
    const swagger = galleryRpSwagger();
    let checked = 0;
    const failures: string[] = [];
    const check = (path: string, r: { status: number; body: any }) => {
      checked++;
      const result = swagger.validateResponse("GET", new URL(path, sim.url).pathname, r.status, r.body);
      if (!result.declared) failures.push(`${result.operationId}: status ${r.status} is not one the swagger declares`);
      for (const e of result.errors) failures.push(`${result.operationId} ${result.response} (${path}): ${e}`);
    };
    const galleries = await pages(`/subscriptions/${LOCAL_SUBSCRIPTION}/providers/Microsoft.Compute/galleries`, check);
    expect(galleries.length).toBe(3);
    for (const gallery of galleries) {
      check(gallery.id, await get(gallery.id));
      check(gallery.id, await get(`${gallery.id}?$select=Permissions`));
      check(gallery.id, await get(`${gallery.id}?$expand=SharingProfile/Groups`));
      for (const image of await pages(`${gallery.id}/images`, check)) {
        check(image.id, await get(image.id));
        for (const version of await pages(`${image.id}/versions`, check)) {
          check(version.id, await get(version.id));
          check(version.id, await get(`${version.id}?$expand=ReplicationStatus`));
        }
      }
    }
    expect(failures).toEqual([]);
    // 3 galleries × 3 reads, 6 definitions, 8 versions × 2 reads, and 12 list pages (two items a page): 43.
    expect(checked).toBeGreaterThan(40);
    recordValidated(task, "gallery responses", checked, `gallery responses checked against GalleryRP.json 2025-03-03 (+ common-types/v1/common.json); stubbed, not in the fixtures: ${swagger.stubsUsed().join(", ")}`);
  });

  it("the validator is not vacuous: a body breaking the swagger is refused", () => {
    const { validate } = galleryRpSwagger();
    expect(validate("GalleryImage", { location: "westeurope", properties: { osType: "Linux", osState: "Sideways", identifier: { publisher: "p", offer: "o", sku: "s" } } })).not.toEqual([]);
    expect(validate("Gallery", { properties: {} })).not.toEqual([]);
  });
});
