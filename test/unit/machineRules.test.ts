/**
 * The rules on machines (issue 20): `vm-use` on a VM, `clones` on a version (the machines running
 * it), `used-after-end-of-life` on a VM or a scale set. Pure, table-driven, fixed clock.
 */
import { describe, expect, it } from "vitest";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import type { RuleId, RuleResult } from "../../shared/domain/findings.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { MachineSnapshot, Snapshot } from "../../shared/domain/snapshots.js";
import type { RelatedResources } from "../../shared/domain/rules/related.js";
import { undecidableRules } from "../../shared/domain/judgeable.js";
import { aDefinition, aScaleSet, aVersion, aVm, BASE, NOW, policy, SUB } from "../support/snapshotBuilders.js";

const none: RelatedResources = { definitions: [], versions: [] };
const resultOf = (rule: RuleId, subject: Snapshot, related: RelatedResources = none, p = policy(), now = NOW): RuleResult | undefined =>
  evaluateSubject(subject, related, p, now).find((r) => (r.violation ?? r.observation).ruleId === rule);
const fire = (rule: RuleId, subject: Snapshot, related: RelatedResources = none, p = policy(), now = NOW) => resultOf(rule, subject, related, p, now)?.violation;

const DEF = `${BASE}/galleries/gal/images/def`;
const OTHER_SUB = "99999999-1111-2222-3333-444444444444";
const specialized = { definitions: [], versions: [], definition: aDefinition() } satisfies RelatedResources;
const generalized = { definitions: [], versions: [], definition: aDefinition({ osState: "Generalized" }) } satisfies RelatedResources;

describe("vm-use", () => {
  const followsLatest = aVm({ name: "floating", imageReference: { kind: "definition", definitionId: parseResourceId(DEF) } });
  const fromDisk = aVm({ name: "recovered", version: "1.1.0", imageReference: { kind: "osDisk", diskId: `${BASE}/disks/recovered-os` } });
  it.each([
    ["a VM pinned to a specialized version, nowhere allowed", aVm(), specialized, policy(), "high"],
    ["the same VM in a subscription allowed for specialized images", aVm(), specialized, policy({ allowedSubscriptionsForSpecialized: [SUB] }), undefined],
    ["the same VM in a resource group allowed for specialized images", aVm(), specialized, policy({ allowedResourceGroupsForSpecialized: [`/subscriptions/${SUB}/resourcegroups/rg`] }), undefined],
    ["a VM in another subscription than the allowed one", aVm({ subscriptionId: OTHER_SUB }), specialized, policy({ allowedSubscriptionsForSpecialized: [SUB] }), "high"],
    ["a VM in another resource group than the allowed one", aVm({ resourceGroup: "rg-prod" }), specialized, policy({ allowedResourceGroupsForSpecialized: [`/subscriptions/${SUB}/resourcegroups/rg`] }), "high"],
    ["a VM following a specialized definition as latest, inside the allowed scope", followsLatest, specialized, policy({ allowedSubscriptionsForSpecialized: [SUB] }), "medium"],
    ["a VM following a specialized definition as latest, outside", followsLatest, specialized, policy(), "high"],
    ["a specialized VM attached from an OS disk made from a version, outside", fromDisk, specialized, policy(), "high"],
    ["a VM from a generalized image", aVm(), generalized, policy(), undefined],
    ["a marketplace VM", aVm({ imageReference: { kind: "other", description: "marketplace Canonical:ubuntu:server:latest" }, image: { outcome: "notGalleryImage" } }), none, policy(), undefined],
    ["a VM whose image could not be verified", aVm({ imageReference: { kind: "sharedGallery", id: "/SharedGalleries/x/Images/y" }, image: { outcome: "unresolvable", reason: "shared gallery image could not be read (noAccess)" } }), none, policy(), "medium"],
  ])("%s", (_label, vm, related, p, severity) => {
    const v = fire("vm-use", vm, related, p);
    expect(v?.severity).toBe(severity);
  });

  it("says what the VM runs, where, and why that matters, with the commands to fix or except it", () => {
    const v = fire("vm-use", aVm({ name: "drill-01" }), specialized)!;
    expect(v.summary).toBe(
      `Virtual machine drill-01 uses def/versions/1.0.0, a specialized image, in subscription ${SUB}, resource group rg, outside the subscriptions and resource groups allowed for specialized images: it carries that image's machine identity.`,
    );
    expect(v.facts).toMatchObject({ virtualMachine: "drill-01", follows: "pinned", resolvedVersion: "1.0.0", osState: "Specialized", allowedScope: null });
    expect(v.remediation.commands).toEqual(expect.arrayContaining([`az vm delete --resource-group rg --name drill-01 --subscription ${SUB}`, expect.stringContaining("gallery-watch-exception=reason=")]));
    const disk = fire("vm-use", aVm({ name: "recovered", version: "1.1.0", imageReference: { kind: "osDisk", diskId: `${BASE}/disks/recovered-os` } }), specialized)!;
    expect(disk.summary).toContain("runs an OS disk created from gal/def/1.1.0");
  });

  it("a pinned recovery VM carrying an exception tag for vm-use is excepted, not alerted as open", () => {
    const drill = aVm({ name: "drill-01", tags: { "gallery-watch-exception": "reason=quarterly recovery drill, CAB-77;expires=2026-12-31;rules=vm-use" } });
    const result = resultOf("vm-use", drill, specialized);
    expect(result?.violation?.severity).toBe("high");
    expect(result?.exception).toMatchObject({ status: "active", reason: "quarterly recovery drill, CAB-77" });
  });

  it("observes a clean VM so a resolved finding can say what it runs now", () => {
    expect(resultOf("vm-use", aVm(), generalized)?.observation?.summary).toBe("Virtual machine vm1 now runs gal/def/1.0.0 (Generalized).");
    expect(resultOf("vm-use", aVm(), specialized, policy({ allowedSubscriptionsForSpecialized: [SUB] }))?.observation?.summary).toContain("inside the subscription allowed for specialized images");
  });
});

