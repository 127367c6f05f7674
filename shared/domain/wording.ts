/**
 * How a person reads what the rules record, declared once: the label of every fact key a rule
 * produces, and one wording for dates and an exception's expiry. Alert cards, the digest card,
 * the evidence report and the CLI all word these through here, so "expires 2027-01-31 (in 55
 * days)" reads the same in the channel, on the auditor's page and in a terminal.
 * Pure: the time to count from comes in.
 */
import type { Caller, ExceptionVerdict, Finding } from "./findings.js";

const DAY = 86_400_000;

/**
 * Every fact key a rule records (shared/domain/rules/*, and `resolution`, added when a finding is
 * resolved), with its label. test/unit/wording.test.ts fails when a rule records a key missing here.
 */
export const FACT_LABELS = {
  osState: "OS state",
  regions: "Regions",
  regionCount: "Regions in use",
  maxRegions: "Regions allowed",
  totalReplicas: "Replicas in total",
  maxTotalReplicas: "Replicas allowed",
  regionsOutsideAllowed: "Regions outside the allowed list",
  allowedRegions: "Allowed regions",
  publishedDate: "Published",
  permissions: "Sharing permissions",
  reach: "Reach",
  sharedWith: "Shared with",
  publicNames: "Community gallery names",
  specializedDefinitions: "Specialized definitions",
  scaleSet: "Scale set",
  capacity: "Instances",
  image: "Image",
  follows: "Follows",
  resolvedVersion: "Resolved version",
  orchestrationMode: "Orchestration mode",
  virtualMachine: "Virtual machine",
  allowedScope: "Allowed scope for specialized images",
  machineCount: "Machines running it",
  maxClones: "Machines allowed",
  machines: "Machines",
  version: "Version",
  endOfLifeOf: "End of life set on",
  reason: "Reason",
  missingTags: "Missing tags",
  requiredTags: "Required tags",
  excludeFromLatest: "Excluded from latest",
  selectableInRegions: "Selectable as latest in",
  endOfLifeDate: "End of life",
  principalCount: "Principals who can use it",
  maxImageUsers: "Principals allowed",
  principals: "Principals",
  unapprovedPrincipals: "Principals not approved",
  tenantWideGroups: "Tenant-wide groups",
  grantingAssignments: "Granting role assignments",
  resolution: "Resolution",
} as const satisfies Readonly<Record<string, string>>;

export type FactKey = keyof typeof FACT_LABELS;

/** Facts whose value is a date or time, worded by `dateText`. */
const DATE_FACTS: ReadonlySet<string> = new Set<FactKey>(["endOfLifeDate", "publishedDate"]);

export function isDateFact(key: string): boolean {
  return DATE_FACTS.has(key);
}

/**
 * The label of a fact key. A key no rule records any more (a finding stored by an older release)
 * still reads as words: `someKey` → "Some key".
 */
