/**
 * The security team's cross-resource queries, one use case each, shared by the CLI
 * (`gallery-watch findings` / `changes`) and the HTTP API (`GET /api/findings`, `/api/changes`):
 * - parse and validate what a person or a script typed (the same rules and messages for both);
 * - ask the store's index for one page (key ranges and server-side filters);
 * - filter again here with the pure predicates below: an index row may, for the moment between
 *   two writes, still carry a finding under its previous status, and the finding body is the truth;
 * - shape each row into the view both outputs show.
 * Nothing is capped silently: a page is at most `limit` rows and carries a token when more match.
 */
import { isPipelineInternal } from "../domain/records.js";
import { FINDING_RULES, SEVERITIES, type Finding, type FindingStatus, type Severity } from "../domain/findings.js";
import { isGuid, tryParseResourceId, type ResourceId } from "../domain/resourceId.js";
import { changeTime, type Attribution, type ChangeQuery, type ChangeRecord, type FindingQuery, type FindingStore, type Page, type ResourceStore } from "./ports.js";
import { InvalidQueryError } from "../domain/errors.js";
/** The error family lives in domain/errors.ts; re-exported where callers (functions/, the CLI) already look. */
export { InvalidQueryError } from "../domain/errors.js";

export const FINDING_STATES = ["open", "escalated", "excepted", "resolved"] as const satisfies readonly FindingStatus[];
/** What "the current verdicts" means when no state is given: everything not resolved. */
export const DEFAULT_FINDING_STATES: readonly FindingStatus[] = ["open", "escalated", "excepted"];
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** `changes` without --since: the last week. */
export const DEFAULT_CHANGES_SINCE = "7d";

// ---------------------------------------------------------------- times

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `7d`, `12h`, `90m`, `1d12h`, `2w` → milliseconds; undefined when `value` is not a duration. */
export function parseDuration(value: string): number | undefined {
  const text = value.trim().toLowerCase();
  if (!/^(\d+[smhdw])+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhdw])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}

/** Nothing gallery-watch stores is older than this (table keys count from it), so an earlier bound means the same. */
export const EARLIEST_TIME_MS = 0;
/** Event times come from ARM's clock, which may run ahead of ours: bounds stop a day after now. */
export const CLOCK_AHEAD_MS = 86_400_000;
/** A duration or time a person could mean: longer than this back from now is no period anyone means (`1000000000000000000000d`). */
const MAX_DURATION_MS = 10_000 * 365.25 * 86_400_000;

/**
 * An ISO 8601 date or date-time (a date alone is midnight UTC; a time without an offset is UTC,
 * as the Azure CLI reads them; a space may stand for the `T`), or a duration back from `now`
 * (`7d` = 7 days ago). Returns ISO UTC, clamped to what can be stored: not before 1970, not after a
 * day from now (the query then means the same, and a store never walks centuries of empty day
 * partitions). A duration longer than 10,000 years is refused, naming `parameter`: an InvalidQueryError
 * is a 400 for the API and a usage error for the CLI, never a 500.
 */
export function parseTimeOrDuration(value: string, now: Date, parameter = "since"): string {
  const duration = parseDuration(value);
  if (duration !== undefined) {
    if (!(duration <= MAX_DURATION_MS)) throw new InvalidQueryError(parameter, `'${value.slice(0, 40)}' reaches back more than 10,000 years; give a duration like 7d, 12h or 30m, or an ISO 8601 time`);
    return clampTime(now.getTime() - duration, now);
  }
  const text = value.trim().replace(/^(\d{4}-\d{2}-\d{2}) (?=\d)/, "$1T");
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(text)
    ? `${text}T00:00:00Z`
    : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)
      ? `${text}Z`
      : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(text)
        ? text
        : undefined;
  const ms = iso === undefined ? Number.NaN : Date.parse(iso);
  if (Number.isNaN(ms)) throw new InvalidQueryError(parameter, `'${value.slice(0, 60)}' is neither an ISO 8601 time (2026-11-24, 2026-11-24T08:00:00Z) nor a duration back from now (7d, 12h, 30m)`);
  return clampTime(ms, now);
}

function clampTime(ms: number, now: Date): string {
  return new Date(Math.min(Math.max(ms, EARLIEST_TIME_MS), now.getTime() + CLOCK_AHEAD_MS)).toISOString();
}

// ---------------------------------------------------------------- parameters

/** Raw parameters as a query string or the CLI's options give them. */
export type RawParameters = Readonly<Record<string, string | undefined>>;


function oneOf<T extends string>(parameter: string, value: string, choices: readonly T[]): T {
  const v = value.trim().toLowerCase();
  const found = choices.find((c) => c === v);
  if (!found) throw new InvalidQueryError(parameter, `'${value}' is not one of ${choices.join(", ")}`);
  return found;
}

