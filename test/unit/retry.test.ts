import { describe, expect, it } from "vitest";
import { retryDecision, withRetries } from "../../shared/platform/retry.js";

describe("the one retry helper: decisions as data", () => {
  const policy = { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 30_000 };

  it("backs off 1, 2 × base, honours Retry-After instead, and says why it gives up", () => {
    expect(retryDecision(policy, { attempt: 1, retryable: true })).toEqual({ retry: true, delayMs: 500 });
    expect(retryDecision(policy, { attempt: 2, retryable: true })).toEqual({ retry: true, delayMs: 1000 });
    expect(retryDecision(policy, { attempt: 1, retryable: true, retryAfterMs: 7000 })).toEqual({ retry: true, delayMs: 7000 });
    expect(retryDecision(policy, { attempt: 3, retryable: true })).toEqual({ retry: false, reason: "attemptsExhausted" });
    expect(retryDecision(policy, { attempt: 1, retryable: false })).toEqual({ retry: false, reason: "notRetryable" });
    expect(retryDecision(policy, { attempt: 1, retryable: true, retryAfterMs: 60_000 })).toEqual({ retry: false, reason: "waitTooLong" });
  });

  it("carries the decisions out: waits as decided, then throws the last error as it was", async () => {
    const sleeps: number[] = [];
    const sleeper = { now: () => 0, sleep: async (ms: number) => void sleeps.push(ms) };
    const failure = new Error("still down");
    let calls = 0;
    await expect(withRetries(async () => { calls++; throw failure; }, policy, { classify: () => ({ retryable: true }), sleeper })).rejects.toBe(failure);
    expect(calls).toBe(3);
    expect(sleeps).toEqual([500, 1000]);
    expect(await withRetries(async (attempt) => (attempt < 2 ? Promise.reject(new Error("blip")) : "done"), policy, { classify: () => ({ retryable: true }), sleeper })).toBe("done");
  });
});
