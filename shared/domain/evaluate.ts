/** Run the enabled rules on one subject and attach exception verdicts. Pure. */
import type { RuleResult, Violation } from "./findings.js";
import type { Policy } from "./policy.js";
import type { Snapshot } from "./snapshots.js";
import type { RelatedResources } from "./rules/related.js";
import { RULES } from "./rules/index.js";
import { exceptionFor, type ExceptionSetters } from "./exceptions.js";

/**
 * Violations of the enabled rules, each with its exception verdict; for a rule with nothing
 * against the subject, what it observed instead (`{ observation }`), so that a finding this
 * evaluation resolves can say what is true now. Observations never open a finding.
 * `setters`: who set each carrier's exception tag, where established (see exceptionSetter).
 */
export function evaluateSubject(subject: Snapshot, related: RelatedResources, policy: Policy, now: Date, setters?: ExceptionSetters): RuleResult[] {
  const results: RuleResult[] = [];
  for (const rule of RULES) {
    if (rule.appliesTo !== subject.kind || !policy.enabledRules.has(rule.id)) continue;
    const violation = rule.evaluate(subject, related, policy, now);
    if (!violation) {
      const observation = rule.observe?.(subject, related, policy, now);
      if (observation) results.push({ observation });
      continue;
    }
    const exception = exceptionFor(subject, related, rule.id, policy, now, setters);
    results.push(exception ? { violation, exception } : { violation });
  }
  return results;
}

/** Only the violations among results (observations dropped). */
export function violationsOf(results: readonly RuleResult[]): Violation[] {
  return results.flatMap((r) => (r.violation ? [r.violation] : []));
}
