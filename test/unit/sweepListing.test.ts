/**
 * How the sweep lists (issue 10, item 5): in parallel up to its bound (galleries at once,
 * definitions within galleries, the versions of many definitions at once), judging each resource
 * as its page arrives, with a bounded queue between listing and judging, and with each listing
 * still isolated: a listing that fails is retried, then recorded, and nothing under it is
 * reconciled. Over the in-memory ports, with listings held open by the test to see them overlap.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { parseResourceId, type ResourceId } from "../../shared/domain/resourceId.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import { checkResource } from "../../shared/app/checkResource.js";
import { sweepSubscription, type SweepSettings } from "../../shared/app/sweepSubscription.js";
import { ArmReadError } from "../../shared/domain/errors.js";
import type { ArmInventory, Dependencies } from "../../shared/app/ports.js";
import { aWorld, type World } from "../support/inMemoryPorts.js";
import { BASE, SUB, aDefinition, aGallery, aVersion, policy, regions } from "../support/snapshotBuilders.js";

const settings: SweepSettings = { policy: policy(), portalUrl: "https://portal.example.test", recheckDelaySeconds: 60, recheckMaxAttempts: 3, sweepBackoffMs: 1 };
const event = { source: "event", attribution: { eventId: "e-1", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-24T12:00:00Z" } } as const;

/** `galleries` galleries × `definitions` definitions × `versions` versions, all approved. */
function estate(world: World, galleries: number, definitions: number, versions: number): { definitionIds: ResourceId[]; versionIds: ResourceId[] } {
  const definitionIds: ResourceId[] = [];
  const versionIds: ResourceId[] = [];
  for (let g = 0; g < galleries; g++) {
    world.azure.put(aGallery({ id: parseResourceId(`${BASE}/galleries/g${g}`) }));
    for (let d = 0; d < definitions; d++) {
      const definition = aDefinition({ id: parseResourceId(`${BASE}/galleries/g${g}/images/d${d}`) });
      world.azure.put(definition);
      definitionIds.push(definition.id);
      for (let v = 0; v < versions; v++) {
        const version = aVersion({ id: parseResourceId(`${definition.id.display}/versions/1.0.${v}`), version: `1.0.${v}` });
        world.azure.put(version);
        versionIds.push(version.id);
      }
    }
  }
  return { definitionIds, versionIds };
}

