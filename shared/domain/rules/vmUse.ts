import type { Severity, Violation } from "../findings.js";
import type { Policy } from "../policy.js";
import type { VirtualMachineSnapshot } from "../snapshots.js";
import type { Rule } from "./rule.js";
import { isJudged, observation, portalLink, shortImage, subscriptionArg } from "./describe.js";
import { imageFacts, usesPhrase, type ImageFacts } from "./scaleSetUse.js";

/**
 * Where a VM may run a specialized image: a subscription in GW_ALLOWED_SUBSCRIPTIONS_FOR_SPECIALIZED
 * or a resource group in GW_ALLOWED_RESOURCE_GROUPS_FOR_SPECIALIZED (a locked-down recovery or
 * forensics scope), else nowhere.
 */
export function allowedScopeOf(vm: Pick<VirtualMachineSnapshot, "id">, policy: Pick<Policy, "allowedSubscriptionsForSpecialized" | "allowedResourceGroupsForSpecialized">): "subscription" | "resource group" | undefined {
  if (policy.allowedSubscriptionsForSpecialized.includes(vm.id.subscriptionId.toLowerCase())) return "subscription";
  const group = `/subscriptions/${vm.id.subscriptionId.toLowerCase()}/resourcegroups/${vm.id.resourceGroup.toLowerCase()}`;
  return policy.allowedResourceGroupsForSpecialized.includes(group) ? "resource group" : undefined;
}

/**
 * A VM running a specialized image carries that image's machine identity (computer name, local
 * accounts, cached credentials, agent registrations): fine for a one-off recovery inside the
 * scope allowed for it, not elsewhere (`az vm create --image <version> --specialized`).
 * - outside the allowed subscriptions and resource groups: high;
 * - inside them, following the definition as `latest`: medium — a redeploy picks whatever version
 *   is newest, not the one approved for recovery;
 * - inside them, pinned to a version (or created from its OS disk): no finding;
 * - an image gallery-watch could not verify: medium, said plainly.
 * A pinned recovery VM outside the allowed scope is excepted with the exception tag (rules=vm-use).
 */
/** The facts of a VM running a resolved gallery image, as a violation and an observation both state them. */
function runFacts(name: string, facts: ImageFacts, scope: string | undefined) {
  return { virtualMachine: name, image: facts.image, follows: facts.follows, resolvedVersion: facts.resolvedVersion, osState: facts.osState, allowedScope: scope ?? null };
}

export const vmUse: Rule<VirtualMachineSnapshot> = {
  id: "vm-use",
  appliesTo: "virtualMachine",
  title: "Virtual machine running a specialized image",
  evaluate(vm, related, policy): Violation | undefined {
    const facts = imageFacts(vm, related);
    if (facts === undefined) return undefined;
    const name = vm.id.virtualMachine ?? "";
    const args = `--resource-group ${vm.id.resourceGroup} --name ${name} ${subscriptionArg(vm.id)}`;
    const base = { ruleId: "vm-use" as const, resourceKey: vm.id.key, resourceId: vm.id.display, resourceKind: "virtualMachine" as const, magnitude: 1 };
    const exceptionCommand = `az tag update --resource-id ${vm.id.display} --operation merge --tags "${policy.exceptionTag}=reason=<approved recovery, ticket>;expires=<YYYY-MM-DD>;rules=vm-use"`;
    const remediation = {
      advice: "Rebuild the VM from a generalized image (or keep it only inside the scope allowed for specialized images); an approved recovery VM pinned to its version may carry an exception tag instead.",
      commands: [`az vm create --resource-group ${vm.id.resourceGroup} --name <new name> ${subscriptionArg(vm.id)} --image <generalized image definition id>`, `az vm delete ${args}`, exceptionCommand],
      portalUrl: portalLink(vm.id, policy),
    };
    if ("unresolvable" in facts) {
      return {
        ...base,
        severity: "medium",
        summary: `Virtual machine ${name} runs an image gallery-watch could not verify (${facts.unresolvable}); it may be specialized.`,
        facts: { virtualMachine: name, image: facts.image, reason: facts.unresolvable },
        remediation,
      };
    }
    if (!isJudged(facts.osState)) return undefined;
    const scope = allowedScopeOf(vm, policy);
    if (scope !== undefined && facts.follows !== "latest") return undefined;
    const severity: Severity = scope === undefined ? "high" : "medium";
    const image = `a ${facts.osState === "Unknown" ? "possibly specialized (osState unknown)" : "specialized"} image`;
    const where =
      scope === undefined
        ? `in subscription ${vm.id.subscriptionId}, resource group ${vm.id.resourceGroup}, outside the subscriptions and resource groups allowed for specialized images`
        : `inside the ${scope} allowed for specialized images, but a redeploy picks whichever version is newest, not the one approved for recovery`;
    return {
      ...base,
      severity,
      summary: `Virtual machine ${name} ${usesPhrase(facts)}, ${image}, ${where}: it carries that image's machine identity.`,
      facts: runFacts(name, facts, scope),
      remediation:
        scope === undefined
          ? remediation
          : { ...remediation, advice: "Pin the recovery VM to the approved version (rebuild it with --image <version id>) instead of following the definition as latest." },
    };
  },

  observe(vm, related, policy) {
    const name = vm.id.virtualMachine ?? "";
    const facts = imageFacts(vm, related);
    if (facts === undefined) {
      const image = vm.imageReference.kind === "other" ? vm.imageReference.description : "its image";
      return observation("vm-use", vm, `Virtual machine ${name} now runs ${image} (not a gallery image).`, { virtualMachine: name, image, osState: null });
    }
    if ("unresolvable" in facts) return undefined;
    const scope = allowedScopeOf(vm, policy);
    const inside = isJudged(facts.osState) && scope !== undefined ? `, pinned, inside the ${scope} allowed for specialized images` : "";
    return observation("vm-use", vm, `Virtual machine ${name} now runs ${shortImage(facts.image)} (${facts.osState})${inside}.`, runFacts(name, facts, scope));
  },

  resolution(before, now) {
    const was = typeof before.facts.image === "string" ? `; it ran ${shortImage(before.facts.image)}${typeof before.facts.osState === "string" ? ` (${before.facts.osState})` : ""}` : "";
    return now.summary.replace(/\.$/, `${was}.`);
  },
};
