import pLimit from "p-limit";
/**
 * Event delivery as Event Grid does it for a subscription's system topic: at-least-once (with
 * optional duplicates), possibly out of order, retried on failure, never blocking the ARM call.
 * Event Grid schema: a JSON array with `aeg-event-type: Notification`; CloudEvents 1.0: a batch
 * (`application/cloudevents-batch+json`).
 */
export interface EventSink {
  readonly url: string;
  readonly schema: "EventGridSchema" | "CloudEventSchemaV1_0";
}

type EventGridEvent = { id: string; topic: string; subject: string; eventType: string; eventTime: string; data: unknown; dataVersion: string; metadataVersion: string };

const MAX_TRIES = 5;

export class EventEmitter {
  private copies = 1;
  private holding = false;
  private held: EventGridEvent[] = [];
  private inFlight = new Set<Promise<void>>();
  private readonly delivered: Array<{ id: string; type: string; subject: string; writtenAt: string; deliveredAt: string }> = [];

  /** Event Grid bounds concurrent deliveries per subscription; so does the simulator. */
  private readonly slots = pLimit(16);

  constructor(private readonly sink: EventSink | undefined) {}

  /** Each event is delivered `copies` times. */
  setDuplicates(copies: number): void {
    this.copies = Math.max(1, Math.floor(copies));
  }

  /** Hold events; `flush()` delivers them newest first. */
  holdForReorder(on: boolean): void {
    this.holding = on;
  }

  get sent(): ReadonlyArray<{ id: string; type: string; subject: string; writtenAt: string; deliveredAt: string }> {
    return this.delivered;
  }

  emit(event: EventGridEvent): void {
    if (!this.sink) return;
    if (this.holding) {
      this.held.push(event);
      return;
    }
    for (let i = 0; i < this.copies; i++) this.track(this.slots(() => this.deliver(event)));
  }

  async flush(): Promise<void> {
    const events = this.held.reverse();
    this.held = [];
    for (const event of events) for (let i = 0; i < this.copies; i++) await this.deliver(event);
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track(delivery: Promise<void>): void {
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  private async deliver(event: EventGridEvent): Promise<void> {
    const sink = this.sink!;
    const cloud = sink.schema === "CloudEventSchemaV1_0";
    const body = cloud
      ? [{ specversion: "1.0", id: event.id, type: event.eventType, source: event.topic, subject: event.subject, time: event.eventTime, datacontenttype: "application/json", data: event.data }]
      : [event];
    const headers: Record<string, string> = cloud ? { "content-type": "application/cloudevents-batch+json; charset=utf-8" } : { "content-type": "application/json", "aeg-event-type": "Notification" };
    for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
      try {
        const response = await fetch(sink.url, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
        await response.arrayBuffer();
        if (response.ok) {
          this.delivered.push({ id: event.id, type: event.eventType, subject: event.subject, writtenAt: event.eventTime, deliveredAt: new Date().toISOString() });
          return;
        }
      } catch {
        // Event Grid retries on connection failures too.
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}
