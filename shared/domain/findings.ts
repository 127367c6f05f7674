/**
 * Findings: what the rules concluded about a resource, and how that conclusion moves through
 * its life. Types here are the contract between rules, storage and alerts.
 */
import type { ResourceKind } from "./resourceId.js";

export const RULE_IDS = [
  "replication-breadth",
  "scale-set-use",
  "vm-use",
  "clones",
  "used-after-end-of-life",
  "shared-outside",
  "selectable-as-latest",
  "lifecycle",
  "governance-tags",
  "broad-access",
] as const;
export type RuleId = (typeof RULE_IDS)[number];

/** Findings the pipeline itself raises, outside the rules. */
export type PipelineFindingId = "read-access"; // the watcher could not read a resource: a blind spot
export type FindingRuleId = RuleId | PipelineFindingId;
/** Every finding a person can filter on or a metric can name: the rules and the pipeline's own. */
export const FINDING_RULES: readonly FindingRuleId[] = [...RULE_IDS, "read-access"];

export type Severity = "low" | "medium" | "high" | "critical";
export const SEVERITY_ORDER: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };
/** Every severity, mildest first (SEVERITY_ORDER); the one list queries, the CLI and telemetry check against. */
export const SEVERITIES: readonly Severity[] = (Object.keys(SEVERITY_ORDER) as Severity[]).sort((a, b) => SEVERITY_ORDER[a] - SEVERITY_ORDER[b]);
/** Cards, the digest and the evidence page list the worst first. */
export const SEVERITIES_WORST_FIRST: readonly Severity[] = [...SEVERITIES].reverse();

export type FactValue = string | number | boolean | readonly string[] | null;

export interface Remediation {
  /** Exact `az` commands, filled with the resource's real names. */
  readonly commands: readonly string[];
  /** Azure portal deep link to the resource. */
  readonly portalUrl: string;
  /** One sentence on what to do. */
  readonly advice: string;
}

/** A rule's verdict that something is wrong, before exceptions and lifecycle. */
export interface Violation {
  readonly ruleId: FindingRuleId;
  readonly severity: Severity;
  readonly resourceKey: string;
  readonly resourceId: string;
  readonly resourceKind: ResourceKind;
  /** One sentence a person understands. */
  readonly summary: string;
  /** The facts behind it: regions, replica counts, the scale set and its capacity, sharing groups, dates. */
  readonly facts: Readonly<Record<string, FactValue>>;
  /** How bad, as one number a rule can compare: more regions, more instances, … Larger is worse. */
  readonly magnitude: number;
  readonly remediation: Remediation;
}

/**
 * A person or identity as an event's claims name it, as far as separation of duties needs it.
 * Two callers are the same when their object ids or their UPNs match (shared/domain/exceptions.ts:
 * `sameCaller`); a name alone, or an app id (for a user, the id of the client app, e.g. the Azure
 * CLI), identifies nobody.
 */
export interface Caller {
  readonly name?: string;
  readonly upn?: string;
  readonly objectId?: string;
  readonly appId?: string;
}

/**
 * An exception tag as judged. `setBy`: who gave the tag its current value, when gallery-watch could
 * establish it (absent: unknown, e.g. set before gallery-watch recorded the resource, or found by
 * the sweep). `refused`: a well-formed, unexpired exception that separation of duties does not
 * honour (its setter raised the finding, or is not among GW_EXCEPTION_APPROVERS); `why` says so.
 */
export type ExceptionVerdict =
  | { readonly status: "active"; readonly reason: string; readonly expires: string; readonly tag: string; readonly setBy?: Caller }
  | { readonly status: "expired"; readonly reason: string; readonly expires: string; readonly tag: string; readonly setBy?: Caller }
  | { readonly status: "refused"; readonly reason: string; readonly expires: string; readonly tag: string; readonly setBy?: Caller; readonly why: string }
  | { readonly status: "invalid"; readonly why: string; readonly tag: string };

