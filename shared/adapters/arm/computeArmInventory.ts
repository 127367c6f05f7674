/**
 * The ArmInventory port over @azure/arm-compute — the only file that imports it (its client and
 * model names change between majors). Failures are translated here: 404 → gone, 401/403 → noAccess,
 * 429 → throttled (after the SDK's retries honouring Retry-After), 5xx / timeouts / dropped
 * connections → failed. Nothing else leaves as an exception from a read.
 *
 * One inventory per invocation or sweep run: it keeps the image definitions it read (a version's
 * osState lives on its definition) for its own lifetime only. Across invocations, a definition
 * read is shared only with invocations that began before it went out (readsAfter.ts): no cached
 * provisioning state or tags decide a verdict.
 */
import { ComputeManagementClient } from "@azure/arm-compute";
import type { ResourceId } from "../../domain/resourceId.js";
import { parentOf, tryParseResourceId } from "../../domain/resourceId.js";
import { resolveLatest, type ImageDefinitionSnapshot, type ImageResolution, type ImageVersionSnapshot, type InheritedOsState, type MachineSnapshot, type Snapshot } from "../../domain/snapshots.js";
import type { ArmInventory, ReadOutcome } from "../../app/ports.js";
import { ArmReadError } from "../../domain/errors.js";
import { readByKind, resolveImage, orThrow, type ImageReads } from "./resolveImage.js";
import type { ReadBudget } from "./readBudget.js";
import { armClientsBySubscription, armReaderSettings, outcomeOf, type ArmReaderOptions } from "./armTransport.js";
import { VersionBatches, type VersionListing } from "./versionBatches.js";
import { ReadsAfter } from "./readsAfter.js";
import { setBounded } from "../../platform/boundedMap.js";
import { diskImageTarget, imageReferenceTarget, listedId, toDefinitionSnapshot, toGallerySnapshot, toScaleSetSnapshot, toVersionSnapshot, toVirtualMachineSnapshot } from "./snapshotMapping.js";

/** The compute reader's options: those of every ARM reader (armTransport.ts). */
export type ArmInventoryOptions = ArmReaderOptions;

type Client = ComputeManagementClient;

/**
 * Version lists one inventory keeps. A definition's followers, resolving `latest`, share its
 * list; an event touches a handful of definitions, a sweep all of them.
 */
const VERSION_LISTS_KEPT = 64;

/** Reads of the budget (ARM's 250) kept for resources gallery-watch has recorded: 2 s of refill at 25/s. */
const RESERVED_READS = 50;

/** Builds one inventory; clients are shared across inventories (they are stateless and pooled), at most MAX_CLIENTS of them. */
export function computeArmInventoryFactory(options: ArmInventoryOptions): () => ArmInventory {
  const settings = armReaderSettings(options);
  const { timeoutMs, maxRetries, budget } = settings;

  const client = armClientsBySubscription((subscriptionId, clientOptions) => new ComputeManagementClient(options.credential, subscriptionId, clientOptions), settings);

  // Definition reads shared by the invocations running at once, each only with reads sent after it began.
  const definitionReads = new ReadsAfter<ReadOutcome<ImageDefinitionSnapshot>>();
  // A definition's osState, which cannot change (the Compute RP refuses to change it), is all a
  // version's snapshot takes from it: known once, it costs no definition read per version.
  const osStates = new OsStates();
  // Process-wide, like the budget: batching pays off across the invocations running at once.
  // Reads are short: down to the reserve. Asked by the version batches and by admission (ports.ts `readsShort`).
  const readsShort = (subscriptionId: string) => budget.short(subscriptionId, RESERVED_READS);
  const batches = new VersionBatches({ available: (s) => budget.available(s), ready: (s) => budget.ready(s), short: readsShort });
  // Listings that resolve `latest`, shared the same way: a storm of scale sets following one
  // definition costs a listing per budget turn, not one per scale set. Few kept: each holds a definition's versions.
  const latestReads = new ReadsAfter<ImageVersionSnapshot[]>(Date.now, VERSION_LISTS_KEPT);
  return () => createInventory(client, { timeoutMs, maxRetries }, { definitions: definitionReads, latest: latestReads }, osStates, budget, batches, readsShort);
}

