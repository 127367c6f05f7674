/**
 * In-process coalescing in front of the shared gate. An event reaches gallery-watch only after
 * ARM finished the write it announces, so a read that this process sends after it *received* the
 * event is sent after that write. Events for a resource whose check in this process has not yet
 * sent its ARM read (it is waiting for the read budget, or for its gate row) are therefore covered
 * by that read: they are folded into it here, without a storage request or a follow-up. Events
 * that arrive once the read is out, and events on other instances, go through the shared gate.
 *
 * Coverage is decided on this process's clock alone: when we received an event against when we
 * sent a read. Event Grid's `eventTime` is stamped by another machine's clock and decides nothing
 * here (with it 3 s behind ours, a coverage rule that trusted it dropped most second writes).
 *
 * In a burst this is what keeps ARM reads near one per changed resource: the read budget holds the
 * first event's read back, and the resource's duplicates and re-writes arrive meanwhile.
 *
 * The same rule lets a read sent earlier stand in for a check's own (`reading` with `sentAt`): a
 * definition's listing sent after every event the check stands for was received answers it
 * without a request (shared/adapters/arm/versionBatches.ts). Events folded into a waiting check raise what
 * it stands for, so a listing sent before any of them arrived is refused and the check reads ARM.
 * A re-check or follow-up stands for events received before it was queued, hence before it took
 * over the resource.
 *
 * A second delivery of an event this process already took (Event Grid delivers at least once, and
 * the copy can come long after the first) is covered by whatever the first led to: a read sent
 * after the first copy arrived. That needs no clock at all: the event id says it is the same write.
 */
import type { CheckGate, Clock, CoalescingGate } from "./ports.js";
import { systemClock } from "../platform/clock.js";
import { setBounded } from "../platform/boundedMap.js";

/** How long past its delay a put-off re-check still stands for the events folded into it. */
const HELD_OFF_SLACK_MS = 30_000;
/** Resources put off at once that are remembered (the oldest dropped beyond that: its next event queues a re-check). */
const REMEMBERED = 10_000;
/** Event ids taken by this process that are remembered (the oldest dropped beyond that: its next delivery is checked as a new event). */
const EVENTS_REMEMBERED = 50_000;

export function withLocalCoalescing(gate: CheckGate, clock: Clock = systemClock): CoalescingGate {
  /**
   * Per resource key: the local checks (by token) whose read has not gone out yet, each with the
   * latest time (our clock, ms) at which an event it stands for was received.
   */
  const unread = new Map<string, Map<string, number>>();
  /** Per resource key: until when (ms) a put-off re-check this process queued stands for its events. */
  const heldOff = new Map<string, number>();
  /** Event ids this process has taken (a value is unused: the map is the bounded memo's shape). */
  const taken = new Map<string, true>();
  let next = 0;
  const now = () => clock.now().getTime();

  const track = (key: string, inner: string, received: number): string => {
    // Our own token, so two local checks of one resource are told apart whatever the inner gate returns.
    const token = `${++next}|${inner}`;
    const checks = unread.get(key) ?? new Map<string, number>();
    checks.set(token, received);
    unread.set(key, checks);
    return token;
  };
  const untrack = (key: string, token: string) => {
    const checks = unread.get(key);
    if (!checks) return;
    checks.delete(token);
    if (checks.size === 0) unread.delete(key);
  };
  const inner = (token: string) => token.slice(token.indexOf("|") + 1);

  return {
    async enter(key, at) {
      const received = now();
      const waiting = unread.get(key);
      if (waiting) {
        // Folded in: each waiting check now stands for this event too (see `reading`).
        for (const [token, latest] of waiting) waiting.set(token, Math.max(latest, received));
        return { kind: "coalesced", queueFollowUp: false };
      }
      // Held while the shared gate decides: an event arriving meanwhile is covered by whichever
      // read this one leads to (ours, or the check or follow-up that coalesces it), all sent later.
      const provisional = track(key, "", received);
      try {
        const entry = await gate.enter(key, at);
        return entry.kind === "run" ? { kind: "run", token: track(key, entry.token, unread.get(key)?.get(provisional) ?? received) } : entry;
      } finally {
        untrack(key, provisional);
      }
    },
    async takeOver(key, at) {
      const provisional = track(key, "", now());
      try {
        const token = await gate.takeOver(key, at);
        return track(key, token, unread.get(key)?.get(provisional) ?? now());
      } finally {
        untrack(key, provisional);
      }
    },
    reading(key, token, sentAt) {
      // A read sent earlier stands in only if it was sent after every event the check stands for arrived.
      const latest = unread.get(key)?.get(token);
      if (sentAt !== undefined && !(latest !== undefined && latest < sentAt)) return false;
      untrack(key, token);
      return true;
    },
    holdOff(key, seconds, renew) {
      const at = now();
      const until = heldOff.get(key);
      if (!renew && until !== undefined && until > at) return false;
      // A little past the delay: the re-check may arrive late, and until it takes over it stands for these events.
      setBounded(heldOff, key, at + seconds * 1_000 + HELD_OFF_SLACK_MS, REMEMBERED);
      return true;
    },
    release(key) {
      heldOff.delete(key);
    },
    redelivered(eventId) {
      if (taken.has(eventId)) return true;
      setBounded(taken, eventId, true, EVENTS_REMEMBERED);
      return false;
    },
    forget(eventId) {
      taken.delete(eventId);
    },
    async leave(key, token, ended) {
      untrack(key, token);
      await gate.leave(key, inner(token), ended);
    },
  };
}
