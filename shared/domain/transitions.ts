/**
 * Finding lifecycle as a pure function: stored findings + a fresh evaluation → transitions.
 *
 *   (none) ──violates──► open ──worse facts──► escalated
 *     │                   │  ▲                    │
 *     │ active exception  │  └── reopened ◄───────┼── resolved / exception expired or removed
 *     ▼                   ▼                       ▼
 *   excepted           resolved ◄── no longer violates, or the resource is gone
 *
 * Evaluating the same state twice yields nothing; facts that change without getting worse are
 * recorded as `changed` without an alert.
 */
import { createHash } from "node:crypto";
import {
  SEVERITY_ORDER,
  type Evaluation,
  type Finding,
  type FindingRuleId,
  type FindingStatus,
  type FindingTransition,
  type RuleResult,
  type TransitionKind,
} from "./findings.js";

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

  for (const result of evaluation.results) {
    const fingerprint = fingerprintOf(result.violation.ruleId, result.violation.resourceKey);
    if (seen.has(fingerprint)) continue;
    seen.add(fingerprint);
    const before = inScope.get(fingerprint);
    const next = judge(before, result);
    if (!next) continue;
    const after: Finding = {
      fingerprint,
      ...result.violation,
      ...(result.exception ? { exception: result.exception } : {}),
      status: next.status,
      firstSeenAt: before && before.status !== "resolved" ? before.firstSeenAt : (before?.firstSeenAt ?? at),
      updatedAt: at,
      revision: (before?.revision ?? 0) + 1,
    };
    transitions.push({ kind: next.kind, fingerprint, ...(before ? { before } : {}), after, alert: next.kind !== "changed", at });
  }

  for (const before of inScope.values()) {
    if (seen.has(before.fingerprint) || before.status === "resolved") continue;
    transitions.push(resolved(before, at, "no longer violates"));
  }
  return transitions;
}

/** Every unresolved finding on a resource that is gone. */
export function resolveAllFor(stored: readonly Finding[], resourceKey: string, at: string, reason: string): FindingTransition[] {
  return stored.filter((f) => f.resourceKey === resourceKey && f.status !== "resolved").map((f) => resolved(f, at, reason));
}

function resolved(before: Finding, at: string, reason: string): FindingTransition {
  const { exception: _dropped, ...rest } = before;
  const after: Finding = { ...rest, status: "resolved", facts: { ...before.facts, resolution: reason }, updatedAt: at, resolvedAt: at, revision: before.revision + 1 };
  return { kind: "resolved", fingerprint: before.fingerprint, before, after, alert: true, at };
}

function judge(before: Finding | undefined, result: RuleResult): { kind: TransitionKind; status: FindingStatus } | undefined {
  const excepted = result.exception?.status === "active";
  if (!before) return excepted ? { kind: "excepted", status: "excepted" } : { kind: "opened", status: "open" };
  if (before.status === "resolved") return excepted ? { kind: "excepted", status: "excepted" } : { kind: "reopened", status: "open" };
  if (excepted) {
    if (before.status !== "excepted") return { kind: "excepted", status: "excepted" };
    return sameVerdict(before, result) ? undefined : { kind: "changed", status: "excepted" };
  }
  if (before.status === "excepted") return { kind: "reopened", status: "open" };
  const v = result.violation;
  if (SEVERITY_ORDER[v.severity] > SEVERITY_ORDER[before.severity] || v.magnitude > before.magnitude) return { kind: "escalated", status: "escalated" };
  return sameVerdict(before, result) ? undefined : { kind: "changed", status: before.status };
}

function sameVerdict(before: Finding, result: RuleResult): boolean {
  const v = result.violation;
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
