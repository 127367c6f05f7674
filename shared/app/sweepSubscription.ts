/**
 * The sweep of one subscription: catches whatever events missed and re-judges the time-based
 * rules (end of life, exception expiry). It lists (galleries → definitions → versions, and the
 * scale sets and VMs alongside) and hands every listed resource to the same judging use case the events
 * use (`checkListed`), so the two paths cannot disagree. A gallery is read with one GET each,
 * since only `$select=Permissions` carries its sharing.
 *
 * Listing runs in parallel up to the ARM read budget: the galleries, scale-set and VM lists
 * start together, every gallery's definitions are listed as the gallery arrives, and the versions
 * of many definitions are listed at once. At most `sweepListConcurrency` listings are open; the
 * client-side read budget (shared/adapters/arm/readBudget.ts, applied to every GET by
 * shared/adapters/arm/computeArmInventory.ts) paces their pages, so the sweep slows down before ARM's
 * 250-read bucket refilled at 25/s throttles it
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
 *
 * Memory stays bounded: each resource is queued for judgement as its page arrives, and the queue
 * holds at most `sweepQueueLimit` listed resources not yet judged. When judging falls that far
 * behind, a listing waits at its page (it asks ARM for the next page only when it goes on), so a
 * subscription is never collected in memory whatever its size.
 *
 * Then it reconciles: every stored resource of the subscription that the listing did not return
 * is re-read by id; a 404 records the deletion ("found missing by the sweep") and resolves its
 * findings. Nothing under a listing that failed is reconciled: a run never resolves what it could
 * not read.
 *
 * One part that cannot be read does not stop the rest: it is retried a few times within the run
 * (honouring Retry-After), and what still failed is recorded on the run, in the order the parts
 * began (so a run's record reads the same however the concurrent parts happened to finish).
 */
import { withRetries } from "../platform/retry.js";
import { resourceType, rootKindOf } from "../domain/resourceTypes.js";
import pLimit from "p-limit";
import type { TransitionKind } from "../domain/findings.js";
import type { ResourceId } from "../domain/resourceId.js";
import type { Snapshot } from "../domain/snapshots.js";
import { checkListed, checkResource, type CheckOutcome, type CheckSettings } from "./checkResource.js";
import { ArmReadError, StorageError } from "../domain/errors.js";
import type { Dependencies, SweepFailure, SweepRun, Trigger } from "./ports.js";

/** ARM listings open at once unless `sweepListConcurrency` says otherwise. */
export const DEFAULT_SWEEP_LIST_CONCURRENCY = 16;
/** Listed resources waiting for judgement unless `sweepQueueLimit` says otherwise. */
export const DEFAULT_SWEEP_QUEUE_LIMIT = 10_000;

export interface SweepSettings extends CheckSettings {
  /** Attempts per part within one run (default 3). */
  readonly sweepAttempts?: number;
  /** Longest wait between attempts (default 30 s); a longer Retry-After makes the part a recorded failure. */
  readonly sweepMaxBackoffMs?: number;
  /** First wait between attempts when ARM gave no Retry-After (default 500 ms, doubling). */
  readonly sweepBackoffMs?: number;
  /** Resources judged at once (default 16). */
  readonly sweepConcurrency?: number;
  /**
   * ARM listings open at once (default 16): the galleries, each gallery's definitions, each
   * definition's versions, the scale sets and the VMs, side by side. The read budget paces their pages.
   */
  readonly sweepListConcurrency?: number;
  /**
   * Listed resources waiting for judgement, at most (default 10,000: some 20 MB of snapshots).
   * Listing runs ahead of judging up to this many, so a subscription of that size is listed at
   * the read budget's pace; beyond it a listing waits at its page for judging to catch up.
   */
  readonly sweepQueueLimit?: number;
}

