import type { Violation } from "../findings.js";
import type { ImageVersionSnapshot } from "../snapshots.js";
import type { Rule } from "./rule.js";
import { dateOnly, displayName, isJudged, listFact, observation, someOf, osStatePhrase, portalLink, sigArgs, subscriptionArg } from "./describe.js";

/** Replicas per distinct region: a region's own count, else the version-level default, else 1. Duplicate entries count once. */
export function replicasByRegion(version: Pick<ImageVersionSnapshot, "targetRegions" | "replicaCount">): Map<string, number> {
  const byRegion = new Map<string, number>();
  for (const target of version.targetRegions) {
    if (!byRegion.has(target.region)) byRegion.set(target.region, target.regionalReplicaCount ?? version.replicaCount ?? 1);
  }
  return byRegion;
}

/**
 * Every replica region holds a full copy of the image, machine secrets included: a specialized
 * version belongs in as few regions as recovery needs (primary + DR by default).
 */
export const replicationBreadth: Rule<ImageVersionSnapshot> = {
  id: "replication-breadth",
  appliesTo: "imageVersion",
  title: "Specialized image replicated too widely",
  evaluate(version, _related, policy): Violation | undefined {
    if (!isJudged(version.osState)) return undefined;
    const byRegion = replicasByRegion(version);
    const regions = [...byRegion.keys()].sort();
    const totalReplicas = [...byRegion.values()].reduce((a, b) => a + b, 0);
    const allowed = new Set(policy.allowedRegions);
    const outside = allowed.size > 0 ? regions.filter((r) => !allowed.has(r)) : [];
    const problems: string[] = [];
    if (regions.length > policy.maxRegions) problems.push(`${regions.length} regions (limit ${policy.maxRegions})`);
    if (outside.length > 0) problems.push(`region(s) outside the allowed list: ${outside.join(", ")}`);
    if (totalReplicas > policy.maxTotalReplicas) problems.push(`${totalReplicas} replicas in total (limit ${policy.maxTotalReplicas})`);
    if (problems.length === 0) return undefined;

    // Keep allowed regions first, in the order the version lists them, up to the limit.
    const listed = [...new Set(version.targetRegions.map((t) => t.region))];
    const keep = [...listed.filter((r) => allowed.size === 0 || allowed.has(r))].slice(0, policy.maxRegions);
    const perRegion = Math.max(1, Math.floor(policy.maxTotalReplicas / Math.max(1, keep.length)));
    const keepArgs = keep.map((r) => `${r}=${Math.min(byRegion.get(r) ?? 1, perRegion)}`).join(" ");
    return {
      ruleId: "replication-breadth",
      severity: "high",
      resourceKey: version.id.key,
      resourceId: version.id.display,
      resourceKind: "imageVersion",
      summary: `The ${osStatePhrase(version.osState)} ${displayName(version.id)} is replicated to ${problems.join("; ")}: each replica region holds a copy of its machine identity and secrets.`,
      facts: {
        osState: version.osState,
        regions,
        regionCount: regions.length,
        maxRegions: policy.maxRegions,
        totalReplicas,
        maxTotalReplicas: policy.maxTotalReplicas,
        regionsOutsideAllowed: outside,
        allowedRegions: [...policy.allowedRegions],
        ...(version.publishedDate ? { publishedDate: dateOnly(version.publishedDate) } : {}),
      },
      // More regions is worse than more replicas; both count.
      magnitude: regions.length * 1000 + outside.length * 100 + totalReplicas,
      remediation: {
        advice: keep.length > 0 ? `Replicate only to ${keep.join(" and ")} (primary and recovery), removing the other regions.` : "Remove the regions outside the allowed list.",
        commands: [`az sig image-version update ${sigArgs(version.id)} ${subscriptionArg(version.id)} --target-regions ${keepArgs}`],
        portalUrl: portalLink(version.id, policy),
      },
    };
  },

  observe(version, _related, policy) {
    const byRegion = replicasByRegion(version);
    const listed = [...byRegion.keys()];
    const totalReplicas = [...byRegion.values()].reduce((a, b) => a + b, 0);
    const where = listed.length === 0 ? "is now replicated to no region" : `is now replicated to ${listed.join(", ")}`;
    return observation(
      "replication-breadth",
      version,
      isJudged(version.osState) ? `The ${osStatePhrase(version.osState)} ${displayName(version.id)} ${where} (${listed.length} region${listed.length === 1 ? "" : "s"}).` : `The ${displayName(version.id)} is ${version.osState.toLowerCase()}, so its replication is not judged.`,
      { osState: version.osState, regions: [...listed].sort(), regionCount: listed.length, maxRegions: policy.maxRegions, totalReplicas, maxTotalReplicas: policy.maxTotalReplicas },
    );
  },

  resolution(before, now) {
    if (now.facts.osState !== "Specialized" && now.facts.osState !== "Unknown") return now.summary;
    const was = listFact(before.facts.regions);
    // Replicas are mentioned only when their total was part of the problem.
    const tooMany = Number(before.facts.totalReplicas) > Number(before.facts.maxTotalReplicas);
    const replicas = tooMany ? `; ${String(now.facts.totalReplicas)} replicas in total, was ${String(before.facts.totalReplicas)}` : "";
    // "… (2 regions)." → "… (2 regions, was 5: eastus, …)."
    return now.summary.replace(/\)\.$/, `, was ${was.length}: ${someOf(was)}${replicas}).`);
  },
};