/**
 * What a rule sees on a subject it has nothing against: the current facts, so that a finding it
 * resolves can say what is true now ("replicated to westeurope, northeurope") instead of
 * repeating the old violation.
 */
export interface Observation {
  readonly ruleId: FindingRuleId;
  readonly resourceKey: string;
  readonly resourceId: string;
  readonly resourceKind: ResourceKind;
  /** One sentence on the subject as it is now, e.g. "Gallery gal is Private now". */
  readonly summary: string;
  /** The same fact names the rule's violations use, so before → after can be compared. */
  readonly facts: Readonly<Record<string, FactValue>>;
}

/** One rule's result on one subject: a violation (with any exception tag considered), or what it observed when clean. */
export type RuleResult =
  | {
      readonly violation: Violation;
      /** Absent when no exception tag is present. */
      readonly exception?: ExceptionVerdict;
      readonly observation?: undefined;
    }
  | {
      /** Not a violation: only used to describe a finding this evaluation resolves. */
      readonly observation: Observation;
      readonly violation?: undefined;
      readonly exception?: undefined;
    };

/** Everything the rules concluded about a set of subjects at `evaluatedAt`. */
export interface Evaluation {
  /** Keys of the resources evaluated: a stored finding on one of these not in `results` is resolved. */
  readonly subjects: readonly string[];
  /** Rules that ran; findings of other rules on those subjects are left untouched. */
  readonly rules: readonly FindingRuleId[];
  /** Violations, plus observations of clean subjects (which never open anything). */
  readonly results: readonly RuleResult[];
  readonly evaluatedAt: string;
  /** Who made the change being judged (the event's caller); absent for the sweep and a re-check without an event. */
  readonly caller?: Caller;
  /** GW_EXCEPTION_APPROVERS (UPNs and object ids, lower case): who may set exceptions; empty or absent: anyone but the finding's raiser. */
  readonly exceptionApprovers?: readonly string[];
}

export type FindingStatus = "open" | "escalated" | "excepted" | "resolved";

export interface Finding {
  /** Stable per (rule, resource): see `fingerprintOf`. */
  readonly fingerprint: string;
  readonly ruleId: FindingRuleId;
  readonly resourceKey: string;
  readonly resourceId: string;
  readonly resourceKind: ResourceKind;
  readonly status: FindingStatus;
  readonly severity: Severity;
  readonly summary: string;
  readonly facts: Readonly<Record<string, FactValue>>;
  readonly magnitude: number;
  readonly remediation: Remediation;
  readonly exception?: ExceptionVerdict;
  /**
   * Whose changes raised it: the caller of the change that opened it (or reopened it once resolved),
   * and of each change that escalated it since. Empty or absent: not known (the sweep or a re-check
   * found it). An exception set by one of them is not honoured (separation of duties).
   */
  readonly raisedBy?: readonly Caller[];
  readonly firstSeenAt: string;
  readonly updatedAt: string;
  readonly resolvedAt?: string;
  /** Incremented on every stored change; makes outbox ids deterministic and writes conditional. */
  readonly revision: number;
}

export type TransitionKind =
  | "opened" // new finding
  | "escalated" // facts got worse (higher severity, or higher magnitude at the same severity)
  | "deescalated" // still violates, at a lower severity (e.g. Community → Groups: critical → high)
  | "changed" // facts changed but neither severity nor magnitude got worse: recorded, no alert
  | "excepted" // an active exception now covers it
  | "reopened" // was resolved or excepted (exception expired / removed) and violates again
  | "resolved"; // no longer violates, or the resource is gone

export interface FindingTransition {
  readonly kind: TransitionKind;
  readonly fingerprint: string;
  readonly before?: Finding;
  readonly after: Finding;
  /** Whether this transition is worth a Teams card. */
  readonly alert: boolean;
  readonly at: string;
}
