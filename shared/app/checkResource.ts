/**
 * The one judging use case, behind the Event Grid function, the re-check queue and the sweep:
 * take what ARM says about a resource now (the event is only a hint), record what changed, judge
 * it and whatever depends on it, and turn changed verdicts into finding transitions and alerts.
 *
 * One failure policy for every ARM read, the subject's and its related resources', in `conclude`:
 *   found → judge with it · gone → judge without it · no access → a blind-spot finding, and the
 *   rules that needed it reach no verdict · throttled / failed → throw (the platform retries), so
 *   no verdict is ever computed from partial information.
 *
 * Order of writes, so that no transition is lost or alerted twice under retries:
 *   snapshot (content-addressed, idempotent) and staged outbox rows (deterministic ids,
 *   insert-if-absent), side by side → findings (conditional on revision) → outbox rows released. A retry after a crash recomputes the same transitions,
 *   hence the same alert ids; a duplicate event finds nothing changed and transitions nothing.
 */
import type { Logger } from "pino";
import { enclosingOf, galleryOf, parentOf, type ResourceId } from "../domain/resourceId.js";
import { resourceType, runsVersions } from "../domain/resourceTypes.js";
import { isMachine, isSettled, referencedDefinitionId, runningVersionKey, type ImageDefinitionSnapshot, type ImageVersionSnapshot, type Snapshot } from "../domain/snapshots.js";
import type { Caller, Evaluation, Finding, FindingRuleId, FindingTransition } from "../domain/findings.js";
import type { Policy } from "../domain/policy.js";
import type { RelatedResources } from "../domain/rules/related.js";
import { evaluateSubject } from "../domain/evaluate.js";
import { callerOfTrigger, exceptionSetter, exceptionTagsOf, tagValue, type ExceptionSetters } from "../domain/exceptions.js";
import { computeTransitions, resolveAllFor } from "../domain/transitions.js";
import { readAccessViolation } from "../domain/rules/readAccess.js";
import { blindSpotViolation, undecidableRules } from "../domain/judgeable.js";
import { contentHashOf } from "../domain/contentHash.js";
import { ArmReadError, ConcurrentUpdateError } from "../domain/errors.js";
import type { Attribution, Dependencies, ReadHooks, ReadOutcome, Trigger } from "./ports.js";

export interface CheckSettings {
  readonly policy: Policy;
  /** Events for one resource within this window lead to one re-read and one judgement (the first runs at once). */
  readonly coalesceWindowSeconds?: number;
  readonly portalUrl: string;
  readonly recheckDelaySeconds: number;
  readonly recheckMaxAttempts: number;
}

/** `notFound`: ARM has never shown the resource and still does not: dropped, nothing recorded. */
export type CheckStatus = "evaluated" | "deferred" | "deleted" | "blindSpot" | "coalesced" | "notFound";

export interface CheckOutcome {
  readonly resourceId: string;
  readonly status: CheckStatus;
  /** A new history snapshot was written. */
  readonly changed: boolean;
  readonly transitions: readonly FindingTransition[];
  /** ARM's date (ms) on the answer judged, when ARM said and a verdict on it (or a newer one) is stored: it covers writes well before it. */
  readonly armTime?: number;
}

export interface CheckOptions {
  /**
   * Also judge what depends on the resource (the scale sets following a definition as `latest`,
   * the gallery holding a definition). The sweep judges everything itself and turns this off.
   */
  readonly dependents?: boolean;
  /** The listed snapshot is the stored one (a follower re-resolved, not re-read): judge it only while it is still the stored state. */
  readonly fromStore?: boolean;
  /**
   * With `dependents` off: a machine whose stored state changed still has the versions it runs
   * and ran judged again (`clones` counts it there), from the store. The sweep and the followers
   * of a definition re-resolved for `latest` use it.
   */
  readonly recount?: boolean;
  /** The resource whose change re-judges this one: under a group delete, versions in its group are not recounted (the group's walk records them gone). */
  readonly cause?: ResourceId;
}

