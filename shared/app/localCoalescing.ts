/**
 * In-process coalescing in front of the shared gate. An event reaches gallery-watch only after
 * ARM finished the write it announces, so a read sent after the event arrived sees that write (or
 * a later one). Events for a resource whose check in this process has not yet sent its ARM read
 * (it is waiting for the read budget, or for its gate row) are therefore covered by that read:
 * they are folded into it here, without a storage request or a follow-up. Events that arrive once
 * the read is out, and events on other instances, go through the shared gate as before.
 *
 * The same holds for an event that reaches the function after a read of its resource went out,
 * if the write it announces finished before that read: its `eventTime` (ARM's clock) is earlier
 * than the read by more than the clocks can disagree. In a burst, where events wait their turn,
 * that is most of them.
 *
 * In a burst this is what keeps ARM reads near one per changed resource: the read budget holds the
 * first event's read back, and the resource's duplicates and re-writes arrive meanwhile or after.
 *
 * The same clock rule lets a read sent earlier stand in for a check's own (`reading` with
 * `sentAt`): a definition's listing, sent after every write the check stands for, answers it
 * without a request (shared/adapters/arm/versionBatches.ts). Events folded into a waiting check raise what
 * it stands for, so a listing older than any of them is refused and the check reads ARM itself.
 */
import type { CheckGate, CoalescingGate } from "./ports.js";
import { setBounded } from "../platform/boundedMap.js";

/**
 * How far ARM's clock (which stamps `eventTime`) and ours may disagree. Both are kept by NTP,
 * typically within milliseconds; a second leaves a wide margin and costs nothing in a burst.
 */
const CLOCK_SKEW_MS = 1_000;
/** Resources whose last read time is remembered (least recently read dropped beyond that). */
const REMEMBERED = 10_000;

export function withLocalCoalescing(gate: CheckGate, clock: { now(): Date } = { now: () => new Date() }): CoalescingGate {
  /**
   * Per resource key: the local checks (by token) whose read has not gone out yet, each with the
   * latest write it stands for (ARM's eventTime in ms; Infinity when not known, as for a re-check).
   */
  const unread = new Map<string, Map<string, number>>();
  /** Per resource key: when this process last sent a read of it (ms). */
  const lastRead = new Map<string, number>();
  let next = 0;

  const track = (key: string, inner: string, written: number): string => {
    // Our own token, so two local checks of one resource are told apart whatever the inner gate returns.
    const token = `${++next}|${inner}`;
    const checks = unread.get(key) ?? new Map<string, number>();
    checks.set(token, written);
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
    async enter(key, now, writtenBy) {
      const parsed = writtenBy === undefined ? Number.NaN : Date.parse(writtenBy);
      const written = Number.isNaN(parsed) ? Number.POSITIVE_INFINITY : parsed;
      const waiting = unread.get(key);
      if (waiting) {
        // Folded in: each waiting check now stands for this write too (see `reading`).
        for (const [token, latest] of waiting) waiting.set(token, Math.max(latest, written));
        return { kind: "coalesced", queueFollowUp: false };
      }
      const read = lastRead.get(key);
      if (read !== undefined && written + CLOCK_SKEW_MS < read) return { kind: "coalesced", queueFollowUp: false };
      // Held while the shared gate decides: an event arriving meanwhile is covered by whichever
      // read this one leads to (ours, or the check or follow-up that coalesces it), all sent later.
      const provisional = track(key, "", written);
      try {
        const entry = await gate.enter(key, now);
        return entry.kind === "run" ? { kind: "run", token: track(key, entry.token, unread.get(key)?.get(provisional) ?? written) } : entry;
      } finally {
        untrack(key, provisional);
      }
    },
    async takeOver(key, now) {
      const provisional = track(key, "", Number.POSITIVE_INFINITY);
      try {
        return track(key, await gate.takeOver(key, now), Number.POSITIVE_INFINITY);
      } finally {
        untrack(key, provisional);
      }
    },
    reading(key, token, sentAt) {
      // A read sent earlier stands in only if every write the check stands for finished before it.
      const latest = unread.get(key)?.get(token);
      if (sentAt !== undefined && !(latest !== undefined && latest + CLOCK_SKEW_MS < sentAt)) return false;
      untrack(key, token);
      const at = sentAt ?? clock.now().getTime();
      setBounded(lastRead, key, Math.max(lastRead.get(key) ?? at, at), REMEMBERED);
      return true;
    },
    async leave(key, token, ended) {
      untrack(key, token);
      await gate.leave(key, inner(token), ended);
    },
  };
}
