/**
 * The one use case behind the Event Grid function, the re-check queue and the sweep:
 * re-read a resource from ARM (the event is only a hint), record what changed, judge it and
 * whatever depends on it, and turn changed verdicts into finding transitions and outbox alerts.
 *
 * Order of writes, so that no transition is lost or alerted twice under retries:
 *   snapshot (content-addressed, idempotent) → outbox rows (deterministic ids, insert-if-absent)
 *   → findings (conditional on revision). A retry after a crash recomputes the same transitions,
 *   hence the same alert ids; a duplicate event finds nothing changed and transitions nothing.
 */
import type { Logger } from "pino";
import { galleryOf, parentOf, type ResourceId } from "./domain/resourceId.js";
import {
  isSettled,
  type GallerySnapshot,
  type ImageDefinitionSnapshot,
  type ImageVersionSnapshot,
  type ScaleSetSnapshot,
  type Snapshot,
} from "./domain/snapshots.js";
import type { Evaluation, FindingRuleId, FindingTransition, RuleResult } from "./domain/findings.js";
import type { Policy } from "./domain/policy.js";
import type { RelatedResources } from "./domain/rules/related.js";
import { evaluateSubject } from "./domain/evaluate.js";
import { computeTransitions, resolveAllFor } from "./domain/transitions.js";
import { readAccessViolation } from "./domain/rules/readAccess.js";
import { contentHashOf } from "./storage/contentHash.js";
import { ArmReadError, ConcurrentUpdateError } from "./errors.js";
import type { Attribution, Dependencies, Trigger } from "./ports.js";

export interface CheckSettings {
  readonly policy: Policy;
  readonly portalUrl: string;
  readonly recheckDelaySeconds: number;
  readonly recheckMaxAttempts: number;
}

export type CheckStatus = "evaluated" | "deferred" | "deleted" | "blindSpot";

export interface CheckOutcome {
  readonly resourceId: string;
  readonly status: CheckStatus;
  /** A new history snapshot was written. */
  readonly changed: boolean;
  readonly transitions: readonly FindingTransition[];
}

/** Re-read `id` and act on what ARM says now. Throws ArmReadError when the platform should retry. */
export async function checkResource(deps: Dependencies, settings: CheckSettings, id: ResourceId, trigger: Trigger): Promise<CheckOutcome> {
  const outcome = await deps.arm.read(id);
  const now = deps.clock.now();
  const observedAt = now.toISOString();
  const attribution = attributionOf(trigger);

  switch (outcome.status) {
    case "throttled":
      throw new ArmReadError("throttled", "read", id.display, outcome.message, outcome.retryAfterMs);
    case "failed":
      throw new ArmReadError("failed", "read", id.display, outcome.message, undefined, { cause: outcome.cause });
    case "noAccess": {
      await deps.resources.recordChange({ resourceKey: id.key, resourceId: id.display, action: "noAccess", observedAt, trigger });
      const evaluation: Evaluation = {
        subjects: [id.key],
        rules: ["read-access"],
        results: [{ violation: readAccessViolation(id, outcome.message, settings.portalUrl) }],
        evaluatedAt: observedAt,
      };
      const transitions = await settle(deps, evaluation, attribution);
      return { resourceId: id.display, status: "blindSpot", changed: false, transitions };
    }
    case "gone": {
      await deps.resources.recordDeletion(id, observedAt, trigger);
      const stored = await deps.findings.forResource(id.key);
      const transitions = await persist(deps, resolveAllFor(stored, id.key, observedAt, "resource deleted"), attribution);
      // What depended on it is judged again: `latest` may fall back, a gallery may hold no specialized definition any more.
      transitions.push(...(await evaluateDependents(deps, settings, id, now, attribution)));
      return { resourceId: id.display, status: "deleted", changed: true, transitions };
    }
    case "found":
      break;
  }

  const snapshot = outcome.snapshot;
  if (!isSettled(snapshot)) {
    const attempt = trigger.source === "recheck" ? trigger.attempt : 0;
    if (attempt < settings.recheckMaxAttempts) {
      await deps.recheck.schedule(id, settings.recheckDelaySeconds, attempt + 1, attribution);
      await deps.resources.recordChange({ resourceKey: id.key, resourceId: id.display, action: "provisioning", observedAt, trigger });
      return { resourceId: id.display, status: "deferred", changed: false, transitions: [] };
    }
    deps.log.warn({ resourceId: id.display, provisioningState: snapshot.provisioningState, attempt }, "resource never settled; judging its current state");
  }

  const { changed } = await deps.resources.recordSnapshot({ snapshot, contentHash: contentHashOf(snapshot), observedAt, trigger });
  const transitions = await evaluateAndSettle(deps, settings, [await subjectWithRelated(deps, snapshot)], now, attribution);
  transitions.push(...(await evaluateDependents(deps, settings, id, now, attribution, snapshot)));
  return { resourceId: id.display, status: "evaluated", changed, transitions };
}

