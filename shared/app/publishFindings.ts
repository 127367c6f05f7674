/**
 * Publishes the findings feed: every finding transition that makes a card also goes, as one
 * CloudEvents 1.0 event (findingsFeed.ts), to an Event Grid custom topic. Same machinery as the
 * cards (deliverAlerts.ts), on a channel of its own:
 * - staged beside the card's alert by the same judging step (`withFindingsFeed`), released when
 *   the finding is stored, discarded when it is not; an invocation that died in between is
 *   reconciled from the finding's history (`reconcileStaged`);
 * - claimed from its own outbox table (`<prefix>FindingEvents`) with a lease, a finding's lowest
 *   owed revision only (its events go out in order), and published in batches of at most 1 MB;
 * - 429 / 408 / 5xx / no connection: retried with the one backoff (`nextAttemptDelayMs`),
 *   never sooner than Retry-After (capped); other 4xx (the topic missing, the role not yet
 *   granted): parked owed (`refused`) and retried on the same backoff; past the retry window:
 *   owed (`expired`), with an error log.
 * - no answer: unlike a card, retried. The event keeps its id, and CloudEvents 1.0 lets a consumer
 *   drop an event whose source and id it has seen ("Consumers MAY assume that Events with
 *   identical source and id are duplicates"), so a SIEM stays exact; a feed waiting for a person
 *   to resend would silently fall behind.
 * Its own table, sender and function (functions/publishFindings.ts): a slow or failing topic never
 * holds up a card, and a throttled Teams webhook never holds up the feed.
 */
import type { Logger } from "pino";
import type { AlertOutbox, Clock, FindingStore, FindingsPublisher, OutboxAlert, OwedReason } from "./ports.js";
import { AlertDeliveryError } from "../domain/errors.js";
import { nextAttemptDelayMs, reconcileStaged, senderRound } from "./deliverAlerts.js";
import { batchesBySize, findingEvent, type FindingCloudEvent } from "../views/findingsFeed.js";

/** The outbox table of the feed, beside `<prefix>Alerts`. */
export const FEED_TABLE = "FindingEvents";

export interface FeedSettings {
  /** Events claimed per round (default 200). */
  readonly batchSize?: number;
  readonly leaseMs?: number;
  readonly retryAfterCapMs?: number;
  readonly maxBackoffMs?: number;
  readonly retryWindowMs?: number;
  readonly budgetMs?: number;
  readonly markBackoffMs?: number;
  /** Largest request body (default Event Grid's 1 MB). */
  readonly maxBatchBytes?: number;
}

export interface FeedFigures {
  published: number;
  retried: number;
  owed: number;
  requests: number;
}

const MARK_MARGIN_MS = 15_000;

/** The judging path's outbox, staging every alert in the feed's outbox too (same ids, same step). */
export function withFindingsFeed(cards: AlertOutbox, feed: AlertOutbox): AlertOutbox {
  return {
    ...cards,
    enqueue: async (alerts, now) => void (await Promise.all([cards.enqueue(alerts, now), feed.enqueue(alerts, now)])),
    release: async (alerts, now) => void (await Promise.all([cards.release(alerts, now), feed.release(alerts, now)])),
    discard: async (alertIds) => void (await Promise.all([cards.discard(alertIds), feed.discard(alertIds)])),
  };
}

export async function publishFindings(
  deps: { feed: AlertOutbox; findings: FindingStore; publisher: FindingsPublisher; source: string; clock: Clock; log: Logger },
  settings: FeedSettings = {},
): Promise<FeedFigures> {
  const figures: FeedFigures = { published: 0, retried: 0, owed: 0, requests: 0 };
  await reconcileStaged({ outbox: deps.feed, findings: deps.findings, clock: deps.clock, log: deps.log });
  const leaseMs = Math.max(settings.leaseMs ?? 300_000, deps.publisher.timeoutMs + MARK_MARGIN_MS + 60_000);
  const { budgetEnd, caps, windowMs, mark } = senderRound(deps, settings);
  for (;;) {
    if (deps.clock.now().getTime() >= budgetEnd) return figures;
    const claimedAt = deps.clock.now().getTime();
    const due = await deps.feed.claimDue(new Date(claimedAt).toISOString(), settings.batchSize ?? 200, leaseMs);
    if (due.length === 0) return figures;
    const events = due.map((alert) => ({ alert, event: findingEvent(alert, deps.source) }));
    const batches = batchesBySize(events, settings.maxBatchBytes).map((batch) => batch.map((e) => e.alert));
    for (const [i, batch] of batches.entries()) {
      const mustEndBy = deps.clock.now().getTime() + deps.publisher.timeoutMs + MARK_MARGIN_MS;
      if (mustEndBy > claimedAt + leaseMs || (i > 0 && mustEndBy > budgetEnd)) {
        await deps.feed.unclaim(batches.slice(i).flat().map((a) => a.alertId));
        break;
      }
      await publishBatch(deps, batch, { caps, windowMs, mark }, figures);
    }
  }
}

async function publishBatch(
  deps: { feed: AlertOutbox; publisher: FindingsPublisher; source: string; clock: Clock; log: Logger },
  batch: readonly OutboxAlert[],
  how: { caps: { retryAfterCapMs: number; maxBackoffMs: number }; windowMs: number; mark: (id: string, write: () => Promise<void>) => Promise<void> },
  figures: FeedFigures,
): Promise<void> {
  const ids = batch.map((a) => a.alertId);
  figures.requests++;
  try {
    await deps.publisher.publish(
      batch.map((alert) => findingEvent(alert, deps.source)),
      ids[0]!,
    );
    const at = deps.clock.now().toISOString();
    // Published: a failed mark is retried, never answered by publishing again.
    for (const id of ids) await how.mark(id, () => deps.feed.markDelivered(id, at));
    figures.published += batch.length;
  } catch (error) {
    if (!(error instanceof AlertDeliveryError)) throw error;
    const now = deps.clock.now();
    const at = now.toISOString();
    const log = { feed: true, events: ids.length, firstEventId: ids[0], status: error.status };
    // Each event keeps its own attempts and retry window: a batch is only how they travel.
    let expired = 0;
    for (const alert of batch) {
      const since = Date.parse(alert.retrySince ?? alert.createdAt);
      const next = new Date(now.getTime() + nextAttemptDelayMs(alert.attempts + 1, error.retryAfterMs, Math.random, how.caps)).toISOString();
      const reason: OwedReason | undefined = now.getTime() - since >= how.windowMs ? "expired" : error.permanent ? "refused" : undefined;
      if (reason) {
        await how.mark(alert.alertId, () => deps.feed.markOwed(alert.alertId, { at, reason, error: error.message, ...(reason === "refused" ? { nextAttemptAt: next } : {}) }));
        figures.owed++;
        if (reason === "expired") expired++;
      } else {
        await how.mark(alert.alertId, () => deps.feed.markRetry(alert.alertId, next, error.message));
        figures.retried++;
      }
    }
    if (expired > 0) deps.log.error({ ...log, expired }, `findings feed: ${expired} event(s) still unpublished after the retry window are owed and no longer retried: ${error.message}`);
    if (error.permanent) deps.log.error(log, `findings feed refused by the topic; the events are owed and retried: ${error.message}`);
    else deps.log.warn(log, `findings feed publish will be retried: ${error.message}`);
  }
}