/** Re-read `id` and act on what ARM says now. Throws ArmReadError when the platform should retry. */
export async function checkResource(deps: Dependencies, settings: CheckSettings, id: ResourceId, trigger: Trigger, options: CheckOptions = {}, hooks?: ReadHooks): Promise<CheckOutcome> {
  // The stored findings are needed whatever ARM answers: read them while ARM is read.
  const stored = deps.findings.forResource(id.key);
  stored.catch(() => undefined); // awaited in actOn; an ARM failure first must not leave it unhandled
  // A version is judged with its recorded definition (see contextOf): read beside ARM too.
  const recordedParent = id.kind === "imageVersion" && trigger.source !== "sweep" ? deps.resources.current(parentOf(id)!.key) : undefined;
  recordedParent?.catch(() => undefined);
  // One it has not recorded is read from ARM beside the version, not after it (the inventory keeps the answer for contextOf).
  void recordedParent?.then((r) => (r?.kind === "imageDefinition" ? undefined : deps.arm.readImageDefinition(parentOf(id)!))).catch(() => undefined);
  // A machine's version is judged again after it changes (`clones`): the one it ran before, as stored, too.
  const previous = runsVersions(id.kind) && (options.dependents !== false || options.recount) ? deps.resources.current(id.key) : undefined;
  previous?.catch(() => undefined);
  return actOn(deps, settings, id, await deps.arm.read(id, hooks), trigger, { ...options, ...(recordedParent ? { recordedParent } : {}), ...(previous ? { previous } : {}) }, stored);
}

/**
 * A resource as a listing returned it: judged exactly as an event's re-read would be. Listed
 * scale sets have their image resolved first; a listed gallery carries no sharing (ARM returns it
 * only to a GET with `$select=Permissions`), so galleries go through `checkResource`.
 */
export async function checkListed(deps: Dependencies, settings: CheckSettings, listed: Snapshot, trigger: Trigger, options: CheckOptions = {}): Promise<CheckOutcome> {
  if (listed.kind === "gallery") return checkResource(deps, settings, listed.id, trigger, options);
  const outcome: ReadOutcome<Snapshot> = isMachine(listed) ? await deps.arm.resolveImage({ ...listed, image: { outcome: "pending" } }) : { status: "found", snapshot: listed };
  // A follower re-resolved from the store is its own previous state; a listed machine's is read.
  const previous = runsVersions(listed.id.kind) && (options.dependents !== false || options.recount) ? (options.fromStore ? Promise.resolve(listed) : deps.resources.current(listed.id.key)) : undefined;
  return actOn(deps, settings, listed.id, outcome, trigger, { ...options, ...(options.fromStore ? { basis: contentHashOf(listed) } : {}), ...(previous ? { previous } : {}) });
}

/** What the rules may conclude from one read: the one place every ARM read outcome is mapped. */
type Conclusion<T> = { readonly kind: "known"; readonly value: T } | { readonly kind: "absent" } | { readonly kind: "blind"; readonly message: string };

function conclude<T>(outcome: ReadOutcome<T>, id: string): Conclusion<T> {
  switch (outcome.status) {
    case "found":
      return { kind: "known", value: outcome.snapshot };
    case "gone":
      return { kind: "absent" };
    case "noAccess":
      return { kind: "blind", message: outcome.message };
    case "throttled":
      throw new ArmReadError("throttled", "read", id, outcome.message, outcome.retryAfterMs);
    case "failed":
      throw new ArmReadError("failed", "read", id, outcome.message, undefined, { cause: outcome.cause });
  }
}

