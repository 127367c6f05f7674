/**
 * The sweep of one subscription: catches whatever events missed and re-judges the time-based
 * rules (end of life, exception expiry). It lists (galleries → definitions → versions, then scale
 * sets) and hands every listed resource to the same judging use case the events use
 * (`checkListed`), so the two paths cannot disagree. A gallery is read with one GET each, since
 * only `$select=Permissions` carries its sharing.
 *
 * Then it reconciles: every stored resource of the subscription that the listing did not return
 * is re-read by id; a 404 records the deletion ("found missing by the sweep") and resolves its
 * findings. Nothing under a listing that failed is reconciled: a run never resolves what it could
 * not read.
 *
 * One part that cannot be read does not stop the rest: it is retried a few times within the run
 * (honouring Retry-After), and what still failed is recorded on the run
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
 */
import pLimit from "p-limit";
import type { TransitionKind } from "./domain/findings.js";
import type { ResourceId } from "./domain/resourceId.js";
import type { Snapshot } from "./domain/snapshots.js";
import { checkListed, checkResource, type CheckOutcome, type CheckSettings } from "./checkResource.js";
import { ArmReadError, StorageError } from "./errors.js";
import type { Dependencies, SweepFailure, SweepRun, Trigger } from "./ports.js";

export interface SweepSettings extends CheckSettings {
  /** Attempts per part within one run (default 3). */
  readonly sweepAttempts?: number;
  /** Longest wait between attempts (default 30 s); a longer Retry-After makes the part a recorded failure. */
  readonly sweepMaxBackoffMs?: number;
  /** First wait between attempts when ARM gave no Retry-After (default 500 ms, doubling). */
  readonly sweepBackoffMs?: number;
  /** Resources judged at once (default 16); the ARM read budget paces the reads. */
  readonly sweepConcurrency?: number;
}

