import type { Violation } from "../findings.js";
import type { ImageVersionSnapshot } from "../snapshots.js";
import type { Rule } from "./rule.js";
import { displayName, isJudged, listFact, observation, osStatePhrase, portalLink, sigArgs, someOf, subscriptionArg } from "./describe.js";

/** Whether deployments asking for `latest` can get this version in at least one of its regions. */
export function isSelectableAsLatest(version: Pick<ImageVersionSnapshot, "excludeFromLatest" | "targetRegions">): boolean {
  if (version.excludeFromLatest) return false;
  return version.targetRegions.length === 0 || version.targetRegions.some((t) => t.excludeFromLatest !== true);
}

/**
 * Anything that deploys the definition without pinning a version (`.../images/{name}`) gets
 * `latest`: a specialized version must never be the one it picks by accident.
 */
export const selectableAsLatest: Rule<ImageVersionSnapshot> = {
  id: "selectable-as-latest",
  appliesTo: "imageVersion",
  title: "Specialized image selectable as latest",
  evaluate(version, _related, policy): Violation | undefined {
    if (!isJudged(version.osState) || !isSelectableAsLatest(version)) return undefined;
    const regions = version.targetRegions.filter((t) => t.excludeFromLatest !== true).map((t) => t.region).sort();
    return {
      ruleId: "selectable-as-latest",
      severity: "medium",
      resourceKey: version.id.key,
      resourceId: version.id.display,
      resourceKind: "imageVersion",
      summary: `The ${osStatePhrase(version.osState)} ${displayName(version.id)} is not excluded from latest, so any deployment of its definition without a pinned version can pick it up.`,
      facts: { osState: version.osState, excludeFromLatest: version.excludeFromLatest, selectableInRegions: regions },
      magnitude: Math.max(1, regions.length),
      remediation: {
        advice: "Exclude the version from latest; deploy it only by its pinned version id.",
        commands: [`az sig image-version update ${sigArgs(version.id)} ${subscriptionArg(version.id)} --set publishingProfile.excludeFromLatest=true`],
        portalUrl: portalLink(version.id, policy),
      },
    };
  },

  observe(version) {
    const summary = isJudged(version.osState)
      ? `The ${osStatePhrase(version.osState)} ${displayName(version.id)} is now excluded from latest${version.excludeFromLatest ? "" : " in every region it is replicated to"}: only a pinned version id deploys it.`
      : `The ${displayName(version.id)} is ${version.osState.toLowerCase()}, so it may be selected as latest.`;
    const regions = version.targetRegions.filter((t) => t.excludeFromLatest !== true).map((t) => t.region).sort();
    return observation("selectable-as-latest", version, summary, { osState: version.osState, excludeFromLatest: version.excludeFromLatest, selectableInRegions: isSelectableAsLatest(version) ? regions : [] });
  },

  resolution(before, now) {
    const regions = listFact(before.facts.selectableInRegions);
    return now.summary.replace(/\.$/, ` (was selectable as latest${regions.length > 0 ? ` in ${someOf(regions)}` : ""}).`);
  },
};
