/**
 * The access reader (shared/adapters/arm/authorizationAccessReader.ts) over the real
 * @azure/arm-authorization client against the simulated ARM over HTTPS: who can use an image
 * definition, from the role assignments at, above and below it, the role definitions they name and
 * the subscription's tenant; role definitions read anew by every reader (custom roles change); and
 * the typed outcome of each fault.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { armWrite } from "../../local/armWrite.js";
import { TENANT } from "../../local/armSimulator/eventShape.js";
import { OWNER_ROLE_ID, READER_ROLE_ID } from "../../local/armSimulator/builtInRoles.js";
import { authorizationAccessReaderFactory } from "../../shared/adapters/arm/authorizationAccessReader.js";
import { localDevCredential } from "../../local/localCredential.js";
import { effectiveAccess } from "../../shared/domain/access.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";

const SUB = "8b9c0d1e-2f3a-4b5c-9d6e-7f8091a2b3c4";
const RG = `/subscriptions/${SUB}/resourceGroups/rg`;
const GALLERY = `${RG}/providers/Microsoft.Compute/galleries/gal`;
const DEF = `${GALLERY}/images/def`;
const PIPELINE = "2b3c4d5e-6f70-4182-9a3b-4c5d6e7f8091";
const OPERATORS = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const CUSTOM = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";
const roleId = (guid: string) => `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
const caller = { name: "Ada Admin", upn: "ada@contoso.example" };

let sim: RunningArmSimulator;
const reader = () => authorizationAccessReaderFactory({ credential: localDevCredential(), endpoint: sim.url, caCertPem: sim.caCertPem, timeoutMs: 2000, maxRetries: 1 })();
const assign = (scope: string, name: string, principalId: string, role: string, principalType = "ServicePrincipal") =>
  armWrite(sim, caller, "PUT", `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, { properties: { roleDefinitionId: roleId(role), principalId, principalType } });
const customRole = (actions: string[]) =>
  armWrite(sim, caller, "PUT", `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${CUSTOM}`, { properties: { roleName: "Image operator", type: "CustomRole", permissions: [{ actions, notActions: [] }], assignableScopes: [`/subscriptions/${SUB}`] } });

beforeAll(async () => {
  sim = await startArmSimulator({
    pageSize: 2,
    seed: [
      { id: GALLERY, body: { location: "westeurope", properties: {} } },
      { id: DEF, body: { location: "westeurope", properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: "o", sku: "s" } } } },
    ],
  });
  await assign(`/subscriptions/${SUB}`, "00000001-aaaa-4bbb-8ccc-dddddddddddd", OPERATORS, OWNER_ROLE_ID, "Group");
  await assign(GALLERY, "00000002-aaaa-4bbb-8ccc-dddddddddddd", PIPELINE, READER_ROLE_ID);
  await assign(`${DEF}/versions/1.0.0`, "00000003-aaaa-4bbb-8ccc-dddddddddddd", "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f", READER_ROLE_ID, "User");
  await assign(`${RG}/providers/Microsoft.Compute/galleries/other`, "00000004-aaaa-4bbb-8ccc-dddddddddddd", "0f1e2d3c-4b5a-4968-8776-655443322110", OWNER_ROLE_ID);
});
afterAll(async () => sim?.close());
beforeEach(() => sim.faults.clear());

describe("readAccess", () => {
  it("reads the assignments at, above and below the definition (every page), the roles they name and the tenant", async () => {
    const outcome = await reader().readAccess(parseResourceId(DEF));
    expect(outcome.status).toBe("found");
    if (outcome.status !== "found") return;
    const facts = outcome.snapshot;
    expect(facts.tenantId).toBe(TENANT);
    expect(facts.assignments.map((a) => a.scope).sort()).toEqual([`/subscriptions/${SUB}`, GALLERY, `${DEF}/versions/1.0.0`].sort());
    expect(facts.roleDefinitions.map((r) => r.roleName).sort()).toEqual(["Owner", "Reader"]);
    expect(facts.assignments.find((a) => a.principalId === OPERATORS)).toMatchObject({ principalType: "Group", roleDefinitionId: roleId(OWNER_ROLE_ID) });
    // What the domain makes of it: three principals can use the image.
    expect(effectiveAccess(DEF, facts, { below: true }).principals.map((p) => p.principalId)).toHaveLength(3);
  });

  it("reads a custom role anew in every reader: a role narrowed since no longer grants", async () => {
    await customRole(["Microsoft.Compute/galleries/*/read"]);
    await assign(DEF, "00000005-aaaa-4bbb-8ccc-dddddddddddd", "3d4e5f60-7182-4394-a5b6-c7d8e9f0a1b2", CUSTOM);
    const grants = async () => {
      const outcome = await reader().readAccess(parseResourceId(DEF));
      if (outcome.status !== "found") throw new Error(outcome.status);
      return effectiveAccess(DEF, outcome.snapshot, { below: true }).principals.some((p) => p.principalId === "3d4e5f60-7182-4394-a5b6-c7d8e9f0a1b2");
    };
    expect(await grants()).toBe(true);
    await customRole(["Microsoft.Compute/galleries/read"]);
    expect(await grants()).toBe(false);
  });

  it("reads each role definition once per reader, however many assignments name it", async () => {
    const before = sim.requestCounts()["GET roleDefinition"] ?? 0;
    const r = reader();
    await r.readAccess(parseResourceId(DEF));
    await r.readAccess(parseResourceId(GALLERY));
    // Owner, Reader and the custom role: three reads, not one per assignment or per scope.
    expect((sim.requestCounts()["GET roleDefinition"] ?? 0) - before).toBe(3);
  });

  it.each([
    [403, "noAccess"],
    [500, "failed"],
  ] as const)("a %s on the listing is %s, never an empty list", async (status, expected) => {
    sim.faults.add({ method: "GET", path: "/providers/Microsoft.Authorization/roleAssignments", kind: "error", status, times: 2 });
    expect((await reader().readAccess(parseResourceId(DEF))).status).toBe(expected);
  });

  it("a 429 with a long Retry-After is throttled, with the wait", async () => {
    sim.faults.add({ method: "GET", path: "/providers/Microsoft.Authorization/roleAssignments", kind: "throttle", retryAfterSeconds: 600, times: 1 });
    const outcome = await reader().readAccess(parseResourceId(DEF));
    expect(outcome).toMatchObject({ status: "throttled", retryAfterMs: 600_000 });
  });
});
