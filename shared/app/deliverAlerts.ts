/**
 * Sends what the outbox owes Teams: claims due alerts with a lease, groups them by change (one
 * card per change to one resource, see `changeKey`) — or, for a storm the claim marked with a
 * group key, all of them on one grouped card (alertGroups.ts, groupedCard.ts) — renders and sends
 * each card in order, and marks every alert of a card delivered together. Every card is delivered exactly once or is
 * visibly owed (listed by `gallery-watch alerts owed`, counted in telemetry and the digest):
 * - 429 / 408 / 5xx / no connection: the whole group is scheduled for one next attempt with
 *   exponential backoff and jitter capped at `maxBackoffMs`, never sooner than the receiver's
 *   Retry-After — but a Retry-After is honoured only up to `retryAfterCapMs`: then a send probes
 *   (a webhook that said "an hour" is often healthy again within minutes).
 * - any other 4xx (a 404 while the flow is switched off or being re-saved): the alerts are parked
 *   `owed` (reason `refused`), not failed, and retried on the same capped backoff.
 * - no answer (timeout, connection lost after the request left): Workflows may have posted the
 *   card. The alerts are parked `owed` (reason `ambiguous`) and NOT sent again automatically: a
 *   security channel that sees a card twice learns to skim, and a person can look in the channel
 *   and resend (`gallery-watch alerts resend`), the resent card then saying it may repeat one.
 * - past `retryWindowMs` since the alert was created (or resent) it stays owed (reason `expired`)
 *   for a person.
 * A send starts only if it can finish (the notifier's timeout) before the claim's lease and the
 * invocation's budget run out; otherwise the rest of the claim is handed back unsent. A send never
 * outlives its lease, so no other sender can claim and post the same card meanwhile.
 */
import { withRetries } from "../platform/retry.js";
import type { AlertGrouping, AlertOutbox, Clock, FindingStore, OutboxAlert, OwedReason, TeamsNotifier } from "./ports.js";
import type { Logger } from "pino";
import pLimit from "p-limit";
import { AlertDeliveryError, StorageError } from "../domain/errors.js";
import { alertsMessage, cardOrder } from "../views/adaptiveCard.js";
import { changeKey } from "../domain/changeKey.js";
import { groupedAlertsMessage } from "../views/groupedCard.js";

export interface DeliverySettings {
  readonly batchSize?: number;
  /** Claim lease (default 5 min): a send starts only while the lease outlasts the notifier's timeout. */
  readonly leaseMs?: number;
  /** Critical alerts may go to their own channel. */
  readonly criticalTeams?: TeamsNotifier;
  /** First wait before retrying a failed "delivered" mark (default 1 s, doubling, 6 tries). */
  readonly markBackoffMs?: number;
  /** Longest Retry-After honoured before a probe (default 5 min). */
  readonly retryAfterCapMs?: number;
  /** Longest backoff between two attempts (default 15 min). */
  readonly maxBackoffMs?: number;
  /** How long after creation (or a resend) an alert is retried automatically (default 24 h). */
  readonly retryWindowMs?: number;
  /** How long one run may keep starting sends (default 8 min, under host.json's functionTimeout of 10). */
  readonly budgetMs?: number;
  /** Storms become one card (shared/domain/alertGroups.ts); absent: one card per change, always. */
  readonly grouping?: AlertGrouping;
}

export const DEFAULT_RETRY_AFTER_CAP_MS = 5 * 60_000;
export const DEFAULT_MAX_BACKOFF_MS = 15 * 60_000;
export const DEFAULT_RETRY_WINDOW_MS = 24 * 3_600_000;
/** Time a send needs beyond its timeout to record its outcome under the lease. */
const MARK_MARGIN_MS = 15_000;

/** Retries a storage write through a stall (1, 2, 4 … 32 s by default): what it records already happened. */
export async function persistently(write: () => Promise<void>, log: Logger, alertId: string, backoffMs: number): Promise<void> {
  await withRetries(write, { maxAttempts: 7, baseDelayMs: backoffMs }, {
    classify: (error) => ({ retryable: error instanceof StorageError }),
    onRetry: (error, attempt) => log.warn({ alertId, attempt, err: error }, "recording an alert's delivery outcome failed; retrying (the card is not sent again)"),
  });
}

