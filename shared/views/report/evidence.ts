/**
 * The audit evidence pack's content: what `gallery-watch report` gathers from the stores, and the
 * pure derivations the page shows (open findings per day, exceptions about to expire, the change
 * log with who did it). No I/O here; `renderEvidence` turns this into one HTML string.
 */
import { SEVERITIES_WORST_FIRST, type Finding } from "../../domain/findings.js";
import type { Attribution, ChangeRecord, LineageEntry, SweepRun } from "../../domain/records.js";
import { isPipelineInternal } from "../../domain/records.js";
import { separationText } from "../../domain/wording.js";

export interface EvidenceData {
  /** When the page was generated (ISO-8601 UTC). */
  readonly generatedAt: string;
  /** Start of the period the page covers (ISO-8601 UTC); the end is `generatedAt`. */
  readonly since: string;
  /** The watched subscriptions the data was read from. */
  readonly subscriptions: readonly string[];
  /**
   * Every finding the page can speak about: those not resolved now, plus every finding whose
   * stored state changed in the period (resolved ones included). The open-findings section, the
   * exceptions and the chart are derived from these.
   */
  readonly findings: readonly Finding[];
  /** Changes recorded in the period, any order (the page sorts them newest first). */
  readonly changes: readonly ChangeRecord[];
  /** Sweep runs started in the period, any order. */
  readonly sweepRuns: readonly SweepRun[];
  /** Lineage: for each stored version some machine ran, every scale set and VM recorded running it. */
  readonly lineage?: readonly { readonly versionId: string; readonly machines: readonly LineageEntry[] }[];
  /** Exceptions expiring within this many days of `generatedAt` are flagged (default 14). */
  readonly expiringWithinDays?: number;
  /** What the page leaves out, said on the page (e.g. sweep re-reads that changed nothing). */
  readonly notes?: readonly string[];
}

const DAY_MS = 86_400_000;

export const worstFirst = (a: Finding, b: Finding): number =>
  SEVERITIES_WORST_FIRST.indexOf(a.severity) - SEVERITIES_WORST_FIRST.indexOf(b.severity) || a.firstSeenAt.localeCompare(b.firstSeenAt) || a.resourceId.localeCompare(b.resourceId) || a.ruleId.localeCompare(b.ruleId);

/** Findings that are open now (open or escalated), worst first. Excepted ones are listed with the exceptions. */
export function openFindings(data: Pick<EvidenceData, "findings">): Finding[] {
  return data.findings.filter((f) => f.status === "open" || f.status === "escalated").sort(worstFirst);
}

export interface ExceptionEntry {
  readonly finding: Finding;
  readonly reason: string;
  readonly expires: string;
  readonly tag: string;
  /** Who set the tag and who raised the finding, in the one wording (shared/domain/wording.ts: separationText), or what is not known. */
  readonly setter: string;
  /** Whole days from the generation time to the expiry; 0 = less than a day left. NaN when the expiry cannot be read. */
  readonly daysLeft: number;
  /** Expires within `expiringWithinDays` of the generation time. */
  readonly expiringSoon: boolean;
}

/** Findings covered by an active exception now, soonest expiry first. */
export function activeExceptions(data: Pick<EvidenceData, "findings" | "generatedAt" | "expiringWithinDays">): ExceptionEntry[] {
  const now = Date.parse(data.generatedAt);
  const horizon = now + (data.expiringWithinDays ?? 14) * DAY_MS;
  const entries: ExceptionEntry[] = [];
  for (const finding of data.findings) {
    const e = finding.exception;
    if (finding.status === "resolved" || e?.status !== "active") continue;
    const expiresAt = Date.parse(e.expires);
    const known = !Number.isNaN(expiresAt);
    entries.push({
      finding,
      reason: e.reason,
      expires: e.expires,
      tag: e.tag,
      setter: separationText(finding),
      daysLeft: known ? Math.max(0, Math.floor((expiresAt - now) / DAY_MS)) : Number.NaN,
      expiringSoon: known && expiresAt <= horizon,
    });
  }
  return entries.sort((a, b) => a.expires.localeCompare(b.expires) || a.finding.resourceId.localeCompare(b.finding.resourceId));
}

