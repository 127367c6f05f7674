/**
 * Sends what the outbox owes Teams: claims due alerts with a lease, renders each card, sends in
 * order, and on failure schedules the next attempt with exponential backoff and jitter —
 * never sooner than the receiver's Retry-After. After `maxAttempts` (about a day of tries) or a
 * permanent refusal the alert is marked failed: kept, listed and logged, never dropped silently.
 */
import type { AlertOutbox, Clock, FindingStore, TeamsNotifier } from "../ports.js";
import type { Logger } from "pino";
import { AlertDeliveryError } from "../errors.js";
import { alertMessage } from "./adaptiveCard.js";

export interface DeliverySettings {
  readonly batchSize?: number;
  readonly leaseMs?: number;
  readonly maxAttempts?: number;
  /** Critical alerts may go to their own channel. */
  readonly criticalTeams?: TeamsNotifier;
}

export interface DeliveryFigures {
  delivered: number;
  retried: number;
  failed: number;
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
  const figures: DeliveryFigures = { delivered: 0, retried: 0, failed: 0 };
  await reconcileStaged(deps);
  const maxAttempts = settings.maxAttempts ?? 20;
  for (;;) {
    const due = await deps.outbox.claimDue(deps.clock.now().toISOString(), settings.batchSize ?? 20, settings.leaseMs ?? 60_000);
    if (due.length === 0) return figures;
    for (const alert of due) {
      const teams = alert.transition.after.severity === "critical" && settings.criticalTeams ? settings.criticalTeams : deps.teams;
      try {
        await teams.send(alertMessage(alert), alert.alertId);
        await deps.outbox.markDelivered(alert.alertId, deps.clock.now().toISOString());
        figures.delivered++;
      } catch (error) {
        if (!(error instanceof AlertDeliveryError)) throw error;
        const attempt = alert.attempts + 1;
        if (error.permanent || attempt >= maxAttempts) {
          await deps.outbox.markFailed(alert.alertId, deps.clock.now().toISOString(), error.message);
          deps.log.error({ alertId: alert.alertId, attempts: attempt, status: error.status }, `alert delivery given up: ${error.message}`);
          figures.failed++;
          continue;
        }
        const next = new Date(deps.clock.now().getTime() + nextAttemptDelayMs(attempt, error.retryAfterMs)).toISOString();
        await deps.outbox.markRetry(alert.alertId, next, error.message);
        deps.log.warn({ alertId: alert.alertId, attempts: attempt, status: error.status, nextAttemptAt: next }, `alert delivery will be retried: ${error.message}`);
        figures.retried++;
      }
    }
  }
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
