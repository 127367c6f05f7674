import type { Violation } from "../findings.js";
import type { ImageDefinitionSnapshot, ImageVersionSnapshot } from "../snapshots.js";
import type { Policy } from "../policy.js";
import type { Rule } from "./rule.js";
import type { Observation } from "../findings.js";
import { displayName, isJudged, listFact, observation, portalLink } from "./describe.js";

/** Required tag names missing (case-insensitive names; blank values count as missing). */
export function missingTags(tags: Readonly<Record<string, string>>, required: readonly string[]): string[] {
  const present = new Set(Object.entries(tags).filter(([, v]) => v.trim() !== "").map(([k]) => k.toLowerCase()));
  return [...new Set(required.map((r) => r.toLowerCase()))].filter((r) => !present.has(r)).sort();
}

function check(subject: ImageDefinitionSnapshot | ImageVersionSnapshot, policy: Policy): Violation | undefined {
  const osState = subject.osState;
  if (!isJudged(osState) || policy.requiredTags.length === 0) return undefined;
  const missing = missingTags(subject.tags, policy.requiredTags);
  if (missing.length === 0) return undefined;
  return {
    ruleId: "governance-tags",
    severity: "low",
    resourceKey: subject.id.key,
    resourceId: subject.id.display,
    resourceKind: subject.kind,
    summary: `The specialized ${displayName(subject.id)} has no ${missing.join(", ")} tag${missing.length > 1 ? "s" : ""}: nobody is on record as owning or approving it.`,
    facts: { osState, missingTags: missing, requiredTags: [...policy.requiredTags] },
    magnitude: missing.length,
    remediation: {
      advice: `Tag it with ${missing.map((m) => `${m}=<name>`).join(" and ")}.`,
      commands: [`az tag update --resource-id ${subject.id.display} --operation merge --tags ${missing.map((m) => `${m}=<name>`).join(" ")}`],
      portalUrl: portalLink(subject.id, policy),
    },
  };
}

function observe(subject: ImageDefinitionSnapshot | ImageVersionSnapshot, policy: Policy): Observation {
  const missing = missingTags(subject.tags, policy.requiredTags);
  const required = [...new Set(policy.requiredTags.map((r) => r.toLowerCase()))];
  const summary = isJudged(subject.osState)
    ? `The ${displayName(subject.id)} now has ${required.length === 0 ? "no required tags to carry" : `its ${required.join(" and ")} tag${required.length > 1 ? "s" : ""}`}.`
    : `The ${displayName(subject.id)} is ${subject.osState.toLowerCase()}, so its tags are not required.`;
  return observation("governance-tags", subject, summary, { osState: subject.osState, missingTags: missing, requiredTags: [...policy.requiredTags] });
}

const resolution: Rule["resolution"] = (before, now) => {
  const missing = listFact(before.facts.missingTags);
  return missing.length === 0 ? now.summary : now.summary.replace(/\.$/, ` (${missing.join(", ")} ${missing.length > 1 ? "were" : "was"} missing).`);
};

/** Who owns and who approved a specialized image must be on the resource itself. */
export const governanceTagsOnDefinition: Rule<ImageDefinitionSnapshot> = {
  id: "governance-tags",
  appliesTo: "imageDefinition",
  title: "Specialized image without owner or approver",
  evaluate: (definition, _related, policy) => check(definition, policy),
  observe: (definition, _related, policy) => observe(definition, policy),
  resolution,
};

export const governanceTagsOnVersion: Rule<ImageVersionSnapshot> = {
  id: "governance-tags",
  appliesTo: "imageVersion",
  title: "Specialized image without owner or approver",
  evaluate: (version, _related, policy) => check(version, policy),
  observe: (version, _related, policy) => observe(version, policy),
  resolution,
};