export interface DeliveryFigures {
  /** Alerts (outbox rows) delivered, and retried (429 / 5xx). */
  delivered: number;
  retried: number;
  /** Alerts parked owed by this run: refused (4xx, retried later), ambiguous (no answer) or expired. */
  owed: number;
  /** Of `owed`: sends that got no answer (the card may be in the channel). */
  ambiguous: number;
  /** Cards posted: one per change to one resource, however many alerts it carried, or one per storm group. */
  cards?: number;
  /** Of `cards`: grouped cards (a storm's many changes of one kind on one card). */
  groupedCards?: number;
  /** Alerts were held back for a group's interval: a sender should run again at this time. */
  heldUntil?: string;
  /** The storm keys this run's claims left held, with the time each hold ends (the latest word on each). */
  holds?: Map<string, string>;
}

/** What both outbox senders (cards here, the findings feed in publishFindings.ts) run a round by. */
export interface SenderRound {
  /** The round stops claiming at this time (ms): an invocation has a deadline. */
  readonly budgetEnd: number;
  readonly caps: { retryAfterCapMs: number; maxBackoffMs: number };
  readonly windowMs: number;
  /** Records a delivery outcome through a storage stall (`persistently`). */
  readonly mark: (id: string, write: () => Promise<void>) => Promise<void>;
}

export function senderRound(
  deps: { readonly clock: Clock; readonly log: Logger },
  settings: { readonly budgetMs?: number; readonly retryAfterCapMs?: number; readonly maxBackoffMs?: number; readonly retryWindowMs?: number; readonly markBackoffMs?: number },
): SenderRound {
  return {
    budgetEnd: deps.clock.now().getTime() + (settings.budgetMs ?? 8 * 60_000),
    caps: { retryAfterCapMs: settings.retryAfterCapMs ?? DEFAULT_RETRY_AFTER_CAP_MS, maxBackoffMs: settings.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS },
    windowMs: settings.retryWindowMs ?? DEFAULT_RETRY_WINDOW_MS,
    mark: (id, write) => persistently(write, deps.log, id, settings.markBackoffMs ?? 1000),
  };
}

/**
 * 2^attempt seconds capped at `maxBackoffMs`, ±20 % jitter; at least the receiver's Retry-After,
 * itself capped at `retryAfterCapMs` (then the next attempt is the probe).
 */
export function nextAttemptDelayMs(attempt: number, retryAfterMs: number | undefined, random = Math.random, caps: { retryAfterCapMs?: number; maxBackoffMs?: number } = {}): number {
  const backoff = Math.min(caps.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, 1000 * 2 ** Math.min(attempt, 20)) * (0.8 + 0.4 * random());
  return Math.max(backoff, Math.min(retryAfterMs ?? 0, caps.retryAfterCapMs ?? DEFAULT_RETRY_AFTER_CAP_MS));
}

/** What a resent card says when an earlier send of it got no answer. */
export function mayRepeatNote(ambiguousAt: string): string {
  return `Sent again by hand: an earlier send at ${ambiguousAt.slice(0, 19).replace("T", " ")} UTC got no answer and may have posted this card already.`;
}

