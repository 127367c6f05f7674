/**
 * Use case behind the Event Grid function: classify the delivered event, then re-read and judge
 * the resource it names. Bad and foreign events are acknowledged with one log line (returning,
 * not throwing, so Event Grid does not retry them for 24 h); ARM throttling and failures throw so
 * Event Grid retries the delivery.
 */
import { classifyEvent, type EventDisposition } from "./events/resourceEvent.js";
import { checkResource, type CheckOutcome, type CheckSettings } from "./checkResource.js";
import type { Dependencies } from "./ports.js";

export interface EventSettings extends CheckSettings {
  readonly maxEventBytes: number;
}

export interface EventResult {
  readonly disposition: EventDisposition["kind"];
  readonly outcome?: CheckOutcome;
}

export async function handleResourceEvent(deps: Dependencies, settings: EventSettings, raw: unknown): Promise<EventResult> {
  const disposition = await classifyEvent(raw, settings.maxEventBytes);
  if (disposition.kind === "invalid") {
    deps.log.warn({ eventDisposition: "invalid", eventId: disposition.eventId, reason: disposition.reason }, `event refused: ${disposition.reason}`);
    return { disposition: "invalid" };
  }
  if (disposition.kind === "ignored") {
    deps.log.info({ eventDisposition: "ignored", eventId: disposition.eventId, reason: disposition.reason }, "event ignored");
    return { disposition: "ignored" };
  }
  const { event } = disposition;
  const log = deps.log.child({ correlationId: event.attribution.correlationId, eventId: event.attribution.eventId });
  const outcome = await checkResource({ ...deps, log }, settings, event.resourceId, { source: "event", attribution: event.attribution });
  log.info(
    { eventDisposition: "accepted", resourceId: outcome.resourceId, status: outcome.status, changed: outcome.changed, transitions: outcome.transitions.length },
    `event processed: ${event.action} ${event.resourceId.kind}`,
  );
  return { disposition: "accepted", outcome };
}
