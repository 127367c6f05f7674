/**
 * Every error the simulated ARM returns has ARM's error shape: the operation's `default` response
 * in Microsoft's swagger (`CloudError` → `ApiError`, compute common-types/v1/common.json, reached
 * from GalleryRP.json 2025-03-03 and virtualMachineScaleSet.json 2025-04-01), and the stricter ARM
 * `ErrorResponse` `{ error: { code, message, target?, details?, additionalInfo? } }` with code and
 * message required (see ./specs.ts). gallery-watch's ARM reader decides on the status, and logs
 * the code and message the SDK parses out of this body: a body the SDK cannot parse would leave
 * an operator with "undefined".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { fixturesDir, SKIP_REASON } from "../support/fixtures.js";
import { armRequest, type RawResponse } from "./armHttp.js";
import { sdkClient } from "./sdkClient.js";
import { armErrorProblems, galleryRpSwagger, scaleSetSwagger } from "./specs.js";
import { recordValidated } from "./summary.js";
import type { SwaggerSet } from "./swagger.js";

const present = fixturesDir() !== undefined;
if (!present) console.warn(SKIP_REASON);

const SUB = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";
const rg = (name: string) => `/subscriptions/${SUB}/resourceGroups/${name}/providers/Microsoft.Compute`;
const PLANT = `${rg("rg-plant")}/galleries/plantGallery`;
const GATEWAY = `${PLANT}/images/gateway-os`;
const MISSING_VMSS = `${rg("rg-saas")}/virtualMachineScaleSets/vmss-missing`;

interface ErrorCase {
  readonly name: string;
  readonly status: number;
  /** ARM's documented code where the case has one (Learn / the ARM RPC), else any non-empty code. */
  readonly code?: string;
  readonly method: "GET" | "PUT" | "DELETE";
  readonly path: string;
  /** Installs what the case needs (a fault) right before the request. */
  readonly arrange?: (sim: RunningArmSimulator) => void;
  readonly options?: Parameters<typeof armRequest>[3];
  readonly headers?: (r: RawResponse) => void;
}

const CASES: readonly ErrorCase[] = [
  { name: "404 on a missing gallery", status: 404, code: "ResourceNotFound", method: "GET", path: `${rg("rg-plant")}/galleries/noSuchGallery`, options: { apiVersion: "2025-03-03" } },
  { name: "404 on a missing image definition", status: 404, method: "GET", path: `${PLANT}/images/no-such-image`, options: { apiVersion: "2025-03-03" } },
  { name: "404 on a missing image version", status: 404, method: "GET", path: `${GATEWAY}/versions/9.9.9`, options: { apiVersion: "2025-03-03" } },
  { name: "404 on a missing scale set", status: 404, code: "ResourceNotFound", method: "GET", path: MISSING_VMSS },
  // ARM itself answers this (before any resource provider): 400 MissingApiVersionParameter, "The api-version query parameter (?api-version=) is required for all requests."
  { name: "400 without api-version", status: 400, code: "MissingApiVersionParameter", method: "GET", path: `${rg("rg-saas")}/virtualMachineScaleSets/vmss-saas-web`, options: { apiVersion: null } },
  // ARM refuses an api-version the resource type does not have: 400 InvalidApiVersionParameter.
  { name: "400 on an unknown api-version", status: 400, code: "InvalidApiVersionParameter", method: "GET", path: `${rg("rg-saas")}/virtualMachineScaleSets/vmss-saas-web`, options: { apiVersion: "1999-01-01" } },
  { name: "404 in a resource group that does not exist", status: 404, code: "ResourceGroupNotFound", method: "GET", path: `${rg("rg-nowhere")}/virtualMachineScaleSets/vmss-x` },
  // ARM answers a request without a bearer token with 401 AuthenticationFailed.
  { name: "401 without a bearer token", status: 401, code: "AuthenticationFailed", method: "GET", path: `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachineScaleSets`, options: { bearer: null } },
  {
    // https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling: 429 with Retry-After (seconds).
    name: "injected 429 with Retry-After",
    status: 429,
    method: "GET",
    path: `${rg("rg-throttled")}/virtualMachineScaleSets/vmss-throttled`,
    arrange: (sim) => sim.faults.add({ kind: "throttle", path: "vmss-throttled", retryAfterSeconds: 7, times: 1 }),
    headers: (r) => expect(r.headers["retry-after"]).toBe("7"),
  },
  { name: "injected 500", status: 500, method: "GET", path: `${rg("rg-broken")}/virtualMachineScaleSets/vmss-500`, arrange: (sim) => sim.faults.add({ kind: "error", status: 500, path: "vmss-500", times: 1 }) },
  { name: "injected 503", status: 503, method: "GET", path: `${rg("rg-broken")}/galleries/gallery503`, options: { apiVersion: "2025-03-03" }, arrange: (sim) => sim.faults.add({ kind: "error", status: 503, path: "gallery503", times: 1 }) },
  { name: "injected 403", status: 403, method: "GET", path: `${rg("rg-locked")}/virtualMachineScaleSets/vmss-403`, arrange: (sim) => sim.faults.add({ kind: "error", status: 403, path: "vmss-403", times: 1 }) },
  { name: "400 on a PUT whose body is not JSON", status: 400, method: "PUT", path: `${rg("rg-saas")}/virtualMachineScaleSets/vmss-garbled`, options: { rawBody: "{ not json" } },
  { name: "404 on a PUT under a missing parent", status: 404, method: "PUT", path: `${PLANT}/images/no-such-image/versions/1.0.0`, options: { apiVersion: "2025-03-03", body: { location: "westeurope", properties: { publishingProfile: {} } } } },
  { name: "409 on deleting a gallery that still has images", status: 409, method: "DELETE", path: PLANT, options: { apiVersion: "2025-03-03" } },
];

