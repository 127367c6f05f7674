/**
 * The findings feed's Event Grid adapter: `@azure/eventgrid`'s EventGridPublisherClient with the
 * "CloudEvent" input schema and an Entra ID token (DefaultAzureCredential; the app's identity needs
 * "EventGrid Data Sender" on the topic: "Authenticate publishing clients using Microsoft Entra ID",
 * Event Grid docs). The SDK's own retries are off: the outbox retries (publishFindings.ts), with
 * the one backoff and Retry-After reader, so a throttled topic is waited out across invocations,
 * not inside one. Every request has a timeout. The SDK loads on the first publish, not at cold start.
 */
import { isRestError } from "../../platform/sdkErrors.js";
import https from "node:https";
import type { TokenCredential } from "@azure/identity";
import type { EventGridPublisherClient } from "@azure/eventgrid";
import { AlertDeliveryError } from "../../domain/errors.js";
import type { FindingsPublisher } from "../../app/ports.js";
import { retryAfterFromHeaders } from "../../platform/retryAfter.js";

export interface EventGridPublisherOptions {
  /** The topic endpoint, e.g. https://<topic>.<region>-1.eventgrid.azure.net/api/events. */
  readonly endpoint: string;
  readonly credential: TokenCredential;
  /** Default 30 s. */
  readonly timeoutMs?: number;
  /** A certificate to trust for this endpoint only (the local stack's simulated topic). */
  readonly caCertPem?: string;
}

/** Connection errors of a request that never left: nothing can have been published. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

export function createEventGridFindingsPublisher(options: EventGridPublisherOptions): FindingsPublisher {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const agent = options.caCertPem ? new https.Agent({ ca: options.caCertPem, keepAlive: true }) : undefined;
  let client: Promise<EventGridPublisherClient<"CloudEvent">> | undefined;
  const get = () =>
    (client ??= import("@azure/eventgrid").then(
      ({ EventGridPublisherClient }) =>
        new EventGridPublisherClient(options.endpoint, "CloudEvent", options.credential, {
          retryOptions: { maxRetries: 0 },
          additionalPolicies: [
            {
              position: "perRetry",
              policy: {
                name: "galleryWatchFeedTransport",
                sendRequest(request, next) {
                  if (agent) request.agent = agent;
                  request.timeout = timeoutMs;
                  return next(request);
                },
              },
            },
          ],
        }),
    ));
  return {
    timeoutMs,
    async publish(events, batchId) {
      const publisher = await get();
      try {
        await publisher.send(
          events.map((e) => ({ type: e.type, source: e.source, id: e.id, subject: e.subject, time: new Date(e.time), datacontenttype: e.datacontenttype, data: e.data as unknown as Record<string, unknown> })),
          { abortSignal: AbortSignal.timeout(timeoutMs) },
        );
      } catch (error) {
        const e = error as { name?: string; code?: string; message?: string };
        if (isRestError(error) && error.statusCode !== undefined) {
          const retryable = error.statusCode === 429 || error.statusCode === 408 || error.statusCode >= 500;
          const headers = error.response?.headers;
          throw new AlertDeliveryError(batchId, error.statusCode, retryable ? "topic asked to retry" : "topic refused the events", headers ? retryAfterFromHeaders((name) => headers.get(name)) : undefined, {
            cause: error,
            permanent: !retryable,
          });
        }
        if (e.name !== "AbortError" && e.code === undefined) throw error; // not a transport failure: a bug, surfaced
        const timedOut = e.name === "AbortError" || e.code === "ETIMEDOUT";
        const reason = timedOut ? `no answer within ${timeoutMs} ms` : `connection failed (${e.code})`;
        throw new AlertDeliveryError(batchId, undefined, reason, undefined, { cause: error, ambiguous: timedOut || !NOT_SENT.has(e.code ?? "") });
      }
    },
  };
}
