import { describe, expect, it } from "vitest";
import { evaluateSubject, violationsOf } from "../../shared/domain/evaluate.js";
import type { RuleId, RuleResult } from "../../shared/domain/findings.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import type { RelatedResources } from "../../shared/domain/rules/related.js";
import { aDefinition, aGallery, aScaleSet, aVersion, BASE, NOW, policy, regions } from "../support/snapshotBuilders.js";

const none: RelatedResources = { definitions: [], versions: [] };
const only = (rule: RuleId, results: RuleResult[]) => results.filter((r) => r.violation?.ruleId === rule);
const fire = (rule: RuleId, subject: Snapshot, related: RelatedResources = none, p = policy(), now = NOW) => only(rule, evaluateSubject(subject, related, p, now))[0]?.violation;

describe("replication-breadth", () => {
  it.each([
    ["two regions (primary + DR)", aVersion(), undefined],
    ["three regions", aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") }), 3],
    ["no target regions", aVersion({ targetRegions: [] }), undefined],
    ["one region listed three ways counts once", aVersion({ targetRegions: regions("East US", "eastus", " EASTUS ") }), undefined],
    ["five regions", aVersion({ targetRegions: regions("West Europe", "North Europe", "East US", "UK South", "Japan East") }), 5],
  ])("%s", (_label, version, regionCount) => {
    const v = fire("replication-breadth", version);
    if (regionCount === undefined) expect(v).toBeUndefined();
    else {
      expect(v?.severity).toBe("high");
      expect(v?.facts.regionCount).toBe(regionCount);
      expect(v?.summary).toContain(`${regionCount} regions (limit 2)`);
    }
  });

  it("never judges generalized images, and judges an unknown osState as if specialized, saying so", () => {
    const wide = regions("West Europe", "North Europe", "East US");
    expect(fire("replication-breadth", aVersion({ osState: "Generalized", targetRegions: wide }))).toBeUndefined();
    const unknown = fire("replication-breadth", aVersion({ osState: "Unknown", targetRegions: wide }));
    expect(unknown?.facts.osState).toBe("Unknown");
    expect(unknown?.summary).toContain("unknown osState");
  });

  it("flags regions outside the allowed list even within the count", () => {
    const v = fire("replication-breadth", aVersion({ targetRegions: regions("West Europe", "East US") }), none, policy({ allowedRegions: ["westeurope", "northeurope"] }));
    expect(v?.facts.regionsOutsideAllowed).toEqual(["eastus"]);
    expect(v?.remediation.commands[0]).toContain("--target-regions westeurope=1");
  });

  it.each([
    ["regional counts", aVersion({ targetRegions: regions(["West Europe", 6], ["North Europe", 5]) }), 11],
    ["the version-level count for regions without their own", aVersion({ replicaCount: 6, targetRegions: regions("West Europe", ["North Europe", 5]) }), 11],
    ["1 for regions with neither", aVersion({ targetRegions: regions("West Europe", "North Europe") }), undefined],
  ])("counts total replicas from %s", (_label, version, total) => {
    const v = fire("replication-breadth", version);
    if (total === undefined) expect(v).toBeUndefined();
    else expect(v?.facts.totalReplicas).toBe(total);
  });

  it("gives the exact az command and portal link with the real names", () => {
    const v = fire("replication-breadth", aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") }))!;
    expect(v.remediation.commands).toEqual([
      `az sig image-version update --resource-group rg --gallery-name gal --gallery-image-definition def --gallery-image-version 1.0.0 --subscription 00000000-1111-2222-3333-444444444444 --target-regions westeurope=1 northeurope=1`,
    ]);
    expect(v.remediation.portalUrl).toBe(`https://portal.azure.com/#@/resource${BASE}/galleries/gal/images/def/versions/1.0.0/overview`);
  });
});

describe("selectable-as-latest", () => {
  it.each([
    ["excluded from latest", aVersion({ excludeFromLatest: true }), false],
    ["not excluded", aVersion({ excludeFromLatest: false }), true],
    ["not excluded, but every region excludes it", aVersion({ excludeFromLatest: false, targetRegions: regions("West Europe").map((t) => ({ ...t, excludeFromLatest: true })) }), false],
    ["not excluded, one region of two excludes it", aVersion({ excludeFromLatest: false, targetRegions: [...regions("West Europe").map((t) => ({ ...t, excludeFromLatest: true })), ...regions("North Europe")] }), true],
    ["generalized", aVersion({ excludeFromLatest: false, osState: "Generalized" }), false],
  ])("%s", (_label, version, fires) => {
    const v = fire("selectable-as-latest", version);
    expect(v !== undefined).toBe(fires);
    if (v) expect(v.remediation.commands[0]).toContain("--set publishingProfile.excludeFromLatest=true");
  });
});

describe("lifecycle", () => {
  const eol = "2026-11-24T12:00:00Z";
  it.each([
    ["no end-of-life date", aVersion({ endOfLifeDate: undefined }), NOW, "medium"],
    ["an unreadable end-of-life date", aVersion({ endOfLifeDate: "someday" }), NOW, "medium"],
    ["one millisecond before end of life", aVersion({ endOfLifeDate: eol }), new Date(Date.parse(eol) - 1), undefined],
    ["at the exact end-of-life instant, still replicated", aVersion({ endOfLifeDate: eol }), new Date(eol), "high"],
    ["past end of life but no longer replicated", aVersion({ endOfLifeDate: eol, targetRegions: [] }), new Date("2026-12-01T00:00:00Z"), undefined],
    ["an offset time zone: 13:00+02:00 is 11:00Z, so passed at 12:00Z", aVersion({ endOfLifeDate: "2026-11-24T13:00:00+02:00" }), NOW, "high"],
    ["a date-only value is midnight UTC", aVersion({ endOfLifeDate: "2026-11-25" }), NOW, undefined],
  ])("%s", (_label, version, now, severity) => {
    const v = fire("lifecycle", version, none, policy(), now);
    expect(v?.severity).toBe(severity);
  });

  it("suggests a date derived from the version, so the finding does not change from day to day", () => {
    const a = fire("lifecycle", aVersion({ endOfLifeDate: undefined }), none, policy(), NOW)!;
    const b = fire("lifecycle", aVersion({ endOfLifeDate: undefined }), none, policy(), new Date("2027-01-15T00:00:00Z"))!;
    expect(a).toEqual(b);
    expect(a.remediation.commands[0]).toContain("--end-of-life-date 2026-12-30");
  });
});

describe("governance-tags", () => {
  it.each([
    ["both tags", { owner: "a", approver: "b" }, []],
    ["names in another case", { Owner: "a", APPROVER: "b" }, []],
    ["a blank value", { owner: "a", approver: "  " }, ["approver"]],
    ["none", {}, ["approver", "owner"]],
  ])("on a definition with %s", (_label, tags, missing) => {
    const v = fire("governance-tags", aDefinition({ tags }));
    expect(v?.facts.missingTags ?? []).toEqual(missing);
  });

  it("applies to versions too, never to generalized images, and follows the configured list", () => {
    expect(fire("governance-tags", aVersion({ tags: {} }))?.resourceKind).toBe("imageVersion");
    expect(fire("governance-tags", aDefinition({ tags: {}, osState: "Generalized" }))).toBeUndefined();
    expect(fire("governance-tags", aDefinition({ tags: { owner: "x" } }), none, policy({ requiredTags: ["owner"] }))).toBeUndefined();
    expect(fire("governance-tags", aDefinition({ tags: {} }))?.remediation.commands[0]).toContain("az tag update --resource-id");
  });
});

describe("shared-outside", () => {
  const specialized: RelatedResources = { definitions: [aDefinition()], versions: [] };
  const generalizedOnly: RelatedResources = { definitions: [aDefinition({ osState: "Generalized" })], versions: [] };
  // Sharing as Azure reports it: azure-cli recordings test_community_gallery_operations (Community
  // created with communityGalleryEnabled false, true after enable-community) and
  // test_create_vm_with_shared_gallery_image (Groups with no groups array before `share add`).
  it.each([
    ["private", { permissions: "Private", groups: [] }, specialized, undefined, undefined],
    ["shared to groups", { permissions: "Groups", groups: [{ type: "Subscriptions", ids: ["34a4ab42-0d72-47d9-bd1a-aed207386dac"] }] }, specialized, "high", /shared with 1 other subscription\(s\)\/tenant\(s\)/],
    ["Groups with no subscription or tenant yet (as created)", { permissions: "Groups", groups: [] }, specialized, undefined, undefined],
    ["Groups whose only group lists no ids", { permissions: "Groups", groups: [{ type: "Subscriptions", ids: [] }] }, specialized, undefined, undefined],
    ["community enabled (published)", { permissions: "Community", groups: [], community: { enabled: true, publicNames: ["gal-1a2b"] } }, specialized, "critical", /anyone in Azure can use it/],
    ["community prepared (communityGalleryEnabled false, as created)", { permissions: "Community", groups: [], community: { enabled: false, publicNames: ["gal-1a2b"] } }, specialized, "medium", /not public yet/],
    ["community without the enabled flag: not proven private, judged public", { permissions: "Community", groups: [], community: { publicNames: ["gal-1a2b"] } }, specialized, "critical", /anyone in Azure/],
    ["community but no specialized definitions", { permissions: "Community", groups: [], community: { enabled: true, publicNames: [] } }, generalizedOnly, undefined, undefined],
    ["community prepared, no specialized definitions", { permissions: "Community", groups: [], community: { enabled: false, publicNames: [] } }, generalizedOnly, undefined, undefined],
  ])("%s", (_label, sharing, related, severity, summary) => {
    const v = fire("shared-outside", aGallery({ sharing: sharing as never }), related);
    expect(v?.severity).toBe(severity);
    if (summary) expect(v?.summary).toMatch(summary);
    if (v) expect(v.remediation.commands[0]).toBe("az sig share reset --resource-group rg --gallery-name gal --subscription 00000000-1111-2222-3333-444444444444");
  });

  it("a prepared Community gallery is never called public or shared with 0", () => {
    const v = fire("shared-outside", aGallery({ sharing: { permissions: "Community", groups: [], community: { enabled: false, publicNames: ["gal-1a2b"] } } }), specialized)!;
    expect(v.summary).not.toMatch(/anyone in Azure can use it|shared with 0/);
    expect(v.facts.reach).toBe("Community prepared, not public yet");
  });

  it("names the groups it is shared with", () => {
    const v = fire("shared-outside", aGallery({ sharing: { permissions: "Groups", groups: [{ type: "AADTenants", ids: ["t2", "t1"] }] } }), specialized);
    expect(v?.facts.sharedWith).toEqual(["AADTenants:t1", "AADTenants:t2"]);
  });
});

describe("scale-set-use", () => {
  const definition = aDefinition();
  it("fires on a scale set following a specialized definition as latest, naming the version latest means now", () => {
    const versions = [aVersion({ version: "1.0.0", excludeFromLatest: false }), aVersion({ version: "1.2.0", excludeFromLatest: false }), aVersion({ version: "2.0.0", excludeFromLatest: true })];
    const v = fire("scale-set-use", aScaleSet({ capacity: 180 }), { definition, definitions: [], versions })!;
    expect(v.severity).toBe("critical");
    expect(v.facts).toMatchObject({ capacity: 180, follows: "latest", resolvedVersion: "1.2.0", osState: "Specialized" });
    expect(v.summary).toContain("180 instance(s)");
    expect(v.remediation.commands[0]).toContain("az vmss update --resource-group rg --name vmss");
  });

  it("takes region-level exclusion into account for the scale set's region", () => {
    const newest = aVersion({ version: "1.1.0", excludeFromLatest: false, targetRegions: regions("West Europe").map((t) => ({ ...t, excludeFromLatest: true })) });
    const older = aVersion({ version: "1.0.0", excludeFromLatest: false });
    expect(fire("scale-set-use", aScaleSet(), { definition, definitions: [], versions: [newest, older] })?.facts.resolvedVersion).toBe("1.0.0");
  });

  it("fires even when every version is excluded from latest: osState lives on the definition", () => {
    expect(fire("scale-set-use", aScaleSet(), { definition, definitions: [], versions: [aVersion({ excludeFromLatest: true })] })?.facts.resolvedVersion).toBeNull();
  });

  it.each([
    ["a generalized definition", aScaleSet(), { definition: aDefinition({ osState: "Generalized" }), definitions: [], versions: [] }, undefined],
    ["a pinned specialized version", aScaleSet({ imageReference: { kind: "version", versionId: parseResourceId(`${BASE}/galleries/gal/images/def/versions/1.0.0`) } }), { definition, definitions: [], versions: [] }, "critical"],
    ["zero instances", aScaleSet({ capacity: 0 }), { definition, definitions: [], versions: [] }, "high"],
    ["a marketplace image", aScaleSet({ imageReference: { kind: "other", description: "marketplace" }, image: { outcome: "notGalleryImage" } }), none, undefined],
    ["a cross-tenant shared image that cannot be read", aScaleSet({ imageReference: { kind: "sharedGallery", id: "/SharedGalleries/x/Images/y" }, image: { outcome: "unresolvable", reason: "403" } }), none, "medium"],
    ["a definition that could not be read", aScaleSet({ image: { outcome: "unresolvable", reason: "gone" } }), none, "critical"],
  ])("%s", (_label, scaleSet, related, severity) => {
    expect(fire("scale-set-use", scaleSet, related as RelatedResources)?.severity).toBe(severity);
  });
});

describe("policy switches", () => {
  it("a rule switched off produces nothing", () => {
    const wide = aVersion({ targetRegions: regions("West Europe", "North Europe", "East US"), excludeFromLatest: false });
    const all = violationsOf(evaluateSubject(wide, none, policy(), NOW)).map((v) => v.ruleId).sort();
    expect(all).toEqual(["replication-breadth", "selectable-as-latest"]);
    const without = evaluateSubject(wide, none, policy({ enabledRules: new Set<RuleId>(["selectable-as-latest"]) }), NOW);
    expect(without.map((r) => r.violation?.ruleId ?? r.observation?.ruleId)).toEqual(["selectable-as-latest"]); // not even an observation from a rule switched off
  });
});