export interface Judged {
  readonly subject: Snapshot;
  readonly related: RelatedResources;
}

/** Evaluate subjects against the rules and settle the resulting transitions. */
export async function evaluateAndSettle(
  deps: Dependencies,
  settings: CheckSettings,
  judged: readonly Judged[],
  now: Date,
  attribution: Attribution | undefined,
): Promise<FindingTransition[]> {
  if (judged.length === 0) return [];
  const results: RuleResult[] = [];
  for (const { subject, related } of judged) results.push(...evaluateSubject(subject, related, settings.policy, now));
  const rules: FindingRuleId[] = [...settings.policy.enabledRules, "read-access"];
  const evaluation: Evaluation = { subjects: judged.map((j) => j.subject.id.key), rules, results, evaluatedAt: now.toISOString() };
  return settle(deps, evaluation, attribution);
}

async function settle(deps: Dependencies, evaluation: Evaluation, attribution: Attribution | undefined): Promise<FindingTransition[]> {
  const stored = (await Promise.all(evaluation.subjects.map((key) => deps.findings.forResource(key)))).flat();
  return persist(deps, computeTransitions(stored, evaluation), attribution);
}

async function persist(deps: Dependencies, transitions: FindingTransition[], attribution: Attribution | undefined): Promise<FindingTransition[]> {
  if (transitions.length === 0) return transitions;
  const alerts = transitions
    .filter((t) => t.alert)
    .map((t) => ({ alertId: alertIdOf(t), transition: t, ...(attribution ? { attribution } : {}) }));
  const alertIds = alerts.map((a) => a.alertId);
  if (alerts.length > 0) await deps.outbox.enqueue(alerts, deps.clock.now().toISOString());
  try {
    await deps.findings.apply(transitions);
  } catch (error) {
    // Another invocation judged this resource at the same time and won: our transitions did not happen.
    if (error instanceof ConcurrentUpdateError) await deps.outbox.discard(alertIds);
    throw error;
  }
  if (alerts.length > 0) await deps.outbox.release(alerts, deps.clock.now().toISOString());
  logTransitions(deps.log, transitions);
  return transitions;
}

/** Deterministic: the same transition recomputed after a retry gets the same id. */
export function alertIdOf(t: FindingTransition): string {
  return `${t.fingerprint}:${t.after.revision}`;
}

/** The related resources a subject is judged with: parents from ARM (cached per inventory), siblings from the store. */
export async function subjectWithRelated(deps: Dependencies, subject: Snapshot): Promise<Judged> {
  switch (subject.kind) {
    case "gallery": {
      const definitions = await collect(deps.arm.listImageDefinitions(subject.id));
      for (const d of definitions) await recordQuietly(deps, d);
      return { subject, related: { definitions, versions: [] } };
    }
    case "imageDefinition":
      return { subject, related: { definitions: [], versions: [], gallery: await currentGallery(deps, subject.id) } };
    case "imageVersion": {
      const definition = await readParentDefinition(deps, subject.id);
      return { subject, related: { definitions: [], versions: [], ...(definition ? { definition } : {}), gallery: await currentGallery(deps, subject.id) } };
    }
    case "scaleSet":
      return { subject, related: await scaleSetRelated(deps, subject) };
  }
}

/**
 * Resources whose verdict depends on `id`: a version changes what `latest` means for the scale sets
 * following its definition; a definition changes whether its gallery holds specialized images.
 */
