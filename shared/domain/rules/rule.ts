import type { RuleId, Violation } from "../findings.js";
import type { Policy } from "../policy.js";
import type { Snapshot } from "../snapshots.js";
import type { RelatedResources } from "./related.js";

/** A rule is data plus one pure function: no I/O, no clock but `now`, no environment. */
export interface Rule<S extends Snapshot = Snapshot> {
  readonly id: RuleId;
  readonly appliesTo: S["kind"];
  /** What the rule protects against, for cards and docs. */
  readonly title: string;
  evaluate(subject: S, related: RelatedResources, policy: Policy, now: Date): Violation | undefined;
}
