/**
 * What may become a telemetry attribute, and in what shape.
 *
 * Two rules, both enforced here rather than trusted to callers:
 * - **Metric attributes are bounded.** Every metric attribute value comes from a closed list, or
 *   from a short code-shaped label of which at most a fixed number of distinct values are ever
 *   emitted per process (the rest become `other`). Application Insights pre-aggregates custom
 *   metrics per dimension combination and drops dimensions past its limits, so an unbounded value
 *   (a resource id, a free-text reason) would make the metric useless and costly:
 *   https://learn.microsoft.com/azure/azure-monitor/essentials/metrics-custom-overview#design-limitations-and-considerations
 * - **No secret reaches an attribute.** Span attribute values (the only place ids and free text
 *   go) pass the same scrubber as the logs (platform/redact.ts, one secret list).
 */
import { ALERT_OUTCOMES, ARM_OUTCOMES, DISPOSITIONS, type AlertDeliveryOutcome, type ArmReadOutcome, type EventDispositionLabel } from "../../domain/records.js";
import type { TransitionKind } from "../../domain/findings.js";
import { redactSecrets } from "../../platform/redact.js";

/** Value of a metric attribute that was not in its closed list, or past its label budget. */
export const OTHER = "other";

export { ALERT_OUTCOMES, ARM_OUTCOMES, DISPOSITIONS, type AlertDeliveryOutcome, type ArmReadOutcome, type EventDispositionLabel } from "../../domain/records.js";

export const TRANSITION_KINDS: readonly TransitionKind[] = ["opened", "escalated", "deescalated", "changed", "excepted", "reopened", "resolved"];
export const SWEEP_STATUSES = ["running", "succeeded", "partial", "failed"] as const;
/** How a sweep part failed (`SweepFailure.reason` starts with one of these). */
export const SWEEP_FAILURE_REASONS = ["noAccess", "throttled", "failed"] as const;

/**
 * Why an event was ignored or refused, as a bounded code. `classifyEvent` words its reasons for
 * people (with the offending value in them); the metric keeps only which kind of reason it was.
 * The full, scrubbed text goes on the span. Order matters: first match wins.
 */
export const EVENT_REASONS: ReadonlyArray<readonly [code: string, pattern: RegExp]> = [
  ["subscription-not-watched", /subscription not watched/i],
  ["event-type-not-watched", /event type .* is not watched/i],
  ["not-succeeded", /status .* is not succeeded/i],
  ["operation-not-judged", /does not change what gallery-watch judges/i],
  ["operation-not-watched", /is not a gallery, scale set or virtual machine operation/i],
  ["tags-not-watched", /tags written on a resource/i],
  ["never-shown", /never shown by ARM/i],
  ["too-large", /bytes; at most/i],
  ["event-id-too-long", /event id is \d+ characters long/i],
  ["malformed", /expected one event object|not serialisable|empty (cloudevent|event grid event)|not a valid|^data\.|resource group id/i],
];

/** The bounded code for an event's ignore / refusal reason: a known code as is, else matched by wording, else `other`. */
export function eventReasonCode(reason: string | undefined): string | undefined {
  if (reason === undefined || reason === "") return undefined;
  for (const [code, pattern] of EVENT_REASONS) if (reason === code || pattern.test(reason)) return code;
  return OTHER;
}

/** `value` when it is one of `allowed`, else `other` (a guard for casts and plain-JS callers). */
export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[]): T | typeof OTHER {
  return value !== undefined && (allowed as readonly string[]).includes(value) ? (value as T) : OTHER;
}

const LABEL = /^[A-Za-z][A-Za-z0-9._:-]{0,63}$/;

/**
 * Code-shaped labels (ARM operation names like `galleryImages.listByGallery`) with a budget: the
 * first `budget` distinct values pass, later new ones become `other`. Anything that is not
 * code-shaped (a resource id has `/`, free text has spaces) is `other` at once.
 */
export function labelBudget(budget: number): (value: string | undefined) => string {
  const seen = new Set<string>();
  return (value) => {
    if (value === undefined || !LABEL.test(value)) return OTHER;
    if (seen.has(value)) return value;
    if (seen.size >= budget) return OTHER;
    seen.add(value);
    return value;
  };
}

/**
 * A string fit for a span attribute: secrets masked (webhook `sig=`, SAS, account and
 * instrumentation keys, bearer tokens), control characters dropped, at most `max` characters.
 */
export function spanText(value: unknown, max = 256): string {
  let text = redactSecrets(String(value));
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f]+/g, " ");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
