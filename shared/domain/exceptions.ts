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
 *
 * Separation of duties (`separationOfDuties`): an exception is approved by someone other than the
 * person whose change raised the finding, and, when GW_EXCEPTION_APPROVERS names anyone, by one of
 * them. Who set the tag is the caller of the change that gave it its current value, as recorded in
 * the carrier's history (`exceptionSetter`); who raised the finding is recorded on it (`raisedBy`,
 * shared/domain/transitions.ts). An exception that fails either test is `refused`: the finding
 * stays open and says why, naming the setter and who may approve.
 */
import type { Caller, ExceptionVerdict, Finding, FindingRuleId } from "./findings.js";
import type { Policy } from "./policy.js";
import type { Snapshot } from "./snapshots.js";
import type { RelatedResources } from "./rules/related.js";
import type { Attribution, SnapshotRecord, Trigger } from "./records.js";
import { approversText, callerText } from "./wording.js";

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

/** The exception tag as one resource carries it. */
export interface ExceptionTagOn {
  /** The resource carrying the tag: the subject, or a version's definition. */
  readonly carrier: Snapshot;
  /** The tag's name as spelled on the resource. */
  readonly tag: string;
  readonly value: string;
}

/** The exception tags that may apply to `subject`, in the order they are consulted: its own, then (a version) its definition's. */
export function exceptionTagsOf(subject: Snapshot, related: RelatedResources, policy: Policy): ExceptionTagOn[] {
  const carriers = [subject, ...(subject.kind === "imageVersion" && related.definition ? [related.definition] : [])];
  return carriers.flatMap((carrier) => {
    const entry = tagEntry(carrier.tags, policy.exceptionTag);
    return entry ? [{ carrier, tag: entry[0], value: entry[1] }] : [];
  });
}

/**
 * Who set each carrier's exception tag, by the carrier's key: a caller when established; a key
 * that is absent (or maps to undefined) means not established.
 */
export type ExceptionSetters = ReadonlyMap<string, Caller | undefined>;

/** The exception that applies to `ruleId` on `subject`: the subject's own tag first, then its definition's, with who set it when known. */
export function exceptionFor(subject: Snapshot, related: RelatedResources, ruleId: FindingRuleId, policy: Policy, now: Date, setters?: ExceptionSetters): ExceptionVerdict | undefined {
  for (const { carrier, tag, value } of exceptionTagsOf(subject, related, policy)) {
    const verdict = parseExceptionTag(tag, value, ruleId, now);
    if (!verdict) continue;
    const setBy = setters?.get(carrier.id.key);
    return setBy && verdict.status !== "invalid" ? { ...verdict, setBy } : verdict;
  }
  return undefined;
}

function tagEntry(tags: Readonly<Record<string, string>>, name: string): [string, string] | undefined {
  const wanted = name.toLowerCase();
  return Object.entries(tags).find(([n]) => n.toLowerCase() === wanted);
}

/** The value of tag `name` (case-insensitive), or undefined when the resource does not carry it. */
export function tagValue(tags: Readonly<Record<string, string>>, name: string): string | undefined {
  return tagEntry(tags, name)?.[1];
}

/** The caller an event's claims name, or undefined when they name nobody. */
export function callerFrom(attribution: Attribution | undefined): Caller | undefined {
  if (!attribution) return undefined;
  const caller: Caller = {
    ...(attribution.callerName ? { name: attribution.callerName } : {}),
    ...(attribution.callerUpn ? { upn: attribution.callerUpn } : {}),
    ...(attribution.callerObjectId ? { objectId: attribution.callerObjectId } : {}),
    ...(attribution.callerAppId ? { appId: attribution.callerAppId } : {}),
  };
  return Object.keys(caller).length > 0 ? caller : undefined;
}

/** The caller behind a read: an event's (or a re-check's, carrying its event's); the sweep has none. */
export function callerOfTrigger(trigger: Trigger): Caller | undefined {
  return trigger.source === "sweep" ? undefined : callerFrom(trigger.attribution);
}

/** Whether a caller can be told apart from others: an object id or a UPN. */
export function identified(caller: Caller | undefined): caller is Caller {
  return !!(caller?.objectId || caller?.upn);
}

