/**
 * ARM's throttling: a token bucket per subscription and security principal, one for reads and one
 * for writes, refilled every second, and beside them a global bucket per subscription shared by
 * every principal, 15 times as large ("Understand how Azure Resource Manager throttles requests",
 * https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling:
 * "Subscription reads: 250 bucket size, 25 per second refill; Subscription writes: 200, 10 …
 * a global subscription limit equivalent to 15 times the individual service principal limit").
 * An empty bucket (either) answers 429 with Retry-After and `SubscriptionRequestsThrottled`.
 *
 * Every response carries both counts, as today's ARM answers do:
 * `x-ms-ratelimit-remaining-subscription-reads` (this principal's bucket, e.g. 249) and
 * `x-ms-ratelimit-remaining-subscription-global-reads` (the subscription's, e.g. 3749); likewise
 * `…-writes` / `…-global-writes`. Microsoft's 2025 recordings show the global header on reads; captures
 * of 2024–2025 ARM answers published with Microsoft's samples carry both on the same response
 * (`…-subscription-reads: 249`, `…-subscription-global-reads: 3749`), and the Learn page still
 * documents the per-principal bucket, so the simulator sends both and a client must believe either.
 * Deletes are counted with writes here (the Learn page gives them a bucket of their own, 200 / 10).
 */
import { armError, type ArmFailure } from "./errors.js";

export interface BucketLimits {
  readonly burst: number;
  readonly perSecond: number;
}

export interface ThrottleOptions {
  readonly reads?: BucketLimits;
  readonly writes?: BucketLimits;
}

export type RequestKind = "reads" | "writes";

/** The numbers from the Learn page above. */
export const ARM_LIMITS: Readonly<Record<RequestKind, BucketLimits>> = {
  reads: { burst: 250, perSecond: 25 },
  writes: { burst: 200, perSecond: 10 },
};

/** The global subscription bucket is this many times the principal's (Learn page above). */
export const GLOBAL_FACTOR = 15;

export type ThrottleVerdict =
  | { readonly allowed: true; readonly headers: Readonly<Record<string, string>> }
  | { readonly allowed: false; readonly headers: Readonly<Record<string, string>>; readonly failure: ArmFailure };

interface Bucket {
  tokens: number;
  at: number;
}

export class Throttle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly limits: Readonly<Record<RequestKind, BucketLimits>> | undefined;

  constructor(options: ThrottleOptions | false | undefined, private readonly now: () => number = Date.now) {
    this.limits = options === false ? undefined : { reads: options?.reads ?? ARM_LIMITS.reads, writes: options?.writes ?? ARM_LIMITS.writes };
  }

  static kindOf(method: string): RequestKind {
    return method === "GET" || method === "HEAD" ? "reads" : "writes";
  }

  /**
   * Take one token for this subscription and principal; the verdict carries the headers for the
   * response. The 429's message names the principal (oid, UPN), never the bearer token.
   */
  take(subscriptionId: string, principal: { readonly id: string; readonly label: string }, kind: RequestKind): ThrottleVerdict {
    if (!this.limits) return { allowed: true, headers: {} };
    const limit = this.limits[kind];
    const globalLimit = { burst: limit.burst * GLOBAL_FACTOR, perSecond: limit.perSecond * GLOBAL_FACTOR };
    const bucket = this.refill(`${subscriptionId.toLowerCase()}|${principal.id}|${kind}`, limit);
    const global = this.refill(`${subscriptionId.toLowerCase()}|*|${kind}`, globalLimit);
    const header = `x-ms-ratelimit-remaining-subscription-${kind}`;
    const globalHeader = `x-ms-ratelimit-remaining-subscription-global-${kind}`;
    if (bucket.tokens >= 1 && global.tokens >= 1) {
      bucket.tokens -= 1;
      global.tokens -= 1;
      return { allowed: true, headers: { [header]: String(Math.floor(bucket.tokens)), [globalHeader]: String(Math.floor(global.tokens)) } };
    }
    const wait = (b: Bucket, l: BucketLimits) => (b.tokens >= 1 ? 0 : (1 - b.tokens) / l.perSecond);
    const retryAfterSeconds = Math.max(1, Math.ceil(Math.max(wait(bucket, limit), wait(global, globalLimit))));
    const failure = armError(
      429,
      "SubscriptionRequestsThrottled",
      `Number of '${kind === "reads" ? "read" : "write"}' requests for subscription '${subscriptionId}' actor '${principal.label}' exceeded. Please try again after '${retryAfterSeconds}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.`,
    );
    return { allowed: false, headers: { [header]: String(Math.floor(bucket.tokens)), [globalHeader]: String(Math.floor(global.tokens)), "retry-after": String(retryAfterSeconds) }, failure };
  }

  private refill(key: string, limit: BucketLimits): Bucket {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    return bucket;
  }
}
