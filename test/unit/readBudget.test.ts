/** The client-side ARM read budget, on a virtual clock: ARM's 250-read bucket refilled 25/s, ARM's word believed. */
import { describe, expect, it } from "vitest";
import { ReadBudget } from "../../shared/arm/readBudget.js";

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
