import type { Violation } from "../findings.js";
import { tryParseResourceId } from "../resourceId.js";
import { machineCount, runningVersionKey, type ImageVersionSnapshot, type MachineSnapshot } from "../snapshots.js";
import type { Rule } from "./rule.js";
import { displayName, isJudged, listFact, observation, osStatePhrase, portalLink, sigArgs, someOf, subscriptionArg } from "./describe.js";

/**
 * The machines of `machines` running `version` now, and how many instances they are (a VM is one,
 * a scale set its capacity). A Flexible scale set's own instances are VMs that name it: while the
 * scale set runs the version too, they are counted with it (its capacity, or its instances on the
 * version when they are more), not listed again.
 */
export function clonesOf(version: Pick<ImageVersionSnapshot, "id">, machines: readonly MachineSnapshot[]): { readonly running: MachineSnapshot[]; readonly count: number } {
  const onVersion = machines.filter((m) => runningVersionKey(m) === version.id.key);
  const scaleSets = new Set(onVersion.filter((m) => m.kind === "scaleSet").map((m) => m.id.key));
  // Each VM that is an instance of one of those scale sets, and how many each has on the version.
  const memberOf = new Map<MachineSnapshot, string>();
  const members = new Map<string, number>();
  for (const m of onVersion) {
    const set = m.kind === "virtualMachine" && m.scaleSetId !== undefined ? keyOf(m.scaleSetId) : undefined;
    if (set === undefined || !scaleSets.has(set)) continue;
    memberOf.set(m, set);
    members.set(set, (members.get(set) ?? 0) + 1);
  }
  const running = onVersion.filter((m) => !memberOf.has(m)).sort((a, b) => (a.id.key < b.id.key ? -1 : a.id.key > b.id.key ? 1 : 0));
  // A scale set's capacity may lag the instances recorded on the version (or VMs attached to it): the larger counts.
  return { running, count: running.reduce((n, m) => n + Math.max(machineCount(m), members.get(m.id.key) ?? 0), 0) };
}

const keyOf = (raw: string) => {
  const parsed = tryParseResourceId(raw);
  return parsed.ok ? parsed.id.key : "";
};

/** "virtual machine vm1", "scale set web (3 instances)". */
function machineLabel(machine: MachineSnapshot): string {
  return "capacity" in machine ? `${displayName(machine.id)} (${machine.capacity} instance${machine.capacity === 1 ? "" : "s"})` : displayName(machine.id);
}

/**
 * Every machine built from one specialized version shares its machine identity — duplicated
 * computer names, SIDs, cached credentials and agent registrations, the seed's main risk. More than
 * GW_MAX_CLONES live machines (VMs plus scale-set instances) from one version are clones.
 * Judged on the version: its dependents are the VMs and scale sets running it (the store's
 * reference index), so a VM written or deleted, or a scale set scaled, judges it again.
 * A scale set's autoscaling changes the count, not the magnitude (the machines' number): it is
 * recorded, and escalates only when another VM or scale set starts running the version.
 */
export const clones: Rule<ImageVersionSnapshot> = {
  id: "clones",
  appliesTo: "imageVersion",
  title: "Several machines share one specialized image's identity",
  evaluate(version, related, policy): Violation | undefined {
    if (!isJudged(version.osState) || related.machines === undefined) return undefined;
    const { running, count } = clonesOf(version, related.machines);
    if (count <= policy.maxClones) return undefined;
    const labels = running.map(machineLabel);
    const query = (what: "vm" | "vmss") =>
      `az ${what} list ${subscriptionArg(version.id)} --query "[?${what === "vm" ? "storageProfile" : "virtualMachineProfile.storageProfile"}.imageReference.id=='${version.id.display}'].id" -o tsv`;
    return {
      ruleId: "clones",
      severity: "high",
      resourceKey: version.id.key,
      resourceId: version.id.display,
      resourceKind: "imageVersion",
      summary: `The ${osStatePhrase(version.osState)} ${displayName(version.id)} runs on ${count} machines (limit ${policy.maxClones}): ${someOf(labels, 6)}. They share one machine identity — computer name, SID, cached credentials, agent registrations.`,
      facts: { osState: version.osState, machineCount: count, maxClones: policy.maxClones, machines: running.map((m) => m.id.display) },
      // Machines (VMs and scale sets), not instances: autoscaling must not page anyone; a new VM does.
      magnitude: running.length,
      remediation: {
        advice: `Keep at most ${policy.maxClones} machine(s) on this version and rebuild the others from a generalized image (sysprep or waagent -deprovision, then capture a generalized version); exclude the version from latest so nothing new follows it.`,
        commands: [query("vm"), query("vmss"), `az sig image-version update ${sigArgs(version.id)} ${subscriptionArg(version.id)} --set publishingProfile.excludeFromLatest=true`],
        portalUrl: portalLink(version.id, policy),
      },
    };
  },

  observe(version, related, policy) {
    if (related.machines === undefined) return undefined;
    const { running, count } = clonesOf(version, related.machines);
    const name = `${isJudged(version.osState) ? `${osStatePhrase(version.osState)} ` : ""}${displayName(version.id)}`;
    const summary = isJudged(version.osState)
      ? `The ${name} now runs on ${count} machine${count === 1 ? "" : "s"} (limit ${policy.maxClones})${running.length > 0 ? `: ${someOf(running.map(machineLabel), 6)}` : ""}.`
      : `The ${name} is ${version.osState.toLowerCase()}, so machines built from it do not share an identity.`;
    return observation("clones", version, summary, { osState: version.osState, machineCount: count, maxClones: policy.maxClones, machines: running.map((m) => m.id.display) });
  },

  resolution(before, now) {
    const was = listFact(before.facts.machines);
    return now.summary.replace(/\.$/, ` (it ran on ${String(before.facts.machineCount)}: ${someOf(was.map((id) => id.split("/").pop() ?? id), 6)}).`);
  },
};
