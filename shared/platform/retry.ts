/**
 * The one in-process retry helper, in core-rest-pipeline's shape: a failed attempt is classified
 * (retryable? did the server say how long to wait?) and the policy answers with a decision, as
 * data — retry after so long, or give up and why — which `withRetries` carries out. Exponential
 * backoff from `baseDelayMs` (1, 2, 4 … × base); a server's Retry-After replaces the backoff; a
 * wait longer than `maxDelayMs` is not sat out (the caller reports the failure instead).
 *
 * Not for optimistic-concurrency loops (an etag race is retried at once, with a fresh read), nor
 * for the outbox's scheduled retries (`nextAttemptDelayMs`: the next attempt is a row's time, not
 * a sleep).
 */
import { systemSleeper, type Sleeper } from "./clock.js";

export interface RetryPolicy {
  /** Attempts in all, the first included (≥ 1). */
  readonly maxAttempts: number;
  /** The wait after the first failure; doubled after each further one. */
  readonly baseDelayMs: number;
  /** A wait longer than this (backoff or Retry-After) gives up instead. */
  readonly maxDelayMs?: number;
}

/** What the caller knows about a failed attempt. */
export interface FailedAttempt {
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly retryable: boolean;
  /** The server's Retry-After, when it gave one (platform/retryAfter.ts). */
  readonly retryAfterMs?: number;
}

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | { readonly retry: false; readonly reason: "notRetryable" | "attemptsExhausted" | "waitTooLong" };

export function retryDecision(policy: RetryPolicy, failed: FailedAttempt): RetryDecision {
  if (!failed.retryable) return { retry: false, reason: "notRetryable" };
  if (failed.attempt >= policy.maxAttempts) return { retry: false, reason: "attemptsExhausted" };
  const delayMs = failed.retryAfterMs ?? policy.baseDelayMs * 2 ** (failed.attempt - 1);
  if (policy.maxDelayMs !== undefined && delayMs > policy.maxDelayMs) return { retry: false, reason: "waitTooLong" };
  return { retry: true, delayMs };
}

export interface RetryOptions {
  /** Is this error worth another attempt, and did the server say when? */
  readonly classify: (error: unknown) => { readonly retryable: boolean; readonly retryAfterMs?: number };
  /** Called before each wait (a log line); not for the final failure, which is thrown. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  readonly sleeper?: Sleeper;
}

/** Runs `work` until it succeeds or the policy gives up; then the last error is thrown as it was. */
export async function withRetries<T>(work: (attempt: number) => Promise<T>, policy: RetryPolicy, options: RetryOptions): Promise<T> {
  const sleeper = options.sleeper ?? systemSleeper;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      const decision = retryDecision(policy, { attempt, ...options.classify(error) });
      if (!decision.retry) throw error;
      options.onRetry?.(error, attempt, decision.delayMs);
      await sleeper.sleep(decision.delayMs);
    }
  }
}
