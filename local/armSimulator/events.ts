/**
 * Event delivery as Event Grid does it for one event subscription on a subscription's system topic:
 * at-least-once (optionally duplicated), possibly out of order, never blocking the ARM call, retried
 * on the documented schedule and dead-lettered — never dropped — when it cannot be delivered.
 *
 * - Requests: one event per request, as a JSON array (Event Grid schema, `application/json`) or a
 *   CloudEvents 1.0 batch (`application/cloudevents-batch+json`), with the `aeg-*` headers Event Grid
 *   sends: `aeg-event-type: Notification`, `aeg-subscription-name` (upper case), `aeg-delivery-count`
 *   (0 on the first attempt), `aeg-data-version`, `aeg-metadata-version`
 *   (https://learn.microsoft.com/azure/event-grid/receive-events ,
 *   https://learn.microsoft.com/azure/event-grid/delivery-properties).
 * - Retries (https://learn.microsoft.com/azure/event-grid/delivery-and-retry#retry-schedule): 30 s
 *   to answer; then 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, then every 12 h, each
 *   step randomised a little, until the retry policy ends it: 30 attempts or a 24 h time to live,
 *   whichever comes first. 400, 401, 403, 404 and 413 are not retried.
 * - Dead letters (https://learn.microsoft.com/azure/event-grid/delivery-and-retry#dead-letter-events):
 *   about five minutes after the last attempt, the event plus its dead-letter properties goes to a
 *   blob `{TOPIC}/{SUBSCRIPTION}/{yyyy}/{MM}/{dd}/{HH}/{guid}.json` in the dead-letter container
 *   (Azurite by default). See `shared/app/deadLetterPorts.ts` for the format.
 *
 * Time is compressible: `timeScale` 1 is real time, 1/1000 turns the 24 h policy into 86 s. The
 * 30 s response timeout is not scaled (it bounds the function's own work, not Event Grid's schedule).
 */
import { randomUUID } from "node:crypto";
import pLimit from "p-limit";
import type { Logger } from "pino";
import { deadLetterBlobName, toDeadLetteredEvent, type DeadLetterReason, type DeadLetterStore } from "../../shared/app/deadLetterPorts.js";
import { createBlobDeadLetterStore } from "../../shared/adapters/blobs/blobDeadLetters.js";

export interface EventSink {
  readonly url: string;
  readonly schema: "EventGridSchema" | "CloudEventSchemaV1_0";
}

export type EventGridEvent = { id: string; topic: string; subject: string; eventType: string; eventTime: string; data: unknown; dataVersion: string; metadataVersion: string };

/** Time as the emitter sees it; tests pass a virtual clock to walk 24 h of schedule in no time. */
export interface DeliveryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface EventDeliveryOptions {
  /** The event subscription's name (default `gallery-watch`, as in infra/watch/eventSubscription.bicep). */
  readonly subscriptionName?: string;
  /** The system topic's name (default `gallery-watch-<subscription id>` from the event's topic, as in infra/watch/systemTopic.bicep). */
  readonly topicName?: string;
  /** 1 = real time (default); 1/1000 compresses Event Grid's schedule a thousandfold. */
  readonly timeScale?: number;
  /** Retry policy: max delivery attempts, 1–30 (default 30). */
  readonly maxDeliveryAttempts?: number;
  /** Retry policy: event time to live in minutes, 1–1440 (default 1440). */
  readonly eventTimeToLiveMinutes?: number;
  /** How long one attempt may take before it counts as failed (default 30 000 ms, never scaled). */
  readonly responseTimeoutMs?: number;
  /** Dead-letter destination: a storage connection string (default Azurite's `UseDevelopmentStorage=true`) and container (default `deadletters`), or a store. */
  readonly deadLetter?: { readonly connectionString?: string; readonly container?: string; readonly store?: DeadLetterStore };
  /** Source of the retry randomisation (default Math.random). */
  readonly random?: () => number;
  readonly clock?: DeliveryClock;
  /** Dead-lettering and abandoned events are logged here when given. */
  readonly log?: Logger;
}

export interface DeliveredEvent {
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly writtenAt: string;
  /** When the successful attempt was sent to the handler: "event received" for latency figures. */
  readonly postedAt: string;
  /** When the handler acknowledged it. */
  readonly deliveredAt: string;
  /** Attempts it took (1 = first try). */
  readonly attempts: number;
}

export interface DeliveryAttempt {
  readonly id: string;
  /** The `aeg-delivery-count` sent: 0 on the first attempt. */
  readonly deliveryCount: number;
  /** Time of the attempt on the emitter's clock (ms). */
  readonly at: number;
  readonly status?: number;
  readonly outcome: string;
}