/** Definition key → osState, bounded (a miss costs one definition read); a definition found gone is forgotten. */
class OsStates {
  private readonly known = new Map<string, InheritedOsState>();
  get(key: string): InheritedOsState | undefined {
    return this.known.get(key);
  }
  learn(key: string, outcome: ReadOutcome<ImageDefinitionSnapshot>): void {
    if (outcome.status === "found" && outcome.snapshot.osState !== "Unknown") setBounded(this.known, key, outcome.snapshot.osState, 10_000);
    if (outcome.status === "gone") this.known.delete(key);
  }
}

function createInventory(
  client: (subscriptionId: string) => Client,
  limits: { timeoutMs: number; maxRetries: number },
  shared: { readonly definitions: ReadsAfter<ReadOutcome<ImageDefinitionSnapshot>>; readonly latest: ReadsAfter<ImageVersionSnapshot[]> },
  osStates: OsStates,
  budget: ReadBudget,
  batches: VersionBatches,
  readsShort: (subscriptionId: string) => boolean,
): ArmInventory {
  /** When this inventory's invocation began (after its event arrived): shared reads must be sent later. */
  const since = Date.now();
  const definitions = new Map<string, Promise<ReadOutcome<ImageDefinitionSnapshot>>>();
  /** Map order is recency order; `asks` tells a list read once (a sweep's) from one its followers share. */
  const versionLists = new Map<string, { readonly list: Promise<ImageVersionSnapshot[]>; asks: number }>();
  const definitionLists = new Map<string, Promise<ImageDefinitionSnapshot[]>>();
  let requests = 0;
  /** Resource path (lower case) → ARM's date on this inventory's latest answer for it: what `read` returns a subject with. */
  const answeredOn = new Map<string, number>();
  const noteDate = (raw: { request: { url: string }; headers: { get(name: string): string | undefined } }) =>
    armTimeOf(raw.headers.get("date"), (armTime) => answeredOn.set(pathKey(raw.request.url), armTime));
  // The whole operation, retries included, stays bounded.
  const opts = () => {
    requests++;
    return { abortSignal: AbortSignal.timeout(limits.timeoutMs * (limits.maxRetries + 1) + 5_000), onResponse: noteDate };
  };
  /** A found subject, with ARM's date on the answer that found it (checks remember it: ../../app/localCoalescing.ts). */
  const dated = <T>(id: ResourceId, outcome: ReadOutcome<T>): ReadOutcome<T> => {
    if (outcome.status !== "found" || outcome.armTime !== undefined) return outcome;
    const armTime = answeredOn.get(id.key);
    return armTime !== undefined ? { ...outcome, armTime } : outcome;
  };

  async function attempt<T>(id: ResourceId, operation: string, read: () => Promise<T>): Promise<ReadOutcome<T>> {
    try {
      return { status: "found", snapshot: await read() };
    } catch (error) {
      return outcomeOf(id, operation, error) as ReadOutcome<T>;
    }
  }

  /**
   * `after`: the read must go out after this time (ms), not merely after the invocation began — a
   * definition read as the check's subject, whose `sending` hook has just told the gate that events
   * from now on are not covered by it.
   */
  const readImageDefinition = (id: ResourceId, after?: number): Promise<ReadOutcome<ImageDefinitionSnapshot>> => {
    let cached = after === undefined ? definitions.get(id.key) : undefined;
    if (!cached) {
      const send = () =>
        attempt(id, "galleryImages.get", async () => {
          const model = await client(id.subscriptionId).galleryImages.get(id.resourceGroup, id.gallery!, id.image!, opts());
          return toDefinitionSnapshot(armCased(id, model), model);
        });
      cached = shared.definitions.read(id.key, after ?? since, () => budget.ready(id.subscriptionId), send, (o) => o.status !== "throttled" && o.status !== "failed");
      void cached.then((o) => osStates.learn(id.key, o));
      definitions.set(id.key, cached);
      // A throttled or failed read is not remembered: the next caller tries again.
      void cached.then((o) => (o.status === "throttled" || o.status === "failed" ? definitions.delete(id.key) : undefined));
    }
    return cached;
  };

  /** A definition read that ARM could not answer now stops the whole read: no snapshot is built on a guess. */
  const definitionOrThrow = async (id: ResourceId) => orThrow(await readImageDefinition(id), "galleryImages.get", id.display);
  /** What a version inherits from its definition: its osState, read once per definition and process. */
  const osStateOf = async (definitionId: ResourceId): Promise<InheritedOsState | undefined> => {
    const known = osStates.get(definitionId.key);
    if (known) return known;
    const definition = await definitionOrThrow(definitionId);
    return definition.status === "found" ? definition.snapshot.osState : definition.status === "gone" ? undefined : "Unknown";
  };

  async function* pages<T>(iterator: { byPage(): AsyncIterableIterator<T[]> }, id: string, operation: string): AsyncIterable<T> {
    try {
      requests++;
      for await (const page of iterator.byPage()) {
        yield* page;
        requests++;
      }
      requests--; // the last increment announced a page that never came
    } catch (error) {
      const outcome = outcomeOf(undefined, operation, error);
      if (outcome.status === "gone") return;
      throw new ArmReadError(outcome.status === "noAccess" ? "noAccess" : outcome.status === "throttled" ? "throttled" : "failed", operation, id, outcome.message, outcome.status === "throttled" ? outcome.retryAfterMs : undefined, { cause: error });
    }
  }

  /**
   * Every page of a definition's versions, read now: behind the kept lists and the batched reads
   * alike. `dated` hears ARM's `Date` on the first page (the SDK passes `onResponse` to it alone).
   * With `limit`, it stops once it holds more than that many (the caller asks only whether the
   * definition is small).
   */
  const listVersions = async (definitionId: ResourceId, osState: InheritedOsState, dated?: (armTime: number) => void, limit = Infinity): Promise<ImageVersionSnapshot[]> => {
    const out: ImageVersionSnapshot[] = [];
    const onResponse = dated ? { onResponse: (raw: { headers: { get(name: string): string | undefined } }) => armTimeOf(raw.headers.get("date"), dated) } : {};
    const iterator = client(definitionId.subscriptionId).galleryImageVersions.listByGalleryImage(definitionId.resourceGroup, definitionId.gallery!, definitionId.image!, { ...opts(), ...onResponse });
    for await (const model of pages(iterator, definitionId.display, "galleryImageVersions.listByGalleryImage")) {
      const name = (model as { name?: string }).name;
      const id = name ? tryParseResourceId(`${definitionId.display}/versions/${name}`) : undefined;
      if (id?.ok) out.push(toVersionSnapshot(armCased(id.id, model), model, osState));
      if (out.length > limit) break;
    }
    return out;
  };

  /** `resolving`: for `latest`, shared with the invocations that began before the listing went out; else (a sweep's) this inventory's own. */
  const versionsOf = (definitionId: ResourceId, osState: InheritedOsState, resolving = false): Promise<ImageVersionSnapshot[]> => {
    const kept = versionLists.get(definitionId.key);
    if (kept) {
      kept.asks++;
      versionLists.delete(definitionId.key); // to the end: Map order is recency order
      versionLists.set(definitionId.key, kept);
      return kept.list;
    }
    const list = resolving ? shared.latest.read(definitionId.key, since, () => budget.ready(definitionId.subscriptionId), () => listVersions(definitionId, osState), () => true) : listVersions(definitionId, osState);
    versionLists.set(definitionId.key, { list, asks: 1 });
    // A few lists only: a sweep's inventory lists every definition of the subscription, and keeping
    // them all would hold every version in memory for the whole run. A list asked for once (the
    // sweep's own) goes before one asked for again (a definition's followers resolving `latest`),
    // so the sweep does not push out the lists its scale sets are about to read again.
    if (versionLists.size > VERSION_LISTS_KEPT) {
      let evict: string | undefined;
      for (const [key, entry] of versionLists) {
        if (entry.asks === 1) {
          evict = key;
          break;
        }
      }
      versionLists.delete(evict ?? versionLists.keys().next().value!);
    }
    list.catch(() => versionLists.get(definitionId.key)?.list === list && versionLists.delete(definitionId.key));
    return list;
  };

  /** A fresh listing of a definition's versions (a batch of reads, see versionBatches.ts); throws when it cannot be read. */
  const listVersionsNow = async (definitionId: ResourceId, limit?: number): Promise<VersionListing> => {
    const osState = await osStateOf(definitionId);
    if (osState === undefined) throw new Error(`${definitionId.display} is gone`);
    let armTime: number | undefined;
    const versions = await listVersions(definitionId, osState, (t) => (armTime ??= t), limit);
    return { versions, ...(armTime !== undefined ? { armTime } : {}), ...(limit !== undefined && versions.length > limit ? { truncated: true as const } : {}) };
  };

  const imageReads: ImageReads = {
    definition: (id) => readImageDefinition(id),
    versions: (definitionId, osState) => versionsOf(definitionId, osState, true),
    async sharedImage(subscriptionId, kind, location, gallery, image) {
      const c = client(subscriptionId);
      return attempt({} as ResourceId, `${kind}Images.get`, async () => {
        const model = kind === "sharedGallery" ? await c.sharedGalleryImages.get(location, gallery, image, opts()) : await c.communityGalleryImages.get(location, gallery, image, opts());
        return model.osState === "Specialized" ? "Specialized" : model.osState === "Generalized" ? "Generalized" : "Unknown";
      });
    },
    async diskImage(diskId) {
      // `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/{name}` (any case).
      const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/disks\/([^/]+)$/i.exec(diskId);
      if (!m) return { status: "failed", id: {} as ResourceId, message: `disks.get: '${diskId.slice(0, 200)}' is not a managed disk id` };
      return attempt({} as ResourceId, "disks.get", async () => diskImageTarget(await client(m[1]!.toLowerCase()).disks.get(m[2]!, m[3]!, opts())));
    },
  };
  const withImage = <M extends MachineSnapshot>(machine: M): Promise<ReadOutcome<M>> =>
    attempt(machine.id, "resolveImage", async () => ({ ...machine, image: await resolveImage(machine, imageReads) }));

  const inventory: ArmInventory = {
    async read(id, hooks) {
      if (id.kind === "imageVersion") return batches.read(id, hooks, async () => dated(id, await inventory.readImageVersion(id)), listVersionsNow);
      // Held here rather than inside the request, so that `sending` runs when the read really goes.
      await budget.ready(id.subscriptionId).catch(() => undefined);
      hooks?.sending?.();
      // The subject itself: a read sent from now on, never one already out (see readImageDefinition).
      if (id.kind === "imageDefinition") return dated(id, await readImageDefinition(id, Date.now()));
      return dated(id, await readByKind(inventory, id));
    },
    readGallery: (id) =>
      attempt(id, "galleries.get", async () => {
        const model = await client(id.subscriptionId).galleries.get(id.resourceGroup, id.gallery!, { select: "Permissions", expand: "SharingProfile/Groups", ...opts() });
        return toGallerySnapshot(armCased(id, model), model);
      }),
    readImageDefinition: (id) => readImageDefinition(id),
    readImageVersion: (id) =>
      attempt(id, "galleryImageVersions.get", async () => {
        const model = await client(id.subscriptionId).galleryImageVersions.get(id.resourceGroup, id.gallery!, id.image!, id.version!, opts());
        return toVersionSnapshot(armCased(id, model), model, (await osStateOf(parentOf(id)!)) ?? "Unknown");
      }),
    readScaleSet: async (id) => {
      const read = await attempt(id, "virtualMachineScaleSets.get", async () => {
        const model = await client(id.subscriptionId).virtualMachineScaleSets.get(id.resourceGroup, id.scaleSet!, opts());
        return toScaleSetSnapshot(armCased(id, model), model, { outcome: "pending" });
      });
      return read.status === "found" ? withImage(read.snapshot) : read;
    },
    readVirtualMachine: async (id) => {
      const read = await attempt(id, "virtualMachines.get", async () => {
        const model = await client(id.subscriptionId).virtualMachines.get(id.resourceGroup, id.virtualMachine!, opts());
        return toVirtualMachineSnapshot(armCased(id, model), model, { outcome: "pending" });
      });
      return read.status === "found" ? withImage(read.snapshot) : read;
    },
    resolveImage: withImage,
    async *listGalleries(subscriptionId) {
      for await (const model of pages(client(subscriptionId).galleries.list(opts()), `/subscriptions/${subscriptionId}`, "galleries.list")) {
        const id = listedId(model, "gallery");
        if (id) yield toGallerySnapshot(id, model);
      }
    },
    async *listImageDefinitions(galleryId) {
      let cached = definitionLists.get(galleryId.key);
      if (!cached) {
        cached = (async () => {
          const out: ImageDefinitionSnapshot[] = [];
          const iterator = client(galleryId.subscriptionId).galleryImages.listByGallery(galleryId.resourceGroup, galleryId.gallery!, opts());
          for await (const model of pages(iterator, galleryId.display, "galleryImages.listByGallery")) {
            const name = (model as { name?: string }).name;
            const id = name ? tryParseResourceId(`${galleryId.display}/images/${name}`) : undefined;
            if (!id?.ok) continue;
            const snapshot = toDefinitionSnapshot(armCased(id.id, model), model);
            definitions.set(id.id.key, Promise.resolve({ status: "found", snapshot }));
            osStates.learn(id.id.key, { status: "found", snapshot });
            out.push(snapshot);
          }
          return out;
        })();
        definitionLists.set(galleryId.key, cached);
        cached.catch(() => definitionLists.delete(galleryId.key));
      }
      yield* await cached;
    },
    async *listImageVersions(definitionId) {
      const definition = await definitionOrThrow(definitionId);
      yield* await versionsOf(definitionId, definition.status === "found" ? definition.snapshot.osState : "Unknown");
    },
    async *listScaleSets(subscriptionId) {
      for await (const model of pages(client(subscriptionId).virtualMachineScaleSets.listAll(opts()), `/subscriptions/${subscriptionId}`, "virtualMachineScaleSets.listAll")) {
        const id = listedId(model, "scaleSet");
        if (id) yield toScaleSetSnapshot(id, model, { outcome: "pending" });
      }
    },
    async *listVirtualMachines(subscriptionId) {
      for await (const model of pages(client(subscriptionId).virtualMachines.listAll(opts()), `/subscriptions/${subscriptionId}`, "virtualMachines.listAll")) {
        const id = listedId(model, "virtualMachine");
        if (id) yield toVirtualMachineSnapshot(id, model, { outcome: "pending" });
      }
    },
    readsShort,
    answeredAt: (id, written) => batches.answeredAt(id, written),
    requests: () => requests,
  };
  return inventory;
}

/** A request URL's resource path as a ResourceId key: decoded, lower case, no query. */
function pathKey(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname).toLowerCase();
  } catch {
    return "";
  }
}

/** ARM's clock on an answer: its `Date` header (RFC 9110 HTTP-date, whole seconds), when it sent a valid one. */
function armTimeOf(date: string | undefined, heard: (armTime: number) => void): void {
  const ms = date === undefined ? Number.NaN : Date.parse(date);
  if (Number.isFinite(ms)) heard(ms);
}

/**
 * The id as ARM spells it in its answer, when that names the same resource: what people see
 * (cards, history) takes ARM's letter case, not the case an event or a caller happened to use.
 */
function armCased(id: ResourceId, model: { id?: string }): ResourceId {
  const parsed = tryParseResourceId(model.id);
  return parsed.ok && parsed.id.key === id.key ? parsed.id : id;
}

