/**
 * Admission: which check of a resource runs, and which read it may take — everything between an
 * event (or a queued re-check) and the one judging use case (checkResource.ts), there for
 * throughput and nothing else. One event in, at most one judgement out:
 * - a second delivery of an event this process took is covered by what the first led to;
 * - a write that an answer judged in this process covers (ARM dated it well after the write,
 *   domain/coverage.ts) folds into that check: one change row, no read, no judgement;
 * - a write that a read already answered covers (a definition's listing ARM dated well after it)
 *   is judged with that answer, with no request and no gate;
 * - while reads are short, a resource gallery-watch has not recorded is put off once, however
 *   many events it gets;
 * - otherwise the coalescing gate (localCoalescing.ts in front of the shared one) lets the check
 *   run, or folds the event into a check under way and its one follow-up.
 * The rules on which clocks decide coverage are written once: ours in localCoalescing.ts, ARM's
 * in domain/coverage.ts.
 */
import { parentOf, type ResourceId } from "../domain/resourceId.js";
import { coveredOnArmClock, writtenAt } from "../domain/coverage.js";
import { resourceType } from "../domain/resourceTypes.js";
import { attributionOf, checkResource, deletedBy, type CheckOutcome, type CheckSettings } from "./checkResource.js";
import type { Dependencies, Trigger } from "./ports.js";

/**
 * The event and re-check paths: `checkResource` behind the coalescing gate. The first event of a
 * quiet resource is checked at once; events arriving while a check is under way (on any instance)
 * are recorded for attribution and folded into one follow-up check after the window.
 */
export async function checkCoalesced(deps: Dependencies, settings: CheckSettings, id: ResourceId, trigger: Trigger): Promise<CheckOutcome> {
  // Event Grid delivers at least once: a second delivery of an event this process took is covered
  // by whatever the first led to, and its change row would repeat the first's (rows are keyed by event id).
  const eventId = trigger.source === "event" ? trigger.attribution.eventId : undefined;
  if (eventId !== undefined && deps.gate.redelivered(eventId)) return { resourceId: id.display, status: "coalesced", changed: false, transitions: [] };
  try {
    return await checkTaken(deps, settings, id, trigger);
  } catch (error) {
    if (eventId !== undefined) deps.gate.forget(eventId);
    throw error;
  }
}

