/**
 * Posts messages to a Teams Workflows webhook ("When a Teams webhook request is received").
 * Timeout per request; at most `maxRequestsPerSecond` (Teams allows about 4/s per webhook);
 * 429/5xx/timeouts become retryable AlertDeliveryErrors carrying Retry-After; other 4xx are
 * permanent. The URL carries a `sig=` secret: it never appears in an error or a log.
 * A 202 only means Workflows accepted the request, not that the card was posted.
 */
import pLimit from "p-limit";
import type { TeamsNotifier } from "../ports.js";
import { AlertDeliveryError } from "../errors.js";

export interface WorkflowsNotifierOptions {
  readonly webhookUrl: string;
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
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = { now: Date.now, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

/** Seconds or an HTTP date → milliseconds from now. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Paces requests at least `1000 / rps` ms apart (plus 5 %, so network jitter cannot squeeze an
 * extra request into one second at the receiver): never more than `rps` in any one-second window.
 */
export function createRequestPacer(requestsPerSecond: number, clock: PacerClock = realClock): () => Promise<void> {
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
  const timeoutMs = options.timeoutMs ?? 10_000;
  const waitForSlot = options.pace ?? createRequestPacer(options.maxRequestsPerSecond ?? 4);

  return {
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
        const reason = (error as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : `connection failed (${(error as Error).name})`;
        throw new AlertDeliveryError(alertId, undefined, reason);
      }
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return;
      const retryable = response.status === 429 || response.status === 408 || response.status >= 500;
      throw new AlertDeliveryError(alertId, response.status, retryable ? "receiver asked to retry" : "receiver refused the message", retryAfterMs(response.headers.get("retry-after")), { permanent: !retryable });
    },
  };
}
