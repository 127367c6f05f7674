/**
 * Image-version reads that would wait for the read budget anyway, batched by definition. While
 * the budget has reads to spare, a version is read with its own GET, at once. When it has none
 * (a burst), reads of one definition's versions queue; when the budget lets the next read go,
 * the queue is answered by one listing of the definition (galleryImageVersions.listByGalleryImage,
 * one request a page) instead of one GET each.
 *
 * A listing returns every version of the definition, not only the queued ones, so it is kept (a
 * few definitions' worth): a later read whose events all reached this process before the listing
 * went out, or whose writes ARM had long finished when it dated the listing, is answered from it
 * without a request (`answeredBy`, decided by the coalescing gate, ../../app/localCoalescing.ts;
 * `now` must be this process's clock). A definition known
 * to list in few pages is listed for a single queued read, and so, in a burst (reads short), is one
 * not listed yet for a single patient read, stopping after two pages.
 *
 * A listed version is what a GET would return minus `replicationStatus`, which snapshots leave
 * out, so the two are judged alike (the sweep relies on the same). A version the listing does
 * not return is gone, as a GET would say (a 404 after a write event is re-checked, see
 * checkResource.ts); a listing that fails falls back to each version's own GET, which says why.
 * Each read's `sending` hook runs just before its request (GET or listing) goes out: events that
 * arrived before it are covered by the read (see ../localCoalescing.ts). A patient read (a
 * follow-up or re-check) queues for a moment even with reads to spare, to share a listing.
 */
import { parentOf, type ResourceId } from "../../domain/resourceId.js";
import type { ImageVersionSnapshot } from "../../domain/snapshots.js";
import type { ReadHooks, ReadOutcome } from "../../app/ports.js";
import { setBounded } from "../../platform/boundedMap.js";
import { coveredOnArmClock } from "../../domain/coverage.js";

export interface BatchBudget {
  available(subscriptionId: string): number;
  ready(subscriptionId: string): Promise<void>;
  /** Down to the reads kept for resources gallery-watch has recorded: a burst is under way. */
  short?(subscriptionId: string): boolean;
}

/** Lists a definition's versions; with `limit`, stops once it holds more than that (`truncated`). */
export type ListVersions = (definitionId: ResourceId, limit?: number) => Promise<VersionListing>;

type Outcome = ReadOutcome<ImageVersionSnapshot>;

/** Fewest queued reads answered by a listing of a definition whose size is not known yet. */
const MIN_BATCH = 3;
/** Versions per list page, as ARM's gallery listings return them (a smaller guess only makes listings rarer). */
const PAGE_SIZE = 50;
/** Definitions whose last listing is kept (each holds the definition's versions: a snapshot each). */
const LISTINGS_KEPT = 64;
/** A listing for a single read of a definition of unknown size stops beyond this many versions: two pages, the most it may cost. */
const PROBE_LIMIT = 2 * PAGE_SIZE;
/** Definitions found larger than that, remembered (a key each). */
const LARGE_KEPT = 1_000;

interface Waiter {
  readonly id: ResourceId;
  readonly sending: (() => void) | undefined;
  readonly single: () => Promise<Outcome>;
  resolve(outcome: Outcome): void;
  reject(error: unknown): void;
}

interface Listing {
  /** When its first request went out (ms): every page was sent at or after it. */
  readonly sentAt: number;
  /** When ARM answered its first page, on ARM's clock (the `Date` header, ms), when it said. */
  readonly armTime?: number;
  readonly versions: ReadonlyMap<string, ImageVersionSnapshot>;
}

/** A definition's versions as one listing returned them, and when ARM dated its first page. */
export interface VersionListing {
  readonly versions: ImageVersionSnapshot[];
  readonly armTime?: number;
  /** Stopped at its limit: the definition holds more, and a version it lacks may still exist. */
  readonly truncated?: true;
}

/** A version as a kept listing holds it, observed when that listing went out (not now): a newer stored state is not overwritten by it. */
const keptAnswer = (listing: Listing, kept: ImageVersionSnapshot): Outcome => ({ status: "found", snapshot: kept, observedAt: new Date(listing.sentAt).toISOString(), ...dated(listing.armTime) });
const dated = (armTime: number | undefined) => (armTime !== undefined ? { armTime } : {});

export class VersionBatches {
  private readonly waiting = new Map<string, Waiter[]>();
  /** Per definition key, its latest listing. */
  private readonly listings = new Map<string, Listing>();
  /** Definitions a capped listing found larger than PROBE_LIMIT, not listed whole since. */
  private readonly large = new Map<string, true>();
  /** Listings made, the queued reads they answered, and the later reads answered from a kept listing, for figures. */
  readonly figures = { listings: 0, answered: 0, fromKept: 0 };

  constructor(
    private readonly budget: BatchBudget,
    private readonly now: () => number = Date.now,
    /** How long a patient read waits for others of its definition before its batch goes. */
    private readonly gatherMs = 500,
  ) {}

