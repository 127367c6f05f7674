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
}

/** Seconds or an HTTP date → milliseconds from now. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function createWorkflowsTeamsNotifier(options: WorkflowsNotifierOptions): TeamsNotifier {
  const timeoutMs = options.timeoutMs ?? 10_000;
  // 5 % above the exact spacing, so network jitter cannot squeeze a fifth request into one second at the receiver.
  const spacingMs = Math.ceil((1000 / (options.maxRequestsPerSecond ?? 4)) * 1.05);
  const oneAtATime = pLimit(1);
  let nextSlot = 0;

  /** Requests leave at least `spacingMs` apart: never more than the limit in any one-second window. */
  const waitForSlot = () =>
    oneAtATime(async () => {
      const wait = nextSlot - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      nextSlot = Date.now() + spacingMs;
    });

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
