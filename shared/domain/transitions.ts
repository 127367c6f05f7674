/**
 * Finding lifecycle as a pure function: stored findings + a fresh evaluation → transitions.
 *
 *   (none) ──violates──► open ──worse facts──► escalated
 *     │                   │  ▲ ◄── deescalated ───┤ (lower severity, still violating)
 *     │ active exception  │  └── reopened ◄───────┼── resolved / exception expired or removed
 *     ▼                   ▼                       ▼
 *   excepted           resolved ◄── no longer violates, or the resource is gone
 *
 * Evaluating the same state twice yields nothing; facts that change without getting worse are
 * recorded as `changed` without an alert. A resolved finding carries what the rule observes now
 * (`after.facts`, `after.summary`), so its card says what changed rather than repeating the
 * old violation.
 */
import { createHash } from "node:crypto";
import {
  SEVERITY_ORDER,
  type Caller,
  type Evaluation,
  type Finding,
  type FindingRuleId,
  type FindingStatus,
  type FindingTransition,
  type Observation,
  type RuleResult,
  type TransitionKind,
  type Violation,
} from "./findings.js";
import { tryParseResourceId } from "./resourceId.js";
import { RULES } from "./rules/index.js";
import { displayName } from "./rules/describe.js";
import { readAccessRestoredSummary } from "./rules/readAccess.js";
import { identified, raisersOf, sameCaller, separationOfDuties } from "./exceptions.js";

/** Stable per (rule, resource): the same finding keeps its identity while its facts change. */
export function fingerprintOf(ruleId: FindingRuleId, resourceKey: string): string {
  return createHash("sha256").update(`${ruleId}\n${resourceKey}`).digest("hex").slice(0, 32);
}

export function computeTransitions(stored: readonly Finding[], evaluation: Evaluation): FindingTransition[] {
  const at = evaluation.evaluatedAt;
  const subjects = new Set(evaluation.subjects);
  const rules = new Set<string>(evaluation.rules);
  const inScope = new Map(stored.filter((f) => subjects.has(f.resourceKey) && rules.has(f.ruleId)).map((f) => [f.fingerprint, f]));
  const transitions: FindingTransition[] = [];
  const seen = new Set<string>();

  const observed = new Map<string, Observation>();

  for (const result of evaluation.results) {
    if (!result.violation) {
      observed.set(fingerprintOf(result.observation.ruleId, result.observation.resourceKey), result.observation);
      continue;
    }
    const violation: Violation = result.violation;
    const fingerprint = fingerprintOf(violation.ruleId, violation.resourceKey);
    if (seen.has(fingerprint)) continue;
    seen.add(fingerprint);
    const before = inScope.get(fingerprint);
    const raisedBy = raisersAfter(before, violation, evaluation.caller);
    // Separation of duties decides before the lifecycle does: a refused exception excepts nothing.
    const exception = result.exception ? separationOfDuties(result.exception, raisedBy, evaluation.exceptionApprovers ?? []) : undefined;
    const judged: RuleResult = exception ? { violation, exception } : { violation };
    const next = judge(before, violation, judged);
    if (!next) continue;
    const after: Finding = {
      fingerprint,
      ...violation,
      ...(exception ? { exception } : {}),
      ...(raisedBy.length > 0 ? { raisedBy } : {}),
      status: next.status,
      firstSeenAt: before && before.status !== "resolved" ? before.firstSeenAt : (before?.firstSeenAt ?? at),
      updatedAt: at,
      revision: (before?.revision ?? 0) + 1,
    };
    // A refused exception is news to whoever set it, even when the finding's state does not move.
    const refusedNow = exception?.status === "refused" && canonical(before?.exception ?? null) !== canonical(exception);
    transitions.push({ kind: next.kind, fingerprint, ...(before ? { before } : {}), after, alert: next.kind !== "changed" || refusedNow, at });
  }

  for (const before of inScope.values()) {
    if (seen.has(before.fingerprint) || before.status === "resolved") continue;
    transitions.push(resolved(before, at, "no longer violates", cleanSummary(before, observed.get(before.fingerprint)), observed.get(before.fingerprint)?.facts));
  }
  return transitions;
}

/** Most callers kept on a finding as having raised it: the opener and the latest escalations. */
const MAX_RAISERS = 8;