/** Resolves once `condition` holds; fails the test after a deadline instead of hanging. */
async function until(condition: () => boolean, what: string, deadlineMs = 5_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** A gate a test opens: listings wait on it while counted as in flight. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * The inventory with its listings counted while they wait for their first page: `hold` says what
 * a listing of that kind and parent waits for (nothing: it answers at once).
 */
function watched(arm: ArmInventory, hold: (kind: "definitions" | "versions", parent: ResourceId) => Promise<void> | undefined) {
  const open = { definitions: new Map<string, number>(), versions: new Map<string, number>() };
  const stats = { versionsInFlight: 0, maxVersionsInFlight: 0, versionsYielded: 0 };
  const inFlight = (kind: "definitions" | "versions") => [...open[kind].values()].reduce((a, n) => a + n, 0);
  async function* held<T>(kind: "definitions" | "versions", parent: ResourceId, list: () => AsyncIterable<T>): AsyncIterable<T> {
    const waitFor = hold(kind, parent);
    if (waitFor) {
      open[kind].set(parent.key, (open[kind].get(parent.key) ?? 0) + 1);
      if (kind === "versions") stats.maxVersionsInFlight = Math.max(stats.maxVersionsInFlight, inFlight("versions"));
      try {
        await waitFor;
      } finally {
        open[kind].set(parent.key, open[kind].get(parent.key)! - 1);
      }
    }
    for await (const item of list()) {
      if (kind === "versions") stats.versionsYielded++;
      yield item;
    }
  }
  const inventory: ArmInventory = {
    ...arm,
    listImageDefinitions: (galleryId) => held("definitions", galleryId, () => arm.listImageDefinitions(galleryId)),
    listImageVersions: (definitionId) => held("versions", definitionId, () => arm.listImageVersions(definitionId)),
  };
  return {
    inventory,
    stats,
    versionListingsInFlight: () => inFlight("versions"),
    /** Galleries whose definitions are being listed right now (each counted once). */
    galleriesBeingListed: () => [...open.definitions.values()].filter((n) => n > 0).length,
  };
}

let world: World;
beforeEach(() => {
  world = aWorld();
});

describe("the sweep lists in parallel, up to its bound", () => {
  it("lists the definitions of every gallery at once and the versions of many definitions at once, never more than sweepListConcurrency, judging as pages arrive", async () => {
    const { definitionIds, versionIds } = estate(world, 3, 4, 3);
    const definitionsHeld = gate();
    const versionsHeld = gate();
    const arm = watched(world.deps().arm, (kind) => (kind === "definitions" ? definitionsHeld.promise : versionsHeld.promise));
    const deps: Dependencies = { ...world.deps(), arm: arm.inventory };
    // One judge: the judges' own reads (a gallery's verdict lists its definitions) cannot account for the overlap.
    const sweeping = sweepSubscription(deps, { ...settings, sweepListConcurrency: 4, sweepConcurrency: 1 }, SUB, "run-1");

    await until(() => arm.galleriesBeingListed() === 3, "the three galleries' definitions are listed at once");
    definitionsHeld.open();
    await until(() => arm.versionListingsInFlight() === 4, "four definitions' versions are listed at once");
    // Judging does not wait for the listing to end: the definitions are stored while their versions are still being listed.
    await until(() => world.resources.rows.has(definitionIds[0]!.key), "the first definition is judged");
    expect(arm.versionListingsInFlight()).toBe(4);
    versionsHeld.open();
    const run = await sweeping;

    expect(arm.stats.maxVersionsInFlight).toBe(4);
    expect(run.status).toBe("succeeded");
    expect(run.seen).toEqual({ galleries: 3, definitions: 12, versions: 36, scaleSets: 0, virtualMachines: 0 });
    expect(run.failures).toEqual([]);
    for (const id of versionIds) expect(world.resources.rows.get(id.key)?.deleted).toBe(false);
    expect(run.snapshotsWritten).toBe(3 + 12 + 36);

    const second = await sweepSubscription(world.deps(), settings, SUB, "run-2");
    expect(second.snapshotsWritten).toBe(0);
    expect(second.seen).toEqual(run.seen);
  });

  it("keeps at most sweepQueueLimit listed resources waiting for judgement: a listing waits at its page while judging catches up", async () => {
    estate(world, 1, 2, 15);
    const arm = watched(world.deps().arm, () => undefined);
    const recorded = { versions: 0, maxWaiting: 0 };
    const record = world.resources.recordSnapshot.bind(world.resources);
    // Judging is slow (a timer per snapshot), listing instant: without the bound every version would be waiting at once.
    world.resources.recordSnapshot = async (r) => {
      recorded.maxWaiting = Math.max(recorded.maxWaiting, arm.stats.versionsYielded - recorded.versions);
      await new Promise((resolve) => setTimeout(resolve, 1));
      const result = await record(r);
      if (r.snapshot.kind === "imageVersion") recorded.versions++;
      return result;
    };
    const deps: Dependencies = { ...world.deps(), arm: arm.inventory };
    const limit = 3;
    const listings = 2;
    const judges = 1;
    const run = await sweepSubscription(deps, { ...settings, sweepQueueLimit: limit, sweepListConcurrency: listings, sweepConcurrency: judges }, SUB, "run-1");

    expect(run.seen.versions).toBe(30);
    expect(recorded.versions).toBe(30);
    // Queued, plus one item per listing waiting to be queued, plus what the judges hold.
    expect(recorded.maxWaiting).toBeLessThanOrEqual(limit + listings + judges);
    expect(recorded.maxWaiting).toBeGreaterThan(0);
  });
});

describe("each listing stays isolated while many run at once", () => {
  it("a definition whose versions cannot be listed is recorded, its stored versions are not reconciled, and every other definition is swept and reconciled", async () => {
    const { definitionIds } = estate(world, 2, 3, 2);
    const [broken, healthy] = [definitionIds[1]!, definitionIds[4]!];
    // Versions stored by events; since then both were deleted in Azure (their events lost).
    const underBroken = aVersion({ id: parseResourceId(`${broken.display}/versions/9.0.0`), version: "9.0.0", targetRegions: regions("West Europe", "North Europe", "East US", "West US") });
    const underHealthy = aVersion({ id: parseResourceId(`${healthy.display}/versions/9.0.0`), version: "9.0.0", targetRegions: regions("West Europe", "North Europe", "East US", "West US") });
    world.azure.put(underBroken, underHealthy);
    await checkResource(world.deps(), settings, underBroken.id, event);
    await checkResource(world.deps(), settings, underHealthy.id, event);
    expect(world.findings.of("replication-breadth", underBroken.id)?.status).toBe("open");
    world.azure.remove(underBroken.id);
    world.azure.remove(underHealthy.id);
    world.azure.fault(`list:${broken.key}`, "failed");

    const run = await sweepSubscription(world.deps(), { ...settings, sweepAttempts: 2, sweepListConcurrency: 4 }, SUB, "run-1");

    expect(run.status).toBe("partial");
    expect(run.failures.map((f) => [f.resourceId, f.operation])).toEqual([[broken.display, "galleryImageVersions.listByGalleryImage"]]);
    expect(run.failures[0]?.reason).toContain("failed (injected)");
    expect(run.seen).toEqual({ galleries: 2, definitions: 6, versions: 10, scaleSets: 0, virtualMachines: 0 });
    // Nothing under the listing that failed is resolved on a guess; the healthy definition's loss is found.
    expect(world.findings.of("replication-breadth", underBroken.id)?.status).toBe("open");
    expect(await world.resources.current(underBroken.id.key)).toBeDefined();
    expect(world.findings.of("replication-breadth", underHealthy.id)).toMatchObject({ status: "resolved", facts: { resolution: "found missing by the sweep" } });
    expect(run.reconciled).toBe(1);
    expect(world.sweepRuns.runs.get(`${SUB}|run-1`)).toEqual(run);
  });

  it("a listing that fails part-way and succeeds on its retry hands each resource on once", async () => {
    const { definitionIds, versionIds } = estate(world, 1, 2, 4);
    const flaky = definitionIds[0]!;
    const base = world.deps().arm;
    let calls = 0;
    const inventory: ArmInventory = {
      ...base,
      async *listImageVersions(definitionId) {
        const attempt = definitionId.key === flaky.key ? ++calls : 0;
        let n = 0;
        for await (const version of base.listImageVersions(definitionId)) {
          // The first attempt loses its connection after two versions (a 503 on the next page).
          if (attempt === 1 && n++ === 2) throw new ArmReadError("failed", "galleryImageVersions.listByGalleryImage", definitionId.display, "503 ServiceUnavailable");
          yield version;
        }
      },
    };
    const judged: Snapshot[] = [];
    const deps: Dependencies = { ...world.deps(), arm: inventory };
    const record = world.resources.recordSnapshot.bind(world.resources);
    world.resources.recordSnapshot = async (r) => (judged.push(r.snapshot), record(r));

    const run = await sweepSubscription(deps, settings, SUB, "run-1");

    expect(calls).toBe(2);
    expect(run.status).toBe("succeeded");
    expect(run.failures).toEqual([]);
    expect(run.seen.versions).toBe(8);
    expect(judged.filter((s) => s.kind === "imageVersion").map((s) => s.id.key).sort()).toEqual(versionIds.map((id) => id.key).sort());
  });
});