async function actOn(
  deps: Dependencies,
  settings: CheckSettings,
  id: ResourceId,
  outcome: ReadOutcome<Snapshot>,
  trigger: Trigger,
  options: CheckOptions & { readonly basis?: string; readonly recordedParent?: Promise<Snapshot | undefined>; readonly previous?: Promise<Snapshot | undefined> },
  stored: Promise<Finding[]> = deps.findings.forResource(id.key),
): Promise<CheckOutcome> {
  deps.telemetry.armRead(`${id.kind}.read`, outcome.status);
  const read = conclude(outcome, id.display);
  // ARM deletes a group's resources before it reports the group deleted; one still answering
  // `Deleting` then is going with the group, not present.
  const conclusion: Conclusion<Snapshot> = read.kind === "known" && options.dependents !== false && isGroupDelete(trigger) && read.value.provisioningState?.toLowerCase() === "deleting" ? { kind: "absent" } : read;
  const now = deps.clock.now();
  const observedAt = now.toISOString();
  const attribution = attributionOf(trigger);
  const dependents = options.dependents ?? true;

  if (conclusion.kind === "blind") {
    await deps.resources.recordChange({ resourceKey: id.key, resourceId: id.display, action: "noAccess", observedAt, trigger });
    const evaluation: Evaluation = { subjects: [id.key], rules: ["read-access"], results: [{ violation: readAccessViolation(id, conclusion.message, settings.portalUrl) }], evaluatedAt: observedAt };
    return { resourceId: id.display, status: "blindSpot", changed: false, transitions: await persist(deps, computeTransitions(await stored, evaluation), attribution) };
  }

  if (conclusion.kind === "absent") {
    const notYet = await notFoundYet(deps, id, trigger, attribution);
    if (notYet !== undefined) return { resourceId: id.display, status: notYet, changed: false, transitions: [] };
    await deps.resources.recordDeletion(id, observedAt, trigger);
    const transitions = await persist(deps, resolveAllFor(await stored, id.key, observedAt, deletionReason(trigger)), attribution);
    // What depended on it is judged again: `latest` may fall back, a gallery may hold no specialized definition any more,
    // a version runs on one machine fewer.
    if (dependents) transitions.push(...(await judgeDependents(deps, settings, id, trigger, false, await options.previous)));
    else if (options.recount) transitions.push(...(await recountVersions(deps, settings, trigger, await options.previous, undefined, options.cause ?? id)));
    return { resourceId: id.display, status: "deleted", changed: true, transitions };
  }

  const snapshot = conclusion.value;
  // An answer kept from an earlier read is recorded as observed then, so a newer stored state wins over it.
  const readAt = outcome.status === "found" && outcome.observedAt !== undefined && outcome.observedAt < observedAt ? outcome.observedAt : observedAt;
  // Only the event's own subject (or, for a group, what it held): a follower judged again because
  // of it (`dependents: false`) was not deleted.
  if (dependents && deletedBy(trigger)) {
    // ARM said it deleted the resource, and it is back (re-created within seconds, or this delete
    // event came late): history keeps the deletion, then records the resource as it is now. Its
    // findings stay with it: the re-created resource is judged below.
    await deps.resources.recordDeletion(id, observedAt, trigger);
  }
  if (!isSettled(snapshot)) {
    const attempt = trigger.source === "recheck" ? trigger.attempt : 0;
    if (attempt < settings.recheckMaxAttempts) {
      await deps.recheck.schedule(id, settings.recheckDelaySeconds, attempt + 1, attribution);
      await deps.resources.recordChange({ resourceKey: id.key, resourceId: id.display, action: "provisioning", observedAt, trigger });
      return { resourceId: id.display, status: "deferred", changed: false, transitions: [] };
    }
    deps.log.warn({ resourceId: id.display, provisioningState: snapshot.provisioningState, attempt }, "resource never settled; judging its current state");
  }

  // Recording the snapshot and judging (then staging the alerts) overlap: a staged alert is owed
  // to nobody until its finding is stored, and findings are stored only after the snapshot.
  const [{ changed, stale }, staged] = await Promise.all([
    deps.resources.recordSnapshot({ snapshot, contentHash: contentHashOf(snapshot), observedAt: readAt, trigger, ...(options.basis !== undefined ? { basis: options.basis } : {}) }),
    judge(deps, settings, snapshot, now, stored, trigger, options.recordedParent).then((verdict) => stage(deps, verdict, attribution)),
  ]);
  const dated = outcome.status === "found" && outcome.armTime !== undefined ? { armTime: outcome.armTime } : {};
  if (stale) {
    // A newer state is stored (and judged by whoever stored it): a verdict on this one would undo that.
    await deps.outbox.discard(staged.alerts.map((a) => a.alertId));
    return { resourceId: id.display, status: "evaluated", changed: false, transitions: [], ...dated };
  }
  const transitions = await commit(deps, staged);
  // After the subject's verdicts are stored, so a follower's card never precedes the cause's.
  if (dependents) transitions.push(...(await judgeDependents(deps, settings, id, trigger, changed, changed ? await options.previous : undefined, changed ? snapshot : undefined)));
  else if (options.recount && changed) transitions.push(...(await recountVersions(deps, settings, trigger, await options.previous, snapshot, options.cause ?? id)));
  return { resourceId: id.display, status: "evaluated", changed, transitions, ...dated };
}