/**
 * Whose changes raised the finding after this evaluation: a new (or resolved, now violating again)
 * finding was raised by this change's caller; a live one keeps those recorded, and a change that
 * makes it worse (higher severity, or a larger magnitude at the same) adds its caller. Unknown
 * callers (the sweep) add nobody.
 */
function raisersAfter(before: Finding | undefined, v: Violation, caller: Caller | undefined): readonly Caller[] {
  if (!before || before.status === "resolved") return caller ? [caller] : [];
  const prior = raisersOf(before);
  const severity = SEVERITY_ORDER[v.severity] - SEVERITY_ORDER[before.severity];
  const worse = severity > 0 || (severity === 0 && v.magnitude > before.magnitude);
  if (!worse || !caller || prior.some((r) => (identified(r) && identified(caller) ? sameCaller(r, caller) : canonical(r) === canonical(caller)))) return prior;
  const next = [...prior, caller];
  return next.length > MAX_RAISERS ? [next[0]!, ...next.slice(next.length - MAX_RAISERS + 1)] : next;
}

/** Every unresolved finding on a resource that is gone. */
export function resolveAllFor(stored: readonly Finding[], resourceKey: string, at: string, reason: string): FindingTransition[] {
  return stored
    .filter((f) => f.resourceKey === resourceKey && f.status !== "resolved")
    .map((f) => resolved(f, at, reason, `${capitalised(nameOf(f))} was deleted, so this finding is closed. It said: ${f.summary}`));
}

/**
 * The resolved finding: what is true now (the rule's observation: facts and summary) — or, when
 * nothing was observed, the old facts with a sentence saying why it closed.
 */
function resolved(before: Finding, at: string, reason: string, summary: string, facts?: Finding["facts"]): FindingTransition {
  const { exception: _dropped, ...rest } = before;
  const after: Finding = { ...rest, status: "resolved", summary, facts: { ...(facts ?? before.facts), resolution: reason }, updatedAt: at, resolvedAt: at, revision: before.revision + 1 };
  return { kind: "resolved", fingerprint: before.fingerprint, before, after, alert: true, at };
}

/** What a finding that no longer violates says: the rule's wording of now versus before, else a plain sentence. */
function cleanSummary(before: Finding, observation: Observation | undefined): string {
  if (before.ruleId === "read-access") return readAccessRestoredSummary(before);
  if (!observation) return `${capitalised(nameOf(before))} no longer violates ${before.ruleId}. It said: ${before.summary}`;
  const rule = RULES.find((r) => r.id === before.ruleId && r.appliesTo === before.resourceKind);
  return rule?.resolution?.(before, observation) ?? observation.summary;
}

function nameOf(finding: Finding): string {
  const parsed = tryParseResourceId(finding.resourceId);
  return parsed.ok ? displayName(parsed.id) : finding.resourceId;
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function judge(before: Finding | undefined, v: Violation, result: RuleResult): { kind: TransitionKind; status: FindingStatus } | undefined {
  const excepted = result.exception?.status === "active";
  if (!before) return excepted ? { kind: "excepted", status: "excepted" } : { kind: "opened", status: "open" };
  if (before.status === "resolved") return excepted ? { kind: "excepted", status: "excepted" } : { kind: "reopened", status: "open" };
  if (excepted) {
    if (before.status !== "excepted") return { kind: "excepted", status: "excepted" };
    return sameVerdict(before, v, result) ? undefined : { kind: "changed", status: "excepted" };
  }
  if (before.status === "excepted") return { kind: "reopened", status: "open" };
  const severity = SEVERITY_ORDER[v.severity] - SEVERITY_ORDER[before.severity];
  // Severity decides first; magnitude only orders findings of the same severity (more regions is worse).
  if (severity > 0 || (severity === 0 && v.magnitude > before.magnitude)) return { kind: "escalated", status: "escalated" };
  if (severity < 0) return { kind: "deescalated", status: "open" };
  return sameVerdict(before, v, result) ? undefined : { kind: "changed", status: before.status };
}

function sameVerdict(before: Finding, v: Violation, result: RuleResult): boolean {
  return (
    before.severity === v.severity &&
    before.magnitude === v.magnitude &&
    before.summary === v.summary &&
    canonical(before.facts) === canonical(v.facts) &&
    canonical(before.remediation) === canonical(v.remediation) &&
    canonical(before.exception ?? null) === canonical(result.exception ?? null)
  );
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}
