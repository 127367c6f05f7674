/**
 * Sends what the outbox owes Teams: claims due alerts with a lease, groups them by change (one
 * card per change to one resource, see `changeKey`), renders and sends each card in order, and
 * marks every alert of a card delivered together. On failure the whole group is scheduled for
 * the same next attempt with exponential backoff and jitter — never sooner than the receiver's
 * Retry-After — so it is claimed, and sent, as one card again. After `maxAttempts` (about a day
 * of tries) or a permanent refusal its alerts are marked failed: kept, listed and logged, never
 * dropped silently.
 */
import type { AlertOutbox, Clock, FindingStore, OutboxAlert, TeamsNotifier } from "../ports.js";
import type { Logger } from "pino";
import { AlertDeliveryError, StorageError } from "../errors.js";
import { alertsMessage, cardOrder } from "./adaptiveCard.js";
import { changeKey } from "./changeKey.js";

export interface DeliverySettings {
  readonly batchSize?: number;
  readonly leaseMs?: number;
  readonly maxAttempts?: number;
  /** Critical alerts may go to their own channel. */
  readonly criticalTeams?: TeamsNotifier;
  /** First wait before retrying a failed "delivered" mark (default 1 s, doubling, 6 tries). */
  readonly markBackoffMs?: number;
}

/** Retries a storage write through a stall (1, 2, 4 … 32 s by default): what it records already happened. */
async function persistently(write: () => Promise<void>, log: Logger, alertId: string, backoffMs: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof StorageError) || attempt >= 7) throw error;
      log.warn({ alertId, attempt, err: error }, "marking an alert delivered failed; retrying (the card is not sent again)");
      await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (attempt - 1)));
    }
  }
}

export interface DeliveryFigures {
  /** Alerts (outbox rows) delivered, retried, given up. */
  delivered: number;
  retried: number;
  failed: number;
  /** Cards posted: one per change to one resource, however many alerts it carried. */
  cards?: number;
}

/** 2^attempt seconds, capped at an hour, ±20 % jitter; at least Retry-After. */
export function nextAttemptDelayMs(attempt: number, retryAfterMs: number | undefined, random = Math.random): number {
  const backoff = Math.min(3_600_000, 1000 * 2 ** Math.min(attempt, 12)) * (0.8 + 0.4 * random());
  return Math.max(backoff, retryAfterMs ?? 0);
}

export async function deliverAlerts(
  deps: { outbox: AlertOutbox; findings: FindingStore; teams: TeamsNotifier; clock: Clock; log: Logger },
  settings: DeliverySettings = {},
): Promise<DeliveryFigures> {
  const figures: DeliveryFigures = { delivered: 0, retried: 0, failed: 0, cards: 0 };
  await reconcileStaged(deps);
  const maxAttempts = settings.maxAttempts ?? 20;
  for (;;) {
    // The lease outlasts a storage stall: the "delivered" mark is retried for about a minute, under it.
    const due = await deps.outbox.claimDue(deps.clock.now().toISOString(), settings.batchSize ?? 20, settings.leaseMs ?? 180_000);
    if (due.length === 0) return figures;
    for (const group of byChange(due)) {
      const ids = group.map((a) => a.alertId);
      const lead = group[0]!;
      const critical = group.some((a) => a.transition.after.severity === "critical");
      const teams = critical && settings.criticalTeams ? settings.criticalTeams : deps.teams;
      try {
        await teams.send(alertsMessage(group), lead.alertId);
        const at = deps.clock.now().toISOString();
        // The card is out: a failed mark must be retried, never answered by sending the card again.
        for (const id of ids) await persistently(() => deps.outbox.markDelivered(id, at), deps.log, id, settings.markBackoffMs ?? 1000);
        figures.delivered += group.length;
        figures.cards = (figures.cards ?? 0) + 1;
      } catch (error) {
        if (!(error instanceof AlertDeliveryError)) throw error;
        const attempt = Math.max(...group.map((a) => a.attempts)) + 1;
        if (error.permanent || attempt >= maxAttempts) {
          const at = deps.clock.now().toISOString();
          for (const id of ids) await deps.outbox.markFailed(id, at, error.message);
          deps.log.error({ alertId: lead.alertId, alertIds: ids, attempts: attempt, status: error.status }, `alert delivery given up: ${error.message}`);
          figures.failed += group.length;
          continue;
        }
        // One next attempt for the whole group, so it comes due — and is sent — as one card again.
        const next = new Date(deps.clock.now().getTime() + nextAttemptDelayMs(attempt, error.retryAfterMs)).toISOString();
        for (const id of ids) await deps.outbox.markRetry(id, next, error.message);
        deps.log.warn({ alertId: lead.alertId, alertIds: ids, attempts: attempt, status: error.status, nextAttemptAt: next }, `alert delivery will be retried: ${error.message}`);
        figures.retried += group.length;
      }
    }
  }
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
async function reconcileStaged(deps: { outbox: AlertOutbox; findings: FindingStore; clock: Clock; log: Logger }): Promise<void> {
  const before = new Date(deps.clock.now().getTime() - 120_000).toISOString();
  for (const alert of await deps.outbox.staged(before)) {
    const after = alert.transition.after;
    const then = await deps.findings.asOf(after.resourceKey, after.updatedAt);
    const stored = then.some((f) => f.fingerprint === after.fingerprint && f.revision === after.revision && f.updatedAt === after.updatedAt);
    await (stored ? deps.outbox.release([alert], deps.clock.now().toISOString()) : deps.outbox.discard([alert.alertId]));
    deps.log.warn({ alertId: alert.alertId, stored }, stored ? "staged alert released: its transition was stored" : "staged alert discarded: its transition was never stored");
  }
}