/**
 * Seconds between re-reads of a resource ARM answered 404 for right after an event said it was
 * written: a stored resource (gallery-watch has seen it) gets three, ≈ 17 s in all, before the
 * 404 is taken as a deletion; one ARM has never shown gets one, at low priority, then is dropped.
 */
const NOT_FOUND_RECHECKS = { stored: [2, 5, 10], neverStored: [5] } as const;

/**
 * A 404 is a deletion only when a delete event, the sweep or a repeated 404 says so. ARM's reads
 * trail its writes: ARM keeps its data replicated across regions (Learn: "Reliability in Azure
 * Resource Manager") and a read may be answered before the write reached the replica serving it.
 * Microsoft's own tooling retries `ResourceNotFound` for that reason (Learn: "@retryOn decorator
 * in Bicep": "transient errors ... such as replication delays that resolve after one or more
 * retries"; "Resolve errors for resource not found").
 * Returns the status to report while re-checks are owed, or undefined when the 404 stands.
 */
async function notFoundYet(deps: Dependencies, id: ResourceId, trigger: Trigger, attribution: Attribution | undefined): Promise<CheckStatus | undefined> {
  if (trigger.source === "sweep" || attribution === undefined) return undefined;
  if (/DeleteSuccess$/i.test(attribution.eventType)) return undefined;
  const attempt = trigger.source === "recheck" ? trigger.attempt : 0;
  const stored = (await deps.resources.current(id.key)) !== undefined;
  const delays = stored ? NOT_FOUND_RECHECKS.stored : NOT_FOUND_RECHECKS.neverStored;
  const delay = delays[attempt];
  if (delay !== undefined) {
    await deps.recheck.schedule(id, delay, attempt + 1, attribution);
    return "deferred";
  }
  if (stored) return undefined;
  // Never shown by ARM, and still not: noise (or a forgery). Counted, one log line, no rows.
  deps.telemetry.eventHandled("ignored", "resource never shown by ARM");
  deps.log.info({ resourceId: id.display, eventId: attribution.eventId, attempts: attempt + 1 }, "event dropped: its resource was never shown by ARM");
  return "notFound";
}

/** What a subject is judged with, read through the one failure policy. */
interface Context {
  readonly related: RelatedResources;
  /** Something the subject depends on that gallery-watch may not read. */
  readonly blind?: { readonly unreadable: string; readonly message: string };
}

