/**
 * Use case behind the Event Grid function: classify the delivered event, then re-read and judge
 * the resource it names. Bad and foreign events are acknowledged with one log line (returning,
 * not throwing, so Event Grid does not retry them for 24 h); ARM throttling and failures throw so
 * Event Grid retries the delivery.
 */
import { classifyEvent, subscriptionOf, type EventDisposition } from "./resourceEvent.js";
import { checkListed, checkResource, type CheckOutcome, type CheckSettings } from "./checkResource.js";
import { checkCoalesced } from "./admission.js";
import type { FindingTransition } from "../domain/findings.js";
import type { Attribution, Dependencies } from "./ports.js";
import type { ResourceId } from "../domain/resourceId.js";
import { pathTo } from "../domain/access.js";
import { kindsJudgedAgainAfter } from "../domain/resourceTypes.js";
import type { Snapshot } from "../domain/snapshots.js";
import pLimit from "p-limit";

/** Stored resources of a deleted group re-read (or reached by a role assignment judged again) at once (each is an ARM read or two through the read budget). */
const GROUP_DELETE_CONCURRENCY = 8;

export interface EventSettings extends CheckSettings {
  readonly maxEventBytes: number;
  /** Lower-case subscription ids: events about any other subscription are ignored (no ARM read, no change row, no card). */
  readonly watchedSubscriptions: ReadonlySet<string>;
}

export interface EventResult {
  readonly disposition: EventDisposition["kind"];
  /** Why an accepted-looking event was ignored anyway: it names a subscription nobody watches. */
  readonly unwatched?: true;
  readonly outcome?: CheckOutcome;
  /** The accepted event's attribution: its alerts were staged with it (their storm group names its caller). */
  readonly attribution?: Attribution;
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
  const subscriptionId = subscriptionOf(event);
  if (!settings.watchedSubscriptions.has(subscriptionId)) {
    // Stray or forged: judging it would spend ARM budget, storage and cards on something nobody asked to watch.
    deps.log.info({ eventDisposition: "ignored", eventId: event.attribution.eventId, reason: "subscription not watched" }, "event ignored: subscription not watched");
    return { disposition: "ignored", unwatched: true };
  }
  const log = deps.log.child({ correlationId: event.attribution.correlationId, eventId: event.attribution.eventId });
  const trigger = { source: "event", attribution: event.attribution } as const;
  if (event.action === "resourceGroupDelete") {
    // Azure sends one event for the group and none for what it held: re-read each stored resource under it.
    const { resourceGroup } = event;
    const transitions: FindingTransition[] = [];
    let deleted = 0;
    // Listed first: recording a gallery or definition deleted must not hide what lies under it from the walk.
    const stored: ResourceId[] = [];
    for await (const id of deps.resources.currentIn(resourceGroup.subscriptionId, resourceGroup.resourceGroup)) stored.push(id);
    // Side by side (bounded): one at a time, a group holding a few galleries took longer than the
    // seconds a person expects between `az group delete` and the resolutions.
    const limit = pLimit(GROUP_DELETE_CONCURRENCY);
    const outcomes = await Promise.all(stored.map((id) => limit(() => checkResource({ ...deps, log }, settings, id, trigger))));
    for (const outcome of outcomes) {
      if (outcome.status === "deleted") deleted++;
      transitions.push(...outcome.transitions);
    }
    log.info({ eventDisposition: "accepted", resourceGroup: resourceGroup.resourceGroup, deleted, transitions: transitions.length }, "event processed: resource group deleted");
    return { disposition: "accepted", attribution: event.attribution, outcome: { resourceId: `/subscriptions/${resourceGroup.subscriptionId}/resourceGroups/${resourceGroup.resourceGroup}`, status: "deleted", changed: deleted > 0, transitions } };
  }
  if (event.action === "scopeChange") {
    // A role assignment written or deleted: who can use the stored images it reaches has changed.
    // Each is judged again as stored (no re-read of the resource; its access is read anew).
    const kinds = new Set(kindsJudgedAgainAfter(event.attribution.operationName ?? ""));
    const reached: Snapshot[] = [];
    for await (const id of deps.resources.currentIn(event.subscriptionId, event.resourceGroup)) {
      // At, above or below: an assignment on a version counts for its definition too.
      if (!kinds.has(id.kind) || pathTo(event.scope, id.display) === undefined) continue;
      const stored = await deps.resources.current(id.key);
      // Who can use a generalized image is nobody's concern here: only specialized (or unknown) ones are judged.
      if (stored && !("osState" in stored && stored.osState === "Generalized")) reached.push(stored);
    }
    const limit = pLimit(GROUP_DELETE_CONCURRENCY);
    const outcomes = await Promise.all(reached.map((subject) => limit(() => checkListed({ ...deps, log }, settings, subject, trigger, { dependents: false, fromStore: true }))));
    const transitions = outcomes.flatMap((o) => o.transitions);
    log.info({ eventDisposition: "accepted", scope: event.scope, judged: reached.length, transitions: transitions.length }, `event processed: ${event.attribution.operationName ?? "scope change"}`);
    return { disposition: "accepted", attribution: event.attribution, outcome: { resourceId: event.scope, status: "evaluated", changed: false, transitions } };
  }
  const outcome = await deps.telemetry.withSpan("gallerywatch.event", { correlationId: event.attribution.correlationId, eventId: event.attribution.eventId, resourceId: event.resourceId.display }, () =>
    checkCoalesced({ ...deps, log }, settings, event.resourceId, trigger),
  );
  log.info(
    { eventDisposition: "accepted", resourceId: outcome.resourceId, status: outcome.status, changed: outcome.changed, transitions: outcome.transitions.length },
    `event processed: ${event.action} ${event.resourceId.kind}`,
  );
  return { disposition: "accepted", attribution: event.attribution, outcome };
}