describe.skipIf(!present)("simulated ARM error bodies have ARM's error shape", () => {
  let sim: RunningArmSimulator;
  let gallerySwagger: SwaggerSet;
  let vmssSwagger: SwaggerSet;

  beforeAll(async () => {
    gallerySwagger = galleryRpSwagger();
    vmssSwagger = scaleSetSwagger();
    sim = await startArmSimulator({ seed: caseStudySeed(SUB, new Date("2026-11-24T00:00:00Z")) });
  });
  afterAll(async () => sim?.close());

  it("each error status carries { error: { code, message } } as the operation's default response declares", async ({ task }) => {
    const failures: string[] = [];
    for (const c of CASES) {
      c.arrange?.(sim);
      const r = await armRequest(sim, c.method, c.path, c.options);
      expect(r.status, `${c.name}: ${r.text.slice(0, 200)}`).toBe(c.status);
      expect(String(r.headers["content-type"]), c.name).toMatch(/^application\/json/);
      c.headers?.(r);
      const swagger = /\/virtualMachineScaleSets\//i.test(c.path) || /virtualMachineScaleSets$/i.test(c.path) ? vmssSwagger : gallerySwagger;
      const declared = swagger.validateResponse(c.method, c.path, r.status, r.body);
      // Errors are not declared statuses in these swaggers: they fall to `default` (CloudError).
      expect(declared.response, c.name).toBe("default");
      for (const e of declared.errors) failures.push(`${c.name}: ${declared.operationId} default: ${e}`);
      for (const e of armErrorProblems(r.body)) failures.push(`${c.name}: ARM ErrorResponse: ${e}`);
      if (c.code) expect(r.body?.error?.code, c.name).toBe(c.code);
    }
    expect(failures).toEqual([]);
    recordValidated(task, "error bodies", CASES.length, "error bodies checked against the operations' default CloudError (compute common-types/v1) and ARM's ErrorResponse with code and message required");
  });

  it("the SDK reads the status, code and message out of those bodies", async () => {
    const client = sdkClient(sim, SUB);
    // RestError from @azure/core-rest-pipeline (a transitive dependency: matched by shape, not imported).
    const failure = async (call: () => Promise<unknown>): Promise<{ name: string; statusCode?: number; code?: string; message: string }> => {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e as { name: string; statusCode?: number; code?: string; message: string },
      );
      expect(error?.name).toBe("RestError");
      return error!;
    };
    const missing = await failure(() => client.virtualMachineScaleSets.get("rg-saas", "vmss-missing"));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe("ResourceNotFound");
    expect(missing.message).toContain("vmss-missing");

    const version = await failure(() => client.galleryImageVersions.get("rg-plant", "plantGallery", "gateway-os", "9.9.9"));
    expect(version.statusCode).toBe(404);
    expect(version.code).toBeTruthy();

    sim.faults.add({ kind: "throttle", path: "vmss-sdk-throttled", retryAfterSeconds: 0, times: 1 });
    const throttled = await failure(() => client.virtualMachineScaleSets.get("rg-saas", "vmss-sdk-throttled"));
    expect(throttled.statusCode).toBe(429);
    expect(throttled.code).toBeTruthy();

    sim.faults.add({ kind: "error", status: 500, path: "vmss-sdk-500", times: 1 });
    const broken = await failure(() => client.virtualMachineScaleSets.get("rg-saas", "vmss-sdk-500"));
    expect(broken.statusCode).toBe(500);
    expect(broken.code).toBe("InternalServerError");
  });

  it("the error checks are not vacuous: bodies outside ARM's shape are refused", () => {
    expect(armErrorProblems({ error: { code: "ResourceNotFound", message: "gone" } })).toEqual([]);
    expect(armErrorProblems({ error: { code: "X", message: "m", target: "t", details: [{ code: "Y", message: "n" }], additionalInfo: [{ type: "PolicyViolation", info: {} }] } })).toEqual([]);
    expect(armErrorProblems({ code: "ResourceNotFound", message: "gone" })).not.toEqual([]);
    expect(armErrorProblems({ error: { message: "no code" } })).not.toEqual([]);
    expect(armErrorProblems({ error: { code: "X" } })).not.toEqual([]);
    expect(armErrorProblems({ error: { code: "X", message: "m", details: [{ message: "detail without code" }] } })).not.toEqual([]);
    expect(armErrorProblems({ error: { code: "X", message: "m", status: 404 } })).not.toEqual([]);
    expect(armErrorProblems(undefined)).not.toEqual([]);
    // The swagger's CloudError types what it names: a numeric code is refused.
    expect(scaleSetSwagger().validateResponse("GET", MISSING_VMSS, 404, { error: { code: 404, message: "m" } }).errors).not.toEqual([]);
  });
});
