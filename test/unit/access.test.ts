/**
 * Effective access (issue 20 point 4) and the `broad-access` rule: who can use a specialized image
 * definition, from role assignments at, above and below it and the role definitions they name.
 * Pure, table-driven, with property tests for the wildcard matcher and the union over assignments.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  actionMatches,
  effectiveAccess,
  IMAGE_USE_ACTION,
  pathTo,
  roleGrants,
  type AccessFacts,
  type RoleAssignmentFact,
  type RoleDefinitionFact,
} from "../../shared/domain/access.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { undecidableRules } from "../../shared/domain/judgeable.js";
import type { RelatedResources } from "../../shared/domain/rules/related.js";
import { GROUPS_NOT_EXPANDED } from "../../shared/domain/rules/broadAccess.js";
import { BUILT_IN_ROLES, CONTRIBUTOR_ROLE_ID, OWNER_ROLE_ID, READER_ROLE_ID } from "../../local/armSimulator/builtInRoles.js";
import { aDefinition, BASE, NOW, policy, SUB } from "../support/snapshotBuilders.js";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const GALLERY = `${BASE}/galleries/gal`;
const DEF = `${GALLERY}/images/def`;
const RG = `/subscriptions/${SUB}/resourceGroups/rg`;
const SUBSCRIPTION = `/subscriptions/${SUB}`;
const roleId = (guid: string) => `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
const ROLES: RoleDefinitionFact[] = BUILT_IN_ROLES.map((r) => ({ id: roleId(r.name), roleName: r.roleName, permissions: [{ actions: r.actions, notActions: r.notActions }] }));
const custom = (guid: string, roleName: string, actions: string[], notActions: string[] = []): RoleDefinitionFact => ({ id: roleId(guid), roleName, permissions: [{ actions, notActions }] });

const OPERATOR = "11111111-0000-4000-8000-000000000001";
const PIPELINE = "22222222-0000-4000-8000-000000000002";
const WATCHER = "33333333-0000-4000-8000-000000000003";
let n = 0;
function assign(scope: string, principalId: string, role: string, principalType = "ServicePrincipal"): RoleAssignmentFact {
  n += 1;
  const name = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  return { id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, scope, principalId, principalType, roleDefinitionId: roleId(role) };
}
const facts = (assignments: RoleAssignmentFact[], roleDefinitions: RoleDefinitionFact[] = ROLES): AccessFacts => ({ assignments, roleDefinitions, tenantId: TENANT });

describe("actionMatches: ARM's operation wildcards", () => {
  it.each([
    ["*", IMAGE_USE_ACTION, true],
    ["*/read", IMAGE_USE_ACTION, true],
    ["Microsoft.Compute/*", IMAGE_USE_ACTION, true],
    ["microsoft.compute/galleries/images/versions/READ", IMAGE_USE_ACTION, true],
    ["Microsoft.Compute/galleries/*/read", IMAGE_USE_ACTION, true],
    ["Microsoft.Compute/galleries/read", IMAGE_USE_ACTION, false],
    ["Microsoft.Compute/galleries/images/read", IMAGE_USE_ACTION, false],
    ["Microsoft.Compute/virtualMachines/*", IMAGE_USE_ACTION, false],
    ["*/write", IMAGE_USE_ACTION, false],
    ["Microsoft.Compute/galleries/images/versions/read/extra", IMAGE_USE_ACTION, false],
    ["Microsoft.Compute.galleries/*", IMAGE_USE_ACTION, false], // '.' is literal, not any character
    ["Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true],
  ])("%s matches %s: %s", (pattern, action, expected) => {
    expect(actionMatches(pattern, action)).toBe(expected);
  });

  // A reference matcher written another way (recursive glob), compared on random patterns and actions.
  const glob = (p: string, s: string): boolean => {
    if (p === "") return s === "";
    if (p[0] === "*") return glob(p.slice(1), s) || (s !== "" && glob(p, s.slice(1)));
    return s !== "" && p[0]!.toLowerCase() === s[0]!.toLowerCase() && glob(p.slice(1), s.slice(1));
  };
  it("agrees with a recursive glob on any pattern and action (case-insensitive, * any run, / included)", () => {
    const chars = fc.constantFrom("a", "B", "/", ".", "*", "?", "(");
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 8 }), fc.array(fc.constantFrom("a", "b", "A", "/", ".", "?", "("), { maxLength: 8 }), (p, s) => {
        expect(actionMatches(p.join(""), s.join(""))).toBe(glob(p.join(""), s.join("")));
      }),
      { numRuns: 500 },
    );
  });
});

