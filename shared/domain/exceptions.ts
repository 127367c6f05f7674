/**
 * Exceptions by tag. A resource (or, for a version, its definition) may carry a tag named
 * `policy.exceptionTag` whose value is
 *
 *     reason=<why, e.g. CAB-4711 emergency rollback>;expires=<YYYY-MM-DD or ISO 8601 time>[;rules=<rule-id>,<rule-id>]
 *
 * Keys are case-insensitive and may be separated by `;` with spaces around. A date-only expiry
 * holds through that whole day (UTC). Without `rules=` the exception covers every rule on that
 * resource. A value without a reason, without an expiry, with an unreadable expiry, or with an
 * expiry more than a year ahead is not honoured — exceptions must be reviewed at least yearly —
 * and the finding says why.
 */
import type { ExceptionVerdict, FindingRuleId } from "./findings.js";
import type { Policy } from "./policy.js";
import type { Snapshot } from "./snapshots.js";
import type { RelatedResources } from "./rules/related.js";

const DAY = 86_400_000;
export const MAX_EXCEPTION_DAYS = 366;

export function parseExceptionTag(tag: string, value: string, ruleId: FindingRuleId, now: Date): ExceptionVerdict | undefined {
  const fields = new Map<string, string>();
  for (const part of value.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const rules = fields.get("rules");
  if (rules !== undefined && !rules.split(",").map((r) => r.trim().toLowerCase()).includes(ruleId)) return undefined;
  const reason = fields.get("reason") ?? "";
  const expiresRaw = fields.get("expires");
  if (reason === "") return { status: "invalid", why: `exception tag '${tag}' has no reason= (expected "reason=…;expires=YYYY-MM-DD")`, tag };
  if (expiresRaw === undefined || expiresRaw === "") return { status: "invalid", why: `exception tag '${tag}' has no expires= date, so it is not honoured`, tag };
  const expires = parseExpiry(expiresRaw);
  if (expires === undefined) return { status: "invalid", why: `exception tag '${tag}' has an unreadable expiry '${expiresRaw.slice(0, 40)}'`, tag };
  if (expires.getTime() - now.getTime() > MAX_EXCEPTION_DAYS * DAY) {
    return { status: "invalid", why: `exception tag '${tag}' expires more than ${MAX_EXCEPTION_DAYS} days ahead; exceptions must be reviewed at least yearly`, tag };
  }
  const verdict = { reason: reason.slice(0, 200), expires: expires.toISOString(), tag };
  return now.getTime() < expires.getTime() ? { status: "active", ...verdict } : { status: "expired", ...verdict };
}

/** The exception that applies to `ruleId` on `subject`: the subject's own tag first, then its definition's. */
export function exceptionFor(subject: Snapshot, related: RelatedResources, ruleId: FindingRuleId, policy: Policy, now: Date): ExceptionVerdict | undefined {
  const sources = [subject.tags, ...(subject.kind === "imageVersion" && related.definition ? [related.definition.tags] : [])];
  const wanted = policy.exceptionTag.toLowerCase();
  for (const tags of sources) {
    const entry = Object.entries(tags).find(([name]) => name.toLowerCase() === wanted);
    if (entry) {
      const verdict = parseExceptionTag(entry[0], entry[1], ruleId, now);
      if (verdict) return verdict;
    }
  }
  return undefined;
}

function parseExpiry(raw: string): Date | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) {
    const start = Date.parse(`${raw}T00:00:00Z`);
    return Number.isNaN(start) ? undefined : new Date(start + DAY); // through the end of that day, UTC
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw)) return undefined;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : new Date(at);
}
