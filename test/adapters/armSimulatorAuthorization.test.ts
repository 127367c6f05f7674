/**
 * The simulated ARM's role assignments and role definitions, through Microsoft's own
 * @azure/arm-authorization client over HTTPS: the shapes and answers of the 2022-04-01 REST spec
 * (authorization-RoleAssignmentsCalls.json, authorization-RoleDefinitionsCalls.json), and the
 * events a subscription's system topic carries for them.
 */
import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { localDevCredential } from "../../local/localCredential.js";
import { armWrite } from "../../local/armWrite.js";
import { CONTRIBUTOR_ROLE_ID, OWNER_ROLE_ID, READER_ROLE_ID } from "../../local/armSimulator/builtInRoles.js";
import { startEventReceiver, type EventReceiver } from "../support/eventReceiver.js";

const SUB = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
const RG = `/subscriptions/${SUB}/resourceGroups/rg`;
const GALLERY = `${RG}/providers/Microsoft.Compute/galleries/gal`;
const DEF = `${GALLERY}/images/def`;
const VERSION = `${DEF}/versions/1.0.0`;
const PIPELINE = "2b3c4d5e-6f70-4182-9a3b-4c5d6e7f8091";
const OPERATORS = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const roleId = (guid: string) => `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
const name = (n: number) => `0000000${n}-aaaa-4bbb-8ccc-dddddddddddd`;

let sim: RunningArmSimulator;
let client: AuthorizationManagementClient;
let receiver: EventReceiver;

beforeAll(async () => {
  receiver = await startEventReceiver();
  sim = await startArmSimulator({ pageSize: 2, eventSink: receiver.sink });
  const agent = new https.Agent({ ca: sim.caCertPem, keepAlive: true });
  client = new AuthorizationManagementClient(localDevCredential({ name: "Sam Okafor", upn: "sam@contoso.example" }), SUB, {
    endpoint: sim.url,
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [{ position: "perRetry", policy: { name: "simulatorCa", sendRequest: (request, next) => ((request.agent = agent), next(request)) } }],
  });
});
afterAll(async () => {
  await sim?.close();
  await receiver?.close();
});

const all = async <T>(pages: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of pages) out.push(item);
  return out;
};

describe("role definitions", () => {
  it("serves the built-in Reader, Contributor and Owner with their real permissions, at any scope and by id", async () => {
    const reader = await client.roleDefinitions.get(GALLERY, READER_ROLE_ID);
    expect(reader).toMatchObject({ id: roleId(READER_ROLE_ID), name: READER_ROLE_ID, type: "Microsoft.Authorization/roleDefinitions", roleName: "Reader", roleType: "BuiltInRole", permissions: [{ actions: ["*/read"], notActions: [] }] });
    const contributor = await client.roleDefinitions.getById(roleId(CONTRIBUTOR_ROLE_ID));
    expect(contributor.permissions?.[0]?.actions).toEqual(["*"]);
    expect(contributor.permissions?.[0]?.notActions).toEqual(expect.arrayContaining(["Microsoft.Authorization/*/Write", "Microsoft.Compute/galleries/share/action"]));
    expect((await client.roleDefinitions.get(`/subscriptions/${SUB}`, OWNER_ROLE_ID)).permissions).toEqual([{ actions: ["*"], notActions: [], dataActions: [], notDataActions: [] }]);
    expect((await all(client.roleDefinitions.list(DEF, { filter: "roleName eq 'Reader'" }))).map((r) => r.name)).toEqual([READER_ROLE_ID]);
  });

  it("creates a custom role by PUT, lists it where it is assignable, and refuses a missing one with ARM's code", async () => {
    const custom = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";
    const created = await client.roleDefinitions.createOrUpdate(`/subscriptions/${SUB}`, custom, {
      roleName: "Image operator",
      description: "Reads gallery images",
      roleType: "CustomRole",
      permissions: [{ actions: ["Microsoft.Compute/galleries/*/read"], notActions: [] }],
      assignableScopes: [RG],
    });
    expect(created).toMatchObject({ name: custom, roleName: "Image operator", roleType: "CustomRole", assignableScopes: [RG] });
    expect((await all(client.roleDefinitions.list(DEF, { filter: "type eq 'CustomRole'" }))).map((r) => r.roleName)).toEqual(["Image operator"]);
    expect(await all(client.roleDefinitions.list(`/subscriptions/${SUB}/resourceGroups/other`, { filter: "type eq 'CustomRole'" }))).toEqual([]);
    await expect(client.roleDefinitions.get(GALLERY, "00000000-1111-4222-8333-444444444444")).rejects.toMatchObject({ statusCode: 404, code: "RoleDefinitionDoesNotExist" });
  });
});

describe("role assignments", () => {
  it("creates (201) at a resource scope, reads it back, and emits a write event with the Authorization operation", async () => {
    receiver.clear();
    const created = await client.roleAssignments.create(GALLERY, name(1), { roleDefinitionId: roleId(READER_ROLE_ID), principalId: PIPELINE, principalType: "ServicePrincipal" });
    expect(created).toMatchObject({ id: `${GALLERY}/providers/Microsoft.Authorization/roleAssignments/${name(1)}`, name: name(1), type: "Microsoft.Authorization/roleAssignments", scope: GALLERY, principalId: PIPELINE, principalType: "ServicePrincipal", roleDefinitionId: roleId(READER_ROLE_ID) });
    expect(await client.roleAssignments.get(GALLERY, name(1))).toMatchObject({ principalId: PIPELINE });
    await sim.events.idle();
    expect(receiver.events).toHaveLength(1);
    expect(receiver.events[0]).toMatchObject({
      subject: created.id,
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      topic: `/subscriptions/${SUB}`,
      data: { operationName: "Microsoft.Authorization/roleAssignments/write", resourceProvider: "Microsoft.Authorization", resourceUri: created.id, claims: { "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "sam@contoso.example" } },
    });
  });

  it("refuses what ARM refuses: an unknown role, a name that is no GUID, the same principal and role twice at one scope", async () => {
    await expect(client.roleAssignments.create(GALLERY, name(2), { roleDefinitionId: roleId("00000000-1111-4222-8333-444444444444"), principalId: PIPELINE })).rejects.toMatchObject({ statusCode: 400, code: "RoleDefinitionDoesNotExist" });
    await expect(client.roleAssignments.create(GALLERY, "not-a-guid", { roleDefinitionId: roleId(READER_ROLE_ID), principalId: PIPELINE })).rejects.toMatchObject({ statusCode: 400, code: "InvalidRoleAssignmentId" });
    await expect(client.roleAssignments.create(GALLERY, name(3), { roleDefinitionId: roleId(READER_ROLE_ID), principalId: PIPELINE })).rejects.toMatchObject({ statusCode: 409, code: "RoleAssignmentExists" });
  });

  it("lists for a scope as ARM answers: at, above and below without a filter; at and above with atScope(); one principal's with principalId eq", async () => {
    await client.roleAssignments.create(`/subscriptions/${SUB}`, name(4), { roleDefinitionId: roleId(OWNER_ROLE_ID), principalId: OPERATORS, principalType: "Group" });
    await client.roleAssignments.create(DEF, name(5), { roleDefinitionId: roleId(CONTRIBUTOR_ROLE_ID), principalId: OPERATORS, principalType: "Group" });
    await client.roleAssignments.create(VERSION, name(6), { roleDefinitionId: roleId(READER_ROLE_ID), principalId: PIPELINE, principalType: "ServicePrincipal" });
    await client.roleAssignments.create(`${RG}/providers/Microsoft.Compute/galleries/other`, name(7), { roleDefinitionId: roleId(READER_ROLE_ID), principalId: PIPELINE });
    const scopes = async (filter?: string) => (await all(client.roleAssignments.listForScope(DEF, filter ? { filter } : {}))).map((a) => a.scope).sort();
    // Five apply (pages of two: the client follows nextLink); the other gallery's does not.
    expect(await scopes()).toEqual([`/subscriptions/${SUB}`, GALLERY, DEF, VERSION].sort());
    expect(await scopes("atScope()")).toEqual([`/subscriptions/${SUB}`, GALLERY, DEF].sort());
    expect(await scopes(`principalId eq '${PIPELINE}'`)).toEqual([GALLERY, VERSION].sort());
    expect((await all(client.roleAssignments.listForSubscription())).length).toBe(5);
    await expect(all(client.roleAssignments.listForScope(DEF, { filter: "roleName eq 'x'" }))).rejects.toMatchObject({ statusCode: 400 });
  });

  it("deletes (200 with the assignment, then 204), emitting a delete event; a REST PUT with curl's shape works as the client's", async () => {
    receiver.clear();
    const statuses: number[] = [];
    const onResponse = (r: { status: number }) => void statuses.push(r.status);
    const deleted = await client.roleAssignments.delete(VERSION, name(6), { onResponse });
    expect(deleted).toMatchObject({ name: name(6), scope: VERSION });
    await client.roleAssignments.delete(VERSION, name(6), { onResponse });
    expect(statuses).toEqual([200, 204]);
    await expect(client.roleAssignments.get(VERSION, name(6))).rejects.toMatchObject({ statusCode: 404 });
    const put = await armWrite(sim, { name: "Ana", upn: "ana@contoso.example" }, "PUT", `${DEF}/providers/Microsoft.Authorization/roleAssignments/${name(8)}`, { properties: { roleDefinitionId: roleId(READER_ROLE_ID), principalId: PIPELINE, principalType: "ServicePrincipal" } });
    expect(put.status).toBe(201);
    await sim.events.idle();
    expect(receiver.events.map((e) => [e.eventType, e.data.operationName, e.subject])).toEqual([
      ["Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Authorization/roleAssignments/delete", `${VERSION}/providers/Microsoft.Authorization/roleAssignments/${name(6)}`],
      ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Authorization/roleAssignments/write", `${DEF}/providers/Microsoft.Authorization/roleAssignments/${name(8)}`],
    ]);
  });
});
