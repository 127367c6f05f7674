/** Run the enabled rules on one subject and attach exception verdicts. Pure. */
import type { RuleResult } from "./findings.js";
import type { Policy } from "./policy.js";
import type { Snapshot } from "./snapshots.js";
import type { RelatedResources } from "./rules/related.js";
import { RULES } from "./rules/index.js";
import { exceptionFor } from "./exceptions.js";

export function evaluateSubject(subject: Snapshot, related: RelatedResources, policy: Policy, now: Date): RuleResult[] {
  const results: RuleResult[] = [];
  for (const rule of RULES) {
    if (rule.appliesTo !== subject.kind || !policy.enabledRules.has(rule.id)) continue;
    const violation = rule.evaluate(subject, related, policy, now);
    if (!violation) continue;
    const exception = exceptionFor(subject, related, rule.id, policy, now);
    results.push(exception ? { violation, exception } : { violation });
  }
  return results;
}
