/**
 * What every ARM client of gallery-watch sends its requests through, whichever SDK it is
 * (@azure/arm-compute for the estate, @azure/arm-authorization for who can use it): the local
 * simulator's certificate (never process-wide), a per-try timeout, the read budget per
 * subscription (shared/adapters/arm/readBudget.ts: every ARM read of one principal draws on one
 * bucket), and a Retry-After longer than a function may sit out turned into a `throttled` outcome.
 * And the one translation of an SDK failure into a read outcome: 404 → gone, 401/403 → noAccess,
 * 429 → throttled, anything else → failed.
 */
import https from "node:https";
import type { TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { isRestError, statusOf } from "../../platform/sdkErrors.js";
import { retryAfterFromHeaders } from "../../platform/retryAfter.js";
import type { ResourceId } from "../../domain/resourceId.js";
import { ArmReadError } from "../../domain/errors.js";
import type { ReadOutcome } from "../../app/ports.js";
import { ReadBudget, remainingReads } from "./readBudget.js";
import { setBounded } from "../../platform/boundedMap.js";

/** Thrown by our per-try policy when ARM asks us to wait longer than we may. */
export class LongRetryAfter extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`ARM asked to retry after ${Math.round(retryAfterMs / 1000)} s`);
  }
}

export interface ArmTransportOptions {
  readonly subscriptionId: string;
  readonly agent?: https.Agent;
  readonly timeoutMs: number;
  readonly maxRetryAfterMs: number;
  readonly budget: ReadBudget;
}

/** How a reader of ARM (the compute estate, role assignments) is set up: the same for each. */
export interface ArmReaderOptions {
  readonly credential: TokenCredential;
  readonly endpoint?: string;
  /** Trust this certificate for `endpoint` only (the local simulator); never process-wide. */
  readonly caCertPem?: string;
  readonly timeoutMs?: number;
  readonly maxRetries?: number;
  /** A Retry-After longer than this is not waited out inside a function: the read reports `throttled`. */
  readonly maxRetryAfterMs?: number;
  /**
   * Client-side read budget per subscription (default: ARM's 250 burst, 25/s, this process's own
   * count), shared by every reader of the process (one principal, one ARM bucket); the app's is
   * shared by its instances through storage.
   */
  readonly readBudget?: ReadBudget;
}

/** A reader's options with their defaults: 30 s a try, 3 retries, Retry-After waited up to 60 s. */
export function armReaderSettings(options: ArmReaderOptions) {
  return {
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.caCertPem ? { agent: new https.Agent({ ca: options.caCertPem, keepAlive: true }) } : {}),
    timeoutMs: options.timeoutMs ?? 30_000,
    maxRetries: options.maxRetries ?? 3,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    budget: options.readBudget ?? new ReadBudget(),
  };
}

/** Clients kept per reader: the least recently used subscription's is dropped beyond that. */
const MAX_CLIENTS = 32;

/** What an ARM management client is built with (the options every @azure/arm-* client takes). */
export interface ArmClientOptions {
  readonly endpoint?: string;
  readonly retryOptions: { readonly maxRetries: number; readonly retryDelayInMs: number; readonly maxRetryDelayInMs: number };
  readonly additionalPolicies: Array<{ readonly position: "perRetry"; readonly policy: PipelinePolicy }>;
}

/**
 * One client per subscription (they are stateless and pooled), built with the SDK's retries and
 * this transport, at most MAX_CLIENTS of them: the compute reader's and the access reader's alike.
 */
export function armClientsBySubscription<C>(build: (subscriptionId: string, options: ArmClientOptions) => C, settings: Omit<ArmTransportOptions, "subscriptionId"> & { readonly endpoint?: string; readonly maxRetries: number }): (subscriptionId: string) => C {
  const clients = new Map<string, C>();
  const { endpoint, maxRetries, ...transport } = settings;
  return (subscriptionId) => {
    const client =
      clients.get(subscriptionId) ??
      build(subscriptionId, {
        ...(endpoint ? { endpoint } : {}),
        retryOptions: { maxRetries, retryDelayInMs: 500, maxRetryDelayInMs: 10_000 },
        additionalPolicies: [{ position: "perRetry", policy: armTransportPolicy({ subscriptionId, ...transport }) }],
      });
    setBounded(clients, subscriptionId, client, MAX_CLIENTS);
    return client;
  };
}

/** The per-try policy of one subscription's client. */
export function armTransportPolicy(options: ArmTransportOptions): PipelinePolicy {
  const { subscriptionId, agent, timeoutMs, maxRetryAfterMs, budget } = options;
  /** A 429 asking for a longer wait than a function may sit out is not retried by the SDK: the read reports `throttled`. */
  const throwOnLongRetryAfter = <R extends { status: number; headers: { get(name: string): string | undefined } }>(response: R): R => {
    if (response.status === 429) {
      const waitMs = retryAfterFromHeaders((name) => response.headers.get(name));
      if (waitMs !== undefined && waitMs > maxRetryAfterMs) throw new LongRetryAfter(waitMs);
    }
    return response;
  };
  return {
    name: "galleryWatchTransport",
    async sendRequest(request, next) {
      if (agent) request.agent = agent;
      request.timeout = timeoutMs;
      const read = request.method === "GET";
      if (!read) return next(request).then(throwOnLongRetryAfter);
      await budget.take(subscriptionId);
      let response: Awaited<ReturnType<typeof next>>;
      try {
        response = await next(request);
        // Per-principal and global counts, the lower believed (readBudget.ts `remainingReads`).
        const remaining = remainingReads((name) => response.headers.get(name));
        budget.observe(subscriptionId, remaining, response.status === 429 ? retryAfterFromHeaders((name) => response.headers.get(name)) : undefined);
      } finally {
        budget.settled(subscriptionId);
      }
      return throwOnLongRetryAfter(response);
    },
  };
}

export type FailedOutcome = Exclude<ReadOutcome<never>, { status: "found" }>;

/** Translate an SDK failure into an outcome; never rethrows. */
export function outcomeOf(id: ResourceId | undefined, operation: string, error: unknown): FailedOutcome | { status: "gone"; id: ResourceId } {
  const e = error as { code?: string; message?: string; name?: string };
  const status = statusOf(error);
  const rid = id ?? ({} as ResourceId);
  const message = `${operation}: ${status ?? e.code ?? e.name ?? "error"} ${(e.message ?? "").split("\n")[0]?.slice(0, 200) ?? ""}`.trim();
  if (error instanceof LongRetryAfter) return { status: "throttled", id: rid, message: `${operation}: ${error.message}`, retryAfterMs: error.retryAfterMs };
  if (error instanceof ArmReadError) {
    const reason = error.kind;
    if (reason === "noAccess") return { status: "noAccess", id: rid, message: error.message };
    return reason === "throttled" ? { status: "throttled", id: rid, message: error.message, ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}) } : { status: "failed", id: rid, message: error.message, cause: error };
  }
  if (status === 404) return { status: "gone", id: rid };
  if (status === 401 || status === 403) return { status: "noAccess", id: rid, message };
  if (status === 429) {
    const headers = isRestError(error) ? error.response?.headers : undefined;
    const retryAfterMs = headers ? retryAfterFromHeaders((name) => headers.get(name)) : undefined;
    return { status: "throttled", id: rid, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  return { status: "failed", id: rid, message, cause: error };
}