async function evaluateDependents(
  deps: Dependencies,
  settings: CheckSettings,
  id: ResourceId,
  now: Date,
  attribution: Attribution | undefined,
  snapshot?: Snapshot,
): Promise<FindingTransition[]> {
  const judged: Judged[] = [];
  if (id.kind === "imageVersion" || id.kind === "imageDefinition") {
    const definitionId = id.kind === "imageVersion" ? parentOf(id)! : id;
    const followers = await deps.resources.scaleSetsReferencing(definitionId.key);
    if (followers.length > 0) {
      const definition = snapshot?.kind === "imageDefinition" ? snapshot : await readParentDefinition(deps, id, definitionId);
      const versions = await collect(deps.arm.listImageVersions(definitionId));
      for (const scaleSet of followers) judged.push({ subject: scaleSet, related: { definitions: [], versions, ...(definition ? { definition } : {}) } });
    }
  }
  if (id.kind === "imageDefinition") {
    const gallery = await currentGallery(deps, id);
    if (gallery) {
      const definitions = (await deps.resources.definitionsOf(gallery.id.key)).filter((d) => d.id.key !== id.key);
      if (snapshot?.kind === "imageDefinition") definitions.push(snapshot);
      judged.push({ subject: gallery, related: { definitions, versions: [] } });
    }
  }
  return evaluateAndSettle(deps, settings, judged, now, attribution);
}

async function scaleSetRelated(deps: Dependencies, scaleSet: ScaleSetSnapshot): Promise<RelatedResources> {
  const ref = scaleSet.imageReference;
  const definitionId = ref.kind === "definition" ? ref.definitionId : ref.kind === "version" ? parentOf(ref.versionId) : undefined;
  if (!definitionId) return { definitions: [], versions: [] };
  const definitionRead = await deps.arm.readImageDefinition(definitionId);
  const definition = definitionRead.status === "found" ? definitionRead.snapshot : undefined;
  const versions = ref.kind === "definition" ? await collect(deps.arm.listImageVersions(definitionId)) : [];
  return { definitions: [], versions, ...(definition ? { definition } : {}) };
}

async function readParentDefinition(deps: Dependencies, id: ResourceId, definitionId = parentOf(id)): Promise<ImageDefinitionSnapshot | undefined> {
  if (!definitionId) return undefined;
  const read = await deps.arm.readImageDefinition(definitionId);
  if (read.status === "found") return read.snapshot;
  if (read.status === "throttled" || read.status === "failed") {
    throw new ArmReadError(read.status, "read", definitionId.display, read.message);
  }
  return undefined;
}

async function currentGallery(deps: Dependencies, id: ResourceId): Promise<GallerySnapshot | undefined> {
  const galleryId = galleryOf(id);
  if (!galleryId) return undefined;
  const stored = await deps.resources.current(galleryId.key);
  if (stored?.kind === "gallery") return stored;
  const read = await deps.arm.readGallery(galleryId);
  if (read.status !== "found") return undefined;
  await recordQuietly(deps, read.snapshot); // the next event under this gallery finds it in the store
  return read.snapshot;
}

/** Keep the store's view of siblings current when we list them anyway (hash-deduplicated, so cheap). */
async function recordQuietly(deps: Dependencies, snapshot: GallerySnapshot | ImageDefinitionSnapshot | ImageVersionSnapshot): Promise<void> {
  await deps.resources.recordSnapshot({
    snapshot,
    contentHash: contentHashOf(snapshot),
    observedAt: deps.clock.now().toISOString(),
    trigger: { source: "sweep", runId: "read-as-related" },
  });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function attributionOf(trigger: Trigger): Attribution | undefined {
  return trigger.source === "event" ? trigger.attribution : trigger.source === "recheck" ? trigger.attribution : undefined;
}

function logTransitions(log: Logger, transitions: readonly FindingTransition[]): void {
  for (const t of transitions) {
    log.info({ fingerprint: t.fingerprint, ruleId: t.after.ruleId, resourceId: t.after.resourceId, transition: t.kind, severity: t.after.severity }, `finding ${t.kind}`);
  }
}
