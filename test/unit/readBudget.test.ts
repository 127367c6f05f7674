/** The client-side ARM read budget, on a virtual clock: ARM's 250-read bucket refilled 25/s, ARM's word believed. */
import { describe, expect, it } from "vitest";
import { claimFrom, ReadBudget, remainingReads, type BucketState, type Observed, type SharedReadBudget } from "../../shared/adapters/arm/readBudget.js";

function virtualClock() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms), advance: (ms: number) => void (now += ms) };
}

describe("ARM read budget", () => {
  it("lets a burst of 250 reads go at once, then paces to 25 a second", async () => {
    const clock = virtualClock();
    const budget = new ReadBudget({ clock });
    for (let i = 0; i < 250; i++) await budget.take("sub");
    expect(clock.now()).toBe(0);
    for (let i = 0; i < 50; i++) await budget.take("sub");
    expect(clock.now()).toBeGreaterThanOrEqual(2000);
    expect(clock.now()).toBeLessThan(2100);
  });

  it("believes ARM when it says fewer reads remain, and waits out a 429's Retry-After", async () => {
    const clock = virtualClock();
    const budget = new ReadBudget({ clock });
    budget.observe("sub", 3, undefined);
    expect(budget.available("sub")).toBe(3);
    budget.observe("sub", undefined, 5000);
    await budget.take("sub");
    expect(clock.now()).toBeGreaterThanOrEqual(5000);
  });

  it("takes our reads still in flight off the count ARM answers with, so they are not counted as left", async () => {
    const clock = virtualClock();
    const budget = new ReadBudget({ clock });
    // 16 reads go out together, while another instance of the app spent 100 of the same bucket:
    // ARM answers the first with the count after it alone, 149 left.
    for (let i = 0; i < 16; i++) await budget.take("sub");
    budget.observe("sub", 149, undefined);
    budget.settled("sub");
    // ARM will count the other 15 too: 134 may still go, not 149.
    expect(budget.available("sub")).toBe(134);
    for (let i = 0; i < 15; i++) budget.settled("sub");
    await budget.take("sub");
    budget.observe("sub", 120, undefined); // the only read in flight: ARM's count is taken as it is
    expect(budget.available("sub")).toBe(120);
  });

  it("does not sit out a wait longer than a function should: a throttled ArmReadError with when to come back", async () => {
    const clock = virtualClock();
    const budget = new ReadBudget({ clock, maxWaitMs: 60_000 });
    budget.observe("sub", undefined, 3_600_000);
    await expect(budget.take("sub")).rejects.toMatchObject({ kind: "throttled", retryAfterMs: 3_600_000 });
  });

  it("keeps one bucket per subscription", async () => {
    const clock = virtualClock();
    const budget = new ReadBudget({ clock, burst: 2, perSecond: 1 });
    await budget.take("a");
    await budget.take("a");
    await budget.take("b");
    await budget.take("b");
    expect(clock.now()).toBe(0);
    await budget.take("a");
    expect(clock.now()).toBe(1000);
  });
});

describe("today's ARM headers", () => {
  it("believes the lower of the per-principal and the global count; a global count alone is believed too", () => {
    const headers = (h: Record<string, string>) => (name: string) => h[name];
    // Microsoft's 2025 recorded read answers: the global count only.
    expect(remainingReads(headers({ "x-ms-ratelimit-remaining-subscription-global-reads": "3749" }))).toBe(3749);
    expect(remainingReads(headers({ "x-ms-ratelimit-remaining-subscription-reads": "249", "x-ms-ratelimit-remaining-subscription-global-reads": "3749" }))).toBe(249);
    // Other principals spent the subscription's global bucket: it binds before ours.
    expect(remainingReads(headers({ "x-ms-ratelimit-remaining-subscription-reads": "249", "x-ms-ratelimit-remaining-subscription-global-reads": "12" }))).toBe(12);
    expect(remainingReads(headers({ "x-ms-ratelimit-remaining-subscription-reads": "n/a" }))).toBeUndefined();
    expect(remainingReads(headers({}))).toBeUndefined();
  });
});

/** The shared bucket as the table keeps it, in memory: the same pure claim, one state per subscription. */
function inMemoryShared(limits?: { burst: number; perSecond: number }) {
  const states = new Map<string, BucketState>();
  const claims: Array<{ want: number; observed: Observed }> = [];
  const shared: SharedReadBudget = {
    async claim(subscriptionId, want, nowMs, observed, claimant) {
      claims.push({ want, observed });
      const { state, granted, waitMs } = claimFrom(states.get(subscriptionId), want, nowMs, observed, limits, claimant);
      states.set(subscriptionId, state);
      return { granted, waitMs };
    },
  };
  return { shared, claims, states };
}

