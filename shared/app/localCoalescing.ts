/**
 * In-process coalescing in front of the shared gate. An event reaches gallery-watch only after
 * ARM finished the write it announces, so a read that this process sends after it *received* the
 * event is sent after that write. Events for a resource whose check in this process has not yet
 * sent its ARM read (it is waiting for the read budget, or for its gate row) are therefore covered
 * by that read: they are folded into it here, without a storage request or a follow-up. Events
 * that arrive once the read is out, and events on other instances, go through the shared gate.
 *
 * Coverage is decided on one side's clocks, never ours against another machine's:
 * - on this process's clock alone: when we received an event against when we sent a read;
 * - or on Azure's alone, with a margin wider than any skew between its machines: a read whose
 *   answer ARM dated well after the `eventTime` of every event the check stands for reflects
 *   those writes, however late the events reached us (domain/coverage.ts). That is what lets a
 *   definition's listing answer the late deliveries of a burst instead of one read each.
 * Our clock is never compared with `eventTime` (with it 3 s behind ours, a coverage rule that did
 * so dropped most second writes); a skew of a few seconds between Event Grid's stamp and ARM's
 * answer is inside the margin.
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
import { coveredOnArmClock, writtenAt } from "../domain/coverage.js";

/** How long past its delay a put-off re-check still stands for the events folded into it. */
const HELD_OFF_SLACK_MS = 30_000;
/** Resources put off at once that are remembered (the oldest dropped beyond that: its next event queues a re-check). */
const REMEMBERED = 10_000;
/** Event ids taken by this process that are remembered (the oldest dropped beyond that: its next delivery is checked as a new event). */
const EVENTS_REMEMBERED = 50_000;
/** Resources whose latest judged answer is remembered (the oldest dropped beyond that: its next event is checked). */
const JUDGED_REMEMBERED = 10_000;

/** What a local check stands for: the latest event it covers, as received here and as written in Azure. */
interface Stands {
  /** Our clock, ms. */
  readonly received: number;
  /** The latest `eventTime` (Azure's clock, ms); Infinity when not known. */
  readonly written: number;
}

const latest = (a: Stands, b: Stands): Stands => ({ received: Math.max(a.received, b.received), written: Math.max(a.written, b.written) });

export function withLocalCoalescing(gate: CheckGate, clock: Clock = systemClock): CoalescingGate {
  /**
   * Per resource key: the local checks (by token) whose read has not gone out yet, each with the
   * latest time (our clock, ms) at which an event it stands for was received, and the latest
   * `eventTime` among them (Azure's clock, ms; Infinity when one is not known).
   */
  const unread = new Map<string, Map<string, Stands>>();
  /**
   * Per resource key: until when (ms) a put-off re-check this process queued stands for its
   * events, and the latest `eventTime` among them (Azure's clock, ms; Infinity when one is unknown).
   */
  const heldOff = new Map<string, { readonly until: number; readonly written: number; readonly by: string | undefined }>();
  /** Per resource key: the checks judging a kept answer now, by the ARM time of that answer. */
  const judging = new Map<string, number[]>();
  /** Per resource key: ARM's date on the latest answer a check in this process judged and stored a verdict on. */
  const judged = new Map<string, number>();
  const hasJudged = (key: string, armTime: number | undefined) => {
    if (armTime !== undefined && armTime > (judged.get(key) ?? -Infinity)) setBounded(judged, key, armTime, JUDGED_REMEMBERED);
  };
  /** Event ids this process has taken (a value is unused: the map is the bounded memo's shape). */
  const taken = new Map<string, true>();
  let next = 0;
  const now = () => clock.now().getTime();

  const track = (key: string, inner: string, stands: Stands): string => {
    // Our own token, so two local checks of one resource are told apart whatever the inner gate returns.
    const token = `${++next}|${inner}`;
    const checks = unread.get(key) ?? new Map<string, Stands>();
    checks.set(token, stands);
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
    async enter(key, at, eventTime) {
      const event: Stands = { received: now(), written: writtenAt(eventTime) };
      const waiting = unread.get(key);
      if (waiting) {
        // Folded in: each waiting check now stands for this event too (see `reading`).
        for (const [token, stands] of waiting) waiting.set(token, latest(stands, event));
        return { kind: "coalesced", queueFollowUp: false };
      }
      // Held while the shared gate decides: an event arriving meanwhile is covered by whichever
      // read this one leads to (ours, or the check or follow-up that coalesces it), all sent later.
      const provisional = track(key, "", event);
      try {
        const entry = await gate.enter(key, at);
        return entry.kind === "run" ? { kind: "run", token: track(key, entry.token, unread.get(key)?.get(provisional) ?? event) } : entry;
      } finally {
        untrack(key, provisional);
      }
    },
    async takeOver(key, at, written = Infinity) {
      // A re-check stands for events whose times it knows only when this process put them off
      // (`release` said): otherwise only our clock can cover them.
      const provisional = track(key, "", { received: now(), written });
      try {
        const token = await gate.takeOver(key, at);
        return track(key, token, unread.get(key)?.get(provisional) ?? { received: now(), written });
      } finally {
        untrack(key, provisional);
      }
    },
    reading(key, token, sentAt, armTime) {
      // A read sent earlier stands in only if it was sent after every event the check stands for
      // arrived (our clock), or ARM dated its answer well after every one of them was written (Azure's).
      const stands = unread.get(key)?.get(token);
      if (sentAt !== undefined && !(stands !== undefined && (stands.received < sentAt || coveredOnArmClock(armTime, stands.written)))) return false;
      untrack(key, token);
      return true;
    },
    holdOff(key, seconds, renew, event) {
      const at = now();
      const held = heldOff.get(key);
      const live = held !== undefined && held.until > at;
      const written = Math.max(live ? held.written : -Infinity, writtenAt(event?.eventTime));
      if (!renew && live) {
        heldOff.set(key, { ...held, written });
        return false;
      }
      // A little past the delay: the re-check may arrive late, and until it takes over it stands for these events.
      // It carries the first event's attribution: that event's id tells it from any other re-check of the resource.
      setBounded(heldOff, key, { until: at + seconds * 1_000 + HELD_OFF_SLACK_MS, written, by: renew && live ? held.by : event?.eventId }, REMEMBERED);
      return true;
    },
    release(key, by) {
      const held = heldOff.get(key);
      heldOff.delete(key);
      return held !== undefined && held.until > now() && by !== undefined && held.by === by ? held.written : undefined;
    },
    redelivered(eventId) {
      if (taken.has(eventId)) return true;
      setBounded(taken, eventId, true, EVENTS_REMEMBERED);
      return false;
    },
    forget(eventId) {
      taken.delete(eventId);
    },
    judgingAnswer(key, armTime) {
      const times = judging.get(key) ?? [];
      times.push(armTime);
      judging.set(key, times);
      return (stored) => {
        times.splice(times.indexOf(armTime), 1);
        if (times.length === 0 && judging.get(key) === times) judging.delete(key);
        if (stored) hasJudged(key, armTime);
      };
    },
    answered(key, written) {
      return coveredOnArmClock(judged.get(key), written) || (judging.get(key) ?? []).some((armTime) => coveredOnArmClock(armTime, written));
    },
    async leave(key, token, ended, armTime) {
      untrack(key, token);
      if (ended === "done") hasJudged(key, armTime);
      await gate.leave(key, inner(token), ended);
    },
  };
}
