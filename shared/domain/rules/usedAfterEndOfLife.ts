import type { Violation } from "../findings.js";
import type { InheritedOsState, MachineSnapshot, ScaleSetSnapshot, VirtualMachineSnapshot } from "../snapshots.js";
import type { RelatedResources } from "./related.js";
import type { Rule } from "./rule.js";
import type { Policy } from "../policy.js";
import { dateOnly, displayName, isJudged, observation, portalLink, shortImage, subscriptionArg, sigArgs } from "./describe.js";
import { imageFacts } from "./scaleSetUse.js";
import { parseResourceId } from "../resourceId.js";

interface EndOfLife {
  readonly versionId: string;
  /** ISO time. */
  readonly endOfLifeDate: string;
  /** Whose date it is: the version's own, else its definition's. */
  readonly of: "version" | "definition";
  readonly osState: InheritedOsState;
  readonly follows: string;
}

/** The end of life of the gallery version a machine runs now, when it has one; undefined when it runs none of ours or none is set. */
export function endOfLifeOf(machine: MachineSnapshot, related: RelatedResources): EndOfLife | undefined {
  const facts = imageFacts(machine, related);
  if (facts === undefined || "unresolvable" in facts || facts.versionId === undefined) return undefined;
  const key = facts.versionId.toLowerCase();
  const version = related.versions.find((v) => v.id.key === key);
  const own = version?.endOfLifeDate;
  const inherited = related.definition?.endOfLifeDate;
  const raw = own ?? inherited;
  const at = raw === undefined ? Number.NaN : Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return { versionId: version?.id.display ?? facts.versionId, endOfLifeDate: new Date(at).toISOString(), of: own !== undefined ? "version" : "definition", osState: facts.osState, follows: facts.follows };
}

function evaluate(machine: MachineSnapshot, related: RelatedResources, policy: Policy, now: Date): Violation | undefined {
  const eol = endOfLifeOf(machine, related);
  if (eol === undefined || now.getTime() < Date.parse(eol.endOfLifeDate)) return undefined;
  const specialized = isJudged(eol.osState);
  const versionId = parseResourceId(eol.versionId);
  const name = "capacity" in machine ? machine.id.scaleSet! : machine.id.virtualMachine!;
  const args = `--resource-group ${machine.id.resourceGroup} --name ${name} ${subscriptionArg(machine.id)}`;
  const move =
    "capacity" in machine
      ? [`az vmss update ${args} --set virtualMachineProfile.storageProfile.imageReference.id=<supported image version id>`, `az vmss update-instances ${args} --instance-ids "*"`]
      : [`az vm create --resource-group ${machine.id.resourceGroup} --name <new name> ${subscriptionArg(machine.id)} --image <supported image version id>`];
  const whose = eol.of === "version" ? "its" : "its image definition's";
  return {
    ruleId: "used-after-end-of-life",
    // Azure keeps serving a retired version (end of life is informational); a specialized one is worse.
    severity: specialized ? "high" : "medium",
    resourceKey: machine.id.key,
    resourceId: machine.id.display,
    resourceKind: machine.kind,
    summary: `The ${displayName(machine.id)} runs ${shortImage(eol.versionId)}${specialized ? " (specialized)" : ""}, past ${whose} end-of-life date ${dateOnly(eol.endOfLifeDate)}: Azure still deploys it, but it is retired.`,
    // No "days past" fact: it would change the finding every day without anything having changed.
    facts: { version: eol.versionId, endOfLifeDate: eol.endOfLifeDate, endOfLifeOf: eol.of, osState: eol.osState, follows: eol.follows },
    magnitude: 1,
    remediation: {
      advice: "Move the machine to a supported version, or, if the version must stay in use, extend its end-of-life date with an approval.",
      commands: [...move, `az sig image-version update ${sigArgs(versionId)} ${subscriptionArg(versionId)} --end-of-life-date <YYYY-MM-DD>`],
      portalUrl: portalLink(machine.id, policy),
    },
  };
}

function observe(machine: MachineSnapshot, related: RelatedResources) {
  const facts = imageFacts(machine, related);
  if (facts !== undefined && "unresolvable" in facts) return undefined;
  const eol = endOfLifeOf(machine, related);
  const runs = facts?.versionId ? shortImage(facts.versionId) : "no gallery version of ours";
  const summary =
    eol === undefined
      ? `The ${displayName(machine.id)} now runs ${runs}${facts?.versionId ? ", which has no end-of-life date" : ""}.`
      : `The ${displayName(machine.id)} now runs ${runs}, supported until ${dateOnly(eol.endOfLifeDate)}.`;
  return observation("used-after-end-of-life", machine, summary, { version: facts?.versionId ?? null, endOfLifeDate: eol?.endOfLifeDate ?? null });
}

const resolution: Rule["resolution"] = (before, now) =>
  now.summary.replace(/\.$/, ` (it ran ${typeof before.facts.version === "string" ? shortImage(before.facts.version) : "a version"}, past its end of life ${typeof before.facts.endOfLifeDate === "string" ? dateOnly(before.facts.endOfLifeDate) : "?"}).`);

/**
 * A machine running a gallery version past its end-of-life date, specialized or not: Microsoft
 * documents end of life as informational only (Azure keeps deploying the version), and users asked
 * to be told. The version's own date, else its definition's. Time-based: the nightly sweep judges
 * it again, so a date passing raises the finding without any write.
 */
export const usedAfterEndOfLifeOnScaleSet: Rule<ScaleSetSnapshot> = {
  id: "used-after-end-of-life",
  appliesTo: "scaleSet",
  title: "Machine running an image version past its end of life",
  evaluate,
  observe,
  resolution,
};

export const usedAfterEndOfLifeOnVm: Rule<VirtualMachineSnapshot> = {
  id: "used-after-end-of-life",
  appliesTo: "virtualMachine",
  title: "Machine running an image version past its end of life",
  evaluate,
  observe,
  resolution,
};