/** The one place that decides what a resource's verdict depends on. */
async function contextOf(deps: Dependencies, subject: Snapshot, trigger: Trigger, policy: Policy, recordedParent?: Promise<Snapshot | undefined>): Promise<Context> {
  switch (subject.kind) {
    case "gallery": {
      try {
        return { related: { definitions: await collect(deps.arm.listImageDefinitions(subject.id)), versions: [] } };
      } catch (error) {
        if (error instanceof ArmReadError && error.kind === "noAccess") return { related: { definitions: [], versions: [] }, blind: { unreadable: `${subject.id.display}/images`, message: error.message } };
        throw error;
      }
    }
    case "imageDefinition": {
      // `broad-access`: who can use a specialized definition, from the role assignments at, above
      // and below it, read now (custom roles and assignments change; nothing is kept across invocations).
      if (subject.osState !== "Specialized" || deps.access === undefined || !policy.enabledRules.has("broad-access")) return { related: { definitions: [], versions: [] } };
      const outcome = await deps.access.readAccess(subject.id);
      deps.telemetry.armRead("roleAssignments.read", outcome.status);
      const read = conclude(outcome, subject.id.display);
      if (read.kind === "blind") return { related: { definitions: [], versions: [] }, blind: { unreadable: `${subject.id.display}/providers/Microsoft.Authorization/roleAssignments`, message: read.message } };
      return { related: { definitions: [], versions: [], ...(read.kind === "known" ? { access: read.value } : {}) } };
    }
    case "imageVersion": {
      const definitionId = parentOf(subject.id)!;
      // Events and re-checks judge a version with its definition as last recorded: every change to
      // the definition (its own event) is recorded and then re-judges its stored versions (see
      // judgeDependents), so no verdict outlives the definition state it was judged with. Only a
      // definition gallery-watch has not recorded is read; the sweep judges with what it listed.
      const recorded = trigger.source === "sweep" ? undefined : await (recordedParent ?? deps.resources.current(definitionId.key));
      let definition: ImageDefinitionSnapshot | undefined;
      if (recorded?.kind === "imageDefinition") definition = recorded;
      else {
        const read = conclude(await deps.arm.readImageDefinition(definitionId), definitionId.display);
        if (read.kind === "blind") return { related: { definitions: [], versions: [] }, blind: { unreadable: definitionId.display, message: read.message } };
        if (read.kind === "known") definition = read.value;
      }
      // `clones`: the machines running a specialized version, from the store's reference index (no ARM read).
      const machines = definition?.osState === "Specialized" ? await deps.resources.machinesReferencing(definitionId.key) : undefined;
      return { related: { definitions: [], versions: [], ...(definition ? { definition } : {}), ...(machines ? { machines } : {}) } };
    }
    default: {
      // A scale set or a VM: the definition of the image it runs, and that definition's versions
      // (`latest`, and the end of life of the version it runs).
      const image = subject.image;
      if (image.outcome === "noAccess") return { related: { definitions: [], versions: [] }, blind: { unreadable: image.definitionId, message: image.reason } };
      const definitionId = image.outcome === "resolved" ? referencedDefinitionId(subject) : undefined;
      if (definitionId === undefined) return { related: { definitions: [], versions: [] } };
      const read = conclude(await deps.arm.readImageDefinition(definitionId), definitionId.display);
      const definition: ImageDefinitionSnapshot | undefined = read.kind === "known" ? read.value : undefined;
      const versions: ImageVersionSnapshot[] = definition ? await collect(deps.arm.listImageVersions(definitionId)) : [];
      return { related: { definitions: [], versions, ...(definition ? { definition } : {}) } };
    }
  }
}

/** Judge one subject: the rules that can reach a verdict, plus its blind spot (or its absence). Nothing is written. */
async function judge(deps: Dependencies, settings: CheckSettings, subject: Snapshot, now: Date, findings: Promise<Finding[]>, trigger: Trigger, recordedParent?: Promise<Snapshot | undefined>): Promise<FindingTransition[]> {
  const [{ related, blind }, stored] = await Promise.all([contextOf(deps, subject, trigger, settings.policy, recordedParent), findings]);
  const undecided = undecidableRules(subject, related, blind !== undefined);
  const setters = await exceptionSetters(deps, subject, related, settings.policy, trigger);
  // A rule that cannot see its facts reaches no verdict: its results are dropped and it is left out of `rules`, so its stored finding stays as it was.
  const results = evaluateSubject(subject, related, settings.policy, now, setters).filter((r) => !undecided.has((r.violation ?? r.observation).ruleId as never));
  if (blind) results.push({ violation: blindSpotViolation(subject.id, blind.unreadable, blind.message, settings.portalUrl) });
  const rules: FindingRuleId[] = [...[...settings.policy.enabledRules].filter((r) => !undecided.has(r)), "read-access"];
  const caller = callerOfTrigger(trigger);
  return computeTransitions(stored, { subjects: [subject.id.key], rules, results, evaluatedAt: now.toISOString(), ...(caller ? { caller } : {}), exceptionApprovers: settings.policy.exceptionApprovers ?? [] });
}

/**
 * Records of a tag carrier's history read to find who set its exception tag: a few first (the
 * answer is almost always in the newest two or three), then up to the longer limit; a value held
 * through more changes than that has no known setter.
 */
const SETTER_HISTORY = [4, 20] as const;

/**
 * Who set the exception tags `subject` may be excepted by (its own, a version's definition's),
 * from each carrier's recorded history: one storage query per tag present, none without one.
 * The history may or may not hold this read's own snapshot yet (recorded side by side):
 * `exceptionSetter` reads the same setter either way.
 */