export async function deliverAlerts(
  deps: { outbox: AlertOutbox; findings: FindingStore; teams: TeamsNotifier; clock: Clock; log: Logger },
  settings: DeliverySettings = {},
): Promise<DeliveryFigures> {
  const figures: DeliveryFigures = { delivered: 0, retried: 0, owed: 0, ambiguous: 0, cards: 0, groupedCards: 0 };
  await reconcileStaged(deps);
  // The lease always outlasts one send and its marks, whatever the timeout.
  const longestSendMs = Math.max(deps.teams.timeoutMs ?? 0, settings.criticalTeams?.timeoutMs ?? 0) + MARK_MARGIN_MS;
  const leaseMs = Math.max(settings.leaseMs ?? 300_000, longestSendMs + 60_000);
  const { budgetEnd, caps, windowMs, mark } = senderRound(deps, settings);
  for (;;) {
    if (deps.clock.now().getTime() >= budgetEnd) return figures;
    const claimedAt = deps.clock.now().getTime();
    const due = await deps.outbox.claimDue(new Date(claimedAt).toISOString(), settings.batchSize ?? 20, leaseMs, settings.grouping);
    // A storm's stragglers held for their group's interval: the caller wakes a sender when it
    // ends (a delayed queue message), so they neither wait for the outbox timer nor hold an
    // invocation — and its host's concurrency — while they wait.
    if (due.heldUntil !== undefined && (figures.heldUntil === undefined || due.heldUntil < figures.heldUntil)) figures.heldUntil = due.heldUntil;
    for (const [key, until] of due.holds ?? []) (figures.holds ??= new Map()).set(key, until);
    if (due.length === 0) return figures;
    const groups = cardsFor(due);
    for (const [i, group] of groups.entries()) {
      const ids = group.map((a) => a.alertId);
      const lead = group[0]!;
      const critical = group.some((a) => a.transition.after.severity === "critical");
      const teams = critical && settings.criticalTeams ? settings.criticalTeams : deps.teams;
      // Start a send only if it ends (answer or timeout) and is recorded while the lease holds and the invocation runs.
      const mustEndBy = deps.clock.now().getTime() + (teams.timeoutMs ?? 0) + MARK_MARGIN_MS;
      if (mustEndBy > claimedAt + leaseMs || (i > 0 && mustEndBy > budgetEnd)) {
        await deps.outbox.unclaim(groups.slice(i).flat().map((a) => a.alertId));
        break;
      }
      const ambiguousAt = group.map((a) => a.ambiguousAt).find((at) => at !== undefined);
      try {
        const grouped = isGrouped(group);
        const options = ambiguousAt ? { note: mayRepeatNote(ambiguousAt) } : {};
        await teams.send(grouped ? groupedAlertsMessage(group, options) : alertsMessage(group, options), lead.alertId);
        const at = deps.clock.now().toISOString();
        // The card is out: a failed mark must be retried, never answered by sending the card again.
        await eachOf(ids, (id) => mark(id, () => deps.outbox.markDelivered(id, at)));
        figures.delivered += group.length;
        figures.cards = (figures.cards ?? 0) + 1;
        if (grouped) {
          figures.groupedCards = (figures.groupedCards ?? 0) + 1;
          deps.log.info({ alertId: lead.alertId, alerts: group.length, groupKey: lead.groupKey }, `grouped card sent: ${group.length} alerts of one kind on one card`);
        }
      } catch (error) {
        if (!(error instanceof AlertDeliveryError)) throw error;
        const now = deps.clock.now();
        const at = now.toISOString();
        const attempt = Math.max(...group.map((a) => a.attempts)) + 1;
        const since = Math.max(...group.map((a) => Date.parse(a.retrySince ?? a.createdAt)));
        const expired = now.getTime() - since >= windowMs;
        const next = new Date(now.getTime() + nextAttemptDelayMs(attempt, error.retryAfterMs, Math.random, caps)).toISOString();
        const log = { alertId: lead.alertId, alertIds: ids, attempts: attempt, status: error.status };
        if (error.ambiguous || error.permanent || expired) {
          const reason: OwedReason = error.ambiguous ? "ambiguous" : expired ? "expired" : "refused";
          const retryAt = reason === "refused" ? next : undefined;
          await eachOf(ids, (id) => mark(id, () => deps.outbox.markOwed(id, { at, reason, error: error.message, ...(retryAt ? { nextAttemptAt: retryAt } : {}) })));
          figures.owed += group.length;
          if (reason === "ambiguous") figures.ambiguous += group.length;
          const why =
            reason === "ambiguous"
              ? "no answer: the card may or may not be in the channel; it is not sent again until a person resends it (gallery-watch alerts resend)"
              : reason === "refused"
                ? `refused by the webhook; owed, retried at ${retryAt}`
                : "still undelivered after the retry window; owed until a person resends it (gallery-watch alerts resend)";
          deps.log.error({ ...log, owedReason: reason, ...(retryAt ? { nextAttemptAt: retryAt } : {}) }, `alert owed (${reason}): ${error.message}; ${why}`);
          continue;
        }
        // One next attempt for the whole group, so it comes due — and is sent — as one card again.
        await eachOf(ids, (id) => mark(id, () => deps.outbox.markRetry(id, next, error.message)));
        deps.log.warn({ ...log, nextAttemptAt: next }, `alert delivery will be retried: ${error.message}`);
        figures.retried += group.length;
      }
    }
  }
}

