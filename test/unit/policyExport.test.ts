/**
 * The companion Azure Policy: the definition gallery-watch generates from its snapshots validates
 * against the documented policy structure, and its rule, evaluated against sample requests,
 * denies what gallery-watch's scale-set-use and replication-breadth rules would flag.
 */
import { describe, expect, it } from "vitest";
import { Ajv } from "ajv";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import {
  generatePolicy,
  NoSpecializedDefinitionsError,
  POLICY_DEFINITION_NAME,
  specializedDefinitionsOf,
  UnsupportedExceptionTagError,
  type PolicyExportSettings,
} from "../../shared/domain/policyExport.js";
import { POLICY_ASSIGNMENT_SCHEMA, POLICY_DEFINITION_SCHEMA, POLICY_SCHEMA_AJV_OPTIONS } from "../../shared/domain/policyDefinitionSchema.js";
import { azCommands, policyFiles } from "../../cli/commands/policy.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import { aDefinition, aScaleSet, aVersion, aVm, BASE, regions, SUB } from "../support/snapshotBuilders.js";
import { galleryRequest, scaleSetRequest, verdict, versionRequest, vmRequest } from "../support/policyEvaluator.js";

const OTHER_SUB = "99999999-8888-7777-6666-555555555555";
const SETTINGS: PolicyExportSettings = { subscriptions: [SUB, OTHER_SUB], maxRegions: 2, exceptionTag: "gallery-watch-exception", effect: "Deny", generatedAt: "2026-11-24T12:00:00.000Z" };
const def = (name: string) => `${BASE}/galleries/gal/images/${name}`;
const VMSS = `${BASE}/virtualMachineScaleSets/web`;

const estate: Snapshot[] = [
  aDefinition({ name: "gateway-os" }),
  aVersion({ definition: "gateway-os", version: "1.0.0" }),
  aDefinition({ name: "web", osState: "Generalized" }),
  aVersion({ definition: "web", version: "2.0.0", osState: "Generalized", targetRegions: regions("West Europe", "North Europe", "East US") }),
  aDefinition({ name: "mystery", osState: "Unknown" }),
];

const ajv = new Ajv(POLICY_SCHEMA_AJV_OPTIONS);
const validDefinition = ajv.compile(POLICY_DEFINITION_SCHEMA);
const validAssignment = ajv.compile(POLICY_ASSIGNMENT_SCHEMA);

describe("the generated definition", () => {
  const { definition, assignments } = generatePolicy(estate, SETTINGS);

  it("validates against the documented policy definition and assignment structure", () => {
    expect(validDefinition(definition), JSON.stringify(validDefinition.errors)).toBe(true);
    for (const a of assignments) expect(validAssignment(a), JSON.stringify(validAssignment.errors)).toBe(true);
    const p = definition.properties;
    expect(p).toMatchObject({ policyType: "Custom", mode: "Indexed", metadata: { category: "Compute", generatedBy: "gallery-watch", generatedAt: SETTINGS.generatedAt } });
    expect(p.parameters.effect.allowedValues).toEqual(["Deny", "Audit", "Disabled"]);
    expect(p.parameters.effect.allowedValues).toContain(p.parameters.effect.defaultValue);
    expect(p.policyRule.then).toEqual({ effect: "[parameters('effect')]" });
  });

  it("says in its description that only the exception tag's presence is checked", () => {
    expect(definition.properties.description).toContain("'gallery-watch-exception'");
    expect(definition.properties.description).toMatch(/only checks that the tag exists, not its reason or expiry/);
    const long = generatePolicy(estate, { ...SETTINGS, exceptionTag: "x".repeat(512) }).definition;
    expect(validDefinition(long), JSON.stringify(validDefinition.errors)).toBe(true);
  });

  it("assigns the definition in each watched subscription, with the settings as parameter values", () => {
    expect(assignments.map((a) => a.id)).toEqual([SUB, OTHER_SUB].map((s) => `/subscriptions/${s}/providers/Microsoft.Authorization/policyAssignments/gw-specialized-images`));
    expect(assignments.map((a) => a.properties.policyDefinitionId)).toEqual([SUB, OTHER_SUB].map((s) => `/subscriptions/${s}/providers/Microsoft.Authorization/policyDefinitions/${POLICY_DEFINITION_NAME}`));
    for (const a of assignments) expect(a.properties.parameters).toEqual({ effect: { value: "Deny" }, maxRegions: { value: 2 } });
  });

  it("is the same whatever order the snapshots come in", () => {
    expect(generatePolicy([...estate].reverse(), SETTINGS)).toEqual(generatePolicy(estate, SETTINGS));
  });
});

