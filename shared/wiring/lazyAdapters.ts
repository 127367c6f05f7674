/**
 * Adapters whose SDK loads on first use instead of at cold start. On Flex Consumption each
 * function scales on its own instances (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#per-function-scaling),
 * so an instance that only sends cards never needs @azure/arm-compute or @azure/storage-blob, and
 * a local run against Azurite and the simulator never needs @azure/identity. `npm run package`
 * puts each behind its own chunk; `npm run bench -- --only coldstart` measures the entry without them.
 */
import type { TokenCredential } from "@azure/identity";
import type { ArmInventoryOptions } from "../adapters/arm/computeArmInventory.js";
import type { DeadLetterStore, PoisonQueues } from "../app/deadLetterPorts.js";
import type { AccessReaderOptions } from "../adapters/arm/authorizationAccessReader.js";
import type { AccessReader, ArmInventory } from "../app/ports.js";
import type { StorageConnection } from "../adapters/tables/tableClients.js";

/** One DefaultAzureCredential for ARM and storage alike, built when the first token is asked for. */
export function lazyDefaultAzureCredential(): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      credential ??= import("@azure/identity").then(({ DefaultAzureCredential }) => new DefaultAzureCredential());
      return (await credential).getToken(scopes, options);
    },
  };
}

/** computeArmInventoryFactory, loaded at the first ARM read; inventories still share one factory (and its clients). */
export function lazyArmInventoryFactory(options: ArmInventoryOptions): () => ArmInventory {
  let factory: Promise<() => ArmInventory> | undefined;
  /** The factory once loaded: later inventories are made at once, so the budget's and batches' answers (process-wide) are there before their first read. */
  let made: (() => ArmInventory) | undefined;
  return () => {
    let loaded: ArmInventory | undefined = made?.();
    let inventory: Promise<ArmInventory> | undefined = loaded ? Promise.resolve(loaded) : undefined;
    const get = () =>
      (inventory ??= (factory ??= import("../adapters/arm/computeArmInventory.js").then((m) => (made = m.computeArmInventoryFactory(options)))).then((make) => (loaded = make())));
    const listed = <T>(list: (arm: ArmInventory) => AsyncIterable<T>): AsyncIterable<T> => ({
      async *[Symbol.asyncIterator]() {
        yield* list(await get());
      },
    });
    return {
      read: async (id, hooks) => (await get()).read(id, hooks),
      readGallery: async (id) => (await get()).readGallery(id),
      readImageDefinition: async (id) => (await get()).readImageDefinition(id),
      readImageVersion: async (id) => (await get()).readImageVersion(id),
      readScaleSet: async (id) => (await get()).readScaleSet(id),
      readVirtualMachine: async (id) => (await get()).readVirtualMachine(id),
      resolveImage: async (machine) => (await get()).resolveImage(machine),
      listGalleries: (subscriptionId) => listed((arm) => arm.listGalleries(subscriptionId)),
      listImageDefinitions: (galleryId) => listed((arm) => arm.listImageDefinitions(galleryId)),
      listImageVersions: (definitionId) => listed((arm) => arm.listImageVersions(definitionId)),
      listScaleSets: (subscriptionId) => listed((arm) => arm.listScaleSets(subscriptionId)),
      listVirtualMachines: (subscriptionId) => listed((arm) => arm.listVirtualMachines(subscriptionId)),
      requests: () => loaded?.requests() ?? 0,
      // Before the first ARM read of the process nothing is spent and nothing is kept.
      readsShort: (subscriptionId) => loaded?.readsShort?.(subscriptionId) ?? false,
      answeredAt: (id, written) => loaded?.answeredAt?.(id, written),
    };
  };
}

/** authorizationAccessReaderFactory (@azure/arm-authorization), loaded at the first role-assignment read. */
export function lazyAccessReaderFactory(options: AccessReaderOptions): () => AccessReader {
  let factory: Promise<() => AccessReader> | undefined;
  return () => {
    let reader: Promise<AccessReader> | undefined;
    const get = () => (reader ??= (factory ??= import("../adapters/arm/authorizationAccessReader.js").then((m) => m.authorizationAccessReaderFactory(options))).then((make) => make()));
    return { readAccess: async (scope) => (await get()).readAccess(scope) };
  };
}

/** The dead-letter container and -poison queues (@azure/storage-blob), loaded when a re-drive first touches them. */
export function lazyDeadLetterPorts(storage: StorageConnection, container: string): { deadLetters: DeadLetterStore; poison: PoisonQueues } {
  let ports: Promise<{ deadLetters: DeadLetterStore; poison: PoisonQueues }> | undefined;
  const get = () =>
    (ports ??= import("../adapters/blobs/blobDeadLetters.js").then((m) => ({ deadLetters: m.createBlobDeadLetterStore(storage, container), poison: m.createQueuePoisonQueues(storage) })));
  return {
    deadLetters: {
      container,
      write: async (name, events) => (await get()).deadLetters.write(name, events),
      list: async (limit) => (await get()).deadLetters.list(limit),
      read: async (name) => (await get()).deadLetters.read(name),
      settle: async (name) => (await get()).deadLetters.settle(name),
    },
    poison: { sweep: async (queue, limit, decide) => (await get()).poison.sweep(queue, limit, decide) },
  };
}