async function exceptionSetters(deps: Dependencies, subject: Snapshot, related: RelatedResources, policy: Policy, trigger: Trigger): Promise<ExceptionSetters> {
  const tags = exceptionTagsOf(subject, related, policy);
  if (tags.length === 0) return new Map();
  const found = await Promise.all(
    tags.map(async ({ carrier, tag, value }) => {
      // Only the subject was read because of this trigger: a tag new on another carrier was not set by its caller.
      const own = carrier.id.key === subject.id.key ? trigger : undefined;
      let setter: Caller | undefined;
      for (const limit of SETTER_HISTORY) {
        const history = await deps.resources.history(carrier.id.key, { limit });
        const complete = history.length < limit;
        setter = exceptionSetter(tag, value, history, own, complete);
        // Settled unless every record read holds the value and more may be stored.
        if (complete || history.some((r) => tagValue(r.snapshot.tags, tag) !== value)) break;
      }
      return [carrier.id.key, setter] as const;
    }),
  );
  return new Map(found);
}

/**
 * Resources whose verdict depends on `id`: a version or definition changes what `latest` means
 * for the scale sets and VMs following the definition; a definition changes whether its gallery
 * holds specialized images; a machine changes how many machines run a version (`clones`).
 * Followers are re-resolved from the store's reference index, not re-read.
 * `previous` / `now`: a machine's stored state before this change and after it (absent: deleted).
 */
async function judgeDependents(deps: Dependencies, settings: CheckSettings, id: ResourceId, trigger: Trigger, versionsToo: boolean, previous?: Snapshot, now?: Snapshot): Promise<FindingTransition[]> {
  const transitions: FindingTransition[] = [];
  // Which kinds depend on this one is declared in domain/resourceTypes.ts; how each is found is here.
  const dependents = resourceType(id.kind).dependents;
  // `az group delete`: what lies in the same group is being deleted and is re-read by the group's
  // walk itself; judging it again from the store meanwhile only races with its deletion (a version
  // recounted while its scale set was recorded deleted opened a false `clones`).
  const goingWithGroup = (other: ResourceId) => isGroupDelete(trigger) && sameGroup(other, id);
  if (dependents.includes("imageVersion") && versionsToo && resourceType("imageVersion").parent === id.kind) {
    // A version's verdict depends on its definition's tags (an exception tag there excepts the
    // versions): a changed definition re-judges its stored versions against the definition just
    // read, attributed to the same event (a Tags API write names who set the exception).
    for (const version of await deps.resources.versionsOf(id.key)) {
      if (goingWithGroup(version.id)) continue;
      transitions.push(...(await checkListed(deps, settings, version, trigger, { dependents: false, fromStore: true })).transitions);
    }
  }
  if (runsVersions(id.kind)) transitions.push(...(await recountVersions(deps, settings, trigger, previous, now, id)));
  if (dependents.includes("scaleSet") || dependents.includes("virtualMachine")) {
    const definitionId = enclosingOf(id, "imageDefinition")!;
    for (const follower of await deps.resources.machinesReferencing(definitionId.key)) {
      if (goingWithGroup(follower.id)) continue;
      // A follower now running another version moves a machine from one version's count to another's.
      transitions.push(...(await checkListed(deps, settings, follower, trigger, { dependents: false, fromStore: true, recount: true, cause: id })).transitions);
    }
  }
  if (dependents.includes("gallery") && !goingWithGroup(galleryOf(id)!)) {
    transitions.push(...(await checkResource(deps, settings, galleryOf(id)!, trigger, { dependents: false })).transitions);
  }
  return transitions;
}

/**
 * The stored versions a machine runs now and ran before its change: `clones` counts machines on
 * them from the store's reference index, which the change has just updated. Versions
 * gallery-watch has not recorded (another, unwatched subscription's) and generalized ones are left alone.
 */
async function recountVersions(deps: Dependencies, settings: CheckSettings, trigger: Trigger, previous: Snapshot | undefined, now: Snapshot | undefined, cause: ResourceId): Promise<FindingTransition[]> {
  const keys = new Set<string>();
  for (const machine of [previous, now]) {
    const key = machine && isMachine(machine) ? runningVersionKey(machine) : undefined;
    if (key) keys.add(key);
  }
  const transitions: FindingTransition[] = [];
  for (const key of keys) {
    for (let attempt = 1; ; attempt++) {
      const version = await deps.resources.current(key);
      // A generalized version has no `clones` to count: an autoscaling fleet on one costs this read only.
      if (version?.kind !== "imageVersion" || version.osState === "Generalized") break;
      // Deleted with the machine's group: the group's walk records it gone (see judgeDependents).
      if (isGroupDelete(trigger) && sameGroup(version.id, cause)) break;
      try {
        transitions.push(...(await checkListed(deps, settings, version, trigger, { dependents: false, fromStore: true })).transitions);
        break;
      } catch (error) {
        // Machines written at the same moment recount one version at once, and all but one lose the
        // findings' conditional write. This machine is recorded and indexed already, so it is judged
        // again from the store here: failing the event back to Event Grid would re-read the machine,
        // find it unchanged and never recount (its count would stay one short).
        if (!(error instanceof ConcurrentUpdateError) || attempt >= RECOUNT_ATTEMPTS) throw error;
      }
    }
  }
  return transitions;
}

