import type { Violation } from "../findings.js";
import type { ImageVersionSnapshot } from "../snapshots.js";
import type { Rule } from "./rule.js";
import { dateOnly, displayName, isJudged, listFact, observation, osStatePhrase, portalLink, sigArgs, someOf, subscriptionArg } from "./describe.js";

const DAY = 86_400_000;

/**
 * Specialized versions are for one-off recovery: each needs a retirement date, and once past
 * it should no longer be replicated anywhere.
 */
export const lifecycle: Rule<ImageVersionSnapshot> = {
  id: "lifecycle",
  appliesTo: "imageVersion",
  title: "Specialized image not retired",
  evaluate(version, _related, policy, now): Violation | undefined {
    if (!isJudged(version.osState)) return undefined;
    const base = {
      ruleId: "lifecycle" as const,
      resourceKey: version.id.key,
      resourceId: version.id.display,
      resourceKind: "imageVersion" as const,
    };
    // A suggestion derived from the version itself, not from `now`, so the finding does not change every day.
    const published = version.publishedDate ? Date.parse(version.publishedDate) : Number.NaN;
    const suggested = Number.isNaN(published) ? "<YYYY-MM-DD>" : new Date(published + 90 * DAY).toISOString().slice(0, 10);
    const setEol = `az sig image-version update ${sigArgs(version.id)} ${subscriptionArg(version.id)} --end-of-life-date ${suggested}`;
    const eol = version.endOfLifeDate === undefined ? undefined : Date.parse(version.endOfLifeDate);
    if (eol === undefined || Number.isNaN(eol)) {
      const why = version.endOfLifeDate === undefined ? "has no end-of-life date" : `has an end-of-life date '${version.endOfLifeDate.slice(0, 40)}' that is not a date`;
      return {
        ...base,
        severity: "medium",
        summary: `The ${osStatePhrase(version.osState)} ${displayName(version.id)} ${why}, so nothing says when it must be retired.`,
        facts: { osState: version.osState, endOfLifeDate: version.endOfLifeDate ?? null, regionCount: version.targetRegions.length },
        magnitude: 1,
        remediation: { advice: "Set an end-of-life date no further out than the recovery need.", commands: [setEol], portalUrl: portalLink(version.id, policy) },
      };
    }
    if (now.getTime() < eol || version.targetRegions.length === 0) return undefined;
    const regions = [...new Set(version.targetRegions.map((t) => t.region))].sort();
    return {
      ...base,
      severity: "high",
      summary: `The ${osStatePhrase(version.osState)} ${displayName(version.id)} passed its end-of-life date ${dateOnly(new Date(eol).toISOString())} and is still replicated to ${regions.length} region(s).`,
      // No "days past" fact: it would change the finding every day without anything having changed.
      facts: { osState: version.osState, endOfLifeDate: new Date(eol).toISOString(), regions },
      // Past end of life is worse than a missing date; more regions still holding it is worse again.
      magnitude: 1000 + regions.length,
      remediation: {
        advice: "Delete the retired version (or, if it is still needed, extend its end-of-life date with an approval).",
        commands: [`az sig image-version delete ${sigArgs(version.id)} ${subscriptionArg(version.id)}`, setEol],
        portalUrl: portalLink(version.id, policy),
      },
    };
  },

  observe(version, _related, _policy, now) {
    const eol = version.endOfLifeDate === undefined ? Number.NaN : Date.parse(version.endOfLifeDate);
    const regions = [...new Set(version.targetRegions.map((t) => t.region))].sort();
    const facts = { osState: version.osState, endOfLifeDate: Number.isNaN(eol) ? (version.endOfLifeDate ?? null) : new Date(eol).toISOString(), regions };
    const name = `${isJudged(version.osState) ? `${osStatePhrase(version.osState)} ` : ""}${displayName(version.id)}`;
    if (!isJudged(version.osState)) return observation("lifecycle", version, `The ${name} is ${version.osState.toLowerCase()}, so its lifecycle is not judged.`, facts);
    if (Number.isNaN(eol)) return undefined; // evaluate flags a missing or unreadable date
    const summary =
      now.getTime() < eol
        ? `The ${name} now has an end-of-life date, ${dateOnly(new Date(eol).toISOString())}.`
        : `The ${name} is past its end-of-life date ${dateOnly(new Date(eol).toISOString())} and is no longer replicated to any region.`;
    return observation("lifecycle", version, summary, facts);
  },

  resolution(before, now) {
    if (before.facts.endOfLifeDate === null) return now.summary.replace(/\.$/, " (it had none).");
    if (before.severity === "medium") return now.summary.replace(/\.$/, ` (it had '${String(before.facts.endOfLifeDate).slice(0, 40)}', which is not a date).`);
    const regions = listFact(before.facts.regions);
    const was = typeof before.facts.endOfLifeDate === "string" ? dateOnly(before.facts.endOfLifeDate) : "?";
    return now.summary.replace(/\.$/, ` (it was past its end-of-life date ${was} and still replicated to ${regions.length} region(s)${regions.length > 0 ? `: ${someOf(regions)}` : ""}).`);
  },
};