export async function sweepSubscription(deps: Dependencies, settings: SweepSettings, subscriptionId: string, runId: string): Promise<SweepRun> {
  const trigger: Trigger = { source: "sweep", runId };
  const startedAt = deps.clock.now().toISOString();
  const seen = new Set<string>();
  /** Id prefixes (lower-case) whose listing failed: nothing below them is reconciled. */
  const unlisted: string[] = [];
  const failures: SweepFailure[] = [];
  const counts = { galleries: 0, definitions: 0, versions: 0, scaleSets: 0 };
  const tally = { snapshotsWritten: 0, reconciled: 0 };
  const transitions: Partial<Record<TransitionKind, number>> = {};
  const attempts = Math.max(1, settings.sweepAttempts ?? 3);
  const maxBackoffMs = settings.sweepMaxBackoffMs ?? 30_000;
  const backoffMs = settings.sweepBackoffMs ?? 500;
  const snapshotOf = (status: SweepRun["status"], finishedAt?: string): SweepRun => ({
    runId,
    subscriptionId,
    startedAt,
    ...(finishedAt ? { finishedAt } : {}),
    status,
    seen: { ...counts },
    armRequests: deps.arm.requests(),
    ...tally,
    transitions: { ...transitions },
    failures: [...failures],
  });
  await deps.sweepRuns.record(snapshotOf("running"));

  /** Run `work` with bounded retries; false (and a recorded failure) when it still fails. */
  const isolated = async (resourceId: string, operation: string, work: () => Promise<void>): Promise<boolean> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await work();
        return true;
      } catch (error) {
        const retryable = (error instanceof ArmReadError && error.retryable) || error instanceof StorageError;
        const waitMs = error instanceof ArmReadError && error.retryAfterMs !== undefined ? error.retryAfterMs : backoffMs * 2 ** (attempt - 1);
        if (!retryable || attempt >= attempts || waitMs > maxBackoffMs) {
          const reason = error instanceof ArmReadError ? `${error.kind}: ${error.message}` : (error as Error).message;
          failures.push({ resourceId, operation, reason: reason.slice(0, 500) });
          deps.log.warn({ resourceId, operation, err: error }, `sweep could not read ${resourceId}; the rest of the run goes on`);
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  };
  const count = (outcome: CheckOutcome) => {
    if (outcome.changed && outcome.status === "evaluated") tally.snapshotsWritten++;
    for (const t of outcome.transitions) transitions[t.kind] = (transitions[t.kind] ?? 0) + 1;
  };
  const judge = (listed: Snapshot) => isolated(listed.id.display, "judge", async () => count(await checkListed(deps, settings, listed, trigger, { dependents: false })));
  /** List `scope`'s children; a listing that fails is recorded and keeps its subtree out of reconciliation. */
  const list = async <T extends Snapshot>(scope: string, operation: string, iterable: () => AsyncIterable<T>): Promise<T[]> => {
    let items: T[] = [];
    const ok = await isolated(scope, operation, async () => {
      items = [];
      for await (const item of iterable()) items.push(item);
    });
    if (!ok) unlisted.push(scope.toLowerCase());
    return items;
  };

  const subscriptionScope = `/subscriptions/${subscriptionId}`;
  // In parallel, paced by the ARM read budget (shared/arm/readBudget.ts) rather than by waiting on one request at a time.
  const judging = pLimit(settings.sweepConcurrency ?? 16);
  const galleries = pLimit(4);
  const sweepGallery = async (gallery: Snapshot) => {
    counts.galleries++;
    seen.add(gallery.id.key);
    await judging(() => judge(gallery));
    const definitions = await list(gallery.id.display, "galleryImages.listByGallery", () => deps.arm.listImageDefinitions(gallery.id));
    await Promise.all(
      definitions.map(async (definition) => {
        counts.definitions++;
        seen.add(definition.id.key);
        await judging(() => judge(definition));
        const versions = await judging(() => list(definition.id.display, "galleryImageVersions.listByGalleryImage", () => deps.arm.listImageVersions(definition.id)));
        await Promise.all(
          versions.map((version) => {
            counts.versions++;
            seen.add(version.id.key);
            return judging(() => judge(version));
          }),
        );
      }),
    );
  };
  const listedGalleries = await list(`${subscriptionScope}/providers/Microsoft.Compute/galleries`, "galleries.list", () => deps.arm.listGalleries(subscriptionId));
  await Promise.all(listedGalleries.map((gallery) => galleries(() => sweepGallery(gallery))));
  const scaleSets = await list(`${subscriptionScope}/providers/Microsoft.Compute/virtualMachineScaleSets`, "virtualMachineScaleSets.listAll", () => deps.arm.listScaleSets(subscriptionId));
  await Promise.all(
    scaleSets.map((scaleSet) => {
      counts.scaleSets++;
      seen.add(scaleSet.id.key);
      return judging(() => judge(scaleSet));
    }),
  );

  // Reconciliation: what the store holds but the listing did not return is re-read by id.
  const missing: ResourceId[] = [];
  await isolated(subscriptionScope, "reconcile", async () => {
    missing.length = 0;
    for await (const id of deps.resources.currentIn(subscriptionId)) if (!seen.has(id.key) && !underUnlisted(id, unlisted)) missing.push(id);
  });
  await Promise.all(
    missing.map((id) =>
      judging(() =>
        isolated(id.display, "reconcile", async () => {
          const outcome = await checkResource(deps, settings, id, trigger, { dependents: false });
          if (outcome.status === "deleted") tally.reconciled++;
          count(outcome);
        }),
      ),
    ),
  );

  const run = snapshotOf(failures.length === 0 ? "succeeded" : "partial", deps.clock.now().toISOString());
  await deps.sweepRuns.record(run);
  deps.log.info({ sweep: run }, `sweep of ${subscriptionId} done: ${run.status}`);
  return run;
}

/** Galleries list under `/providers/Microsoft.Compute/galleries`; scale sets likewise: match the id against each failed scope. */
function underUnlisted(id: ResourceId, unlisted: readonly string[]): boolean {
  return unlisted.some((scope) => {
    if (scope.endsWith("/providers/microsoft.compute/galleries")) return id.kind !== "scaleSet";
    if (scope.endsWith("/providers/microsoft.compute/virtualmachinescalesets")) return id.kind === "scaleSet";
    return id.key.startsWith(`${scope}/`);
  });
}