/** A page size: 1..max; default `fallback`. */
export function parseLimit(value: string | undefined, fallback = DEFAULT_PAGE_SIZE, max = MAX_PAGE_SIZE): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > max) throw new InvalidQueryError("limit", `'${value}' is not a whole number from 1 to ${max}`);
  return Number(value);
}

/** A page size that may be left out (the use case then chooses): absent → undefined, else 1..max. */
export function parseOptionalLimit(value: string | null | undefined, max: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (value.trim() === "") throw new InvalidQueryError("limit", `'' is not a whole number from 1 to ${max}`);
  return parseLimit(value, DEFAULT_PAGE_SIZE, max);
}

/** `open`, `open,escalated`, `all`; default: every state but resolved. */
export function parseStates(value: string | undefined): FindingStatus[] {
  if (value === undefined || value.trim() === "") return [...DEFAULT_FINDING_STATES];
  const parts = value.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (parts.some((p) => p.toLowerCase() === "all")) return [...FINDING_STATES];
  return [...new Set(parts.map((p) => oneOf("state", p, [...FINDING_STATES])))];
}

/** Everything but the token and the page size, validated. `now` anchors durations. */
export function findingQueryFrom(raw: RawParameters, now: Date): Omit<FindingQuery, "limit" | "continuationToken"> {
  const subscription = raw.subscription?.trim();
  if (subscription && !isGuid(subscription)) throw new InvalidQueryError("subscription", `'${subscription}' is not a subscription id (a GUID)`);
  return {
    states: parseStates(raw.state),
    ...(raw.rule ? { ruleId: oneOf("rule", raw.rule, FINDING_RULES) } : {}),
    ...(raw.severity ? { severity: oneOf("severity", raw.severity, SEVERITIES) } : {}),
    ...(subscription ? { subscriptionId: subscription.toLowerCase() } : {}),
    ...(raw.since ? { since: parseTimeOrDuration(raw.since, now) } : {}),
  };
}


/** A change listing's filter: the store's query, and `all` to include pipeline-internal rows. */
export type ChangeFilter = Omit<ChangeQuery, "limit" | "continuationToken"> & { readonly all?: boolean };

export function changeQueryFrom(raw: RawParameters, now: Date): ChangeFilter {
  const since = parseTimeOrDuration(raw.since || DEFAULT_CHANGES_SINCE, now);
  const until = raw.until ? parseTimeOrDuration(raw.until, now, "until") : undefined;
  if (until !== undefined && until <= since) throw new InvalidQueryError("until", `${until} is not after since (${since})`);
  const caller = raw.caller?.trim();
  const resourceGroup = raw.resourceGroup?.trim();
  const all = raw.all === undefined || raw.all === "" ? false : oneOf("all", raw.all, ["true", "false"]) === "true";
  return { since, ...(until ? { until } : {}), ...(caller ? { caller } : {}), ...(resourceGroup ? { resourceGroup } : {}), ...(all ? { all } : {}) };
}

// ---------------------------------------------------------------- the filters, as pure predicates

/** What `FindingStore.query` promises, as one predicate (the in-memory adapter's whole filter, and the guard here). */
export function findingMatches(q: Omit<FindingQuery, "limit" | "continuationToken">, f: Finding): boolean {
  const id = tryParseResourceId(f.resourceId);
  return (
    q.states.includes(f.status) &&
    (q.ruleId === undefined || f.ruleId === q.ruleId) &&
    (q.severity === undefined || f.severity === q.severity.toLowerCase()) &&
    (q.subscriptionId === undefined || (id.ok && id.id.subscriptionId === q.subscriptionId.toLowerCase())) &&
    (q.since === undefined || Date.parse(f.updatedAt) >= Date.parse(q.since))
  );
}

function attributionOf(change: Pick<ChangeRecord, "trigger">): Attribution | undefined {
  return change.trigger.source === "event" ? change.trigger.attribution : change.trigger.source === "recheck" ? change.trigger.attribution : undefined;
}

