/**
 * Posts messages to a Teams Workflows webhook ("When a Teams webhook request is received").
 * Timeout per request; at most `maxRequestsPerSecond` (Teams allows about 4/s per webhook);
 * 429/408/5xx and refused connections become retryable AlertDeliveryErrors carrying Retry-After;
 * other 4xx are `permanent` (the outbox parks the alert as owed, see deliverAlerts.ts). A request
 * that left and got no answer (timeout, connection lost mid-request) is `ambiguous`: Workflows may
 * have posted the card. The URL carries a `sig=` secret: it never appears in an error or a log.
 * A 202 only means Workflows accepted the request, not that the card was posted.
 *
 * The default timeout is 120 s: a Workflows (Power Automate / Logic Apps) request trigger may keep
 * the caller waiting up to its inbound request limit of 120 s before it answers ("Limits and
 * configuration reference for Azure Logic Apps", HTTP request limits: inbound request timeout
 * 120 seconds, multitenant). A shorter timeout turns a slow but successful post into a guess.
 */
import { systemSleeper, type Sleeper } from "../../platform/clock.js";
import { retryAfterFromHeaders } from "../../platform/retryAfter.js";
import pLimit from "p-limit";
import type { TeamsNotifier } from "../../app/ports.js";
import { AlertDeliveryError } from "../../domain/errors.js";

/** Inbound request timeout of a Logic Apps / Workflows request trigger (multitenant), see above. */
export const WORKFLOWS_REQUEST_TIMEOUT_MS = 120_000;

/** Errors of a connection that never carried the request: nothing can have been posted. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

export interface WorkflowsNotifierOptions {
  readonly webhookUrl: string;
  /** Default WORKFLOWS_REQUEST_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  readonly maxRequestsPerSecond?: number;
  /**
   * Resolves when the next request may leave. Default: `createRequestPacer(maxRequestsPerSecond)` on
   * the real clock. Tests pass one on a fake scheduler, so spacing is asserted in virtual time and
   * never on a busy machine's wall clock (that measurement belongs to `npm run bench`).
   */
  readonly pace?: () => Promise<void>;
}

/** The clock a pacer reads and sleeps on. */
/** Pacing reads the time and waits through the one clock (platform/clock.ts). */
export type PacerClock = Sleeper;

/**
 * Paces requests at least `1000 / rps` ms apart (plus 5 %, so network jitter cannot squeeze an
 * extra request into one second at the receiver): never more than `rps` in any one-second window.
 */
export function createRequestPacer(requestsPerSecond: number, clock: PacerClock = systemSleeper): () => Promise<void> {
  const spacingMs = Math.ceil((1000 / requestsPerSecond) * 1.05);
  const oneAtATime = pLimit(1);
  let nextSlot = 0;
  return () =>
    oneAtATime(async () => {
      const wait = nextSlot - clock.now();
      if (wait > 0) await clock.sleep(wait);
      nextSlot = clock.now() + spacingMs;
    });
}

export function createWorkflowsTeamsNotifier(options: WorkflowsNotifierOptions): TeamsNotifier {
  const timeoutMs = options.timeoutMs ?? WORKFLOWS_REQUEST_TIMEOUT_MS;
  const waitForSlot = options.pace ?? createRequestPacer(options.maxRequestsPerSecond ?? 4);

  return {
    timeoutMs,
    async send(payload, alertId) {
      await waitForSlot();
      let response: Response;
      try {
        response = await fetch(options.webhookUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const timedOut = (error as Error).name === "TimeoutError";
        const code = ((error as { cause?: { code?: unknown } }).cause?.code as string | undefined) ?? "";
        const reason = timedOut ? `no answer within ${timeoutMs} ms` : `connection failed (${code || (error as Error).name})`;
        // Only a connection that never opened is known not to have posted; anything else may have.
        throw new AlertDeliveryError(alertId, undefined, reason, undefined, { ambiguous: timedOut || !NOT_SENT.has(code) });
      }
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return;
      const retryable = response.status === 429 || response.status === 408 || response.status >= 500;
      throw new AlertDeliveryError(alertId, response.status, retryable ? "receiver asked to retry" : "receiver refused the message", retryAfterFromHeaders((name) => response.headers.get(name)), { permanent: !retryable });
    },
  };
}
