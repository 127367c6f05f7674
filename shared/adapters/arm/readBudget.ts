/**
 * A client-side ARM read budget per subscription, so gallery-watch slows down before ARM throttles
 * it. Learn, "Understand how Azure Resource Manager throttles requests"
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling):
 * since 2024 ARM throttles per region with token buckets per subscription *and security principal*
 * — reads: 250, refilled 25 a second — plus a global subscription bucket 15 times that size,
 * shared by every principal. Each answer may say what is left:
 * `x-ms-ratelimit-remaining-subscription-reads` (this principal's bucket) and
 * `x-ms-ratelimit-remaining-subscription-global-reads` (the subscription's, all principals);
 * today's answers often carry only the global one (Microsoft's 2025 recordings: 3749 and no
 * per-principal header). The budget believes the lower of the two it is given (`remainingReads`):
 * a global count above our own bucket says nothing about it, one below it is binding.
 *
 * Every instance of the app runs as one principal, so they share one ARM bucket. With a
 * `SharedReadBudget` (a Table row per subscription, shared/adapters/tables/tableReadBudget.ts) the bucket
 * is kept in storage and each instance claims tokens from it in slices (5–25), spending them
 * locally: most reads cost no storage round trip, and all instances together never take more than
 * 250 + 25·t. Without one, it keeps its own count (one process). 429s are waited out per
 * Retry-After either way. Pure bookkeeping over an injected clock, so it is tested without waiting.
 */
import { systemSleeper, type Sleeper } from "../../platform/clock.js";
import { ArmReadError } from "../../domain/errors.js";

/** Pacing reads the time and waits through the one clock (platform/clock.ts). */
export type BudgetClock = Sleeper;

/** ARM's read bucket per subscription and principal (the Learn page above). */
export const ARM_READ_LIMITS = { burst: 250, perSecond: 25 } as const;

/**
 * One subscription's bucket as the instances share it: tokens left at `at` (ms), no reads before
 * `blockedUntil`, and the slices claimed and perhaps not spent yet ([tokens, usable until, by whom]).
 */
export interface BucketState {
  readonly tokens: number;
  readonly at: number;
  readonly blockedUntil: number;
  readonly slices: ReadonlyArray<readonly [tokens: number, until: number, claimant: string]>;
}

/** What an instance learnt from ARM since its last claim, applied to the shared bucket first. */
export interface Observed {
  readonly remaining?: number;
  readonly blockedUntil?: number;
}

/** The bucket every instance of the app shares, kept in storage. */
export interface SharedReadBudget {
  /**
   * Takes up to `want` tokens (0: only records `observed`): usable after `waitMs` when some were
   * granted, else ask again after it. `claimant` (one per ReadBudget) claims only with nothing left
   * of its earlier slices: they are spent (or dropped) and need no holding back any more.
   */
  claim(subscriptionId: string, want: number, nowMs: number, observed: Observed, claimant: string): Promise<{ granted: number; waitMs: number }>;
}

/** Fewest tokens worth a storage round trip while the bucket refills: at 25/s, a claim every 200 ms at most. */
export const MIN_SLICE = 5;
export const MAX_SLICE = 25;
/** Tokens the bucket may owe: a slice may be reserved up to a second of refill ahead, and used once it has refilled. */
const MAX_DEBT = 25;
/** A claimed slice is spent within this long after it may be, or not at all (its rest is dropped). */
export const SLICE_LIFETIME_MS = 2_000;
/** Instances' clocks differ: the bucket counts a slice outstanding this much longer than its claimant spends it. */
const CLOCK_SKEW_MARGIN_MS = 2_000;