/** What `ResourceStore.changesSince` promises: since ≤ time < until, caller and resource group compared case-insensitively. */
export function changeMatches(q: Omit<ChangeQuery, "limit" | "continuationToken">, change: ChangeRecord): boolean {
  const time = Date.parse(changeTime(change));
  if (time < Date.parse(q.since) || (q.until !== undefined && time >= Date.parse(q.until))) return false;
  if (q.resourceGroup !== undefined) {
    const id = tryParseResourceId(change.resourceId);
    if (!id.ok || id.id.resourceGroup.toLowerCase() !== q.resourceGroup.toLowerCase()) return false;
  }
  if (q.caller !== undefined) {
    const a = attributionOf(change);
    const wanted = q.caller.toLowerCase();
    if (![a?.callerUpn, a?.callerAppId, a?.callerObjectId, a?.callerName].some((v) => v !== undefined && v.toLowerCase() === wanted)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- views

/** `plantGallery/gateway-os/1.0.0`, `vmss-saas-web`: what a person recognises in a table. */
export function shortName(id: ResourceId): string {
  if (id.kind === "scaleSet") return id.scaleSet ?? id.display;
  return [id.gallery, id.image, id.version].filter((p): p is string => p !== undefined).join("/");
}

export interface FindingView extends Finding {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly resourceName: string;
}

export interface ChangeView {
  readonly time: string;
  readonly action: string;
  /** The ARM operation (`Microsoft.Compute/galleries/images/versions/write`), when an event said. */
  readonly operation?: string;
  /** `event`, `recheck` or `sweep`: what made gallery-watch look. */
  readonly source: "event" | "recheck" | "sweep";
  readonly callerName?: string;
  readonly callerUpn?: string;
  readonly callerAppId?: string;
  readonly callerObjectId?: string;
  readonly clientIp?: string;
  readonly correlationId?: string;
  readonly eventId?: string;
  readonly sweepRunId?: string;
  readonly resourceId: string;
  readonly resourceName: string;
  readonly resourceGroup: string;
  readonly subscriptionId: string;
  readonly observedAt: string;
  readonly contentHash?: string;
}

function place(resourceId: string): { subscriptionId: string; resourceGroup: string; resourceName: string } {
  const id = tryParseResourceId(resourceId);
  return id.ok ? { subscriptionId: id.id.subscriptionId, resourceGroup: id.id.resourceGroup, resourceName: shortName(id.id) } : { subscriptionId: "", resourceGroup: "", resourceName: resourceId };
}

export function findingView(f: Finding): FindingView {
  return { ...f, ...place(f.resourceId) };
}

export function changeView(change: ChangeRecord): ChangeView {
  const a = attributionOf(change);
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== "")) as T;
  return defined({
    time: new Date(Date.parse(changeTime(change))).toISOString(),
    action: change.action,
    operation: a?.operationName,
    source: change.trigger.source,
    callerName: a?.callerName,
    callerUpn: a?.callerUpn,
    callerAppId: a?.callerAppId,
    callerObjectId: a?.callerObjectId,
    clientIp: a?.clientIp,
    correlationId: a?.correlationId,
    eventId: a?.eventId,
    sweepRunId: change.trigger.source === "sweep" ? change.trigger.runId : undefined,
    resourceId: change.resourceId,
    ...place(change.resourceId),
    observedAt: change.observedAt,
    contentHash: change.contentHash,
  });
}

// ---------------------------------------------------------------- use cases

export interface PageRequest {
  readonly limit: number;
  readonly continuationToken?: string;
}

/**
 * Pages until `limit` rows pass the guard or the store has no more: a short store page (rows the
 * guard dropped) never ends the listing early, and never more than `limit` rows are returned.
 */
async function fill<T>(limit: number, token: string | undefined, fetch: (limit: number, token: string | undefined) => Promise<Page<T>>, keep: (item: T) => boolean): Promise<Page<T>> {
  const items: T[] = [];
  let next = token;
  do {
    const page = await fetch(limit - items.length, next);
    items.push(...page.items.filter(keep));
    next = page.continuationToken;
  } while (next !== undefined && items.length < limit);
  return next === undefined ? { items } : { items, continuationToken: next };
}

/** The current verdicts, newest update first. */
export async function listFindings(deps: { readonly findings: Pick<FindingStore, "query"> }, query: Omit<FindingQuery, "limit" | "continuationToken">, page: PageRequest): Promise<Page<FindingView>> {
  const seen = new Set<string>();
  const result = await fill(page.limit, page.continuationToken, (limit, continuationToken) => deps.findings.query({ ...query, limit, ...(continuationToken ? { continuationToken } : {}) }), (f) => {
    // A finding moving between statuses can show under both for a moment: once is enough.
    if (!findingMatches(query, f) || seen.has(f.fingerprint)) return false;
    seen.add(f.fingerprint);
    return true;
  });
  return { ...result, items: result.items.map(findingView) };
}

/** Who changed what across resources, newest first; pipeline-internal rows only with `all`. */
export async function listChanges(deps: { readonly resources: Pick<ResourceStore, "changesSince"> }, filter: ChangeFilter, page: PageRequest): Promise<Page<ChangeView>> {
  const { all, ...query } = filter;
  const result = await fill(page.limit, page.continuationToken, (limit, continuationToken) => deps.resources.changesSince({ ...query, limit, ...(continuationToken ? { continuationToken } : {}) }), (c) => changeMatches(query, c) && (all === true || !isPipelineInternal(c)));
  return { ...result, items: result.items.map(changeView) };
}