describe("the schema refuses what Azure Policy would refuse", () => {
  const { definition } = generatePolicy(estate, SETTINGS);
  const withRule = (rule: unknown) => ({ ...definition, properties: { ...definition.properties, policyRule: rule } });
  const cases: Array<[string, unknown]> = [
    ["two operators in one condition", withRule({ if: { field: "type", equals: "a", notEquals: "b" }, then: { effect: "deny" } })],
    ["an unknown operator", withRule({ if: { field: "type", startsWith: "Microsoft" }, then: { effect: "deny" } })],
    ["like with two wildcards", withRule({ if: { field: "id", like: "*/images/*" }, then: { effect: "deny" } })],
    ["in with a string", withRule({ if: { field: "id", in: "a,b" }, then: { effect: "deny" } })],
    ["an empty anyOf", withRule({ if: { anyOf: [] }, then: { effect: "deny" } })],
    ["a rule without then", withRule({ if: { field: "type", equals: "a" } })],
    ["an effect that does not exist", withRule({ if: { field: "type", equals: "a" }, then: { effect: "block" } })],
    ["a count of a non-array alias", withRule({ if: { count: { field: "Microsoft.Compute/galleries/images/versions/publishingProfile.targetRegions" }, greater: 2 }, then: { effect: "deny" } })],
    ["a description over 512 characters", { ...definition, properties: { ...definition.properties, description: "x".repeat(513) } }],
    ["an unknown mode", { ...definition, properties: { ...definition.properties, mode: "Everything" } }],
    ["a name with a slash", { ...definition, name: "a/b" }],
  ];
  it.each(cases)("%s", (_, candidate) => {
    expect(validDefinition(candidate)).toBe(false);
  });
});

describe("the rule, evaluated against requests", () => {
  const { definition, assignments } = generatePolicy(estate, SETTINGS);

  it("denies a scale set following a Specialized definition's latest, or pinning one of its versions, in any case", () => {
    expect(verdict(definition, scaleSetRequest(VMSS, def("gateway-os")))).toBe("Deny");
    expect(verdict(definition, scaleSetRequest(VMSS, `${def("gateway-os")}/versions/1.0.0`))).toBe("Deny");
    expect(verdict(definition, scaleSetRequest(VMSS, `${def("gateway-os")}/versions/9.9.9`))).toBe("Deny");
    expect(verdict(definition, scaleSetRequest(VMSS, def("gateway-os").toUpperCase().replace("/PROVIDERS/", "/providers/")))).toBe("Deny");
  });

  it("allows a scale set on a Generalized definition, a definition that only shares a prefix, a marketplace image, or one the CLI could not classify", () => {
    expect(verdict(definition, scaleSetRequest(VMSS, def("web")))).toBe("allowed");
    expect(verdict(definition, scaleSetRequest(VMSS, `${def("web")}/versions/2.0.0`))).toBe("allowed");
    expect(verdict(definition, scaleSetRequest(VMSS, def("gateway-os2")))).toBe("allowed");
    expect(verdict(definition, scaleSetRequest(VMSS, undefined))).toBe("allowed");
    expect(verdict(definition, scaleSetRequest(VMSS, def("mystery")))).toBe("allowed");
  });

  it("lets the exception tag through whatever its value: Azure Policy cannot read the expiry", () => {
    expect(verdict(definition, scaleSetRequest(VMSS, def("gateway-os"), { "gallery-watch-exception": "reason=CAB-1;expires=2026-12-31" }))).toBe("allowed");
    expect(verdict(definition, scaleSetRequest(VMSS, def("gateway-os"), { "Gallery-Watch-Exception": "expired long ago" }))).toBe("allowed");
    expect(verdict(definition, scaleSetRequest(VMSS, def("gateway-os"), { "other-tag": "x" }))).toBe("Deny");
  });

  it("denies a VM from a Specialized definition or one of its versions (az vm create --specialized) unless it carries the exception tag; a Generalized image is allowed", () => {
    const VM = `${BASE}/virtualMachines/drill-q4`;
    expect(verdict(definition, vmRequest(VM, `${def("gateway-os")}/versions/1.0.0`))).toBe("Deny");
    expect(verdict(definition, vmRequest(VM, def("gateway-os")))).toBe("Deny");
    expect(verdict(definition, vmRequest(VM, `${def("gateway-os")}/versions/1.0.0`, { "gallery-watch-exception": "reason=recovery drill;expires=2026-12-31" }))).toBe("allowed");
    expect(verdict(definition, vmRequest(VM, `${def("web")}/versions/2.0.0`))).toBe("allowed");
  });

  it("denies Community sharing of a gallery holding a Specialized definition; Groups, another gallery, or the exception tag are allowed", () => {
    const gallery = `${BASE}/galleries/gal`;
    expect(verdict(definition, galleryRequest(gallery, "Community"))).toBe("Deny");
    expect(verdict(definition, galleryRequest(gallery.toUpperCase().replace("/PROVIDERS/", "/providers/"), "Community"))).toBe("Deny");
    expect(verdict(definition, galleryRequest(gallery, "Groups"))).toBe("allowed");
    expect(verdict(definition, galleryRequest(`${BASE}/galleries/generalizedOnly`, "Community"))).toBe("allowed");
    expect(verdict(definition, galleryRequest(gallery, "Community", { "gallery-watch-exception": "reason=public demo;expires=2026-12-31" }))).toBe("allowed");
  });

  it("denies a Specialized definition's version with more target regions than maxRegions, and nothing else", () => {
    const v = (name: string) => `${def(name)}/versions/1.0.1`;
    expect(verdict(definition, versionRequest(v("gateway-os"), ["West Europe", "North Europe", "East US"]))).toBe("Deny");
    expect(verdict(definition, versionRequest(v("gateway-os"), ["West Europe", "North Europe"]))).toBe("allowed");
    expect(verdict(definition, versionRequest(v("web"), ["West Europe", "North Europe", "East US"]))).toBe("allowed");
    expect(verdict(definition, versionRequest(v("gateway-os"), ["West Europe", "North Europe", "East US"], { "gallery-watch-exception": "reason=DR test;expires=2026-12-31" }))).toBe("allowed");
    // A scale set rule must not catch versions, nor the version rule scale sets.
    expect(verdict(definition, { ...versionRequest(v("gateway-os"), ["West Europe"]), type: "Microsoft.Compute/virtualMachineScaleSets" })).toBe("allowed");
  });

  it("follows the assignment's parameters: audit, a wider region limit, disabled", () => {
    const three = versionRequest(`${def("gateway-os")}/versions/1.0.1`, ["West Europe", "North Europe", "East US"]);
    expect(verdict(generatePolicy(estate, { ...SETTINGS, effect: "Audit" }).definition, three)).toBe("Audit");
    expect(verdict(definition, three, { ...assignments[0]!.properties.parameters, maxRegions: { value: 3 } })).toBe("allowed");
    expect(verdict(definition, scaleSetRequest(VMSS, def("gateway-os")), { effect: { value: "Disabled" } })).toBe("allowed");
  });
});