/** Same person or identity: equal object ids, or equal UPNs (case-insensitive). Never by name or app id. */
export function sameCaller(a: Caller, b: Caller): boolean {
  const eq = (x: string | undefined, y: string | undefined) => !!x && !!y && x.toLowerCase() === y.toLowerCase();
  return eq(a.objectId, b.objectId) || eq(a.upn, b.upn);
}

/** An entry of GW_EXCEPTION_APPROVERS (a UPN or an object id, lower case) names this caller. */
export function isApprover(caller: Caller, approvers: readonly string[]): boolean {
  return approvers.some((a) => a === caller.upn?.toLowerCase() || a === caller.objectId?.toLowerCase());
}

/**
 * Who gave the exception tag `tag` its current `value` on one resource, from the resource's
 * recorded history (newest first; it may or may not hold the observation being judged, which is
 * recorded side by side) and, when the resource is the subject this read is for, the read's trigger:
 * - the value differs from the newest recorded one, or nothing is recorded: this read's caller
 *   set it (undefined for the sweep: found, not seen being set; and undefined for a resource
 *   judged with, not read by, this trigger, e.g. a version's definition not yet recorded);
 * - else the caller of the oldest record in the newest run of records holding this value: the
 *   change that gave it this value (the resource's first record when it always had it: its
 *   writer submitted the tag). A record the sweep made names nobody.
 * `complete`: the history holds every record (not cut at a limit); when cut and the value runs
 * through it, who set it is not established.
 * Writing the same value again changes nothing in Azure and is not seen as setting it.
 */
export function exceptionSetter(tag: string, value: string, history: readonly SnapshotRecord[], trigger: Trigger | undefined, complete: boolean): Caller | undefined {
  let oldest: SnapshotRecord | undefined;
  let ended = false;
  for (const record of history) {
    if (tagValue(record.snapshot.tags, tag) !== value) {
      ended = true;
      break;
    }
    oldest = record;
  }
  if (!oldest) return trigger ? callerOfTrigger(trigger) : undefined;
  if (!ended && !complete) return undefined;
  return callerOfTrigger(oldest.trigger);
}

/**
 * Separation of duties, for an exception that would be honoured (active); any other verdict is
 * returned as it is. `raisers`: whose changes raised the finding (empty: not known).
 *
 * - The setter is known and raised the finding → refused.
 * - GW_EXCEPTION_APPROVERS names anyone: a known setter who is not among them → refused; a setter
 *   that could not be established → refused too: an approver list is an explicit demand that
 *   only those people approve, and a tag nobody can be shown to have set does not meet it. An
 *   approver sets it again (a new value, e.g. their name in the reason) and it is honoured.
 * - No approver list: a setter that could not be established is honoured (and the card says the
 *   check could not be made). The tags this concerns were set before gallery-watch recorded the
 *   resource or were found by the sweep; refusing them would reopen every exception reviewed
 *   before this check existed on the first sweep, an alert for each that no one can act on but by
 *   re-tagging, while the only rule without a list — not the raiser — cannot be shown broken.
 * - Who raised the finding is not known (the sweep opened it): the raiser test cannot fail;
 *   the approver test still applies.
 */
export function separationOfDuties(exception: ExceptionVerdict, raisers: readonly Caller[], approvers: readonly string[]): ExceptionVerdict {
  if (exception.status !== "active") return exception;
  const setter = exception.setBy;
  const mayApprove = approvers.length > 0 ? `may approve: ${approversText(approvers)}` : "anyone else may approve it";
  const refuse = (why: string): ExceptionVerdict => ({ ...exception, status: "refused", why: `exception tag '${exception.tag}' ${why}; ${mayApprove}` });
  if (identified(setter) && raisers.some((r) => sameCaller(r, setter))) {
    return refuse(`was set by ${callerText(setter)}, whose change raised this finding: an exception must be approved by someone else (separation of duties)`);
  }
  if (approvers.length === 0) return exception;
  if (!identified(setter)) return refuse("has no known setter (set before gallery-watch recorded it, or found by the sweep), and only the exception approvers may set exceptions: one of them must set it again");
  if (!isApprover(setter, approvers)) return refuse(`was set by ${callerText(setter)}, who is not among the exception approvers (GW_EXCEPTION_APPROVERS)`);
  return exception;
}

/** The callers recorded on a finding as having raised it (none recorded: empty). */
export function raisersOf(finding: Pick<Finding, "raisedBy"> | undefined): readonly Caller[] {
  return finding?.raisedBy ?? [];
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
