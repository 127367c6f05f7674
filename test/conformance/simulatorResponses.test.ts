/**
 * (a) Every body the simulated ARM serves for the scenario estate validates against Microsoft's
 * swagger (GalleryRP 2025-03-03). The swagger's `$ref`s into common-types are not in the
 * fixtures; they are stubbed with the ARM resource envelope and reported.
 */
import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { localDevCredential } from "../../local/localCredential.js";
import { armWrite } from "../../local/armWrite.js";
import { LOCAL_SUBSCRIPTION } from "../../local/subscription.js";
import { fixturesDir, readFixture, SKIP_REASON } from "../support/fixtures.js";

const present = fixturesDir() !== undefined;
if (!present) console.warn(SKIP_REASON);

const STUBS: Record<string, object> = {
  TrackedResource: {
    type: "object",
    properties: { id: { type: "string" }, name: { type: "string" }, type: { type: "string" }, location: { type: "string" }, tags: { type: "object", additionalProperties: { type: "string" } } },
    required: ["location"],
  },
  CloudError: { type: "object", properties: { error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } }, required: ["code", "message"] } }, required: ["error"] },
};

/** Swagger 2.0 definitions → one JSON schema with local refs; external refs replaced by stubs. */
function swaggerValidator(): { validate: (definition: string, body: unknown) => string[]; stubbed: string[] } {
  const swagger = readFixture("azure-rest-api-specs/GalleryRP-2025-03-03/GalleryRP.json");
  const stubbed = new Set<string>();
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!node || typeof node !== "object") return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === "$ref" && typeof value === "string" && !value.startsWith("#")) {
        const name = value.split("/").pop()!;
        stubbed.add(value.replace(/^(\.\.\/)+/, ""));
        out[key] = `#/definitions/${name}`;
      } else if (key === "discriminator" && typeof value === "string") {
        continue; // swagger 2.0's discriminator is a property name, not JSON Schema
      } else out[key] = rewrite(value);
    }
    return out;
  };
  const definitions = { ...(rewrite(swagger.definitions) as Record<string, unknown>), ...STUBS };
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  for (const f of ["int32", "int64", "float", "double", "byte", "password", "duration", "arm-id", "unixtime"]) ajv.addFormat(f, true);
  ajv.addSchema({ $id: "galleryrp", definitions });
  const cache = new Map<string, ValidateFunction>();
  return {
    stubbed: [...stubbed].sort(),
    validate(definition, body) {
      let fn = cache.get(definition);
      if (!fn) cache.set(definition, (fn = ajv.compile({ $ref: `galleryrp#/definitions/${definition}` })));
      return fn(body) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    },
  };
}

describe.skipIf(!present)("simulated ARM responses conform to GalleryRP.json (2025-03-03)", () => {
  let sim: RunningArmSimulator;
  let token = "";
  const rg = `/subscriptions/${LOCAL_SUBSCRIPTION}/resourceGroups`;
  beforeAll(async () => {
    sim = await startArmSimulator({ seed: caseStudySeed(LOCAL_SUBSCRIPTION, new Date("2026-11-24T00:00:00Z")), pageSize: 2 });
    token = (await localDevCredential().getToken("x"))!.token;
    // Beyond the seed: a gallery shared to groups, a community gallery, a scale set.
    const caller = { name: "Conformance", upn: "c@contoso.example" };
    await armWrite(sim, caller, "POST", `${rg}/rg-plant/providers/Microsoft.Compute/galleries/plantGallery/share`, { operationType: "Add", groups: [{ type: "Subscriptions", ids: ["34a4ab42-0d72-47d9-bd1a-aed207386dac"] }, { type: "AADTenants", ids: ["c24c76aa-80fc-4c3b-a2e9-1b7e1e0b9b6f"] }] });
    await armWrite(sim, caller, "POST", `${rg}/rg-forensics/providers/Microsoft.Compute/galleries/forensicsGallery/share`, { operationType: "EnableCommunity" });
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

  /** Follow nextLink pages; validate each page as the list type. */
  async function pages(path: string, listDefinition: string, check: (d: string, b: unknown) => void): Promise<any[]> {
    const items: any[] = [];
    let next: string | undefined = path;
    while (next) {
      const { status, body } = await get(next);
      expect(status).toBe(200);
      check(listDefinition, body);
      items.push(...body.value);
      next = body.nextLink;
    }
    return items;
  }

  it("validates every gallery, image definition and image version body, single and listed, and ARM error bodies", async () => {
    const { validate, stubbed } = swaggerValidator();
    let checked = 0;
    const failures: string[] = [];
    const check = (definition: string, body: unknown) => {
      checked++;
      for (const e of validate(definition, body)) failures.push(`${definition}: ${e}`);
    };
    const galleries = await pages(`/subscriptions/${LOCAL_SUBSCRIPTION}/providers/Microsoft.Compute/galleries`, "GalleryList", check);
    expect(galleries.length).toBe(3);
    for (const gallery of galleries) {
      check("Gallery", (await get(gallery.id)).body);
      check("Gallery", (await get(`${gallery.id}?$select=Permissions`)).body);
      for (const image of await pages(`${gallery.id}/images`, "GalleryImageList", check)) {
        check("GalleryImage", (await get(image.id)).body);
        for (const version of await pages(`${image.id}/versions`, "GalleryImageVersionList", check)) {
          check("GalleryImageVersion", (await get(version.id)).body);
          check("GalleryImageVersion", (await get(`${version.id}?$expand=ReplicationStatus`)).body);
        }
      }
    }
    const missing = await get(`${rg}/rg-plant/providers/Microsoft.Compute/galleries/nope`);
    expect(missing.status).toBe(404);
    check("CloudError", missing.body);
    console.log(`conformance: checked ${checked} simulator responses against GalleryRP.json (stubbed refs: ${stubbed.join(", ")})`);
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });

  it("the validator is not vacuous: a body breaking the swagger is refused", () => {
    const { validate } = swaggerValidator();
    expect(validate("GalleryImage", { location: "westeurope", properties: { osType: "Linux", osState: "Sideways", identifier: { publisher: "p", offer: "o", sku: "s" } } })).not.toEqual([]);
    expect(validate("Gallery", { properties: {} })).not.toEqual([]);
  });
});
