import type { Violation } from "../findings.js";
import type { Policy } from "../policy.js";
import type { ImageDefinitionSnapshot } from "../snapshots.js";
import { effectiveAccess, isTenantWideGroup, readsOnly, roleDefinitionName, type AccessFacts, type EffectiveAccess, type PrincipalAccess } from "../access.js";
import type { Rule } from "./rule.js";
import { displayName, isJudged, observation, osStatePhrase, portalLink, someOf } from "./describe.js";

/** Said on every card of the rule: what gallery-watch cannot see. */
export const GROUPS_NOT_EXPANDED = "Group members are not expanded (Microsoft Graph is out of scope): a group counts as one principal.";

/** Most `az role assignment delete` commands one card carries. */
const MAX_COMMANDS = 20;

/**
 * Who can use a specialized definition: every principal granted
 * `Microsoft.Compute/galleries/images/versions/read` at the definition, above it (gallery, resource
 * group, subscription, management groups) or on one of its versions.
 */
export function imageUsers(definition: Pick<ImageDefinitionSnapshot, "id">, facts: AccessFacts): EffectiveAccess {
  return effectiveAccess(definition.id.display, facts, { below: true });
}

/** "Group 1f0e… via Reader at /subscriptions/…/galleries/gal (inherited)". */
function principalLabel(p: PrincipalAccess): string {
  const via = p.grants.map((g) => `${g.roleName} ${g.path === "at" ? "on the definition" : g.path === "below" ? `on version ${g.assignment.scope.split("/").pop() ?? ""}` : `inherited from ${g.assignment.scope}`}`);
  return `${p.principalType ?? "principal"} ${p.principalId} (${via.join("; ")})`;
}

interface Verdict {
  readonly principals: readonly PrincipalAccess[];
  readonly unapproved: readonly PrincipalAccess[];
  readonly tenantWide: readonly PrincipalAccess[];
  readonly tooMany: boolean;
}

function verdictOf(definition: ImageDefinitionSnapshot, facts: AccessFacts, policy: Policy): Verdict {
  // gallery-watch's own identity reads the image to watch it: while every role that grants it that
  // only reads, it builds nothing from it. Granted more, it counts like anyone (whoever deploys code
  // to the app acts as it).
  const readers = new Set(facts.roleDefinitions.filter(readsOnly).map((r) => roleDefinitionName(r.id)));
  const watching = (p: PrincipalAccess) => p.principalId === policy.appPrincipalId && p.grants.every((g) => readers.has(roleDefinitionName(g.assignment.roleDefinitionId)));
  const principals = imageUsers(definition, facts).principals.filter((p) => !watching(p));
  const approved = new Set(policy.approvedImageUsers.map((a) => a.toLowerCase()));
  return {
    principals,
    // An empty list approves no one in particular: the check is off, the count and the tenant-wide groups still apply.
    unapproved: approved.size === 0 ? [] : principals.filter((p) => !approved.has(p.principalId)),
    tenantWide: principals.filter((p) => isTenantWideGroup(p, facts.tenantId)),
    tooMany: principals.length > policy.maxImageUsers,
  };
}

const ids = (ps: readonly PrincipalAccess[]) => ps.map((p) => p.principalId);

/**
 * Judged on the image definition, not on each version: `az vm create --image` points at the
 * definition (it resolves `latest`) or at one of its versions, and an assignment on the definition
 * or above it reaches every version (RBAC inheritance), so the definition is where access is
 * decided and where one finding names everyone; an assignment on a single version is counted too.
 * High when more principals than GW_MAX_IMAGE_USERS can use it, when one is outside
 * GW_APPROVED_IMAGE_USERS, or when a whole tenant-wide group can.
 */
export const broadAccess: Rule<ImageDefinitionSnapshot> = {
  id: "broad-access",
  appliesTo: "imageDefinition",
  title: "Too many, or unapproved, principals can use a specialized image",
  evaluate(definition, related, policy): Violation | undefined {
    if (!isJudged(definition.osState) || related.access === undefined) return undefined;
    const { principals, unapproved, tenantWide, tooMany } = verdictOf(definition, related.access, policy);
    if (!tooMany && unapproved.length === 0 && tenantWide.length === 0) return undefined;
    const offending = unapproved.length > 0 || tenantWide.length > 0 ? [...new Map([...tenantWide, ...unapproved].map((p) => [p.principalId, p] as const)).values()] : principals;
    const assignments = [...new Set(offending.flatMap((p) => p.grants.map((g) => g.assignment.id)))];
    const why = [
      tooMany ? `${principals.length} principals can use it (limit ${policy.maxImageUsers})` : undefined,
      unapproved.length > 0 ? `${unapproved.length} ${unapproved.length === 1 ? "is" : "are"} not approved: ${someOf(unapproved.map(principalLabel), 6)}` : undefined,
      tenantWide.length > 0 ? `the whole tenant can, through ${someOf(tenantWide.map(principalLabel), 3)}` : undefined,
    ].filter((s): s is string => s !== undefined);
    return {
      ruleId: "broad-access",
      severity: "high",
      resourceKey: definition.id.key,
      resourceId: definition.id.display,
      resourceKind: "imageDefinition",
      summary: `Who can build machines from the ${osStatePhrase(definition.osState)} ${displayName(definition.id)} is too broad: ${why.join("; ")}. ${GROUPS_NOT_EXPANDED}`,
      facts: {
        osState: definition.osState,
        principalCount: principals.length,
        maxImageUsers: policy.maxImageUsers,
        principals: principals.map(principalLabel),
        unapprovedPrincipals: ids(unapproved),
        tenantWideGroups: ids(tenantWide),
        grantingAssignments: assignments,
      },
      magnitude: principals.length,
      remediation: {
        advice: `Remove the role assignments that grant read on the image to principals that must not build from it (or add them to GW_APPROVED_IMAGE_USERS); grant the approved operators a role on the definition only. ${GROUPS_NOT_EXPANDED}`,
        commands: [
          ...assignments.slice(0, MAX_COMMANDS).map((id) => `az role assignment delete --ids ${id}`),
          `az role assignment list --scope ${definition.id.display} --include-inherited --query "[].{principal:principalId, type:principalType, role:roleDefinitionName, scope:scope}" -o table`,
        ],
        portalUrl: portalLink(definition.id, policy),
      },
    };
  },

  observe(definition, related, policy) {
    if (!isJudged(definition.osState) || related.access === undefined) return undefined;
    const { principals } = verdictOf(definition, related.access, policy);
    return observation(
      "broad-access",
      definition,
      `The ${osStatePhrase(definition.osState)} ${displayName(definition.id)} can now be used by ${principals.length} principal${principals.length === 1 ? "" : "s"} (limit ${policy.maxImageUsers}), none outside the approved list or tenant-wide.`,
      { osState: definition.osState, principalCount: principals.length, maxImageUsers: policy.maxImageUsers, principals: principals.map(principalLabel), unapprovedPrincipals: [], tenantWideGroups: [], grantingAssignments: [] },
    );
  },
};