export interface DeadLetteredEvent {
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly reason: DeadLetterReason;
  readonly attempts: number;
  readonly lastDeliveryOutcome: string;
  readonly lastHttpStatusCode?: number;
  readonly container: string;
  /** Blob name; absent when the dead-letter destination could not be written (see `error`). */
  readonly blobName?: string;
  readonly error?: string;
}

/** The documented steps after the 1st … 9th failed attempt; every later step is 12 h. */
export const RETRY_SCHEDULE_MS: readonly number[] = [10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000];
const LATER_RETRY_MS = 43_200_000;
/** "Event Grid adds a small randomization to all retry steps": we spread each step by ±10 %. */
export const RETRY_JITTER = 0.1;
/** Not retried for webhooks and Azure resources; straight to dead-letter (delivery-and-retry#retry-schedule). */
export const NOT_RETRIED = new Set([400, 401, 403, 404, 413]);
/** "There's a five-minute delay between the last attempt to deliver an event and when it's delivered to the dead-letter location." */
const DEAD_LETTER_DELAY_MS = 300_000;
/** "If the dead-letter location is unavailable for four hours, the event is dropped" — we keep it in `deadLettered` with the error instead. */
const DEAD_LETTER_PATIENCE_MS = 4 * 3_600_000;

/** Delay (Event Grid time, ms) before the attempt following failed attempt number `failed` (1-based), with randomisation. */
export function retryDelayMs(failed: number, random: () => number = Math.random): number {
  const step = RETRY_SCHEDULE_MS[failed - 1] ?? LATER_RETRY_MS;
  return Math.round(step * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random()));
}

/** How Event Grid names an HTTP outcome in `lastDeliveryOutcome` (the .NET HttpStatusCode names, e.g. `NotFound` in Learn's example). */
function outcomeOf(status: number): string {
  const names: Record<number, string> = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    408: "RequestTimeout",
    413: "RequestEntityTooLarge",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
  };
  return names[status] ?? "GenericError";
}

const realClock: DeliveryClock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

interface DeliveryFault {
  readonly omitHeaders: readonly string[];
  remaining: number;
}

export class EventEmitter {
  private copies = 1;
  private holding = false;
  private held: EventGridEvent[] = [];
  private inFlight = new Set<Promise<void>>();
  private readonly delivered: DeliveredEvent[] = [];
  private readonly attemptLog: DeliveryAttempt[] = [];
  private readonly deadLetters: DeadLetteredEvent[] = [];
  private readonly abandonedIds: string[] = [];
  private readonly faults: DeliveryFault[] = [];
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private store: DeadLetterStore | undefined;
  private closed = false;
  private options: EventDeliveryOptions;

  /** Event Grid bounds concurrent requests per subscription; so does the simulator (a retry waiting holds no slot). */
  private readonly slots = pLimit(16);

  constructor(
    private readonly sink: EventSink | undefined,
    options: EventDeliveryOptions = {},
  ) {
    this.options = options;
  }

  /** Change delivery options for what is delivered from now on (e.g. point dead letters at the stack's Azurite). */
  configure(options: EventDeliveryOptions): void {
    this.options = { ...this.options, ...options };
    if (options.deadLetter) this.store = undefined;
  }

  /** Each event is delivered `copies` times. */
  setDuplicates(copies: number): void {
    this.copies = Math.max(1, Math.floor(copies));
  }

  /** Hold events; `flush()` delivers them newest first. */
  holdForReorder(on: boolean): void {
    this.holding = on;
  }

  /** The next `times` requests go out without these headers (a proxy that strips them, say). */
  omitHeadersOnce(headers: readonly string[], times = 1): void {
    this.faults.push({ omitHeaders: headers.map((h) => h.toLowerCase()), remaining: times });
  }

  get sent(): ReadonlyArray<DeliveredEvent> {
    return this.delivered;
  }

  /** Every request made, in order. */
  get attempts(): ReadonlyArray<DeliveryAttempt> {
    return this.attemptLog;
  }

  get deadLettered(): ReadonlyArray<DeadLetteredEvent> {
    return this.deadLetters;
  }

  emit(event: EventGridEvent): void {
    if (!this.sink) return;
    const published = asPublished(event);
    if (this.holding) {
      this.held.push(published);
      return;
    }
    for (let i = 0; i < this.copies; i++) this.track(this.deliver(published));
  }

