/**
 * Use case behind the `redriveDeadLetters` timer: dead letters are not the end.
 *
 * - Event Grid dead-letters an event it could not deliver (a refused delivery — 400, 401, 403, 404,
 *   413 — at once; anything else after its retry schedule: 30 attempts or 24 h). It lands as a blob
 *   in the subscription's dead-letter container
 *   (https://learn.microsoft.com/azure/event-grid/delivery-and-retry#dead-letter-events). Each one is
 *   re-driven through the very handler the Event Grid function uses (`handleResourceEvent`); the
 *   blob is deleted only once every event in it was handled. An event that still fails leaves its
 *   blob for the next run. The event is only a hint — the handler re-reads ARM — so a late
 *   re-drive converges on ARM's current state like any out-of-order delivery.
 * - The queue trigger moves a message that failed five times to `<queue>-poison`
 *   (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages).
 *   Each is put back on its queue once, marked; a marked message that comes back to the poison
 *   queue stays there, counted and logged with its message id, for a person to look at.
 *
 * Both are counted and raised as a log warning, so an alert rule on the logs sees them.
 */
import type { Logger } from "pino";
import { fromDeadLetteredEvent, type DeadLetterStore, type PoisonMessage, type PoisonQueues } from "./deadLetterPorts.js";
import type { EventResult } from "./handleResourceEvent.js";
import type { Clock } from "./ports.js";

export interface RedriveDependencies {
  readonly deadLetters: DeadLetterStore;
  readonly poison: PoisonQueues;
  /** Trigger queues whose `-poison` companions are swept (the re-check and sweep queues). */
  readonly queues: readonly string[];
  readonly clock: Clock;
  readonly log: Logger;
  /** The Event Grid function's handler: classify, re-read ARM, store, judge. */
  handle(event: unknown): Promise<EventResult>;
}

export interface RedriveOptions {
  /** Blobs per run, so one run stays bounded (default 100, read one at a time); the rest wait for the next run. */
  readonly maxBlobs?: number;
  /** Poison messages per queue per run (default 32, one receive). */
  readonly maxPoisonMessages?: number;
}

export interface RedriveReport {
  readonly deadLettered: {
    readonly container: string;
    /** Dead-lettered events found (in `blobs` blobs). */
    readonly found: number;
    readonly blobs: number;
    readonly redriven: number;
    readonly failed: number;
    /** Blobs that do not hold events (not JSON, too big): left in place and logged. */
    readonly unreadable: number;
    /** Found events by `deadLetterReason`. */
    readonly reasons: Readonly<Record<string, number>>;
  };
  readonly poison: ReadonlyArray<{ readonly queue: string; readonly found: number; readonly requeued: readonly string[]; readonly left: readonly string[] }>;
  /** Some re-driven event raised an alert: the caller sends the outbox now. */
  readonly alerted: boolean;
}

/** Marks a message this use case put back on its queue, so a second poisoning is not looped forever. */
export const REDRIVEN_MARK = "redrivenFromPoisonAt";

export async function redriveDeadLetteredEvents(deps: RedriveDependencies, options: RedriveOptions = {}): Promise<RedriveReport> {
  const container = deps.deadLetters.container;
  const names = await deps.deadLetters.list(options.maxBlobs ?? 100);
  const reasons: Record<string, number> = {};
  let found = 0;
  let redriven = 0;
  let failed = 0;
  let unreadable = 0;
  let alerted = false;
  for (const name of names) {
    const blob = await deps.deadLetters.read(name);
    if (!blob.events) {
      unreadable++;
      deps.log.error({ container, blob: name, reason: blob.unreadable }, `dead-letter blob '${name}' left in place: ${blob.unreadable ?? "unreadable"}`);
      continue;
    }
    let settled = true;
    for (const raw of blob.events) {
      found++;
      const { event, properties } = fromDeadLetteredEvent(raw);
      const reason = String(properties.deadLetterReason ?? "unknown").slice(0, 80);
      reasons[reason] = (reasons[reason] ?? 0) + 1;
      const eventId = typeof (event as { id?: unknown })?.id === "string" ? (event as { id: string }).id.slice(0, 128) : undefined;
      try {
        const result = await deps.handle(event);
        if (result.outcome?.transitions.some((t) => t.alert)) alerted = true;
        redriven++;
        deps.log.info({ container, blob: name, eventId, deadLetterReason: reason, disposition: result.disposition }, "dead-lettered event re-driven");
      } catch (error) {
        failed++;
        settled = false;
        deps.log.warn({ container, blob: name, eventId, err: error }, `re-driving dead-lettered event ${eventId ?? "(no id)"} failed; its blob stays for the next run`);
      }
    }
    if (settled) await deps.deadLetters.settle(name);
  }
  if (names.length > 0) {
    // The signal an alert rule keys on: dead letters mean Event Grid gave up on a delivery.
    deps.log.warn(
      { container, deadLettered: found, blobs: names.length, redriven, failed, unreadable, reasons },
      `${found} dead-lettered Event Grid event(s) found in container '${container}' (${Object.entries(reasons).map(([r, n]) => `${r}: ${n}`).join(", ") || "none readable"}): ${redriven} re-driven, ${failed} failed${unreadable ? `, ${unreadable} unreadable blob(s)` : ""}`,
    );
  }

  const poison: Array<RedriveReport["poison"][number]> = [];
  for (const queue of deps.queues) {
    const now = deps.clock.now().toISOString();
    const decide = (message: PoisonMessage): unknown => {
      const body = message.body;
      if (body === null || typeof body !== "object" || Array.isArray(body)) return undefined; // not ours to reshape
      if (REDRIVEN_MARK in body) return undefined; // poisoned again after one re-drive: a person has to look
      return { ...body, [REDRIVEN_MARK]: now };
    };
    const swept = await deps.poison.sweep(queue, options.maxPoisonMessages ?? 32, decide);
    poison.push({ queue, ...swept });
    if (swept.found > 0) {
      deps.log.warn(
        { queue: `${queue}-poison`, poisonMessages: swept.found, requeued: swept.requeued, left: swept.left },
        `${swept.found} message(s) in queue '${queue}-poison': re-enqueued ${swept.requeued.length} to '${queue}'${swept.requeued.length ? ` (${swept.requeued.join(", ")})` : ""}; left ${swept.left.length}${swept.left.length ? ` (${swept.left.join(", ")}: already re-driven once, or not JSON)` : ""}`,
      );
    }
  }

  return { deadLettered: { container, found, blobs: names.length, redriven, failed, unreadable, reasons }, poison, alerted };
}
