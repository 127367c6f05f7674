/**
 * A client-side ARM read budget per subscription, so gallery-watch slows down before ARM throttles
 * it. ARM's own limit is a token bucket per subscription and principal: 250 reads, refilled 25 a
 * second (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
 * This bucket mirrors it, believes ARM when `x-ms-ratelimit-remaining-subscription-reads` says
 * fewer remain, and waits out a 429's Retry-After. The event path and the sweep of one process
 * share it. Pure bookkeeping over an injected clock, so it is tested without waiting.
 */
import { ArmReadError } from "../errors.js";

export interface BudgetClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface ReadBudgetOptions {
  readonly burst?: number;
  readonly perSecond?: number;
  readonly clock?: BudgetClock;
  /** A wait longer than this is not sat out inside a function: `take` throws a throttled ArmReadError instead (default 60 s). */
  readonly maxWaitMs?: number;
}

const realClock: BudgetClock = { now: Date.now, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

export class ReadBudget {
  private readonly burst: number;
  private readonly perSecond: number;
  private readonly clock: BudgetClock;
  private readonly maxWaitMs: number;
  private readonly buckets = new Map<string, { tokens: number; at: number; blockedUntil: number; inFlight: number }>();

  constructor(options: ReadBudgetOptions = {}) {
    this.burst = options.burst ?? 250;
    this.perSecond = options.perSecond ?? 25;
    this.clock = options.clock ?? realClock;
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
  }

  /** Waits until a read of `subscriptionId` may go, and takes its token; the read is in flight until `settled`. */
  async take(subscriptionId: string): Promise<void> {
    await this.waitFor(subscriptionId, true);
    this.refilled(subscriptionId).inFlight++;
  }

  /** A read `take` let go has been answered (or failed): call once per `take`, after `observe`. */
  settled(subscriptionId: string): void {
    const bucket = this.refilled(subscriptionId);
    bucket.inFlight = Math.max(0, bucket.inFlight - 1);
  }

  /** Waits until a read of `subscriptionId` may go; takes nothing (the read itself will). */
  async ready(subscriptionId: string): Promise<void> {
    return this.waitFor(subscriptionId, false);
  }

  private async waitFor(subscriptionId: string, take: boolean): Promise<void> {
    for (;;) {
      const bucket = this.refilled(subscriptionId);
      const now = this.clock.now();
      const waitMs = bucket.blockedUntil > now ? bucket.blockedUntil - now : bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000);
      if (waitMs === 0) {
        if (take) bucket.tokens -= 1;
        return;
      }
      if (waitMs > this.maxWaitMs) throw new ArmReadError("throttled", "read budget", `/subscriptions/${subscriptionId}`, `ARM asked gallery-watch to wait ${Math.round(waitMs / 1000)} s`, waitMs);
      await this.clock.sleep(waitMs);
    }
  }

  /**
   * What ARM said in answer to one of our reads (still in flight): the reads it has left for us,
   * and how long to stay away after a 429. The count is ARM's as it answered that read, so our
   * other reads still in flight, whose tokens were taken here already, may not be in it yet: they
   * are taken off it, or a burst of parallel reads would be counted twice and overrun ARM's bucket.
   */
  observe(subscriptionId: string, remaining: number | undefined, retryAfterMs: number | undefined): void {
    const bucket = this.refilled(subscriptionId);
    if (remaining !== undefined && Number.isFinite(remaining)) bucket.tokens = Math.min(bucket.tokens, Math.max(0, remaining - Math.max(0, bucket.inFlight - 1)));
    if (retryAfterMs !== undefined && retryAfterMs > 0) bucket.blockedUntil = Math.max(bucket.blockedUntil, this.clock.now() + retryAfterMs);
  }

  /** Tokens available now (for figures and tests). */
  available(subscriptionId: string): number {
    return this.refilled(subscriptionId).tokens;
  }

  private refilled(subscriptionId: string) {
    const now = this.clock.now();
    let bucket = this.buckets.get(subscriptionId);
    if (!bucket) {
      bucket = { tokens: this.burst, at: now, blockedUntil: 0, inFlight: 0 };
      this.buckets.set(subscriptionId, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    return bucket;
  }
}