describe("one bucket for every instance of the app", () => {
  it("three instances sharing the bucket take 250 at once, then 25 a second together (three own counts took 750 at once)", async () => {
    const clock = virtualClock();
    const { shared, claims } = inMemoryShared();
    const instances = [0, 1, 2].map(() => new ReadBudget({ clock, shared }));
    for (let i = 0; i < 250; i++) await instances[i % 3]!.take("sub");
    // At once, but for the few tokens other instances hold in their slices (at most 4 each here).
    expect(clock.now()).toBeLessThanOrEqual(400);
    for (let i = 0; i < 300; i++) await instances[i % 3]!.take("sub");
    // 300 more at 25/s: 12 s, whichever instance asks.
    expect(clock.now()).toBeGreaterThanOrEqual(12_000);
    expect(clock.now()).toBeLessThan(13_000);
    // Claimed in slices: far fewer storage round trips than reads.
    expect(claims.filter((c) => c.want > 0).length).toBeLessThan(550 / 4);
  });

  it("never lets more than 250 + 25·t be spent across instances, however they interleave (a reserved slice counts from when it may be spent)", () => {
    let state: BucketState | undefined;
    const grants: Array<{ tokens: number; usableAt: number }> = [];
    for (let t = 0; t <= 20_000; t += 37) {
      const claim = claimFrom(state, 1 + (t % 25), t, {}, undefined, `instance-${t % 3}`);
      state = claim.state;
      if (claim.granted > 0) grants.push({ tokens: claim.granted, usableAt: t + claim.waitMs });
    }
    for (let t = 0; t <= 21_000; t += 10) {
      const spendable = grants.filter((g) => g.usableAt <= t).reduce((a, g) => a + g.tokens, 0);
      expect(spendable, `at ${t} ms`).toBeLessThanOrEqual(250 + (25 * t) / 1000);
    }
    expect(grants.reduce((a, g) => a + g.tokens, 0)).toBeGreaterThan(250 + 25 * 19);
  });

  it("a slice one instance holds unspent is still in ARM's full bucket: the count does not refill over it", () => {
    // A claims 25 from the full bucket and spends them only 1.9 s later; meanwhile ARM's bucket,
    // full, gained nothing. B may take 225, not 250 (that overran ARM by 25).
    const a = claimFrom(undefined, 25, 0, {}, undefined, "A");
    expect(a.granted).toBe(25);
    expect(claimFrom(a.state, 250, 1_900, {}, undefined, "B").granted).toBe(225);
    // Once A claims again (its slice spent), the hold is gone.
    const again = claimFrom(a.state, 5, 1_000, {}, undefined, "A");
    expect(again.state.slices.filter(([, , by]) => by === "A").map(([n]) => n)).toEqual([5]);
  });

  it("a clock behind refills nothing, and the bucket's time never goes back", () => {
    const ahead = claimFrom(undefined, 250, 10_000);
    expect(ahead.granted).toBe(250);
    const behind = claimFrom(ahead.state, 5, 8_000);
    // Reserved out of the refill to come, spendable only after it: 5 tokens at 25/s.
    expect(behind).toMatchObject({ granted: 5, waitMs: 200 });
    expect(behind.state.at).toBe(10_000);
    expect(behind.state.tokens).toBe(-5);
  });

  it("passes ARM's count and a 429 to the bucket every instance reads", async () => {
    const clock = virtualClock();
    const { shared, claims, states } = inMemoryShared();
    const a = new ReadBudget({ clock, shared });
    const b = new ReadBudget({ clock, shared });
    await a.take("sub");
    a.observe("sub", 7, undefined); // another principal spent the subscription's global bucket
    a.settled("sub");
    while (a.available("sub") >= 1) await a.take("sub");
    await a.take("sub"); // the next claim carries ARM's count
    expect(claims.some((c) => c.observed.remaining === 7)).toBe(true);
    expect(states.get("sub")!.tokens).toBeLessThanOrEqual(7);

    a.observe("sub", undefined, 5_000);
    await Promise.resolve();
    await b.take("sub"); // b has no tokens of its own: its claim waits out a's 429
    expect(clock.now()).toBeGreaterThanOrEqual(5_000);
  });
});

describe("reads are short (a new resource is put off while they are)", () => {
  it("a shared bucket is not short before this instance has read at all, nor while claims get what they ask; it is once the bucket is spent", async () => {
    // Its tokens are not this process's until claimed: counting them as 'available' made every
    // instance think reads were short from the start, and put every new resource off for 30 s.
    const clock = virtualClock();
    const { shared } = inMemoryShared();
    const budget = new ReadBudget({ clock, shared });
    expect(budget.short("sub", 50)).toBe(false);
    for (let i = 0; i < 100; i++) await budget.take("sub");
    expect(budget.short("sub", 50)).toBe(false);
    for (let i = 0; i < 200; i++) await budget.take("sub");
    expect(budget.short("sub", 50)).toBe(true);
  });

  it("an own count is short below the reserve, and every budget is short while ARM said to stay away", async () => {
    const clock = virtualClock();
    const budget = new ReadBudget({ clock, burst: 60, perSecond: 1 });
    expect(budget.short("sub", 50)).toBe(false);
    for (let i = 0; i < 11; i++) await budget.take("sub");
    expect(budget.short("sub", 50)).toBe(true);
    const other = new ReadBudget({ clock });
    other.observe("sub", undefined, 5_000);
    expect(other.short("sub", 50)).toBe(true);
  });
});
