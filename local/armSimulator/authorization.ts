/**
 * Microsoft.Authorization role definitions and role assignments, as ARM serves them at
 * api-version 2022-04-01 (Azure/azure-rest-api-specs,
 * specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/
 * authorization-RoleAssignmentsCalls.json and authorization-RoleDefinitionsCalls.json, with their
 * examples RoleAssignments_CreateForResource.json, RoleAssignments_ListForScope.json,
 * GetRoleDefinitionById.json):
 *
 * - `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`: PUT (201 created, 200 the
 *   same again), GET, DELETE (200 with the deleted assignment, 204 when there is none); the name is
 *   any GUID; `{ properties: { roleDefinitionId, principalId, principalType = User, description?,
 *   condition?, conditionVersion? } }`; the answer adds `scope`, `createdOn`, `updatedOn`,
 *   `createdBy`, `updatedBy`. One principal holds one role once per scope (409 RoleAssignmentExists).
 * - `{scope}/providers/Microsoft.Authorization/roleAssignments`: the assignments that apply to the
 *   scope — at, above and below it; `$filter=atScope()` at or above only; `$filter=principalId eq
 *   '{id}'` that principal's at, above and below (the spec's RoleAssignmentFilterParameter). Paged by
 *   `nextLink` with `$skipToken`.
 * - `{scope}/providers/Microsoft.Authorization/roleDefinitions[/{id}]`: the built-in Reader,
 *   Contributor and Owner (builtInRoles.ts) at every scope, custom roles by PUT (201), GET, DELETE
 *   (200, 204 when none); the list answers the roles applicable at the scope and above, with
 *   `$filter=roleName eq '…'` or `type eq 'BuiltInRole' | 'CustomRole'` (RoleDefinitionFilter).
 *
 * Writes and deletes of assignments emit `Microsoft.Resources.ResourceWriteSuccess` /
 * `ResourceDeleteSuccess` with operationName `Microsoft.Authorization/roleAssignments/write|delete`
 * on the subscription the scope lies in (management-group and root scopes are on no subscription's
 * topic); custom roles likewise with `…/roleDefinitions/write|delete`.
 */
import { pathTo } from "../../shared/domain/access.js";
import { isGuid } from "../../shared/domain/resourceId.js";
import { BUILT_IN_ROLES } from "./builtInRoles.js";
import { armError, type ArmFailure } from "./errors.js";
import type { Json } from "./estate.js";

export const ROLE_ASSIGNMENT_WRITE = "Microsoft.Authorization/roleAssignments/write";
export const ROLE_ASSIGNMENT_DELETE = "Microsoft.Authorization/roleAssignments/delete";
const ROLE_DEFINITION_WRITE = "Microsoft.Authorization/roleDefinitions/write";
const ROLE_DEFINITION_DELETE = "Microsoft.Authorization/roleDefinitions/delete";
const PROVIDER = "/providers/Microsoft.Authorization";


export interface AuthorizationRequest {
  readonly method: string;
  /** Decoded path, as the simulator routes it. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly baseUrl: string;
  /** Object id of the caller (`createdBy`). */
  readonly callerId: string;
  readonly now: Date;
}

export interface AuthorizationEvent {
  readonly eventType: "Microsoft.Resources.ResourceWriteSuccess" | "Microsoft.Resources.ResourceDeleteSuccess";
  readonly operationName: string;
  readonly resourceUri: string;
  readonly subscriptionId: string;
}

export interface AuthorizationAnswer {
  readonly status: number;
  readonly body?: unknown;
  readonly events: readonly AuthorizationEvent[];
  /** What the request did, for the simulator's request counts. */
  readonly count: string;
}

interface Path {
  readonly scope: string;
  readonly collection: "roleAssignments" | "roleDefinitions";
  readonly name?: string;
}

/** `{scope}/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions}[/{name}]`, case-insensitively; undefined for anything else. */
export function parseAuthorizationPath(path: string): Path | undefined {
  const m = /^(.*?)\/providers\/microsoft\.authorization\/(roleassignments|roledefinitions)(?:\/([^/]+))?$/i.exec(path);
  if (!m) return undefined;
  const scope = m[1] === "" ? "/" : m[1]!;
  return { scope, collection: m[2]!.toLowerCase() === "roleassignments" ? "roleAssignments" : "roleDefinitions", ...(m[3] !== undefined ? { name: m[3] } : {}) };
}

const subscriptionOf = (scope: string) => /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
const scopePrefix = (scope: string) => (scope === "/" ? "" : scope);
const keyOf = (scope: string, name: string) => `${scope.toLowerCase().replace(/\/+$/, "")}|${name.toLowerCase()}`;

