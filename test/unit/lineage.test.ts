/**
 * Lineage as a property: whatever a fleet of machines does — moves between versions, drops its
 * gallery image, is deleted and re-created, is re-read with nothing new — the lineage of each
 * version lists exactly the machines ever recorded running it, the ones running it now without a
 * last sighting, and the others last seen when they stopped. In-memory store; the Table store is
 * held to it by the ResourceStore contract (test/adapters/contracts.test.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { contentHashOf } from "../../shared/domain/contentHash.js";
import { machineStates, versionsRun, type VirtualMachineSnapshot } from "../../shared/domain/snapshots.js";
import { MemoryResourceStore } from "../support/inMemoryPorts.js";
import { aVm, BASE } from "../support/snapshotBuilders.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";

const MACHINES = ["vm-a", "vm-b", "vm-c"] as const;
const VERSIONS = ["1.0.0", "1.1.0", "2.0.0"] as const;

/** What happens to a machine next: it is recorded running a version, running no gallery image, re-read as it is, or deleted. */
const aStep = fc.record({
  machine: fc.constantFrom(...MACHINES),
  what: fc.oneof(fc.constantFrom(...VERSIONS).map((v) => ({ runs: v as string | undefined })), fc.constant({ runs: undefined }), fc.constant("reread" as const), fc.constant("delete" as const)),
  /** A delete event whose machine is back: the deletion and the machine as it is now, recorded at one moment (app/checkResource.ts). */
  backAtOnce: fc.boolean(),
});

describe("lineage", () => {
  it("lists every machine ever recorded on a version; those on it now have no last sighting; sightings never go backwards", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(aStep, { maxLength: 30 }), async (steps) => {
        const store = new MemoryResourceStore();
        const now = new Map<string, string | undefined>(); // machine → version it runs (recorded, not deleted)
        const ever = new Map<string, Set<string>>(); // version → machines
        const last = new Map<string, VirtualMachineSnapshot>();
        for (const [i, step] of steps.entries()) {
          const at = new Date(Date.UTC(2026, 10, 24, 12, 0, i)).toISOString();
          const trigger = { source: "event", attribution: { eventId: `e-${i}`, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: at } } as const;
          if (step.what === "delete") {
            const vm = last.get(step.machine);
            if (vm) await store.recordDeletion(vm.id, at, trigger);
            now.delete(step.machine);
            continue;
          }
          const previous = last.get(step.machine);
          // A re-read needs a machine still there.
          if (step.what === "reread" && (previous === undefined || !now.has(step.machine))) continue;
          const runs = step.what === "reread" ? now.get(step.machine) : step.what.runs;
          const vm: VirtualMachineSnapshot =
            runs === undefined
              ? { ...aVm({ name: step.machine }), imageReference: { kind: "other", description: "marketplace image" }, image: { outcome: "notGalleryImage" } }
              : aVm({ name: step.machine, version: runs });
          const snapshot = step.what === "reread" && previous ? previous : vm;
          if (step.backAtOnce && previous) await store.recordDeletion(previous.id, at, trigger);
          await store.recordSnapshot({ snapshot, contentHash: contentHashOf(snapshot), observedAt: at, trigger });
          last.set(step.machine, snapshot);
          now.set(step.machine, runs);
          if (runs !== undefined) ever.set(runs, (ever.get(runs) ?? new Set()).add(step.machine));
        }
        for (const version of VERSIONS) {
          const lineage = await store.lineage(parseResourceId(`${BASE}/galleries/gal/images/def/versions/${version}`).key);
          const names = lineage.map((l) => l.machineId.split("/").at(-1)!);
          expect(new Set(names)).toEqual(ever.get(version) ?? new Set());
          for (const entry of lineage) {
            const name = entry.machineId.split("/").at(-1)!;
            expect(entry.lastSeen === undefined, `${name} on ${version}`).toBe(now.get(name) === version && now.has(name));
            if (entry.lastSeen !== undefined) expect(entry.lastSeen >= entry.firstSeen).toBe(true);
          }
        }
        // What `gallery-watch reindex` works out from each machine's history (its states and its
        // deletions) is what the live index kept: a fleet recorded before lineage gets the same.
        for (const machine of MACHINES) {
          const vm = last.get(machine);
          if (!vm) continue;
          const deletions = (await store.changes(vm.id.key)).filter((c) => c.action === "deleted").map((c) => c.observedAt);
          for (const [versionKey, run] of versionsRun(machineStates(await store.history(vm.id.key, { limit: 1_000 }), deletions))) {
            const live = (await store.lineage(versionKey)).find((e) => e.machineId === vm.id.display);
            expect(live, `${machine} on ${versionKey}`).toEqual({ machineId: vm.id.display, kind: "virtualMachine", ...run });
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
