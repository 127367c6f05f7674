/**
 * Reads shared across the invocations of a process, but only with invocations that began before
 * the read went out. A check's invocation begins after its event reached this process, and the
 * event after ARM finished its write, so a read sent later sees that write (or a newer one): it
 * answers the check as well as the check's own read would. A read sent earlier never answers it,
 * however recent: that would be a cache, and a definition's provisioning state and tags change
 * (only its osState cannot). Each invocation states when it began (`since`, this process's clock).
 *
 * Per key, at most one read waits for the read budget at a time: every invocation asking
 * meanwhile joins it, which is what keeps a burst's definition reads near one per budget turn.
 */
import { setBounded } from "../../platform/boundedMap.js";

/** Keys whose latest read is remembered by default (a miss only costs one read). */
const KEPT = 1_000;

export class ReadsAfter<T> {
  private readonly latest = new Map<string, { readonly sentAt: number; readonly result: Promise<T> }>();
  private readonly waiting = new Map<string, Promise<T>>();

  constructor(
    private readonly now: () => number = Date.now,
    /** Keys whose latest read is remembered. */
    private readonly kept = KEPT,
  ) {}

  /**
   * A read of `key` sent after `since`: one already sent, one waiting to go (joined), or a new one
   * that goes once `ready` resolves. `reusable` says whether an answer may serve later askers (a
   * throttled or failed read may not: each asker tries again).
   */
  read(key: string, since: number, ready: () => Promise<void>, send: () => Promise<T>, reusable: (answer: T) => boolean): Promise<T> {
    const last = this.latest.get(key);
    if (last && last.sentAt > since) return last.result;
    const queued = this.waiting.get(key);
    if (queued) return queued;
    const result = (async () => {
      await ready().catch(() => undefined); // a wait the budget refuses is reported by the read itself
      this.waiting.delete(key);
      const sentAt = this.now();
      const answer = send();
      setBounded(this.latest, key, { sentAt, result: answer }, this.kept);
      const forget = () => this.latest.get(key)?.result === answer && this.latest.delete(key);
      answer.then((a) => (reusable(a) ? undefined : forget()), forget);
      return answer;
    })();
    this.waiting.set(key, result);
    return result;
  }

}
