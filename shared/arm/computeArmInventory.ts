/**
 * The ArmInventory port over @azure/arm-compute — the only file that imports it (its client and
 * model names change between majors). Failures are translated here: 404 → gone, 401/403 → noAccess,
 * 429 → throttled (after the SDK's retries honouring Retry-After), 5xx / timeouts / dropped
 * connections → failed. Nothing else leaves as an exception from a read.
 *
 * One inventory per invocation or sweep run: it caches image definitions (a version's osState
 * lives on its definition) for its own lifetime only, so a later invocation sees fresh data.
 */
import https from "node:https";
import { ComputeManagementClient } from "@azure/arm-compute";
import type { TokenCredential } from "@azure/core-auth";
import type { ResourceId } from "../domain/resourceId.js";
import { parentOf, tryParseResourceId } from "../domain/resourceId.js";
import { resolveLatest, type ImageDefinitionSnapshot, type ImageResolution, type ImageVersionSnapshot, type InheritedOsState, type Snapshot } from "../domain/snapshots.js";
import type { ArmInventory, ReadOutcome } from "../ports.js";
import { ArmReadError } from "../errors.js";
import { imageReferenceTarget, listedId, parseSharedImageId, toDefinitionSnapshot, toGallerySnapshot, toScaleSetSnapshot, toVersionSnapshot } from "./snapshotMapping.js";

export interface ArmInventoryOptions {
  readonly credential: TokenCredential;
  readonly endpoint?: string;
  /** Trust this certificate for `endpoint` only (the local simulator); never process-wide. */
  readonly caCertPem?: string;
  readonly timeoutMs?: number;
  readonly maxRetries?: number;
  /** A Retry-After longer than this is not waited out inside a function: the read reports `throttled`. */
  readonly maxRetryAfterMs?: number;
}

/** Thrown by our per-try policy when ARM asks us to wait longer than we may. */
class LongRetryAfter extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`ARM asked to retry after ${Math.round(retryAfterMs / 1000)} s`);
  }
}

type Client = ComputeManagementClient;

/** Builds one inventory; clients are shared across inventories (they are stateless and pooled). */
export function computeArmInventoryFactory(options: ArmInventoryOptions): () => ArmInventory {
  const clients = new Map<string, Client>();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxRetries = options.maxRetries ?? 3;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const agent = options.caCertPem ? new https.Agent({ ca: options.caCertPem, keepAlive: true }) : undefined;

  const client = (subscriptionId: string): Client => {
    let c = clients.get(subscriptionId);
    if (!c) {
      c = new ComputeManagementClient(options.credential, subscriptionId, {
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        retryOptions: { maxRetries, retryDelayInMs: 500, maxRetryDelayInMs: 10_000 },
        additionalPolicies: [
          {
            position: "perRetry",
            policy: {
              name: "galleryWatchTransport",
              async sendRequest(request, next) {
                if (agent) request.agent = agent;
                request.timeout = timeoutMs;
                const response = await next(request);
                if (response.status === 429) {
                  const header = response.headers.get("retry-after");
                  const seconds = header === undefined ? Number.NaN : Number(header);
                  if (Number.isFinite(seconds) && seconds * 1000 > maxRetryAfterMs) throw new LongRetryAfter(seconds * 1000);
                }
                return response;
              },
            },
          },
        ],
      });
      clients.set(subscriptionId, c);
    }
    return c;
  };

  return () => createInventory(client, { timeoutMs, maxRetries });
}