describe("clones", () => {
  const version = aVersion({ version: "1.0.0" });
  const vm = (name: string, v = "1.0.0") => aVm({ name, version: v });
  const scaleSet = (name: string, capacity: number, v = "1.0.0") =>
    aScaleSet({ id: parseResourceId(`${BASE}/virtualMachineScaleSets/${name}`), capacity, imageReference: { kind: "version", versionId: parseResourceId(`${DEF}/versions/${v}`) }, image: { outcome: "resolved", definitionId: DEF, osState: "Specialized", versionId: `${DEF}/versions/${v}` } });
  const inScaleSet = (name: string, scaleSetName: string) => aVm({ name, scaleSetId: `${BASE}/virtualMachineScaleSets/${scaleSetName.toUpperCase()}` });
  const on = (machines: MachineSnapshot[] | undefined): RelatedResources => ({ ...specialized, ...(machines ? { machines } : {}) });
  it.each([
    ["no machine", [], policy(), undefined, undefined],
    ["one VM (the recovery one)", [vm("drill")], policy(), undefined, undefined],
    ["two VMs", [vm("a"), vm("b")], policy(), 2, 2],
    ["a scale set of three instances", [scaleSet("web", 3)], policy(), 3, 1],
    ["a VM and a scale set scaled to zero", [vm("a"), scaleSet("web", 0)], policy(), undefined, undefined],
    ["three VMs under a limit of five", [vm("a"), vm("b"), vm("c")], policy({ maxClones: 5 }), undefined, undefined],
    ["machines running other versions do not count", [vm("a"), vm("b", "1.1.0"), scaleSet("web", 4, "1.1.0")], policy(), undefined, undefined],
    ["VMs and a scale set together", [vm("a"), scaleSet("web", 2)], policy(), 3, 2],
    // A Flexible scale set's instances are VMs of their own that name it; its capacity counts them already.
    ["a Flexible scale set and its own instances count once", [scaleSet("flex", 2), inScaleSet("flex-1", "flex"), inScaleSet("flex-2", "flex")], policy(), 2, 1],
    ["a Flexible scale set's instance counts when its scale set runs another version", [vm("a"), scaleSet("flex", 2, "1.1.0"), inScaleSet("flex-1", "flex")], policy(), 2, 2],
    // A capacity that lags its instances (or VMs attached with --vmss) never hides one.
    ["a Flexible scale set with more instances on the version than its recorded capacity", [scaleSet("flex", 1), inScaleSet("flex-1", "flex"), inScaleSet("flex-2", "flex"), inScaleSet("flex-3", "flex")], policy(), 3, 1],
  ])("%s", (_label, machines, p, count, magnitude) => {
    const v = fire("clones", version, on(machines), p);
    if (count === undefined) expect(v).toBeUndefined();
    else {
      expect(v?.severity).toBe("high");
      expect(v?.facts.machineCount).toBe(count);
      expect(v?.magnitude).toBe(magnitude);
      expect(v?.summary).toContain(`runs on ${count} machines (limit ${p.maxClones})`);
    }
  });

  it("counts machines, not instances, as the magnitude: autoscaling does not escalate, another VM does", () => {
    const three = fire("clones", version, on([scaleSet("web", 3)]))!;
    const five = fire("clones", version, on([scaleSet("web", 5)]))!;
    const plusVm = fire("clones", version, on([scaleSet("web", 3), vm("extra")]))!;
    expect(five.magnitude).toBe(three.magnitude);
    expect(plusVm.magnitude).toBeGreaterThan(three.magnitude);
    expect(plusVm.facts.machines).toEqual([`${BASE}/virtualMachineScaleSets/web`, aVm({ name: "extra" }).id.display].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
  });

  it("never judges a generalized version; a specialized one whose machines were not read reaches no verdict", () => {
    expect(fire("clones", aVersion({ osState: "Generalized" }), { ...generalized, machines: [vm("a"), vm("b")] })).toBeUndefined();
    expect(undecidableRules(version, on(undefined), false)).toEqual(new Set(["clones"]));
    expect(undecidableRules(version, on([]), false)).toEqual(new Set());
  });
});

describe("used-after-end-of-life", () => {
  const past = "2026-10-31T00:00:00.000Z";
  const future = "2027-06-30T00:00:00.000Z";
  const versions = (eol: string | undefined, v = "1.0.0") => [aVersion({ version: v, ...(eol ? { endOfLifeDate: eol } : { endOfLifeDate: undefined }) })];
  const latestScaleSet = aScaleSet();
  it.each([
    ["a VM on a specialized version past its end of life", aVm(), { ...specialized, versions: versions(past) }, "high", "version"],
    ["a VM on a generalized version past its end of life", aVm(), { ...generalized, versions: versions(past) }, "medium", "version"],
    ["a VM on a version not yet at its end of life", aVm(), { ...specialized, versions: versions(future) }, undefined, undefined],
    ["a VM on a version with no date, whose definition is past its end of life", aVm(), { ...specialized, definition: aDefinition({ endOfLifeDate: past }), versions: versions(undefined) }, "high", "definition"],
    ["a VM on a version with no date anywhere", aVm(), { ...specialized, versions: versions(undefined) }, undefined, undefined],
    ["a scale set following latest, which is past its end of life", latestScaleSet, { ...generalized, versions: [...versions(past, "1.0.0"), aVersion({ version: "0.9.0", excludeFromLatest: false, endOfLifeDate: future })].map((v) => ({ ...v, excludeFromLatest: false })) }, "medium", "version"],
    ["a VM on a version gallery-watch no longer sees", aVm(), { ...specialized, versions: [] }, undefined, undefined],
  ])("%s", (_label, machine, related, severity, of) => {
    const v = fire("used-after-end-of-life", machine, related as RelatedResources);
    expect(v?.severity).toBe(severity);
    if (of) expect(v?.facts.endOfLifeOf).toBe(of);
  });

  it("says which version, whose date, and how to move off it; no day count that changes every day", () => {
    const v = fire("used-after-end-of-life", aVm({ name: "drill-01" }), { ...specialized, versions: versions(past) })!;
    expect(v.summary).toBe("The virtual machine drill-01 runs gal/def/1.0.0 (specialized), past its end-of-life date 2026-10-31: Azure still deploys it, but it is retired.");
    expect(v.facts).toEqual({ version: `${DEF}/versions/1.0.0`, endOfLifeDate: past, endOfLifeOf: "version", osState: "Specialized", follows: "pinned" });
    expect(v.remediation.commands[0]).toContain("az vm create --resource-group rg --name <new name>");
    expect(v.remediation.commands.at(-1)).toBe(`az sig image-version update --resource-group rg --gallery-name gal --gallery-image-definition def --gallery-image-version 1.0.0 --subscription ${SUB} --end-of-life-date <YYYY-MM-DD>`);
    const later = fire("used-after-end-of-life", aVm({ name: "drill-01" }), { ...specialized, versions: versions(past) }, policy(), new Date("2027-01-15T00:00:00Z"))!;
    expect(later.facts).toEqual(v.facts);
  });

  it("an image that could not be verified has no end of life to judge: no verdict", () => {
    const unverified = aVm({ imageReference: { kind: "sharedGallery", id: "/SharedGalleries/x/Images/y" }, image: { outcome: "unresolvable", reason: "noAccess" } });
    expect(undecidableRules(unverified, none, false)).toEqual(new Set(["used-after-end-of-life"]));
  });
});