export async function sweepSubscription(deps: Dependencies, settings: SweepSettings, subscriptionId: string, runId: string): Promise<SweepRun> {
  const trigger: Trigger = { source: "sweep", runId };
  const startedAt = deps.clock.now().toISOString();
  /** Keys the listings returned: reconciliation re-reads the stored ones not among them. */
  const seen = new Set<string>();
  /** Id prefixes (lower-case) whose listing failed: nothing below them is reconciled. */
  const unlisted: string[] = [];
  /** With the order their part began in, so the record is in that order however the parts finish. */
  const failures: Array<{ readonly order: number; readonly failure: SweepFailure }> = [];
  const counts = { galleries: 0, definitions: 0, versions: 0, scaleSets: 0, virtualMachines: 0 };
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
    failures: [...failures].sort((a, b) => a.order - b.order).map((f) => f.failure),
  });
  await deps.sweepRuns.record(snapshotOf("running"));

  let parts = 0;
  /** Run `work` with bounded retries; false (and a recorded failure) when it still fails. `order`: when the part began. */
  const isolated = async (order: number, resourceId: string, operation: string, work: () => Promise<void>): Promise<boolean> => {
    try {
      await withRetries(work, { maxAttempts: attempts, baseDelayMs: backoffMs, maxDelayMs: maxBackoffMs }, { classify: sweepRetryable });
      return true;
    } catch (error) {
      const reason = error instanceof ArmReadError ? `${error.kind}: ${error.message}` : (error as Error).message;
      failures.push({ order, failure: { resourceId, operation, reason: reason.slice(0, 500) } });
      deps.log.warn({ resourceId, operation, err: error }, `sweep could not read ${resourceId}; the rest of the run goes on`);
      return false;
    }
  };
  const count = (outcome: CheckOutcome) => {
    if (outcome.changed && outcome.status === "evaluated") tally.snapshotsWritten++;
    for (const t of outcome.transitions) transitions[t.kind] = (transitions[t.kind] ?? 0) + 1;
  };

  const listings = pLimit(Math.max(1, settings.sweepListConcurrency ?? DEFAULT_SWEEP_LIST_CONCURRENCY));
  const judgeCount = Math.max(1, settings.sweepConcurrency ?? 16);
  const judging = pLimit(judgeCount);
  // Listed resources wait here for one of the judges: a plain FIFO of the snapshots (a task per
  // resource would cost more than the snapshot it judges), bounded so a listing waits when full.
  const queue = new BoundedQueue<{ readonly order: number; readonly listed: Snapshot }>(Math.max(1, settings.sweepQueueLimit ?? DEFAULT_SWEEP_QUEUE_LIMIT));
  const judges = Array.from({ length: judgeCount }, async () => {
    for (let next = await queue.take(); next; next = await queue.take()) {
      const { order, listed } = next;
      // `recount`: a machine whose stored state changed judges again the versions it runs and ran (`clones`).
      await isolated(order, listed.id.display, "judge", async () => count(await checkListed(deps, settings, listed, trigger, { dependents: false, recount: true })));
    }
  });
  const listingWork = new Pending();

  /** Queue a listed resource for judgement; waits (and with it the listing that found it) while the queue is full. */
  const judgeLater = (listed: Snapshot): Promise<void> => queue.put({ order: parts++, listed });
  /**
   * List `scope`'s children in the background, handing each on as its page arrives. A retried
   * listing hands on only what an earlier attempt did not; one that still fails is recorded and
   * keeps its subtree out of reconciliation. The listing slot is held per attempt, not across the
   * wait between attempts.
   */
  const list = <T extends Snapshot>(scope: string, operation: string, iterable: () => AsyncIterable<T>, onItem: (item: T) => Promise<void>): void => {
    const order = parts++;
    listingWork.add(
      (async () => {
        const ok = await isolated(order, scope, operation, () =>
          listings(async () => {
            for await (const item of iterable()) {
              if (seen.has(item.id.key)) continue;
              seen.add(item.id.key);
              await onItem(item);
            }
          }),
        );
        if (!ok) unlisted.push(scope.toLowerCase());
      })(),
    );
  };

  const subscriptionScope = `/subscriptions/${subscriptionId}`;
  list(`${subscriptionScope}/providers/Microsoft.Compute/galleries`, "galleries.list", () => deps.arm.listGalleries(subscriptionId), async (gallery) => {
    counts.galleries++;
    await judgeLater(gallery);
    list(gallery.id.display, "galleryImages.listByGallery", () => deps.arm.listImageDefinitions(gallery.id), async (definition) => {
      counts.definitions++;
      await judgeLater(definition);
      list(definition.id.display, "galleryImageVersions.listByGalleryImage", () => deps.arm.listImageVersions(definition.id), async (version) => {
        counts.versions++;
        await judgeLater(version);
      });
    });
  });
  list(`${subscriptionScope}/providers/Microsoft.Compute/virtualMachineScaleSets`, "virtualMachineScaleSets.listAll", () => deps.arm.listScaleSets(subscriptionId), async (scaleSet) => {
    counts.scaleSets++;
    await judgeLater(scaleSet);
  });
  list(`${subscriptionScope}/providers/Microsoft.Compute/virtualMachines`, "virtualMachines.listAll", () => deps.arm.listVirtualMachines(subscriptionId), async (vm) => {
    counts.virtualMachines++;
    await judgeLater(vm);
  });
  try {
    await listingWork.idle();
  } finally {
    queue.close();
    await Promise.all(judges);
  }

  // Reconciliation: what the store holds but the listing did not return is re-read by id.
  const missing: ResourceId[] = [];
  await isolated(parts++, subscriptionScope, "reconcile", async () => {
    missing.length = 0;
    for await (const id of deps.resources.currentIn(subscriptionId)) if (!seen.has(id.key) && !underUnlisted(id, unlisted)) missing.push(id);
  });
  await Promise.all(
    missing.map((id) => {
      const order = parts++;
      return judging(() =>
        isolated(order, id.display, "reconcile", async () => {
          const outcome = await checkResource(deps, settings, id, trigger, { dependents: false, recount: true });
          if (outcome.status === "deleted") tally.reconciled++;
          count(outcome);
        }),
      );
    }),
  );

  const run = snapshotOf(failures.length === 0 ? "succeeded" : "partial", deps.clock.now().toISOString());
  await deps.sweepRuns.record(run);
  deps.log.info({ sweep: run }, `sweep of ${subscriptionId} done: ${run.status}`);
  return run;
}

