/**
 * When the alert senders are woken (functions/sendAlerts.ts runs deliverAlerts and the findings
 * feed's publishFindings). Storing an alert wakes them through a queue message, so judging never
 * waits for Teams. In a storm that would be one message and one outbox claim per alert, and each
 * claim lists every alert its storm's group holds back (domain/alertGroups.ts): a thousand alerts,
 * half a million index rows read. So, per process:
 * - after a sender's pass, the keys it left held are remembered, and one delayed wake is queued
 *   for the earliest hold's end (one per hold: a wake already queued for then or earlier re-plans
 *   everything due then);
 * - an invocation that stored alerts all of held keys, while that wake is still to come, queues
 *   none of its own (`wakeCovers`): they could not go sooner. The findings feed, which is not
 *   grouped, is woken for them alone.
 * Each process knows only its own passes; another's wakes and holds are never counted on.
 */
import { groupKeyOf, wakeCovers } from "../domain/alertGroups.js";
import type { FindingTransition } from "../domain/findings.js";
import { setBounded } from "../platform/boundedMap.js";
import type { DeliveryFigures } from "./deliverAlerts.js";
import type { Attribution, Clock, DeliveryQueue } from "./ports.js";

/** Held keys remembered per process (a few live storms at most). */
const HELD_KEYS_KEPT = 1_000;

export interface SenderWakes {
  /** A sender's pass ended with these figures: remember its holds, and queue the wake for the earliest hold's end. */
  passed(figures: Pick<DeliveryFigures, "heldUntil" | "holds">): Promise<void>;
  /** An invocation stored these transitions, their alerts staged with `attribution`: wake the senders unless a queued wake covers them. */
  alertsStored(transitions: readonly FindingTransition[], attribution: Attribution | undefined): Promise<void>;
}

export function senderWakes(queue: DeliveryQueue, clock: Clock, options: { readonly feed: boolean }): SenderWakes {
  /** When this process last queued a wake for a held storm group. */
  let wakeQueuedFor: string | undefined;
  const held = new Map<string, string>();
  return {
    async passed(figures) {
      for (const [key, until] of figures.holds ?? []) setBounded(held, key, until, HELD_KEYS_KEPT);
      const now = clock.now();
      if (!figures.heldUntil || (wakeQueuedFor !== undefined && wakeQueuedFor <= figures.heldUntil && wakeQueuedFor > now.toISOString())) return;
      await queue.wake(Math.max(1, Math.ceil((Date.parse(figures.heldUntil) - now.getTime()) / 1000)));
      wakeQueuedFor = figures.heldUntil;
    },
    async alertsStored(transitions, attribution) {
      const keys = transitions.filter((t) => t.alert).map((t) => groupKeyOf({ transition: t, ...(attribution ? { attribution } : {}) }));
      if (keys.length === 0) return;
      if (!wakeCovers(keys, held, wakeQueuedFor, clock.now().getTime())) await queue.wake();
      else if (options.feed) await queue.wake(0, { feedOnly: true });
    },
  };
}