async function checkTaken(deps: Dependencies, settings: CheckSettings, id: ResourceId, trigger: Trigger): Promise<CheckOutcome> {
  const written = trigger.source === "event" ? writtenAt(trigger.attribution.eventTime) : Infinity;
  // A check in this process judged (or is judging) an answer ARM dated well after this write: the
  // write is in it, so the event is folded into that check, as into one waiting for its read. A
  // late delivery (a backlog behind a storm or a burst) costs one change row, not a read and a
  // judgement. A delete goes on to be judged: history keeps it as a deletion.
  if (!deletedBy(trigger) && deps.gate.answered(id.key, written)) {
    await deps.resources.recordChange({ resourceKey: id.key, resourceId: id.display, action: "coalesced", observedAt: deps.clock.now().toISOString(), trigger });
    return { resourceId: id.display, status: "coalesced", changed: false, transitions: [] };
  }
  // ARM already answered a read of it (a definition's listing) dated well after this write: judged
  // with that answer now, with no request and no gate (a late delivery in a burst). A concurrent
  // check cannot be undone by it: the answer is recorded as observed when that read went out.
  const armTime = deps.arm.answeredAt?.(id, written);
  if (armTime !== undefined) {
    const done = deps.gate.judgingAnswer(id.key, armTime);
    let outcome: CheckOutcome | undefined;
    try {
      return (outcome = await checkResource(deps, settings, id, trigger, {}, { answeredBy: (_sentAt, at) => coveredOnArmClock(at, written) }));
    } finally {
      done(outcome?.armTime !== undefined);
    }
  }
  // Before the gate: an event put off costs one storage read and one queue message, nothing more.
  // (A re-check put off leaves the gate's row as it is: it stands for the re-check it queues.)
  const turn = await waitsItsTurn(deps, id, trigger);
  if (turn === "queued") return { resourceId: id.display, status: "deferred", changed: false, transitions: [] };
  const now = deps.clock.now().toISOString();
  if (turn === "folded") {
    // A re-check this process queued for it is pending: it reads after this event arrived.
    await deps.resources.recordChange({ resourceKey: id.key, resourceId: id.display, action: deletedBy(trigger) ? "deleted" : "coalesced", observedAt: now, trigger });
    return { resourceId: id.display, status: "coalesced", changed: false, transitions: [] };
  }
  const putOff = deps.gate.release(id.key, trigger.source === "recheck" ? trigger.attribution?.eventId : undefined);
  const queued = trigger.source === "recheck";
  const entry = queued ? { kind: "run" as const, token: await deps.gate.takeOver(id.key, now, putOff) } : await deps.gate.enter(id.key, now, trigger.source === "event" ? trigger.attribution.eventTime : undefined);
  if (entry.kind === "coalesced") {
    // A delete folded into a check is still a deletion ARM reported: history keeps it as one, even
    // if the follow-up finds the resource re-created.
    await deps.resources.recordChange({ resourceKey: id.key, resourceId: id.display, action: deletedBy(trigger) ? "deleted" : "coalesced", observedAt: now, trigger });
    if (entry.queueFollowUp) await deps.recheck.schedule(id, settings.coalesceWindowSeconds ?? 2, 0, attributionOf(trigger));
    return { resourceId: id.display, status: "coalesced", changed: false, transitions: [] };
  }
  let outcome: CheckOutcome;
  try {
    // Events that arrive before the read goes out (it may wait for the budget) are covered by it (localCoalescing.ts).
    const hooks = { sending: () => void deps.gate.reading(id.key, entry.token), answeredBy: (sentAt: number, armTime?: number) => deps.gate.reading(id.key, entry.token, sentAt, armTime), patient: queued };
    outcome = await checkResource(deps, settings, id, trigger, {}, hooks);
  } catch (error) {
    // The platform retries this event or message; the gate must not hold later events back meanwhile.
    await deps.gate.leave(id.key, entry.token, "failed").catch(() => undefined);
    throw error;
  }
  await deps.gate.leave(id.key, entry.token, outcome.status === "deferred" ? "pending" : "done", outcome.armTime);
  return outcome;
}

/** Times a resource gallery-watch has not recorded is put off while reads are short, 5 s each, before it is read anyway. */
const MAX_PUT_OFF = 6;
const PUT_OFF_SECONDS = 5;

/**
 * While the read budget is down to its reserve, an event for a resource gallery-watch has not
 * recorded (a new one, or noise: an event for something ARM never showed) does not wait for a
 * read inside its invocation, holding one of the instance's few invocation slots: it is re-checked
 * a little later through the queue, so the reads and slots left go to resources it has recorded.
 * One exception: the re-check of a version whose definition is recorded goes ahead (below).
 * Asked only when reads are short, so an idle app pays no storage read for it.
 */
async function waitsItsTurn(deps: Dependencies, id: ResourceId, trigger: Trigger): Promise<"go" | "queued" | "folded"> {
  if (!deps.arm.readsShort?.(id.subscriptionId)) return "go";
  const attempt = trigger.source === "recheck" ? trigger.attempt : 0;
  if (attempt >= MAX_PUT_OFF || (await deps.resources.current(id.key)) !== undefined) return "go";
  // A version's re-check waits for a listing of its definition, shared with the versions put off
  // with it (shared/adapters/arm/versionBatches.ts): one listing answers a burst of new versions,
  // so it goes ahead rather than put itself off again and read alone later. Only under a recorded
  // definition: a version of one gallery-watch never saw (noise) cannot be listed, and is put off.
  const parent = parentOf(id);
  if (trigger.source === "recheck" && resourceType(id.kind).listedWithSiblings && parent && (await deps.resources.current(parent.key)) !== undefined) return "go";
  // One put-off re-check per resource stands for every event that arrives before it runs: a burst
  // of new versions, each delivered several times, costs one re-check (and one read) per version.
  if (!deps.gate.holdOff(id.key, PUT_OFF_SECONDS, trigger.source === "recheck", trigger.source === "event" ? trigger.attribution : undefined)) return "folded";
  await deps.recheck.schedule(id, PUT_OFF_SECONDS, attempt + 1, attributionOf(trigger));
  return "queued";
}