function createInventory(client: (subscriptionId: string) => Client, limits: { timeoutMs: number; maxRetries: number }): ArmInventory {
  const definitions = new Map<string, Promise<ReadOutcome<ImageDefinitionSnapshot>>>();
  // The whole operation, retries included, stays bounded.
  const opts = () => ({ abortSignal: AbortSignal.timeout(limits.timeoutMs * (limits.maxRetries + 1) + 5_000) });

  async function attempt<T>(id: ResourceId, operation: string, read: () => Promise<T>): Promise<ReadOutcome<T>> {
    try {
      return { status: "found", snapshot: await read() };
    } catch (error) {
      return outcomeOf(id, operation, error) as ReadOutcome<T>;
    }
  }

  const readImageDefinition = (id: ResourceId): Promise<ReadOutcome<ImageDefinitionSnapshot>> => {
    let cached = definitions.get(id.key);
    if (!cached) {
      cached = attempt(id, "galleryImages.get", async () => toDefinitionSnapshot(id, await client(id.subscriptionId).galleryImages.get(id.resourceGroup, id.gallery!, id.image!, opts())));
      definitions.set(id.key, cached);
    }
    return cached;
  };

  const osStateOf = async (versionId: ResourceId) => {
    const definition = await readImageDefinition(parentOf(versionId)!);
    return definition.status === "found" ? definition.snapshot.osState : ("Unknown" as const);
  };

  async function* pages<T>(iterator: { byPage(): AsyncIterableIterator<T[]> }, id: string, operation: string): AsyncIterable<T> {
    try {
      for await (const page of iterator.byPage()) yield* page;
    } catch (error) {
      const outcome = outcomeOf(undefined, operation, error);
      if (outcome.status === "gone") return;
      throw new ArmReadError(outcome.status === "noAccess" ? "noAccess" : outcome.status === "throttled" ? "throttled" : "failed", operation, id, outcome.message, outcome.status === "throttled" ? outcome.retryAfterMs : undefined, { cause: error });
    }
  }

  async function resolveImage(scaleSetLocation: string | undefined, reference: ReturnType<typeof imageReferenceTarget>, subscriptionId: string): Promise<ImageResolution> {
    switch (reference.kind) {
      case "definition": {
        const definition = await readImageDefinition(reference.definitionId);
        if (definition.status !== "found") return unresolvable(definition);
        const versions: ImageVersionSnapshot[] = [];
        for await (const v of listVersions(reference.definitionId, definition.snapshot)) versions.push(v);
        const latest = resolveLatest(versions, scaleSetLocation);
        return { outcome: "resolved", definitionId: reference.definitionId.display, osState: definition.snapshot.osState, ...(latest ? { versionId: latest.id.display } : {}) };
      }
      case "version": {
        const definition = await readImageDefinition(parentOf(reference.versionId)!);
        if (definition.status !== "found") return unresolvable(definition);
        return { outcome: "resolved", definitionId: definition.snapshot.id.display, osState: definition.snapshot.osState, versionId: reference.versionId.display };
      }
      case "sharedGallery":
      case "communityGallery": {
        const parts = parseSharedImageId(reference.id);
        if (!parts) return { outcome: "unresolvable", reason: `'${reference.id.slice(0, 200)}' is not a ${reference.kind === "sharedGallery" ? "shared" : "community"} gallery image id` };
        if (!scaleSetLocation) return { outcome: "unresolvable", reason: "the scale set has no location to read the shared image in" };
        try {
          const c = client(subscriptionId);
          const image =
            reference.kind === "sharedGallery"
              ? await c.sharedGalleryImages.get(scaleSetLocation, parts.gallery, parts.image, opts())
              : await c.communityGalleryImages.get(scaleSetLocation, parts.gallery, parts.image, opts());
          return { outcome: "resolved", definitionId: reference.id, osState: image.osState === "Specialized" ? "Specialized" : image.osState === "Generalized" ? "Generalized" : "Unknown" };
        } catch (error) {
          const outcome = outcomeOf(undefined, `${reference.kind}Images.get`, error);
          return { outcome: "unresolvable", reason: `${reference.kind === "sharedGallery" ? "shared" : "community"} gallery image could not be read (${outcome.status}: ${"message" in outcome ? outcome.message : "not found"})` };
        }
      }
      case "other":
        // A gallery-looking id we cannot parse is not "safe": say it could not be resolved.
        return reference.description.startsWith("unreadable gallery image id") ? { outcome: "unresolvable", reason: reference.description } : { outcome: "notGalleryImage" };
    }
  }

  async function* listVersions(definitionId: ResourceId, definition?: ImageDefinitionSnapshot): AsyncIterable<ImageVersionSnapshot> {
    const read = definition ? undefined : await readImageDefinition(definitionId);
    const osState: InheritedOsState = definition?.osState ?? (read?.status === "found" ? read.snapshot.osState : "Unknown");
    const iterator = client(definitionId.subscriptionId).galleryImageVersions.listByGalleryImage(definitionId.resourceGroup, definitionId.gallery!, definitionId.image!, opts());
    for await (const model of pages(iterator, definitionId.display, "galleryImageVersions.listByGalleryImage")) {
      const name = (model as { name?: string }).name;
      const id = name ? tryParseResourceId(`${definitionId.display}/versions/${name}`) : undefined;
      if (id?.ok) yield toVersionSnapshot(id.id, model, osState);
    }
  }

  const inventory: ArmInventory = {
    read(id): Promise<ReadOutcome<Snapshot>> {
      switch (id.kind) {
        case "gallery":
          return inventory.readGallery(id);
        case "imageDefinition":
          return inventory.readImageDefinition(id);
        case "imageVersion":
          return inventory.readImageVersion(id);
        case "scaleSet":
          return inventory.readScaleSet(id);
      }
    },
    readGallery: (id) => attempt(id, "galleries.get", async () => toGallerySnapshot(id, await client(id.subscriptionId).galleries.get(id.resourceGroup, id.gallery!, { select: "Permissions", ...opts() }))),
    readImageDefinition,
    readImageVersion: (id) =>
      attempt(id, "galleryImageVersions.get", async () => {
        const model = await client(id.subscriptionId).galleryImageVersions.get(id.resourceGroup, id.gallery!, id.image!, id.version!, { expand: "ReplicationStatus", ...opts() });
        return toVersionSnapshot(id, model, await osStateOf(id));
      }),
    readScaleSet: (id) =>
      attempt(id, "virtualMachineScaleSets.get", async () => {
        const model = await client(id.subscriptionId).virtualMachineScaleSets.get(id.resourceGroup, id.scaleSet!, opts());
        const reference = imageReferenceTarget(model.virtualMachineProfile?.storageProfile?.imageReference);
        return toScaleSetSnapshot(id, model, await resolveImage(model.location, reference, id.subscriptionId));
      }),
    async *listGalleries(subscriptionId) {
      for await (const model of pages(client(subscriptionId).galleries.list(opts()), `/subscriptions/${subscriptionId}`, "galleries.list")) {
        const id = listedId(model, "gallery");
        if (id) yield toGallerySnapshot(id, model);
      }
    },
    async *listImageDefinitions(galleryId) {
      const iterator = client(galleryId.subscriptionId).galleryImages.listByGallery(galleryId.resourceGroup, galleryId.gallery!, opts());
      for await (const model of pages(iterator, galleryId.display, "galleryImages.listByGallery")) {
        const name = (model as { name?: string }).name;
        const id = name ? tryParseResourceId(`${galleryId.display}/images/${name}`) : undefined;
        if (!id?.ok) continue;
        const snapshot = toDefinitionSnapshot(id.id, model);
        definitions.set(id.id.key, Promise.resolve({ status: "found", snapshot }));
        yield snapshot;
      }
    },
    listImageVersions: (definitionId) => listVersions(definitionId),
    async *listScaleSets(subscriptionId) {
      // List calls only: a scale set's image is resolved from the definitions this inventory already holds (the sweep lists galleries first).
      for await (const model of pages(client(subscriptionId).virtualMachineScaleSets.listAll(opts()), `/subscriptions/${subscriptionId}`, "virtualMachineScaleSets.listAll")) {
        const id = listedId(model, "scaleSet");
        if (!id) continue;
        const reference = imageReferenceTarget(model.virtualMachineProfile?.storageProfile?.imageReference);
        const definitionId = reference.kind === "definition" ? reference.definitionId : reference.kind === "version" ? parentOf(reference.versionId) : undefined;
        const known = definitionId ? await definitions.get(definitionId.key) : undefined;
        const image: ImageResolution =
          reference.kind === "other"
            ? reference.description.startsWith("unreadable gallery image id")
              ? { outcome: "unresolvable", reason: reference.description }
              : { outcome: "notGalleryImage" }
            : known?.status === "found"
              ? { outcome: "resolved", definitionId: known.snapshot.id.display, osState: known.snapshot.osState, ...(reference.kind === "version" ? { versionId: reference.versionId.display } : {}) }
              : { outcome: "unresolvable", reason: "image not seen in the galleries swept (another subscription, a shared or community gallery, or no access)" };
        yield toScaleSetSnapshot(id, model, image);
      }
    },
  };
  return inventory;
}