/** A sweep part is retried on a retryable ARM error (honouring its Retry-After) or a storage stall. */
function sweepRetryable(error: unknown): { retryable: boolean; retryAfterMs?: number } {
  if (error instanceof ArmReadError) return { retryable: error.retryable, ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}) };
  return { retryable: error instanceof StorageError };
}

/**
 * A subscription-level listing (`/providers/Microsoft.Compute/galleries`, `…/virtualMachineScaleSets`, `…/virtualMachines`)
 * covers every kind rooted at its type (resourceTypes.ts); a nested one, the ids under its scope.
 */
function underUnlisted(id: ResourceId, unlisted: readonly string[]): boolean {
  const root = `/providers/${resourceType(rootKindOf(id.kind)).armType.toLowerCase()}`;
  return unlisted.some((scope) => scope.endsWith(root) || id.key.startsWith(`${scope}/`));
}

/**
 * A FIFO of at most `limit` items: `put` waits while it is full, `take` while it is empty and
 * open, and answers undefined once it is closed and empty. Waiting putters are at most the open
 * listings, waiting takers at most the judges.
 */
class BoundedQueue<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  private closed = false;
  private readonly putters: Array<() => void> = [];
  private readonly takers: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  private get size(): number {
    return this.items.length - this.head;
  }
  async put(item: T): Promise<void> {
    while (this.size >= this.limit) await new Promise<void>((resolve) => this.putters.push(resolve));
    this.items.push(item);
    this.takers.shift()?.();
  }
  async take(): Promise<T | undefined> {
    for (;;) {
      if (this.size > 0) {
        const item = this.items[this.head];
        this.items[this.head++] = undefined;
        // Drop the taken prefix now and then, so the array holds what waits, not what was judged.
        if (this.head >= 1024 && this.head * 2 >= this.items.length) {
          this.items = this.items.slice(this.head);
          this.head = 0;
        }
        this.putters.shift()?.();
        return item;
      }
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => this.takers.push(resolve));
    }
  }
  /** No more puts: takers drain what is left, then get undefined. */
  close(): void {
    this.closed = true;
    for (const wake of this.takers.splice(0)) wake();
  }
}

/**
 * Listings started in the background (a listing starts its children's): `idle` resolves when
 * none is left. A child is always added before its parent settles, so the count cannot touch
 * zero early. Parts never throw (they are isolated); anything else is a defect and is rethrown.
 */
class Pending {
  private count = 0;
  private waiters: Array<() => void> = [];
  private defect: unknown;
  add(promise: Promise<unknown>): void {
    this.count++;
    const done = () => {
      if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    };
    promise.then(done, (error: unknown) => {
      this.defect ??= error;
      done();
    });
  }
  async idle(): Promise<void> {
    if (this.count > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.defect !== undefined) throw this.defect;
  }
}