describe("roleGrants", () => {
  const byId = (guid: string) => ROLES.find((r) => r.id.endsWith(guid))!;
  it.each([
    ["Reader (*/read)", byId(READER_ROLE_ID), true],
    ["Contributor (* minus Authorization writes and gallery sharing)", byId(CONTRIBUTOR_ROLE_ID), true],
    ["Owner (*)", byId(OWNER_ROLE_ID), true],
    ["a custom role with Compute/* but versions/read in notActions", custom("c1", "No images", ["Microsoft.Compute/*"], ["Microsoft.Compute/galleries/images/versions/*"]), false],
    ["a custom role reading galleries and definitions only", custom("c2", "Gallery browser", ["Microsoft.Compute/galleries/read", "Microsoft.Compute/galleries/images/read"]), false],
    ["a custom role with the action in another permission entry than the notAction", { id: "c3", roleName: "Split", permissions: [{ actions: ["*/read"], notActions: [] }, { actions: ["Microsoft.Compute/*"], notActions: ["*/read"] }] }, true],
    ["a role with no permissions", custom("c4", "Empty", []), false],
  ])("%s grants versions/read: %s", (_label, role, expected) => {
    expect(roleGrants(role, IMAGE_USE_ACTION)).toBe(expected);
  });
});

describe("pathTo: how an assignment's scope reaches a scope", () => {
  it.each([
    [DEF, DEF, "at"],
    [GALLERY, DEF, "inherited"],
    [RG.toUpperCase(), DEF, "inherited"],
    [`${SUBSCRIPTION}/`, DEF, "inherited"],
    ["/", DEF, "inherited"],
    ["/providers/Microsoft.Management/managementGroups/contoso", DEF, "inherited"],
    [`${DEF}/versions/1.0.0`, DEF, "below"],
    [`${GALLERY}/images/def2`, DEF, undefined], // a sibling whose name starts the same
    [`${BASE}/galleries/gal2`, DEF, undefined],
    [`/subscriptions/99999999-1111-2222-3333-444444444444`, DEF, undefined],
  ])("%s → %s: %s", (scope, target, expected) => {
    expect(pathTo(scope, target)).toBe(expected);
  });
});