  async flush(): Promise<void> {
    const events = this.held.reverse();
    this.held = [];
    for (const event of events) for (let i = 0; i < this.copies; i++) await this.deliver(event);
  }

  /** Resolves when every event emitted so far is delivered or dead-lettered. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stop: attempts in progress finish, waiting retries are abandoned (logged; only the simulator stopping loses events). */
  async close(): Promise<void> {
    this.closed = true;
    for (const sleeper of this.sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.resolve();
    }
    this.sleepers.clear();
    await this.idle();
    if (this.abandonedIds.length > 0) this.options.log?.warn({ abandoned: this.abandonedIds.length }, `simulated Event Grid stopped with ${this.abandonedIds.length} event(s) still waiting for a retry`);
  }

  private track(delivery: Promise<void>): void {
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  private get clock(): DeliveryClock {
    return this.options.clock ?? realClock;
  }

  private get timeScale(): number {
    const scale = this.options.timeScale ?? 1;
    return scale > 0 && Number.isFinite(scale) ? scale : 1;
  }

  private get subscriptionName(): string {
    return this.options.subscriptionName ?? "gallery-watch";
  }

  /** Wait `eventGridMs` of Event Grid time (scaled); returns early when the emitter closes. */
  private wait(eventGridMs: number): Promise<void> {
    const ms = Math.max(0, eventGridMs * this.timeScale);
    if (this.options.clock) return this.options.clock.sleep(ms);
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleepers.delete(sleeper);
          resolve();
        }, ms),
        resolve,
      };
      this.sleepers.add(sleeper);
    });
  }

  private async deliver(event: EventGridEvent): Promise<void> {
    const sink = this.sink!;
    const cloud = sink.schema === "CloudEventSchemaV1_0";
    const wire: Record<string, unknown> = cloud
      ? { specversion: "1.0", id: event.id, type: event.eventType, source: event.topic, subject: event.subject, time: event.eventTime, datacontenttype: "application/json", data: event.data }
      : { ...event };
    const body = JSON.stringify([wire]);
    const publishedAt = this.clock.now();
    const maxAttempts = Math.min(30, Math.max(1, Math.floor(this.options.maxDeliveryAttempts ?? 30)));
    const ttlMs = Math.min(1440, Math.max(1, this.options.eventTimeToLiveMinutes ?? 1440)) * 60_000;
    let attempts = 0;
    for (;;) {
      if (this.closed) {
        this.abandonedIds.push(event.id);
        return;
      }
      const deliveryCount = attempts;
      const at = this.clock.now();
      const result = await this.attempt(sink, event, body, deliveryCount);
      attempts++;
      this.attemptLog.push({ id: event.id, deliveryCount, at, ...(result.status !== undefined ? { status: result.status } : {}), outcome: result.outcome });
      if (result.ok) {
        this.delivered.push({ id: event.id, type: event.eventType, subject: event.subject, writtenAt: event.eventTime, postedAt: new Date(at).toISOString(), deliveredAt: new Date().toISOString(), attempts });
        return;
      }
      const last = { attempts, at, result, publishedAt };
      if (result.status !== undefined && NOT_RETRIED.has(result.status)) return this.deadLetter(event, wire, "UndeliverableDueToClientError", last);
      if (attempts >= maxAttempts) return this.deadLetter(event, wire, "MaxDeliveryAttemptsExceeded", last);
      const delay = retryDelayMs(attempts, this.options.random);
      const elapsed = (this.clock.now() - publishedAt) / this.timeScale;
      if (elapsed + delay >= ttlMs) {
        await this.wait(ttlMs - elapsed); // the event expires before its next attempt is due
        return this.deadLetter(event, wire, "TimeToLiveExceeded", last);
      }
      await this.wait(delay);
    }
  }

  private async attempt(sink: EventSink, event: EventGridEvent, body: string, deliveryCount: number): Promise<{ ok: boolean; status?: number; outcome: string }> {
    const headers: Record<string, string> = {
      "content-type": sink.schema === "CloudEventSchemaV1_0" ? "application/cloudevents-batch+json; charset=utf-8" : "application/json",
      "aeg-event-type": "Notification",
      "aeg-subscription-name": this.subscriptionName.toUpperCase(),
      "aeg-delivery-count": String(deliveryCount),
      "aeg-data-version": event.dataVersion,
      "aeg-metadata-version": event.metadataVersion || "1",
    };
    const fault = this.faults.find((f) => f.remaining > 0);
    if (fault) {
      fault.remaining--;
      for (const name of fault.omitHeaders) delete headers[name];
    }
    return this.slots(async () => {
      try {
        const response = await fetch(sink.url, { method: "POST", headers, body, signal: AbortSignal.timeout(this.options.responseTimeoutMs ?? 30_000) });
        await response.arrayBuffer();
        return response.ok ? { ok: true, status: response.status, outcome: "Succeeded" } : { ok: false, status: response.status, outcome: outcomeOf(response.status) };
      } catch (error) {
        // No answer in time, or no connection at all: Event Grid retries both.
        const name = (error as Error).name;
        return { ok: false, outcome: name === "TimeoutError" || name === "AbortError" ? "TimedOut" : "GenericError" };
      }
    });
  }

  private async deadLetter(
    event: EventGridEvent,
    wire: Record<string, unknown>,
    reason: DeadLetterReason,
    last: { attempts: number; at: number; result: { status?: number; outcome: string }; publishedAt: number },
  ): Promise<void> {
    await this.wait(DEAD_LETTER_DELAY_MS);
    const schema = this.sink!.schema;
    const record = toDeadLetteredEvent(
      wire,
      {
        deadLetterReason: reason,
        deliveryAttempts: last.attempts,
        lastDeliveryOutcome: last.result.outcome,
        ...(last.result.status !== undefined ? { lastHttpStatusCode: last.result.status } : {}),
        publishTime: new Date(last.publishedAt).toISOString(),
        lastDeliveryAttemptTime: new Date(last.at).toISOString(),
      },
      schema,
    );
    const store = this.deadLetterStore();
    const entry = {
      id: event.id,
      type: event.eventType,
      subject: event.subject,
      reason,
      attempts: last.attempts,
      lastDeliveryOutcome: last.result.outcome,
      ...(last.result.status !== undefined ? { lastHttpStatusCode: last.result.status } : {}),
      container: store.container,
    };
    const started = this.clock.now();
    let error: unknown;
    for (let tries = 1; ; tries++) {
      const name = deadLetterBlobName(this.topicName(event), this.subscriptionName, new Date(this.clock.now()), randomUUID());
      try {
        await store.write(name, [record]);
        this.deadLetters.push({ ...entry, blobName: name });
        this.options.log?.warn({ eventId: event.id, reason, attempts: last.attempts, lastHttpStatusCode: last.result.status, blob: `${store.container}/${name}` }, `simulated Event Grid dead-lettered event ${event.id} (${reason})`);
        return;
      } catch (caught) {
        error = caught;
      }
      if (this.closed || (this.clock.now() - started) / this.timeScale >= DEAD_LETTER_PATIENCE_MS) break;
      await this.wait(retryDelayMs(tries, this.options.random));
    }
    const message = (error as Error).message?.split("\n")[0] ?? String(error);
    this.deadLetters.push({ ...entry, error: message });
    this.options.log?.error({ eventId: event.id, reason, err: error }, `simulated Event Grid could not write the dead letter for event ${event.id}: ${message}`);
  }

  private deadLetterStore(): DeadLetterStore {
    const options = this.options.deadLetter ?? {};
    this.store ??= options.store ?? createBlobDeadLetterStore({ connectionString: options.connectionString ?? "UseDevelopmentStorage=true" }, options.container ?? "deadletters");
    return this.store;
  }

  private topicName(event: EventGridEvent): string {
    if (this.options.topicName) return this.options.topicName;
    const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(event.topic)?.[1];
    return subscriptionId ? `gallery-watch-${subscriptionId}` : (event.topic.split("/").filter(Boolean).pop() ?? "topic");
  }
}

/**
 * What Event Grid publishes for an action: the subject (and `data.resourceUri`) is the resource the
 * action ran on, the action itself is in `data.operationName` / `data.authorization.action` — see the
 * `Microsoft.Resources.ResourceActionSuccess` example (a storage account's `listKeys/action`) in
 * https://learn.microsoft.com/azure/event-grid/event-schema-subscriptions and the envelope in
 * ../shared/fixtures/eventgrid/ResourceDeleteSuccess.eventgrid.json. The simulator names the action
 * path (`…/share`); `data.authorization.scope` holds the target.
 */
function asPublished(event: EventGridEvent): EventGridEvent {
  if (event.eventType !== "Microsoft.Resources.ResourceActionSuccess") return event;
  const data = event.data as { authorization?: { scope?: unknown }; resourceUri?: unknown } | null;
  const target = data?.authorization?.scope;
  if (typeof target !== "string" || target.length === 0) return event;
  return { ...event, subject: target, data: { ...data, resourceUri: target } };
}
