/**
 * The daily digest: one Teams card a day saying where the estate stands (open findings by rule
 * and severity), what moved since the previous digest (opened, resolved, excepted), which
 * exceptions run out within two weeks, and how the sweeps went.
 *
 * Sent once per UTC day. The digest id is `digest:<YYYY-MM-DD>` of `now`; before sending, the
 * sender claims that id with an insert-if-absent row, so a timer that fires twice, two instances
 * racing, or a person running `gallery-watch digest` after the timer all end in one card. A claim
 * whose sender died before marking it sent is taken over after `staleClaimMs`. A send that fails
 * gives the claim back, so the next attempt need not wait.
 */
import type { Logger } from "pino";
import { SEVERITIES_WORST_FIRST, type Finding, type FindingRuleId, type Severity } from "../domain/findings.js";
import type { AlertOutbox, ClaimResult, Clock, DigestLog, FindingActivity, FindingStore, OutboxAlert, SweepRunStore, TeamsNotifier } from "./ports.js";
import { digestCard, type DigestContent, type ExpiringException } from "../views/digestCard.js";

export type { DigestContent, ExpiringException } from "../views/digestCard.js";

export interface DigestDependencies {
  readonly findings: Pick<FindingStore, "open">;
  readonly findingActivity: FindingActivity;
  readonly sweepRuns: Pick<SweepRunStore, "list">;
  /** The alert outbox, for the cards still owed; absent: the digest does not speak of them. */
  readonly owedAlerts?: Pick<AlertOutbox, "list">;
  readonly digests: DigestLog;
  readonly teams: TeamsNotifier;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface DigestOptions {
  /** Send even if today's digest was sent or is being sent (a second card for the day). */
  readonly force?: boolean;
  /** An unsent claim older than this was abandoned by a sender that died (default 5 minutes). */
  readonly staleClaimMs?: number;
  /** Exceptions expiring within this many days are listed (default 14). */
  readonly expiringWithinDays?: number;
  /** The period covered when no digest was ever sent (default 24 hours). */
  readonly firstPeriodMs?: number;
}

export type DigestOutcome =
  | { readonly status: "sent"; readonly digestId: string; readonly content: DigestContent }
  | { readonly status: "alreadySent"; readonly digestId: string; readonly sentAt: string }
  | { readonly status: "inProgress"; readonly digestId: string; readonly claimedAt: string };

const DAY_MS = 86_400_000;

export const digestIdOf = (period: string) => `digest:${period}`;
export const periodOf = (now: Date) => now.toISOString().slice(0, 10);

export async function sendDigest(deps: DigestDependencies, options: DigestOptions = {}): Promise<DigestOutcome> {
  const now = deps.clock.now();
  const period = periodOf(now);
  const digestId = digestIdOf(period);
  const staleBefore = new Date(now.getTime() - (options.staleClaimMs ?? 5 * 60_000)).toISOString();
  const claimed = await deps.digests.claim({ digestId, period, claimedAt: now.toISOString() }, { staleBefore, ...(options.force ? { force: true } : {}) });
  if (claimed.outcome === "sent") {
    deps.log.info({ digestId, sentAt: claimed.record.sentAt }, "digest already sent for this period");
    return { status: "alreadySent", digestId, sentAt: claimed.record.sentAt ?? claimed.record.claimedAt };
  }
  if (claimed.outcome === "inProgress") {
    deps.log.info({ digestId, claimedAt: claimed.record.claimedAt }, "digest is being sent by another instance");
    return { status: "inProgress", digestId, claimedAt: claimed.record.claimedAt };
  }

  try {
    const content = await buildDigest(deps, { digestId, period, now, options });
    await deps.teams.send(digestCard(content), digestId);
    const recorded = await deps.digests.markSent(digestId, claimed.claim, { sentAt: deps.clock.now().toISOString(), until: content.until });
    if (!recorded) deps.log.warn({ digestId }, "digest sent, but its claim was taken over meanwhile (the sender was slower than the stale-claim limit)");
    deps.log.info({ digestId, open: content.open.total, opened: content.opened.length, resolved: content.resolved.length, runs: content.sweepRuns.length }, "digest sent");
    return { status: "sent", digestId, content };
  } catch (error) {
    await deps.digests.release(digestId, claimed.claim).catch((releaseError: unknown) => deps.log.warn({ err: releaseError, digestId }, "could not release the digest claim; it goes stale and is retried"));
    throw error;
  }
}

/** What the digest says; reads only. */
export async function buildDigest(deps: Pick<DigestDependencies, "findings" | "findingActivity" | "sweepRuns" | "digests" | "owedAlerts">, input: { digestId: string; period: string; now: Date; options?: DigestOptions }): Promise<DigestContent> {
  const { now, options = {} } = input;
  const until = now.toISOString();
  const previous = await deps.digests.previousSent(input.period);
  const since = previous?.until ?? previous?.sentAt ?? new Date(now.getTime() - (options.firstPeriodMs ?? DAY_MS)).toISOString();
  const [open, changed, sweepRuns, owed] = await Promise.all([
    deps.findings.open(),
    deps.findingActivity.changedSince(since),
    deps.sweepRuns.list({ since }),
    deps.owedAlerts ? Promise.all([deps.owedAlerts.list({ state: "owed" }), deps.owedAlerts.list({ state: "failed" })]).then(([a, b]) => [...a, ...b]) : undefined,
  ]);

  const stillOpen = open.filter((f) => f.status !== "resolved");
  const byRule: Partial<Record<FindingRuleId, number>> = {};
  const bySeverity = Object.fromEntries(SEVERITIES_WORST_FIRST.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of stillOpen) {
    byRule[f.ruleId] = (byRule[f.ruleId] ?? 0) + 1;
    bySeverity[f.severity] += 1;
  }

  const within = (at: string | undefined) => at !== undefined && at >= since && at <= until;
  const worstFirst = (a: Finding, b: Finding) => SEVERITIES_WORST_FIRST.indexOf(a.severity) - SEVERITIES_WORST_FIRST.indexOf(b.severity) || a.ruleId.localeCompare(b.ruleId) || a.resourceId.localeCompare(b.resourceId);
  const opened = changed.filter((f) => within(f.firstSeenAt)).sort(worstFirst);
  const resolved = changed.filter((f) => f.status === "resolved" && within(f.resolvedAt)).sort(worstFirst);
  const excepted = changed.filter((f) => f.status === "excepted" && within(f.updatedAt)).sort(worstFirst);

  const horizon = now.getTime() + (options.expiringWithinDays ?? 14) * DAY_MS;
  const startOfToday = Date.parse(`${input.period}T00:00:00.000Z`);
  const expiringExceptions: ExpiringException[] = [];
  for (const finding of stillOpen) {
    const e = finding.exception;
    if (e?.status !== "active") continue;
    const expiresAt = Date.parse(e.expires);
    if (Number.isNaN(expiresAt) || expiresAt > horizon) continue;
    expiringExceptions.push({ finding, expires: e.expires, reason: e.reason, daysLeft: Math.max(0, Math.floor((expiresAt - startOfToday) / DAY_MS)) });
  }
  expiringExceptions.sort((a, b) => Date.parse(a.expires) - Date.parse(b.expires) || a.finding.resourceId.localeCompare(b.finding.resourceId));

  return {
    digestId: input.digestId,
    period: input.period,
    since,
    until,
    firstDigest: previous === undefined,
    open: { total: stillOpen.length, excepted: stillOpen.filter((f) => f.status === "excepted").length, byRule, bySeverity },
    opened,
    resolved,
    excepted,
    expiringExceptions,
    sweepRuns: sweepRuns.filter((r) => r.startedAt <= until),
    ...(owed ? { owedAlerts: owedSummary(owed) } : {}),
  };
}

/** Owed alerts by reason; rows an older version marked `failed` count as out of retries. */
function owedSummary(owed: readonly OutboxAlert[]): NonNullable<DigestContent["owedAlerts"]> {
  const count = (reason: string) => owed.filter((a) => (a.owedReason ?? "expired") === reason).length;
  const oldestSince = owed.map((a) => a.owedSince ?? a.createdAt).sort()[0];
  return { total: owed.length, refused: count("refused"), ambiguous: count("ambiguous"), expired: count("expired"), ...(oldestSince ? { oldestSince } : {}) };
}
