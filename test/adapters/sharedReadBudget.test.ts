/**
 * Several instances of the app run as one principal, so they share ARM's read bucket (250, +25/s):
 * three ReadBudgets sharing one Azurite table, reading as fast as they may against the simulated
 * ARM's throttle, stay within it — 0 throttled, every read done once — and claim tokens in slices,
 * so most reads cost no storage round trip. Three budgets of their own (the old one) took 750 at once.
 */
import { describe, expect, inject, it } from "vitest";
import { runSharedBudget } from "../../bench/sharedBudget.js";

describe("the read budget shared through storage", () => {
  it("three instances read 400 times: never beyond 250 + 25·t, none throttled, none lost or sent twice", async () => {
    const run = await runSharedBudget(inject("azuriteConnectionString"), { instances: 3, reads: 400 });
    expect(run).toMatchObject({ done: 400, sentTwice: 0, throttled: 0 });
    expect(run.worstOverAllowance).toBeLessThanOrEqual(0);
    // 150 beyond the burst at 25/s: about 6 s.
    expect(run.seconds).toBeGreaterThanOrEqual(5.5);
    expect(run.storageClaims).toBeLessThan(400 / 3);
  }, 60_000);
});