describe("what gallery-watch knows to be Specialized", () => {
  it("comes from definitions, versions and the images scale sets and VMs were resolved to, once per definition whatever the id's case", () => {
    const elsewhere = `/subscriptions/${OTHER_SUB}/resourceGroups/rg-shared/providers/Microsoft.Compute/galleries/central/images/golden`;
    const { specialized, unknown } = specializedDefinitionsOf([
      aDefinition({ name: "gateway-os" }),
      aVersion({ definition: "gateway-os" }),
      aVersion({ definition: "orphan", version: "3.0.0" }),
      aScaleSet({ image: { outcome: "resolved", definitionId: elsewhere.toLowerCase(), osState: "Specialized", versionId: `${elsewhere}/versions/1.0.0` } }),
      aScaleSet({ image: { outcome: "resolved", definitionId: def("web"), osState: "Generalized" } }),
      aScaleSet({ image: { outcome: "noAccess", definitionId: def("locked"), reason: "403" } }),
      aVm({ image: { outcome: "resolved", definitionId: def("recovery"), osState: "Specialized", versionId: `${def("recovery")}/versions/1.0.0` } }),
      aDefinition({ name: "mystery", osState: "Unknown" }),
    ]);
    expect(specialized.map((d) => [d.id, d.evidence])).toEqual([
      [def("gateway-os"), ["definition", "version"]],
      [def("orphan"), ["version"]],
      [def("recovery"), ["virtualMachine"]],
      [parseResourceId(elsewhere.toLowerCase()).display, ["scaleSet"]],
    ].sort((a, b) => ((a[0] as string).toLowerCase() < (b[0] as string).toLowerCase() ? -1 : 1)));
    expect(unknown).toEqual([def("mystery")]);
  });

  it("nothing Specialized known: no policy, and the error says to sweep first", () => {
    expect(() => generatePolicy([aDefinition({ name: "web", osState: "Generalized" })], SETTINGS)).toThrow(NoSpecializedDefinitionsError);
    expect(() => generatePolicy([], SETTINGS)).toThrow(/sweep --wait/);
  });

  it("refuses an exception tag name the tags['…'] syntax cannot carry", () => {
    expect(() => generatePolicy(estate, { ...SETTINGS, exceptionTag: "o'brien" })).toThrow(UnsupportedExceptionTagError);
  });
});

describe("the az commands", () => {
  it("create the definition from the rules and params files and assign it, per subscription", () => {
    const generated = generatePolicy(estate, SETTINGS);
    const files = policyFiles("out/policy.json", "/work/x");
    expect(files).toEqual({ definition: "/work/x/out/policy.json", assignment: "/work/x/out/policy.assignment.json", rules: "/work/x/out/policy.rules.json", parameters: "/work/x/out/policy.params.json" });
    const commands = azCommands(generated, files, "/work/x");
    expect(commands).toHaveLength(4);
    expect(commands[0]).toMatch(new RegExp(`^az policy definition create --subscription ${SUB} --name ${POLICY_DEFINITION_NAME} .*--mode Indexed .*--rules out/policy.rules.json --params out/policy.params.json$`));
    expect(commands[1]).toContain(`--scope /subscriptions/${SUB} --policy /subscriptions/${SUB}/providers/Microsoft.Authorization/policyDefinitions/${POLICY_DEFINITION_NAME}`);
    expect(commands[1]).toContain(`--params '{"effect":{"value":"Deny"},"maxRegions":{"value":2}}'`);
    expect(commands[3]).toContain(`--scope /subscriptions/${OTHER_SUB}`);
  });
});
