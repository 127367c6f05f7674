/**
 * ARM's throttling: a token bucket per subscription and security principal, one for reads and one
 * for writes, refilled every second; every response says how many requests remain, an empty
 * bucket answers 429 with Retry-After and `SubscriptionRequestsThrottled`.
 * https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling
 * ("Subscription reads: 250 bucket size, 25 per second refill; Subscription writes: 200, 10").
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

  /** Take one token for this subscription and principal; the verdict carries the headers for the response. */
  take(subscriptionId: string, principal: string, kind: RequestKind): ThrottleVerdict {
    if (!this.limits) return { allowed: true, headers: {} };
    const limit = this.limits[kind];
    const key = `${subscriptionId.toLowerCase()}|${principal}|${kind}`;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    const header = `x-ms-ratelimit-remaining-subscription-${kind}`;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, headers: { [header]: String(Math.floor(bucket.tokens)) } };
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond));
    const failure = armError(
      429,
      "SubscriptionRequestsThrottled",
      `Number of '${kind === "reads" ? "read" : "write"}' requests for subscription '${subscriptionId}' actor '${principal}' exceeded. Please try again after '${retryAfterSeconds}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.`,
    );
    return { allowed: false, headers: { [header]: "0", "retry-after": String(retryAfterSeconds) }, failure };
  }
}