export interface DayPoint {
  /** The UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  /** Findings open at the end of that day (or at generation time, for the last day). */
  readonly open: number;
}

/**
 * Open findings per UTC day over the period, one point per day from the day of `since` to the
 * day of `generatedAt`: a finding counts on a day when it was first seen by the day's end and not
 * resolved by then. Computed from `firstSeenAt` / `resolvedAt` only, so a finding that was
 * resolved and reopened counts as open since it was first seen (the store keeps one resolvedAt).
 */
export function openFindingsPerDay(data: Pick<EvidenceData, "findings" | "since" | "generatedAt">): DayPoint[] {
  const first = Date.parse(`${data.since.slice(0, 10)}T00:00:00.000Z`);
  const last = Date.parse(`${data.generatedAt.slice(0, 10)}T00:00:00.000Z`);
  const points: DayPoint[] = [];
  for (let day = first; day <= last; day += DAY_MS) {
    const end = Math.min(day + DAY_MS - 1, Date.parse(data.generatedAt));
    const at = new Date(end).toISOString();
    const open = data.findings.filter((f) => f.firstSeenAt <= at && (f.resolvedAt === undefined || f.resolvedAt > at)).length;
    points.push({ day: new Date(day).toISOString().slice(0, 10), open });
  }
  return points;
}

export interface ChangeEntry {
  /** When it happened: the event's time for an event, else when gallery-watch observed it. */
  readonly at: string;
  readonly action: string;
  readonly resourceId: string;
  readonly operationName?: string;
  readonly correlationId?: string;
  /** Who did it, from the event's claims; absent for sweep and re-check reads without an event. */
  readonly who?: Pick<Attribution, "callerName" | "callerUpn" | "callerAppId" | "callerObjectId" | "clientIp">;
  /** `event`, `recheck` or `sweep`, and the sweep's run id. */
  readonly source: string;
  readonly runId?: string;
}

export function changeEntry(change: ChangeRecord): ChangeEntry {
  const t = change.trigger;
  const attribution = t.source === "sweep" ? undefined : t.attribution;
  const who = attribution
    ? {
        ...(attribution.callerName ? { callerName: attribution.callerName } : {}),
        ...(attribution.callerUpn ? { callerUpn: attribution.callerUpn } : {}),
        ...(attribution.callerAppId ? { callerAppId: attribution.callerAppId } : {}),
        ...(attribution.callerObjectId ? { callerObjectId: attribution.callerObjectId } : {}),
        ...(attribution.clientIp ? { clientIp: attribution.clientIp } : {}),
      }
    : undefined;
  return {
    at: t.source === "event" ? t.attribution.eventTime || change.observedAt : change.observedAt,
    action: change.action,
    resourceId: change.resourceId,
    ...(attribution?.operationName ? { operationName: attribution.operationName } : {}),
    ...(attribution?.correlationId ? { correlationId: attribution.correlationId } : {}),
    ...(who ? { who } : {}),
    source: t.source,
    ...(t.source === "sweep" ? { runId: t.runId } : {}),
  };
}

/** The change log newest first. */
export function changeLog(data: Pick<EvidenceData, "changes">): ChangeEntry[] {
  return data.changes.map(changeEntry).sort((a, b) => b.at.localeCompare(a.at) || a.resourceId.localeCompare(b.resourceId));
}

/**
 * Whether a change row is worth the auditor's attention: everything an event caused (a person or
 * an app acted, even if the re-read found nothing new), and what a sweep or re-check found that
 * differed. A sweep re-reading a resource that did not change is not a change; the runs section
 * accounts for those reads.
 */
export function isAuditableChange(change: ChangeRecord): boolean {
  // The pipeline's own rows (provisioning, coalesced) are not changes anyone made, whatever caused them.
  if (isPipelineInternal(change)) return false;
  if (change.trigger.source === "event") return true;
  if (change.trigger.source === "recheck" && change.trigger.attribution) return true;
  return change.action !== "unchanged";
}