describe("effectiveAccess", () => {
  it("names each principal granted versions/read at, above and (when asked) below, with every assignment that grants it", () => {
    const onGallery = assign(GALLERY, OPERATOR, READER_ROLE_ID, "Group");
    const onRg = assign(RG, OPERATOR, CONTRIBUTOR_ROLE_ID, "Group");
    const onVersion = assign(`${DEF}/versions/1.0.0`, PIPELINE, READER_ROLE_ID);
    const elsewhere = assign(`${BASE}/galleries/other`, WATCHER, OWNER_ROLE_ID);
    const access = effectiveAccess(DEF, facts([onGallery, onRg, onVersion, elsewhere]), { below: true });
    expect(access.principals.map((p) => [p.principalId, p.principalType, p.grants.map((g) => [g.assignment.id, g.roleName, g.path])])).toEqual([
      [OPERATOR, "Group", [[onGallery.id, "Reader", "inherited"], [onRg.id, "Contributor", "inherited"]].sort((a, b) => (a[0]! < b[0]! ? -1 : 1))],
      [PIPELINE, "ServicePrincipal", [[onVersion.id, "Reader", "below"]]],
    ]);
    expect(effectiveAccess(DEF, facts([onVersion])).principals).toEqual([]);
  });

  it("an assignment whose role was not read is unresolved, never assumed to grant or not", () => {
    const unknownRole = assign(GALLERY, PIPELINE, "deadbeef-0000-4000-8000-000000000000");
    const access = effectiveAccess(DEF, facts([unknownRole]));
    expect(access.principals).toEqual([]);
    expect(access.unresolved).toEqual([unknownRole]);
  });

  it("a duplicated assignment (listed at two scopes) counts once", () => {
    const a = assign(GALLERY, OPERATOR, READER_ROLE_ID);
    expect(effectiveAccess(DEF, facts([a, { ...a, id: a.id.toUpperCase() }])).principals[0]!.grants).toHaveLength(1);
  });

  const scopes = [ "/", SUBSCRIPTION, RG, GALLERY, DEF, `${DEF}/versions/1.0.0`, `${BASE}/galleries/other`, `${GALLERY}/images/def2` ];
  const principals = [OPERATOR, PIPELINE, WATCHER];
  const roles = [READER_ROLE_ID, CONTRIBUTOR_ROLE_ID, OWNER_ROLE_ID, "c1"];
  const withCustom = [...ROLES, custom("c1", "No images", ["Microsoft.Compute/*"], ["Microsoft.Compute/galleries/images/versions/*"])];
  const anAssignment = fc.record({ scope: fc.constantFrom(...scopes), principal: fc.constantFrom(...principals), role: fc.constantFrom(...roles), name: fc.uuid() }).map(({ scope, principal, role, name }) => ({
    id: `${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    scope,
    principalId: principal,
    principalType: "User",
    roleDefinitionId: roleId(role),
  }));

  it("is a union: a principal is granted exactly when one applicable assignment's role grants the action, and adding an assignment never takes access away", () => {
    fc.assert(
      fc.property(fc.array(anAssignment, { maxLength: 12 }), anAssignment, (assignments, extra) => {
        const before = effectiveAccess(DEF, facts(assignments, withCustom), { below: true });
        const granted = new Set(
          assignments
            .filter((a) => pathTo(a.scope, DEF) !== undefined && !a.roleDefinitionId.endsWith("/c1"))
            .map((a) => a.principalId),
        );
        expect(before.principals.map((p) => p.principalId)).toEqual([...granted].sort());
        const after = effectiveAccess(DEF, facts([...assignments, extra], withCustom), { below: true });
        for (const p of before.principals) expect(after.principals.map((q) => q.principalId)).toContain(p.principalId);
      }),
      { numRuns: 300 },
    );
  });

  it("what is granted on the gallery is granted on every definition and version inside it, never on a sibling gallery", () => {
    fc.assert(
      fc.property(fc.array(anAssignment, { maxLength: 10 }), (assignments) => {
        const gallery = effectiveAccess(GALLERY, facts(assignments, withCustom)).principals.map((p) => p.principalId);
        const version = effectiveAccess(`${DEF}/versions/1.0.0`, facts(assignments, withCustom)).principals.map((p) => p.principalId);
        for (const p of gallery) expect(version).toContain(p);
        const other = effectiveAccess(`${BASE}/galleries/other`, facts(assignments.filter((a) => a.scope.toLowerCase().startsWith(GALLERY.toLowerCase())), withCustom));
        expect(other.principals).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

describe("broad-access", () => {
  const related = (assignments: RoleAssignmentFact[], roleDefinitions: RoleDefinitionFact[] = ROLES): RelatedResources => ({ definitions: [], versions: [], access: facts(assignments, roleDefinitions) });
  const fire = (subject = aDefinition(), rel: RelatedResources, p = policy()) => evaluateSubject(subject, rel, p, NOW).find((r) => (r.violation ?? r.observation).ruleId === "broad-access");
  const watcher = assign(SUBSCRIPTION, WATCHER, READER_ROLE_ID);
  const operators = assign(DEF, OPERATOR, READER_ROLE_ID, "Group");
  const pipeline = assign(GALLERY, PIPELINE, READER_ROLE_ID);
  const approved = policy({ approvedImageUsers: [WATCHER, OPERATOR] });
  const many = Array.from({ length: 11 }, (_, i) => assign(RG, `44444444-0000-4000-8000-${String(i).padStart(12, "0")}`, READER_ROLE_ID, "User"));

  it.each([
    ["only approved principals", aDefinition(), related([watcher, operators]), approved, undefined],
    ["a pipeline identity outside the approved list, Reader on the gallery", aDefinition(), related([watcher, operators, pipeline]), approved, "high"],
    ["the same with no approved list: not checked, within the limit", aDefinition(), related([watcher, operators, pipeline]), policy(), undefined],
    ["more principals than GW_MAX_IMAGE_USERS (11 > 10)", aDefinition(), related(many), policy(), "high"],
    ["exactly GW_MAX_IMAGE_USERS", aDefinition(), related(many.slice(0, 10)), policy(), undefined],
    ["the tenant-wide group, Reader on the resource group", aDefinition(), related([assign(RG, TENANT, READER_ROLE_ID, "Group")]), policy(), "high"],
    ["a custom role that cannot read versions, to an unapproved principal", aDefinition(), related([assign(GALLERY, PIPELINE, "c1")], [...ROLES, custom("c1", "No images", ["Microsoft.Compute/*"], ["Microsoft.Compute/galleries/images/versions/*"])]), approved, undefined],
    ["an unapproved principal with read on one version only", aDefinition(), related([assign(`${DEF}/versions/1.0.0`, PIPELINE, READER_ROLE_ID)]), approved, "high"],
    ["a generalized definition, whoever can use it", aDefinition({ osState: "Generalized" }), related([pipeline, ...many]), approved, undefined],
    ["access not read", aDefinition(), { definitions: [], versions: [] }, approved, undefined],
    // gallery-watch's own identity reads every image to watch it (GW_APP_PRINCIPAL_ID, set by infra): it is no user of them.
    ["gallery-watch's own identity, Reader on the subscription, left out of the approved list", aDefinition(), related([watcher, operators]), policy({ approvedImageUsers: [OPERATOR], appPrincipalId: WATCHER }), undefined],
    ["GW_MAX_IMAGE_USERS others beside gallery-watch's own identity", aDefinition(), related([watcher, ...many.slice(0, 10)]), policy({ appPrincipalId: WATCHER }), undefined],
    ["one more than GW_MAX_IMAGE_USERS others beside gallery-watch's own identity", aDefinition(), related([watcher, ...many]), policy({ appPrincipalId: WATCHER }), "high"],
    // Only as a reader: granted more, gallery-watch's identity (and whoever deploys code as it) could build machines.
    ["gallery-watch's own identity granted Contributor on the gallery, outside the approved list", aDefinition(), related([watcher, operators, assign(GALLERY, WATCHER, CONTRIBUTOR_ROLE_ID)]), policy({ approvedImageUsers: [OPERATOR], appPrincipalId: WATCHER }), "high"],
  ])("%s → %s", (_label, subject, rel, p, severity) => {
    expect(fire(subject, rel, p)?.violation?.severity).toBe(severity);
  });

  it("names each principal and the assignment that grants it, with the az role assignment delete that fixes it, and says groups are not expanded", () => {
    const v = fire(aDefinition(), related([watcher, operators, pipeline]), approved)!.violation!;
    expect(v.summary).toContain(`ServicePrincipal ${PIPELINE} (Reader inherited from ${GALLERY})`);
    expect(v.summary).toContain("1 is not approved");
    expect(v.summary).toContain(GROUPS_NOT_EXPANDED);
    expect(v.facts).toMatchObject({ principalCount: 3, maxImageUsers: 10, unapprovedPrincipals: [PIPELINE], tenantWideGroups: [], grantingAssignments: [pipeline.id] });
    expect(v.remediation.commands[0]).toBe(`az role assignment delete --ids ${pipeline.id}`);
    expect(v.remediation.commands).toHaveLength(2);
    expect(v.magnitude).toBe(3);
  });

  it("a clean definition is observed with who can use it, so a resolved finding says what is true now", () => {
    const result = fire(aDefinition(), related([watcher, operators]), approved);
    expect(result?.observation?.summary).toBe("The specialized image definition gal/def can now be used by 2 principals (limit 10), none outside the approved list or tenant-wide.");
  });

  it("reaches no verdict when access was not read or an assignment names a role that could not be read", () => {
    expect(undecidableRules(aDefinition(), { definitions: [], versions: [] }, false)).toEqual(new Set(["broad-access"]));
    expect(undecidableRules(aDefinition(), related([assign(GALLERY, PIPELINE, "deadbeef-0000-4000-8000-000000000000")]), false)).toEqual(new Set(["broad-access"]));
    expect(undecidableRules(aDefinition(), related([watcher]), false)).toEqual(new Set());
    expect(undecidableRules(aDefinition({ osState: "Generalized" }), { definitions: [], versions: [] }, false)).toEqual(new Set());
  });
});
