import type { Finding, Observation, RuleId, Violation } from "../findings.js";
import type { Policy } from "../policy.js";
import type { Snapshot } from "../snapshots.js";
import type { RelatedResources } from "./related.js";

/** A rule is data plus pure functions: no I/O, no clock but `now`, no environment. */
export interface Rule<S extends Snapshot = Snapshot> {
  readonly id: RuleId;
  readonly appliesTo: S["kind"];
  /** What the rule protects against, for cards and docs. */
  readonly title: string;
  evaluate(subject: S, related: RelatedResources, policy: Policy, now: Date): Violation | undefined;
  /**
   * The subject's current facts when `evaluate` finds nothing wrong. Never opens a finding; it
   * lets a finding this evaluation resolves say what is true now.
   */
  observe?(subject: S, related: RelatedResources, policy: Policy, now: Date): Observation | undefined;
  /** One sentence for a resolved finding: what is true now, and what was before (from the stored finding). */
  resolution?(before: Finding, now: Observation): string;
}
