/**
 * Dead letters: what Event Grid writes when it gives up on an event, and the storage -poison
 * queues the Functions queue trigger fills when a message fails five times. Ports and the wire
 * format only; the blob / queue adapter is `shared/adapters/blobs/blobDeadLetters.ts`, the use case that
 * re-drives them is `shared/app/deadLetters.ts`, and the local Event Grid simulator writes them with
 * the same format (`local/armSimulator/events.ts`).
 *
 * Format (https://learn.microsoft.com/azure/event-grid/manage-event-delivery#dead-letter-event-format ,
 * https://learn.microsoft.com/azure/event-grid/delivery-and-retry#dead-letter-events): the event as
 * it was published, plus `deadLetterReason`, `deliveryAttempts`, `lastDeliveryOutcome`,
 * `lastHttpStatusCode`, `publishTime`, `lastDeliveryAttemptTime`. A CloudEvents 1.0 subscription
 * gets the same properties as lower-case extension attributes (CloudEvents attribute names are
 * lower-case alphanumerics: https://github.com/cloudevents/spec/blob/v1.0/spec.md#attribute-naming-convention).
 * A blob holds a JSON array of such events.
 */

/** Why Event Grid dead-lettered an event. */
export type DeadLetterReason =
  /** The subscription's max delivery attempts (1–30, default 30) were used up. */
  | "MaxDeliveryAttemptsExceeded"
  /** The event's time to live (1–1440 min, default 1440) ran out before a delivery succeeded. */
  | "TimeToLiveExceeded"
  /** The endpoint answered with a code Event Grid never retries (400, 401, 403, 404, 413). */
  | "UndeliverableDueToClientError";

/** The dead-letter properties Event Grid adds to an Event Grid schema event (camelCase). */
export interface DeadLetterProperties {
  readonly deadLetterReason: DeadLetterReason | string;
  readonly deliveryAttempts: number;
  readonly lastDeliveryOutcome: string;
  readonly lastHttpStatusCode?: number;
  readonly publishTime: string;
  readonly lastDeliveryAttemptTime: string;
}

const CAMEL_KEYS = ["deadLetterReason", "deliveryAttempts", "lastDeliveryOutcome", "lastHttpStatusCode", "publishTime", "lastDeliveryAttemptTime"] as const;
const LOWER_KEYS = CAMEL_KEYS.map((k) => k.toLowerCase());

/** The event plus its dead-letter properties, named for the schema the subscription delivers in. */
export function toDeadLetteredEvent(event: Readonly<Record<string, unknown>>, properties: DeadLetterProperties, schema: "EventGridSchema" | "CloudEventSchemaV1_0"): Record<string, unknown> {
  const entries = CAMEL_KEYS.filter((k) => properties[k] !== undefined).map((k) => [schema === "CloudEventSchemaV1_0" ? k.toLowerCase() : k, properties[k]] as const);
  return { ...event, ...Object.fromEntries(entries) };
}

/** Split a dead-lettered event into the event as published and its dead-letter properties (either naming). */
export function fromDeadLetteredEvent(raw: unknown): { event: unknown; properties: Partial<DeadLetterProperties> } {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return { event: raw, properties: {} };
  const event: Record<string, unknown> = {};
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const camel = CAMEL_KEYS.find((k) => k === key) ?? CAMEL_KEYS[LOWER_KEYS.indexOf(key)];
    if (camel) properties[camel] = value;
    else event[key] = value;
  }
  return { event, properties: properties as Partial<DeadLetterProperties> };
}

/**
 * Blob name Event Grid uses: `{TOPIC NAME}/{SUBSCRIPTION NAME}/{yyyy}/{MM}/{dd}/{HH}/{guid}.json`, names
 * upper-cased "to protect against differences in case handling between Azure services"
 * (https://learn.microsoft.com/azure/event-grid/manage-event-delivery#set-dead-letter-location).
 */
export function deadLetterBlobName(topicName: string, subscriptionName: string, at: Date, id: string): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return [
    topicName.toUpperCase(),
    subscriptionName.toUpperCase(),
    String(at.getUTCFullYear()),
    pad(at.getUTCMonth() + 1),
    pad(at.getUTCDate()),
    pad(at.getUTCHours()),
    `${id}.json`,
  ].join("/");
}

/** One dead-letter blob as read back. `events` is absent when the blob is not a JSON array/object. */
export interface DeadLetterBlob {
  readonly name: string;
  readonly events?: readonly unknown[];
  /** Why the blob could not be read as events. */
  readonly unreadable?: string;
}

/** The dead-letter container of the Event Grid subscription. */
export interface DeadLetterStore {
  readonly container: string;
  /** Write one blob holding `events` (a JSON array), creating the container if needed. */
  write(name: string, events: readonly unknown[]): Promise<void>;
  /** Names of blobs waiting to be re-driven, in listing order, at most `limit`; an absent container is empty. */
  list(limit: number): Promise<string[]>;
  /** One blob's events (read one at a time, so memory stays bounded by one 1 MB batch). */
  read(name: string): Promise<DeadLetterBlob>;
  /** The blob's events were handled: remove it. */
  settle(name: string): Promise<void>;
}

/** A message in a `<queue>-poison` queue, as the Functions queue trigger left it. */
export interface PoisonMessage {
  readonly messageId: string;
  readonly dequeueCount: number;
  /** The decoded JSON body, or the raw text when it is not JSON. */
  readonly body: unknown;
}

/** The storage queues' `-poison` companions. */
export interface PoisonQueues {
  /**
   * Visit up to `limit` poison messages of `queue` (the trigger queue's name, without `-poison`).
   * `decide` returns the body to put back on the trigger queue (the poison copy is then deleted),
   * or `undefined` to leave the message where it is.
   */
  sweep(queue: string, limit: number, decide: (message: PoisonMessage) => unknown): Promise<{ found: number; requeued: string[]; left: string[] }>;
}
