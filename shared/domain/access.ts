/**
 * Effective access: who may use an image, as Azure RBAC decides it from role assignments and role
 * definitions. Pure: the ARM reader hands in what it read; nothing here reads ARM or the clock.
 *
 * How ARM evaluates it (Learn, "Understand Azure role definitions",
 * https://learn.microsoft.com/azure/role-based-access-control/role-definitions):
 * - a role's `permissions` list `actions` it allows and `notActions` subtracted from them
 *   ("Actions" and "NotActions" sections): the effective permissions of an entry are its actions
 *   minus its notActions. NotActions are not a deny: another assignment granting the action still
 *   grants it ("NotActions" section), so principals are the union over assignments;
 * - operation strings are `{Company}.{ProviderName}/{resourceType}/{action}` and the wildcard `*`
 *   "extends a permission to everything that matches the string you provide" ("Wildcard
 *   permissions" section): `*` matches any run of characters, `/` included (`*` alone is every
 *   action, `Microsoft.Compute/*` every Compute action). Operation names are
 *   case-insensitive, as ARM compares them;
 * - an assignment at a scope applies to that scope and every scope below it (Learn, "Understand
 *   scope for Azure RBAC", https://learn.microsoft.com/azure/role-based-access-control/scope-overview:
 *   "permissions are inherited by child scopes"): management group → subscription → resource group →
 *   gallery → definition → version. Deny assignments and conditions (ABAC, data actions only) are
 *   not read: they can only narrow access, so the principals named here are at most everyone who can.
 *
 * Group membership is not expanded: gallery-watch reads ARM only (Microsoft Graph is out of scope),
 * so a group counts as one principal, whatever its members.
 */

/** The action `az vm create --image <gallery image>` needs on the image (Learn, "Azure permissions for Compute"). */
export const IMAGE_USE_ACTION = "Microsoft.Compute/galleries/images/versions/read";

/** One permission entry of a role definition, as ARM returns it. */
export interface RolePermissionFact {
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
}

/** A role definition as read (`Microsoft.Authorization/roleDefinitions`). `id`: its full id or its GUID name. */
export interface RoleDefinitionFact {
  readonly id: string;
  readonly roleName: string;
  readonly permissions: readonly RolePermissionFact[];
}

/** A role assignment as read (`Microsoft.Authorization/roleAssignments`). */
export interface RoleAssignmentFact {
  /** Full id: `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`. */
  readonly id: string;
  readonly scope: string;
  readonly principalId: string;
  /** `User`, `Group`, `ServicePrincipal`, `ForeignGroup`, `Device`, or absent when ARM did not say. */
  readonly principalType?: string;
  readonly roleDefinitionId: string;
}

/**
 * What the reader found about who can use one image definition: the assignments at, above and
 * below its scope (ARM's list for the scope without `atScope()` answers all three), the role
 * definitions they name, and the tenant the subscription belongs to (a group whose object id is the
 * tenant's is the whole directory).
 */
export interface AccessFacts {
  readonly assignments: readonly RoleAssignmentFact[];
  readonly roleDefinitions: readonly RoleDefinitionFact[];
  readonly tenantId?: string;
}

/** How an assignment reaches the scope asked about. */
export type GrantPath = "inherited" | "at" | "below";

export interface Grant {
  readonly assignment: RoleAssignmentFact;
  readonly roleName: string;
  readonly path: GrantPath;
}

/** One principal granted the action, with every assignment that grants it (ordered by id). */
export interface PrincipalAccess {
  /** Lower case. */
  readonly principalId: string;
  readonly principalType?: string;
  readonly grants: readonly Grant[];
}

export interface EffectiveAccess {
  /** Ordered by principal id. */
  readonly principals: readonly PrincipalAccess[];
  /** Assignments that apply but name a role definition that was not read: what they grant is unknown. */
  readonly unresolved: readonly RoleAssignmentFact[];
}

const patternCache = new Map<string, RegExp>();

/** Whether an operation pattern (with `*` wildcards) matches an action, case-insensitively, as ARM matches them. */
export function actionMatches(pattern: string, action: string): boolean {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    const body = pattern
      .trim()
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    re = new RegExp(`^${body}$`, "is");
    if (patternCache.size < 1000) patternCache.set(pattern, re);
  }
  return re.test(action.trim());
}

/** Whether a role grants `action`: some permission entry has an action matching it and no notAction matching it. */
export function roleGrants(role: Pick<RoleDefinitionFact, "permissions">, action: string): boolean {
  return role.permissions.some((p) => p.actions.some((a) => actionMatches(a, action)) && !p.notActions.some((n) => actionMatches(n, action)));
}