  /**
   * A kept listing holds `id` and ARM dated it well after `written` (an event's `eventTime`, ms):
   * a read of `id` for that write needs no request (domain/coverage.ts). Returns ARM's date on it.
   */
  answeredAt(id: ResourceId, written: number): number | undefined {
    // Listings are kept by definition: only a version's parent can name one.
    const listing = this.listings.get(parentOf(id)?.key ?? "");
    return listing !== undefined && listing.versions.has(id.key) && coveredOnArmClock(listing.armTime, written) ? listing.armTime : undefined;
  }

  read(id: ResourceId, hooks: ReadHooks | undefined, single: () => Promise<Outcome>, list: ListVersions): Promise<Outcome> {
    const definitionId = parentOf(id)!;
    const listing = this.listings.get(definitionId.key);
    const kept = listing?.versions.get(id.key);
    if (listing && kept && hooks?.answeredBy?.(listing.sentAt, listing.armTime)) {
      this.figures.fromKept++;
      return Promise.resolve(keptAnswer(listing, kept));
    }
    const queue = this.waiting.get(definitionId.key);
    if (!queue && !hooks?.patient && this.budget.available(id.subscriptionId) >= 1) {
      hooks?.sending?.();
      return single();
    }
    return new Promise<Outcome>((resolve, reject) => {
      const waiter: Waiter = { id, sending: hooks?.sending, single, resolve, reject };
      if (queue) return void queue.push(waiter);
      this.waiting.set(definitionId.key, [waiter]);
      // A patient read (a follow-up or re-check, which waited seconds already) gathers the others
      // of its definition for a moment: in a burst the follow-ups of a definition's versions come
      // due together, and one listing answers them all.
      void this.run(definitionId, list, hooks?.patient === true);
    });
  }

  private async run(definitionId: ResourceId, list: ListVersions, patient: boolean): Promise<void> {
    if (patient) await new Promise((resolve) => setTimeout(resolve, this.gatherMs));
    // A wait longer than the budget allows is not decided here: the reads themselves report it.
    await this.budget.ready(definitionId.subscriptionId).catch(() => undefined);
    const batch = this.waiting.get(definitionId.key) ?? [];
    this.waiting.delete(definitionId.key);
    for (const waiter of batch) waiter.sending?.();
    const own = (waiter: Waiter) => waiter.single().then(waiter.resolve, waiter.reject);
    // A listing costs a request a page: worth it when it costs at most one request more than the
    // GETs it replaces (the rest of the definition then comes free), or, size unknown, for several.
    // In a burst (reads short), the re-checks of versions put off together come due together but
    // reach here one or two at a time (../../app/admission.ts): for one of them, a definition not
    // listed yet is listed, at most two pages (a larger one is then read version by version); kept,
    // the listing tells the size, so the next batches of its re-checks share listings.
    const known = this.listings.get(definitionId.key)?.versions.size;
    const probe = known === undefined && batch.length < MIN_BATCH && patient && !this.large.has(definitionId.key) && this.budget.short?.(definitionId.subscriptionId) === true;
    const worth = known !== undefined ? Math.max(1, Math.ceil(known / PAGE_SIZE) - 1) : probe ? 1 : MIN_BATCH;
    if (batch.length < worth) return void (await Promise.all(batch.map(own)));
    let listed: Map<string, ImageVersionSnapshot> | undefined;
    let armTime: number | undefined;
    const sentAt = this.now();
    try {
      const listing = await list(definitionId, probe ? PROBE_LIMIT : undefined);
      if (listing.truncated) {
        setBounded(this.large, definitionId.key, true, LARGE_KEPT);
        return void (await Promise.all(batch.map(own)));
      }
      this.large.delete(definitionId.key);
      const versions = listing.versions;
      armTime = listing.armTime;
      listed = new Map(versions.map((v) => [v.id.key, v]));
      this.figures.listings++;
      // Two listings of a definition can overlap; the one sent later is kept.
      if (sentAt >= (this.listings.get(definitionId.key)?.sentAt ?? 0)) setBounded(this.listings, definitionId.key, { sentAt, ...(armTime !== undefined ? { armTime } : {}), versions: listed }, LISTINGS_KEPT);
    } catch {
      listed = undefined;
    }
    for (const waiter of batch) {
      if (!listed) {
        void own(waiter);
        continue;
      }
      // The listing went out after the waiter's events arrived: it is the waiter's read, and a
      // version it does not hold is gone as ARM answers now (absorbing a flood of events for
      // versions that never existed costs a listing page, not a GET each).
      const hit = listed.get(waiter.id.key);
      this.figures.answered++;
      waiter.resolve(hit ? { status: "found", snapshot: hit, ...dated(armTime) } : { status: "gone", id: waiter.id });
    }
  }
}