/**
 * One claim on a bucket, pure: refill since `at` (never backwards: instances' clocks differ, and
 * the bucket's clock only moves forward, so a clock behind refills nothing and one ahead refills
 * at most its skew × 25 once), lower it to what ARM said, then grant up to `want` whole tokens.
 *
 * Tokens in slices claimed but not spent yet are still in ARM's bucket, which is full at 250: the
 * shared count refills only up to 250 minus them, or it would count refill ARM never gives (a
 * slice claimed from a full bucket and spent seconds later) and overrun it. Slices expire
 * (`SLICE_LIFETIME_MS`, plus a margin for clock skew here), so that holdback stays small.
 *
 * An empty bucket reserves a slice of min(want, MIN_SLICE) out of its next second of refill: the
 * claimant waits `waitMs` before spending it, so a saturated bucket costs one storage round trip
 * per slice, not per read, and what is spent never runs ahead of 250 + 25·t.
 */
export function claimFrom(
  state: BucketState | undefined,
  want: number,
  now: number,
  observed: Observed = {},
  limits: { readonly burst: number; readonly perSecond: number } = ARM_READ_LIMITS,
  claimant = "",
): { state: BucketState; granted: number; waitMs: number } {
  const s = state ?? { tokens: limits.burst, at: now, blockedUntil: 0, slices: [] };
  // Outstanding at `at` (the most over the refill interval: none is added inside it).
  const held = s.slices.filter(([, until]) => until > s.at).reduce((a, [n]) => a + n, 0);
  const refilled = s.tokens + (Math.max(0, now - s.at) / 1000) * limits.perSecond;
  let tokens = Math.min(Math.max(s.tokens, limits.burst - held), refilled);
  if (observed.remaining !== undefined && Number.isFinite(observed.remaining)) tokens = Math.min(tokens, Math.max(0, observed.remaining));
  const blockedUntil = Math.max(s.blockedUntil, observed.blockedUntil ?? 0);
  const at = Math.max(s.at, now);
  // The claimant's earlier slices are spent by now (it claims only when they are).
  const slices = s.slices.filter(([, until, by]) => until > at && (want <= 0 || by !== claimant));
  const msFor = (deficit: number) => Math.ceil((deficit / limits.perSecond) * 1000);
  const keep = (t: number, granted = 0, waitMs = 0) => ({
    state: { tokens: t, at, blockedUntil, slices: granted > 0 ? [...slices, [granted, now + waitMs + SLICE_LIFETIME_MS + CLOCK_SKEW_MARGIN_MS, claimant] as const] : slices },
    granted,
    waitMs,
  });
  if (blockedUntil > now) return keep(tokens, 0, blockedUntil - now);
  if (want <= 0) return keep(tokens);
  if (tokens >= 1) {
    const granted = Math.min(want, Math.floor(tokens));
    return keep(tokens - granted, granted);
  }
  const slice = Math.min(want, MIN_SLICE);
  const after = tokens - slice;
  if (after < -MAX_DEBT) return keep(tokens, 0, msFor(-MAX_DEBT - after));
  return keep(after, slice, msFor(-after));
}

/**
 * What is left for our reads according to one answer's headers: the lower of the per-principal
 * and the global count (each only when it is a number).
 */
export function remainingReads(header: (name: string) => string | undefined): number | undefined {
  const counts = ["x-ms-ratelimit-remaining-subscription-reads", "x-ms-ratelimit-remaining-subscription-global-reads"]
    .map((name) => header(name))
    .filter((value): value is string => value !== undefined && /^\s*\d+\s*$/.test(value))
    .map(Number);
  return counts.length === 0 ? undefined : Math.min(...counts);
}

export interface ReadBudgetOptions {
  readonly burst?: number;
  readonly perSecond?: number;
  readonly clock?: BudgetClock;
  /** A wait longer than this is not sat out inside a function: `take` throws a throttled ArmReadError instead (default 60 s). */
  readonly maxWaitMs?: number;
  /** The bucket shared by every instance of the app; without it, this process keeps its own count. */
  readonly shared?: SharedReadBudget;
}

