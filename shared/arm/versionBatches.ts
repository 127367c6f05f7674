/**
 * Image-version reads that would wait for the read budget anyway, batched by definition. While
 * the budget has reads to spare, a version is read with its own GET, at once. When it has none
 * (a burst), reads of one definition's versions queue; when the budget lets the next read go,
 * the queue is answered by one listing of the definition (galleryImageVersions.listByGalleryImage,
 * one request a page) instead of one GET each.
 *
 * A listed version is what a GET would return minus `replicationStatus`, which snapshots leave
 * out, so the two are judged alike (the sweep relies on the same). A version the listing does
 * not return, or a listing that fails, falls back to the version's own GET, which says why.
 * Each read's `sending` hook runs just before its request (GET or listing) goes out: events that
 * arrived before it are covered by the read (see ../localCoalescing.ts).
 */
import { parentOf, type ResourceId } from "../domain/resourceId.js";
import type { ImageVersionSnapshot } from "../domain/snapshots.js";
import type { ReadOutcome } from "../ports.js";

export interface BatchBudget {
  available(subscriptionId: string): number;
  ready(subscriptionId: string): Promise<void>;
}

type Outcome = ReadOutcome<ImageVersionSnapshot>;

/** Fewest queued reads answered by a listing rather than their own GETs. */
const MIN_BATCH = 3;

interface Waiter {
  readonly id: ResourceId;
  readonly sending: (() => void) | undefined;
  readonly single: () => Promise<Outcome>;
  resolve(outcome: Outcome): void;
  reject(error: unknown): void;
}

export class VersionBatches {
  private readonly waiting = new Map<string, Waiter[]>();
  /** Listings made and the reads they answered, for figures. */
  readonly figures = { listings: 0, answered: 0 };

  constructor(private readonly budget: BatchBudget) {}

  read(id: ResourceId, sending: (() => void) | undefined, single: () => Promise<Outcome>, list: (definitionId: ResourceId) => Promise<ImageVersionSnapshot[]>): Promise<Outcome> {
    const definitionId = parentOf(id)!;
    const queue = this.waiting.get(definitionId.key);
    if (!queue && this.budget.available(id.subscriptionId) >= 1) {
      sending?.();
      return single();
    }
    return new Promise<Outcome>((resolve, reject) => {
      const waiter: Waiter = { id, sending, single, resolve, reject };
      if (queue) return void queue.push(waiter);
      this.waiting.set(definitionId.key, [waiter]);
      void this.run(definitionId, list);
    });
  }

  private async run(definitionId: ResourceId, list: (definitionId: ResourceId) => Promise<ImageVersionSnapshot[]>): Promise<void> {
    // A wait longer than the budget allows is not decided here: the reads themselves report it.
    await this.budget.ready(definitionId.subscriptionId).catch(() => undefined);
    const batch = this.waiting.get(definitionId.key) ?? [];
    this.waiting.delete(definitionId.key);
    for (const waiter of batch) waiter.sending?.();
    const own = (waiter: Waiter) => waiter.single().then(waiter.resolve, waiter.reject);
    // A listing costs a request a page: worth it only for several reads.
    if (batch.length < MIN_BATCH) return void (await Promise.all(batch.map(own)));
    let listed: Map<string, ImageVersionSnapshot> | undefined;
    try {
      listed = new Map((await list(definitionId)).map((v) => [v.id.key, v]));
      this.figures.listings++;
    } catch {
      listed = undefined;
    }
    for (const waiter of batch) {
      const hit = listed?.get(waiter.id.key);
      if (hit) {
        this.figures.answered++;
        waiter.resolve({ status: "found", snapshot: hit });
      } else void own(waiter);
    }
  }
}