/** Judgements of one version a machine's recount makes before a lost race is left to Event Grid's retry. */
const RECOUNT_ATTEMPTS = 5;

async function persist(deps: Dependencies, transitions: FindingTransition[], attribution: Attribution | undefined): Promise<FindingTransition[]> {
  return commit(deps, await stage(deps, transitions, attribution));
}

interface Staged {
  readonly transitions: FindingTransition[];
  readonly alerts: ReadonlyArray<{ alertId: string; transition: FindingTransition; attribution?: Attribution }>;
}

/** Write the alerts of `transitions` to the outbox as staged: owed to nobody until `commit` stores their findings. */
async function stage(deps: Dependencies, transitions: FindingTransition[], attribution: Attribution | undefined): Promise<Staged> {
  const alerts = transitions.filter((t) => t.alert).map((t) => ({ alertId: alertIdOf(t), transition: t, ...(attribution ? { attribution } : {}) }));
  if (alerts.length > 0) await deps.outbox.enqueue(alerts, deps.clock.now().toISOString());
  return { transitions, alerts };
}

/** Store the findings (conditional on their revisions), then release their alerts to the sender. */
async function commit(deps: Dependencies, { transitions, alerts }: Staged): Promise<FindingTransition[]> {
  if (transitions.length === 0) return transitions;
  try {
    await deps.findings.apply(transitions);
  } catch (error) {
    // Another invocation judged this resource at the same time and won: our transitions did not happen.
    if (error instanceof ConcurrentUpdateError) await deps.outbox.discard(alerts.map((a) => a.alertId));
    throw error;
  }
  if (alerts.length > 0) await deps.outbox.release(alerts, deps.clock.now().toISOString());
  logTransitions(deps.log, transitions);
  for (const t of transitions) deps.telemetry.findingTransition(t.kind, t.after.ruleId, t.after.severity);
  return transitions;
}

/** Deterministic: the same transition recomputed after a retry gets the same id. */
export function alertIdOf(t: FindingTransition): string {
  return `${t.fingerprint}:${t.after.revision}`;
}

/** An event announcing the resource's own deletion (or its group's), not a tag removal. */
export function deletedBy(trigger: Trigger): boolean {
  const operation = trigger.source === "event" ? (trigger.attribution.operationName ?? "") : "";
  return /\/delete$/i.test(operation) && !/\/tags\/delete$/i.test(operation);
}

/** Two resources in one resource group (ARM compares names case-insensitively). */
function sameGroup(a: ResourceId, b: ResourceId): boolean {
  return a.subscriptionId.toLowerCase() === b.subscriptionId.toLowerCase() && a.resourceGroup.toLowerCase() === b.resourceGroup.toLowerCase();
}

function isGroupDelete(trigger: Trigger): boolean {
  return /resourcegroups\/delete$/i.test(attributionOf(trigger)?.operationName ?? "");
}

function deletionReason(trigger: Trigger): string {
  if (trigger.source === "sweep") return "found missing by the sweep";
  return isGroupDelete(trigger) ? "resource group deleted" : "resource deleted";
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export function attributionOf(trigger: Trigger): Attribution | undefined {
  return trigger.source === "event" ? trigger.attribution : trigger.source === "recheck" ? trigger.attribution : undefined;
}

function logTransitions(log: Logger, transitions: readonly FindingTransition[]): void {
  for (const t of transitions) {
    log.info({ fingerprint: t.fingerprint, ruleId: t.after.ruleId, resourceId: t.after.resourceId, transition: t.kind, severity: t.after.severity }, `finding ${t.kind}`);
  }
}