/** A grouped card's alerts share the claim's group key and span more than one change. */
function isGrouped(card: readonly OutboxAlert[]): boolean {
  return card[0]?.groupKey !== undefined && new Set(card.map(changeKey)).size > 1;
}

/** Marks of one card side by side (a grouped card carries hundreds): each one still retried through a stall. */
async function eachOf(ids: readonly string[], markOne: (id: string) => Promise<void>): Promise<void> {
  if (ids.length === 1) return markOne(ids[0]!);
  const limit = pLimit(16);
  await Promise.all(ids.map((id) => limit(() => markOne(id))));
}

/**
 * The cards of one claim, oldest first: the alerts claimed under one group key on one card (a
 * storm; if the claim raced down to one change, that change's card), the rest one card per change.
 */
export function cardsFor(alerts: readonly OutboxAlert[]): OutboxAlert[][] {
  const byGroup = new Map<string, OutboxAlert[]>();
  const rest: OutboxAlert[] = [];
  for (const alert of alerts) {
    if (alert.groupKey === undefined) rest.push(alert);
    else byGroup.set(alert.groupKey, [...(byGroup.get(alert.groupKey) ?? []), alert]);
  }
  const cards: OutboxAlert[][] = [];
  for (const group of byGroup.values()) {
    if (new Set(group.map(changeKey)).size > 1) cards.push(group);
    else cards.push(...byChange(group));
  }
  cards.push(...byChange(rest));
  const oldest = (card: readonly OutboxAlert[]) => card.reduce((min, a) => (a.createdAt < min ? a.createdAt : min), card[0]!.createdAt);
  return cards.sort((a, b) => (oldest(a) < oldest(b) ? -1 : oldest(a) > oldest(b) ? 1 : 0));
}

/** Claimed alerts grouped by change, in claim order (oldest change first), each group most severe first. */
function byChange(alerts: readonly OutboxAlert[]): OutboxAlert[][] {
  const groups = new Map<string, OutboxAlert[]>();
  for (const alert of alerts) {
    const key = changeKey(alert);
    const group = groups.get(key);
    if (group) group.push(alert);
    else groups.set(key, [alert]);
  }
  return [...groups.values()].map((group) => group.sort(cardOrder));
}

/**
 * An invocation that died between staging an alert and storing its transition leaves the alert
 * staged. After a grace period, the finding's own history decides: the transition was stored →
 * release the alert; it was not → discard it.
 */
export async function reconcileStaged(deps: { outbox: AlertOutbox; findings: FindingStore; clock: Clock; log: Logger }): Promise<void> {
  const before = new Date(deps.clock.now().getTime() - 120_000).toISOString();
  for (const alert of await deps.outbox.staged(before)) {
    const after = alert.transition.after;
    const then = await deps.findings.asOf(after.resourceKey, after.updatedAt);
    const stored = then.some((f) => f.fingerprint === after.fingerprint && f.revision === after.revision && f.updatedAt === after.updatedAt);
    await (stored ? deps.outbox.release([alert], deps.clock.now().toISOString()) : deps.outbox.discard([alert.alertId]));
    deps.log.warn({ alertId: alert.alertId, stored }, stored ? "staged alert released: its transition was stored" : "staged alert discarded: its transition was never stored");
  }
}