interface StoredRole {
  readonly name: string;
  readonly scope: string;
  readonly properties: Json;
}

export class Authorization {
  private readonly assignments = new Map<string, Json>();
  private readonly customRoles = new Map<string, StoredRole>();

  constructor(private readonly pageSize: number) {}

  handle(request: AuthorizationRequest): AuthorizationAnswer {
    const target = parseAuthorizationPath(request.path)!;
    if (target.name === undefined && request.method !== "GET") return { ...failure(armError(405, "MethodNotAllowed", `${request.method} is not supported here.`)), count: `${request.method} ${target.collection}` };
    if (target.collection === "roleAssignments") return target.name === undefined ? this.listAssignments(target.scope, request) : this.assignment(target.scope, target.name, request);
    return target.name === undefined ? this.listRoles(target.scope, request) : this.role(target.scope, target.name, request);
  }

  /** Every assignment, for tests and the stack's scenarios. */
  list(): Json[] {
    return [...this.assignments.values()].map((a) => structuredClone(a));
  }

  // ---- role assignments ----------------------------------------------------------------------

  private assignment(scope: string, name: string, request: AuthorizationRequest): AuthorizationAnswer {
    const count = `${request.method} roleAssignment`;
    const key = keyOf(scope, name);
    const existing = this.assignments.get(key);
    const subscriptionId = subscriptionOf(scope);
    const event = (eventType: AuthorizationEvent["eventType"], operationName: string, id: string): AuthorizationEvent[] => (subscriptionId ? [{ eventType, operationName, resourceUri: id, subscriptionId }] : []);
    switch (request.method) {
      case "GET":
        return existing
          ? { status: 200, body: existing, events: [], count }
          : { ...failure(armError(404, "RoleAssignmentNotFound", `The role assignment '${name}' is not found.`)), count };
      case "DELETE":
        if (!existing) return { status: 204, events: [], count };
        this.assignments.delete(key);
        return { status: 200, body: existing, events: event("Microsoft.Resources.ResourceDeleteSuccess", ROLE_ASSIGNMENT_DELETE, String(existing.id)), count };
      case "PUT": {
        if (!isGuid(name.toLowerCase())) return { ...failure(armError(400, "InvalidRoleAssignmentId", `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`)), count };
        const properties = (request.body as Json | null | undefined)?.properties as Json | undefined;
        if (typeof properties !== "object" || properties === null) return { ...failure(armError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")), count };
        const principalId = String(properties.principalId ?? "");
        if (!isGuid(principalId.toLowerCase())) return { ...failure(armError(400, "InvalidPrincipalId", `A valid principal ID must be provided for role assignment ('${principalId.slice(0, 60)}').`)), count };
        const roleDefinitionId = String(properties.roleDefinitionId ?? "");
        if (!this.findRole(roleDefinitionId.split("/").pop() ?? "", scope)) return { ...failure(armError(400, "RoleDefinitionDoesNotExist", `The specified role definition with ID '${roleDefinitionId.split("/").pop() ?? ""}' does not exist.`)), count };
        const principalType = String(properties.principalType ?? "User");
        const same = (a: Json) => String(a.properties.principalId).toLowerCase() === principalId.toLowerCase() && roleName(String(a.properties.roleDefinitionId)) === roleName(roleDefinitionId) && keyOf(String(a.properties.scope), "") === keyOf(scope, "");
        if (existing) {
          if (!same(existing)) return { ...failure(armError(409, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")), count };
          return { status: 200, body: existing, events: [], count };
        }
        const duplicate = [...this.assignments.values()].find(same);
        if (duplicate) return { ...failure(armError(409, "RoleAssignmentExists", `The role assignment already exists. The ID of the existing role assignment is ${String(duplicate.name)}.`)), count };
        const at = request.now.toISOString();
        const id = `${scopePrefix(scope)}${PROVIDER}/roleAssignments/${name}`;
        const body: Json = {
          properties: {
            roleDefinitionId,
            principalId,
            principalType,
            scope,
            ...(typeof properties.description === "string" ? { description: properties.description } : {}),
            condition: properties.condition ?? null,
            conditionVersion: properties.conditionVersion ?? null,
            createdOn: at,
            updatedOn: at,
            createdBy: null,
            updatedBy: request.callerId,
            delegatedManagedIdentityResourceId: null,
          },
          id,
          type: "Microsoft.Authorization/roleAssignments",
          name,
        };
        this.assignments.set(key, body);
        return { status: 201, body, events: event("Microsoft.Resources.ResourceWriteSuccess", ROLE_ASSIGNMENT_WRITE, id), count };
      }
      default:
        return { ...failure(armError(405, "MethodNotAllowed", `${request.method} is not supported here.`)), count };
    }
  }

  private listAssignments(scope: string, request: AuthorizationRequest): AuthorizationAnswer {
    const count = "GET roleAssignments list";
    const filter = (request.query.get("$filter") ?? "").trim();
    let keep: (a: Json) => boolean;
    const path = (a: Json) => pathTo(String(a.properties.scope), scope);
    if (filter === "") keep = (a) => path(a) !== undefined;
    else if (/^atscope\(\)$/i.test(filter)) keep = (a) => path(a) === "at" || path(a) === "inherited";
    else {
      const principal = /^principalid\s+eq\s+'([^']+)'$/i.exec(filter)?.[1];
      if (principal === undefined) return { ...failure(armError(400, "UnsupportedQuery", `The filter '${filter.slice(0, 100)}' is not supported. Supported filters are either 'atScope()' or 'principalId eq '{value}' or assignedTo('{value}')'.`)), count };
      keep = (a) => path(a) !== undefined && String(a.properties.principalId).toLowerCase() === principal.toLowerCase();
    }
    const all = [...this.assignments.values()].filter(keep).sort((a, b) => (String(a.id).toLowerCase() < String(b.id).toLowerCase() ? -1 : 1));
    return { status: 200, body: this.page(all, request), events: [], count };
  }

  // ---- role definitions ----------------------------------------------------------------------

  private role(scope: string, name: string, request: AuthorizationRequest): AuthorizationAnswer {
    const count = `${request.method} roleDefinition`;
    const builtIn = BUILT_IN_ROLES.some((r) => r.name === name.toLowerCase());
    const subscriptionId = subscriptionOf(scope);
    const event = (eventType: AuthorizationEvent["eventType"], operationName: string, id: string): AuthorizationEvent[] => (subscriptionId ? [{ eventType, operationName, resourceUri: id, subscriptionId }] : []);
    switch (request.method) {
      case "GET": {
        const found = this.findRole(name, scope);
        return found ? { status: 200, body: found, events: [], count } : { ...failure(armError(404, "RoleDefinitionDoesNotExist", `The specified role definition with ID '${name}' does not exist.`)), count };
      }
      case "DELETE": {
        if (builtIn) return { ...failure(armError(403, "AuthorizationFailed", "Built-in role definitions cannot be deleted.")), count };
        const stored = this.customRoles.get(name.toLowerCase());
        if (!stored) return { status: 204, events: [], count };
        const inUse = [...this.assignments.values()].find((a) => roleName(String(a.properties.roleDefinitionId)) === name.toLowerCase());
        if (inUse) return { ...failure(armError(409, "RoleDefinitionHasAssignments", "There are existing role assignments referencing role. Remove the role assignments first.")), count };
        const body = this.roleBody(stored, scope);
        this.customRoles.delete(name.toLowerCase());
        return { status: 200, body, events: event("Microsoft.Resources.ResourceDeleteSuccess", ROLE_DEFINITION_DELETE, String(body.id)), count };
      }
      case "PUT": {
        if (builtIn) return { ...failure(armError(403, "AuthorizationFailed", "Built-in role definitions cannot be updated.")), count };
        if (!isGuid(name.toLowerCase())) return { ...failure(armError(400, "RoleDefinitionIdNotValid", `The role definition ID '${name}' is not valid. The role definition ID must be a GUID.`)), count };
        const properties = (request.body as Json | null | undefined)?.properties as Json | undefined;
        const scopes = properties?.assignableScopes as unknown;
        if (typeof properties?.roleName !== "string" || properties.roleName === "") return { ...failure(armError(400, "RoleDefinitionNameNullOrEmpty", "The role definition name cannot be null or empty.")), count };
        if (!Array.isArray(scopes) || scopes.length === 0) return { ...failure(armError(400, "MissingAssignableScopes", "Assignable scopes of the role definition must be specified.")), count };
        if (!Array.isArray(properties.permissions)) return { ...failure(armError(400, "InvalidRequestContent", "The permissions of the role definition must be specified.")), count };
        const taken = [...this.customRoles.values()].find((r) => r.name !== name.toLowerCase() && String(r.properties.roleName).toLowerCase() === String(properties.roleName).toLowerCase());
        if (taken) return { ...failure(armError(409, "RoleDefinitionWithSameNameExists", `A custom role with the same name '${String(properties.roleName)}' already exists in this directory.`)), count };
        const at = request.now.toISOString();
        const before = this.customRoles.get(name.toLowerCase());
        const stored: StoredRole = {
          name: name.toLowerCase(),
          scope,
          properties: {
            roleName: properties.roleName,
            type: "CustomRole",
            description: properties.description ?? "",
            assignableScopes: scopes.map(String),
            permissions: (properties.permissions as Json[]).map((p) => ({ actions: p.actions ?? [], notActions: p.notActions ?? [], dataActions: p.dataActions ?? [], notDataActions: p.notDataActions ?? [] })),
            createdOn: before?.properties.createdOn ?? at,
            updatedOn: at,
            createdBy: before?.properties.createdBy ?? request.callerId,
            updatedBy: request.callerId,
          },
        };
        this.customRoles.set(stored.name, stored);
        const body = this.roleBody(stored, scope);
        return { status: 201, body, events: event("Microsoft.Resources.ResourceWriteSuccess", ROLE_DEFINITION_WRITE, String(body.id)), count };
      }
      default:
        return { ...failure(armError(405, "MethodNotAllowed", `${request.method} is not supported here.`)), count };
    }
  }

  private listRoles(scope: string, request: AuthorizationRequest): AuthorizationAnswer {
    const count = "GET roleDefinitions list";
    const filter = (request.query.get("$filter") ?? "").trim();
    const byName = /^rolename\s+eq\s+'([^']*)'$/i.exec(filter)?.[1];
    const byType = /^type\s+eq\s+'([^']*)'$/i.exec(filter)?.[1];
    if (filter !== "" && byName === undefined && byType === undefined) return { ...failure(armError(400, "UnsupportedQuery", `The filter '${filter.slice(0, 100)}' is not supported.`)), count };
    const all = [...BUILT_IN_ROLES.map((r) => this.findRole(r.name, scope)!), ...[...this.customRoles.values()].filter((r) => this.applicable(r, scope)).map((r) => this.roleBody(r, scope))]
      .filter((r) => byName === undefined || String(r.properties.roleName).toLowerCase() === byName.toLowerCase())
      .filter((r) => byType === undefined || String(r.properties.type).toLowerCase() === byType.toLowerCase());
    return { status: 200, body: this.page(all, request), events: [], count };
  }

  /** A role definition by its GUID as ARM answers it at `scope`: a built-in anywhere, a custom role where it is assignable. */
  private findRole(name: string, scope: string): Json | undefined {
    const builtIn = BUILT_IN_ROLES.find((r) => r.name === name.toLowerCase());
    if (builtIn) {
      return this.roleBody(
        { name: builtIn.name, scope, properties: { roleName: builtIn.roleName, type: "BuiltInRole", description: builtIn.description, assignableScopes: ["/"], permissions: [{ actions: builtIn.actions, notActions: builtIn.notActions, dataActions: [], notDataActions: [] }], createdOn: "2015-02-02T21:55:09.8806423Z", updatedOn: "2024-04-16T18:16:00.0000000Z", createdBy: null, updatedBy: null } },
        scope,
      );
    }
    const custom = this.customRoles.get(name.toLowerCase());
    return custom && this.applicable(custom, scope) ? this.roleBody(custom, scope) : undefined;
  }

  private applicable(role: StoredRole, scope: string): boolean {
    const assignable = role.properties.assignableScopes as string[];
    return assignable.some((s) => pathTo(s, scope) === "at" || pathTo(s, scope) === "inherited");
  }

  /** ARM names a role definition under the subscription it is read in (`/subscriptions/{id}/providers/…`), or the tenant (`/providers/…`). */
  private roleBody(role: StoredRole, scope: string): Json {
    const sub = subscriptionOf(scope);
    return { properties: structuredClone(role.properties), id: `${sub ? `/subscriptions/${sub}` : ""}${PROVIDER}/roleDefinitions/${role.name}`, type: "Microsoft.Authorization/roleDefinitions", name: role.name };
  }

  private page(all: readonly Json[], request: AuthorizationRequest): Json {
    const start = Number(request.query.get("$skipToken") ?? "0") || 0;
    const value = all.slice(start, start + this.pageSize);
    if (start + this.pageSize >= all.length) return { value };
    const next = new URL(request.path, request.baseUrl);
    for (const [k, v] of request.query) if (k !== "$skipToken") next.searchParams.set(k, v);
    next.searchParams.set("$skipToken", String(start + this.pageSize));
    return { value, nextLink: next.toString() };
  }
}

function roleName(roleDefinitionId: string): string {
  return (roleDefinitionId.split("/").pop() ?? "").toLowerCase();
}

function failure(f: ArmFailure): { status: number; body: unknown; events: [] } {
  return { status: f.status, body: f.body, events: [] };
}