interface Bucket {
  /** Own count (no shared bucket), or the tokens of `slices` (claimed from the shared bucket, not spent, not expired). */
  tokens: number;
  /** Shared bucket: the slices claimed, each spendable until its time, earliest first. */
  slices: Array<{ tokens: number; until: number }>;
  at: number;
  blockedUntil: number;
  inFlight: number;
  /** Reads waiting for a token: how big a slice to claim. */
  waiting: number;
  /** ARM's word not yet passed on to the shared bucket. */
  observed: { remaining?: number; blockedUntil?: number };
  /** The claim under way, shared by every read waiting for it (one storage round trip, not one each). */
  claiming?: Promise<number>;
  /** Shared bucket: until when (ms) the last claim found it scarce (less than asked, or only out of the coming refill). */
  scarceUntil: number;
}

export class ReadBudget {
  private readonly burst: number;
  private readonly perSecond: number;
  private readonly clock: BudgetClock;
  private readonly maxWaitMs: number;
  private readonly shared: SharedReadBudget | undefined;
  private readonly buckets = new Map<string, Bucket>();
  /** Who claims from the shared bucket: this budget (one per process). */
  private readonly claimant = Math.random().toString(36).slice(2, 10);

  constructor(options: ReadBudgetOptions = {}) {
    this.burst = options.burst ?? ARM_READ_LIMITS.burst;
    this.perSecond = options.perSecond ?? ARM_READ_LIMITS.perSecond;
    this.clock = options.clock ?? systemSleeper;
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
    this.shared = options.shared;
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
    const bucket = this.refilled(subscriptionId);
    bucket.waiting++;
    try {
      for (;;) {
        const now = this.clock.now();
        this.refilled(subscriptionId);
        let waitMs = bucket.blockedUntil > now ? bucket.blockedUntil - now : bucket.tokens >= 1 ? 0 : undefined;
        if (waitMs === undefined) waitMs = this.shared ? await this.claimed(subscriptionId, bucket) : Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000);
        if (waitMs === 0 && bucket.tokens >= 1) {
          if (take) this.spend(bucket);
          return;
        }
        if (waitMs === 0) continue;
        if (waitMs > this.maxWaitMs) throw new ArmReadError("throttled", "read budget", `/subscriptions/${subscriptionId}`, `ARM asked gallery-watch to wait ${Math.round(waitMs / 1000)} s`, waitMs);
        await this.clock.sleep(waitMs);
      }
    } finally {
      bucket.waiting--;
    }
  }

  /** Claims a slice from the shared bucket (one claim at a time per subscription); the wait before asking again, 0 when tokens came. */
  private claimed(subscriptionId: string, bucket: Bucket): Promise<number> {
    bucket.claiming ??= (async () => {
      const observed = bucket.observed;
      bucket.observed = {};
      try {
        const want = Math.min(MAX_SLICE, Math.max(MIN_SLICE, bucket.waiting));
        const claimedAt = this.clock.now();
        const { granted, waitMs } = await this.shared!.claim(subscriptionId, want, claimedAt, observed, this.claimant);
        if (granted < want || waitMs > 0) bucket.scarceUntil = Math.max(bucket.scarceUntil, claimedAt + Math.max(waitMs, SLICE_LIFETIME_MS));
        if (granted === 0) return Math.max(1, waitMs);
        // A slice reserved out of the coming refill is spent once it has refilled, and only while the shared bucket counts it.
        if (waitMs > this.maxWaitMs) throw new ArmReadError("throttled", "read budget", `/subscriptions/${subscriptionId}`, `ARM's read bucket refills in ${Math.round(waitMs / 1000)} s`, waitMs);
        if (waitMs > 0) await this.clock.sleep(waitMs);
        bucket.slices.push({ tokens: granted, until: claimedAt + waitMs + SLICE_LIFETIME_MS });
        bucket.slices.sort((a, b) => a.until - b.until);
        this.refilled(subscriptionId);
        return 0;
      } catch (error) {
        // Not lost: ARM's word goes with the next claim.
        bucket.observed = merge(observed, bucket.observed);
        throw error;
      } finally {
        bucket.claiming = undefined;
      }
    })();
    return bucket.claiming;
  }

  /**
   * What ARM said in answer to one of our reads (still in flight): the reads it has left for us
   * (`remainingReads` of its headers), and how long to stay away after a 429. The count is ARM's
   * as it answered that read, so our other reads still in flight, whose tokens were taken here
   * already, may not be in it yet: they are taken off it, or a burst of parallel reads would be
   * counted twice and overrun ARM's bucket. With a shared bucket, the count lowers it at the next
   * claim, and a 429 blocks every instance at once.
   */
  observe(subscriptionId: string, remaining: number | undefined, retryAfterMs: number | undefined): void {
    const bucket = this.refilled(subscriptionId);
    const now = this.clock.now();
    if (remaining !== undefined && Number.isFinite(remaining)) {
      const left = Math.max(0, remaining - Math.max(0, bucket.inFlight - 1));
      if (this.shared) {
        // Give up what ARM says is not there, latest slices first.
        let excess = bucket.tokens - left;
        for (let i = bucket.slices.length - 1; i >= 0 && excess > 0; i--) {
          const drop = Math.min(excess, bucket.slices[i]!.tokens);
          bucket.slices[i]!.tokens -= drop;
          excess -= drop;
        }
        this.refilled(subscriptionId);
      } else bucket.tokens = Math.min(bucket.tokens, left);
      if (this.shared) bucket.observed = merge(bucket.observed, { remaining: left });
    }
    if (retryAfterMs !== undefined && retryAfterMs > 0) {
      bucket.blockedUntil = Math.max(bucket.blockedUntil, now + retryAfterMs);
      // Every instance should stay away, not only this one: tell the shared bucket now (no tokens taken).
      if (this.shared) void this.shared.claim(subscriptionId, 0, now, { blockedUntil: bucket.blockedUntil }, this.claimant).catch(() => (bucket.observed = merge(bucket.observed, { blockedUntil: bucket.blockedUntil })));
    }
  }

  /**
   * Reads are short: ARM said to stay away, or this process's own count is below `reserve`, or
   * (shared bucket, whose tokens are not ours until claimed) its last claim found the bucket
   * scarce. A process that has not read yet is not short: its claims will say.
   */
  short(subscriptionId: string, reserve: number): boolean {
    const bucket = this.refilled(subscriptionId);
    const now = this.clock.now();
    if (bucket.blockedUntil > now) return true;
    return this.shared ? bucket.scarceUntil > now : bucket.tokens < reserve;
  }

  /** Tokens available now without asking anyone (for figures, tests and batching decisions). */
  available(subscriptionId: string): number {
    return this.refilled(subscriptionId).tokens;
  }

  private refilled(subscriptionId: string): Bucket {
    const now = this.clock.now();
    let bucket = this.buckets.get(subscriptionId);
    if (!bucket) {
      // Shared: nothing is ours until claimed.
      bucket = { tokens: this.shared ? 0 : this.burst, slices: [], at: now, blockedUntil: 0, inFlight: 0, waiting: 0, observed: {}, scarceUntil: 0 };
      this.buckets.set(subscriptionId, bucket);
    }
    if (this.shared) {
      // An expired slice's rest is dropped: the shared bucket no longer holds it back for us.
      bucket.slices = bucket.slices.filter((slice) => slice.until > now && slice.tokens > 0);
      bucket.tokens = bucket.slices.reduce((a, slice) => a + slice.tokens, 0);
    } else bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    return bucket;
  }

  private spend(bucket: Bucket): void {
    bucket.tokens -= 1;
    if (!this.shared) return;
    const first = bucket.slices[0]!;
    first.tokens -= 1;
    if (first.tokens <= 0) bucket.slices.shift();
  }
}

function merge(a: Observed, b: Observed): { remaining?: number; blockedUntil?: number } {
  const remaining = [a.remaining, b.remaining].filter((v): v is number => v !== undefined);
  const blocked = [a.blockedUntil, b.blockedUntil].filter((v): v is number => v !== undefined);
  return { ...(remaining.length ? { remaining: Math.min(...remaining) } : {}), ...(blocked.length ? { blockedUntil: Math.max(...blocked) } : {}) };
}