/** `/subscriptions/X/resourceGroups/rg` and `/subscriptions/x/resourcegroups/RG/` compare equal. */
export function normalizeScope(scope: string): string {
  const trimmed = scope.trim().toLowerCase().replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

const MANAGEMENT_GROUP = /^\/providers\/microsoft\.management\/managementgroups\/[^/]+$/;

/**
 * How an assignment at `assignmentScope` reaches `scope`: at it, inherited from above (an enclosing
 * scope, the root `/`, or a management group — which ARM returns only when it encloses the scope's
 * subscription), from below (a scope inside it), or not at all.
 */
export function pathTo(assignmentScope: string, scope: string): GrantPath | undefined {
  const a = normalizeScope(assignmentScope);
  const s = normalizeScope(scope);
  if (a === s) return "at";
  if (a === "/" || MANAGEMENT_GROUP.test(a) || s.startsWith(`${a}/`)) return "inherited";
  if (a.startsWith(`${s}/`)) return "below";
  return undefined;
}

/** The GUID name of a role definition id (`/subscriptions/…/providers/Microsoft.Authorization/roleDefinitions/{guid}` or the GUID alone). */
export function roleDefinitionName(id: string): string {
  return (id.trim().replace(/\/+$/, "").split("/").pop() ?? "").toLowerCase();
}

/**
 * The principals granted `action` on `scope`, each with the assignments that grant it.
 * `below`: also count assignments on scopes inside `scope` (a definition's versions: a principal
 * with read on one version can build from it).
 */
export function effectiveAccess(scope: string, facts: AccessFacts, options: { readonly action?: string; readonly below?: boolean } = {}): EffectiveAccess {
  const action = options.action ?? IMAGE_USE_ACTION;
  const roles = new Map(facts.roleDefinitions.map((r) => [roleDefinitionName(r.id), r] as const));
  const byPrincipal = new Map<string, { principalType?: string; grants: Grant[] }>();
  const unresolved: RoleAssignmentFact[] = [];
  const seen = new Set<string>();
  for (const assignment of facts.assignments) {
    const key = assignment.id.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const path = pathTo(assignment.scope, scope);
    if (path === undefined || (path === "below" && options.below !== true)) continue;
    const role = roles.get(roleDefinitionName(assignment.roleDefinitionId));
    if (role === undefined) {
      unresolved.push(assignment);
      continue;
    }
    if (!roleGrants(role, action)) continue;
    const principalId = assignment.principalId.toLowerCase();
    const entry = byPrincipal.get(principalId) ?? { grants: [] };
    if (entry.principalType === undefined && assignment.principalType !== undefined) entry.principalType = assignment.principalType;
    entry.grants.push({ assignment, roleName: role.roleName, path });
    byPrincipal.set(principalId, entry);
  }
  const byId = <T>(f: (x: T) => string) => (a: T, b: T) => (f(a) < f(b) ? -1 : f(a) > f(b) ? 1 : 0);
  const principals = [...byPrincipal.entries()]
    .map(([principalId, e]) => ({ principalId, ...(e.principalType !== undefined ? { principalType: e.principalType } : {}), grants: e.grants.sort(byId((g: Grant) => g.assignment.id.toLowerCase())) }))
    .sort(byId((p: PrincipalAccess) => p.principalId));
  return { principals, unresolved: unresolved.sort(byId((a: RoleAssignmentFact) => a.id.toLowerCase())) };
}

/** A role that only reads: every action it grants ends in `/read` (the wildcard read of every provider included), case-insensitively. */
export function readsOnly(role: RoleDefinitionFact): boolean {
  return role.permissions.every((p) => p.actions.every((a) => /\/read$/i.test(a.trim())));
}

/**
 * A group that is the whole directory: a group (or a foreign group) whose object id is the tenant's
 * own id. Without Microsoft Graph gallery-watch cannot read a group's membership rule, so a
 * dynamic "all users" group with another id is not recognised: it counts as one principal, and the
 * approved list (GW_APPROVED_IMAGE_USERS) is what catches it.
 */
export function isTenantWideGroup(principal: Pick<PrincipalAccess, "principalId" | "principalType">, tenantId: string | undefined): boolean {
  const type = (principal.principalType ?? "").toLowerCase();
  return tenantId !== undefined && (type === "group" || type === "foreigngroup") && principal.principalId.toLowerCase() === tenantId.toLowerCase();
}