function unresolvable(outcome: ReadOutcome<unknown>): ImageResolution {
  return { outcome: "unresolvable", reason: outcome.status === "found" ? "" : `image definition ${outcome.status}${"message" in outcome ? `: ${outcome.message}` : ""}` };
}

type FailedOutcome = Exclude<ReadOutcome<never>, { status: "found" }>;

/** Translate an SDK failure into an outcome; never rethrows. */
function outcomeOf(id: ResourceId | undefined, operation: string, error: unknown): FailedOutcome | { status: "gone"; id: ResourceId } {
  const e = error as { statusCode?: number; code?: string; message?: string; response?: { headers?: { get(name: string): string | undefined } }; name?: string };
  const status = e.statusCode;
  const rid = id ?? ({} as ResourceId);
  const message = `${operation}: ${status ?? e.code ?? e.name ?? "error"} ${(e.message ?? "").split("\n")[0]?.slice(0, 200) ?? ""}`.trim();
  if (error instanceof LongRetryAfter) return { status: "throttled", id: rid, message: `${operation}: ${error.message}`, retryAfterMs: error.retryAfterMs };
  if (status === 404) return { status: "gone", id: rid };
  if (status === 401 || status === 403) return { status: "noAccess", id: rid, message };
  if (status === 429) {
    const header = e.response?.headers?.get("retry-after");
    const seconds = header === undefined ? Number.NaN : Number(header);
    return { status: "throttled", id: rid, message, ...(Number.isFinite(seconds) ? { retryAfterMs: seconds * 1000 } : {}) };
  }
  return { status: "failed", id: rid, message, cause: error };
}