export function factLabel(key: string): string {
  const known = (FACT_LABELS as Readonly<Record<string, string>>)[key];
  if (known !== undefined) return known;
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const isMidnight = (d: Date) => d.getUTCHours() === 0 && d.getUTCMinutes() === 0 && d.getUTCSeconds() === 0 && d.getUTCMilliseconds() === 0;

/** `2026-11-30` for a midnight UTC, else `2026-11-30 14:05 UTC`; text that is no time comes back as it is (cut to 40 characters). */
export function dateText(value: string): string {
  const at = Date.parse(value);
  if (Number.isNaN(at)) return value.slice(0, 40);
  const d = new Date(at);
  return isMidnight(d) ? d.toISOString().slice(0, 10) : `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** An exception's expiry as it is worded everywhere, with the parts a view may colour by. */
export interface ExpiryWording {
  /** `expires 2027-01-31 (in 55 days)`, `expires 2026-12-07 (today)`, `expired 2026-11-30 (7 days ago)`, or `expiry unreadable (…)`. */
  readonly text: string;
  readonly expired: boolean;
  /** Calendar days (UTC) from `now` to the last day the exception holds; negative once expired; NaN when unreadable. */
  readonly days: number;
}

const days = (n: number) => `${n} day${n === 1 ? "" : "s"}`;

/**
 * An exception's expiry, as stored (exceptions.ts: a date-only `expires=2027-01-31` is stored as
 * the next midnight, 2027-02-01T00:00:00Z, because it holds through that whole day) and counted
 * from `now` in calendar days (UTC): "expires 2027-01-31 (in 55 days)", "expired 2026-11-30 (7 days ago)".
 * A time-of-day expiry shows its time: "expires 2026-12-07 14:00 UTC (today)".
 */
export function expiryWording(expires: string, now: Date): ExpiryWording {
  const at = Date.parse(expires);
  if (Number.isNaN(at)) return { text: `expiry unreadable (${expires.slice(0, 40)})`, expired: false, days: Number.NaN };
  const moment = new Date(at);
  // A date-only expiry holds through the day before its stored midnight: that is the day to show.
  const lastDay = isMidnight(moment) ? new Date(at - DAY) : moment;
  const shown = isMidnight(moment) ? lastDay.toISOString().slice(0, 10) : dateText(expires);
  const dayStart = (d: Date) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const n = Math.round((dayStart(lastDay) - dayStart(now)) / DAY);
  const expired = now.getTime() >= at;
  if (expired) return { text: `expired ${shown} (${n >= 0 ? "today" : `${days(-n)} ago`})`, expired, days: Math.min(n, 0) };
  return { text: `expires ${shown} (${n <= 0 ? "today" : `in ${days(n)}`})`, expired, days: Math.max(n, 0) };
}

/**
 * A caller as every view names one: "Sam Okafor (sam.okafor@contoso.example)", else the UPN, the
 * object id, or "app <id>"; "unknown caller" when the claims named nobody.
 */
export function callerText(caller: Caller | undefined): string {
  if (!caller) return "unknown caller";
  const id = caller.upn ?? caller.objectId;
  if (caller.name) return id ? `${caller.name} (${id})` : caller.name;
  return id ?? (caller.appId ? `app ${caller.appId}` : "unknown caller");
}

/** GW_EXCEPTION_APPROVERS as a person reads it: "sam.okafor@contoso.example, 7b2e…" (at most five, then "and N more"). */
export function approversText(approvers: readonly string[]): string {
  if (approvers.length === 0) return "anyone but whoever raised the finding";
  const shown = approvers.slice(0, 5).join(", ");
  return approvers.length > 5 ? `${shown} and ${approvers.length - 5} more` : shown;
}

/** Who set an exception tag, as the card and the report say it: the setter, or why it is not known. */
export function setterText(exception: ExceptionVerdict): string {
  if (exception.status === "invalid") return "";
  return exception.setBy ? `set by ${callerText(exception.setBy)}` : "set by someone gallery-watch could not establish (set before it recorded the resource, or found by the sweep): separation of duties not checked";
}

/**
 * How separation of duties was checked for an exception that holds, in one line: who set it and
 * who raised the finding, or which of the two is not known and what that left unchecked.
 * "set by Sam Okafor (sam@…); the finding was raised by Jo Lindqvist (jo@…)".
 */
export function separationText(finding: Pick<Finding, "exception" | "raisedBy">): string {
  const exception = finding.exception;
  if (!exception || exception.status === "invalid") return "";
  if (!exception.setBy) return setterText(exception);
  const raisers = finding.raisedBy ?? [];
  if (raisers.length === 0) return `${setterText(exception)}; who raised the finding is not known (the sweep or a re-check found it): only GW_EXCEPTION_APPROVERS, if set, was checked`;
  return `${setterText(exception)}; the finding was raised by ${raisers.slice(0, 3).map(callerText).join(", ")}${raisers.length > 3 ? ` and ${raisers.length - 3} more` : ""}`;
}

/**
 * An exception verdict in one line: "CAB-4711: expires 2027-01-31 (in 55 days)" for one that holds
 * or ran out, "not honoured: …" for a tag that could not be read or that separation of duties refused.
 */
export function exceptionText(exception: ExceptionVerdict, now: Date): string {
  if (exception.status === "invalid" || exception.status === "refused") return `not honoured: ${exception.why}`;
  return `${exception.reason}: ${expiryWording(exception.expires, now).text}`;
}
