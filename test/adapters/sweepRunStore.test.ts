/** SweepRunStore against the Azurite the test run starts; a fresh table prefix per test. */
import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { createTableSweepRunStore } from "../../shared/adapters/tables/tableSweepRunStore.js";
import type { SweepFailure, SweepRun } from "../../shared/app/ports.js";

const conn = () => ({ connectionString: inject("azuriteConnectionString") });
const prefix = () => `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
const SUB_A = "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f";
const SUB_B = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";

function aRun(overrides: Partial<SweepRun> = {}): SweepRun {
  return {
    runId: "2026-11-24T02:00:00.000Z-inv1",
    subscriptionId: SUB_A,
    startedAt: "2026-11-24T02:00:00.000Z",
    status: "running",
    seen: { galleries: 0, definitions: 0, versions: 0, scaleSets: 0, virtualMachines: 0 },
    armRequests: 0,
    snapshotsWritten: 0,
    transitions: {},
    reconciled: 0,
    failures: [],
    ...overrides,
  };
}

describe("tableSweepRunStore", () => {
  it("records a run at its start and replaces it at its end, readable by subscription and run id", async () => {
    const store = createTableSweepRunStore(conn(), prefix());
    const started = aRun();
    await store.record(started);
    expect(await store.get(SUB_A, started.runId)).toEqual(started);

    const failures: SweepFailure[] = [{ resourceId: `/subscriptions/${SUB_A}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g1`, operation: "galleryImages.listByGallery", reason: "noAccess: AuthorizationFailed" }];
    const finished = aRun({
      finishedAt: "2026-11-24T02:03:10.000Z",
      status: "partial",
      seen: { galleries: 3, definitions: 7, versions: 21, scaleSets: 4, virtualMachines: 0 },
      armRequests: 42,
      snapshotsWritten: 5,
      transitions: { opened: 2, resolved: 1 },
      reconciled: 1,
      failures,
    });
    await store.record(finished);
    expect(await store.get(SUB_A, started.runId)).toEqual(finished);
    // Replaced, not added: one run in the listing.
    expect(await store.list()).toEqual([finished]);
  });

  it("answers an unknown run with undefined, and runs are kept apart by subscription", async () => {
    const store = createTableSweepRunStore(conn(), prefix());
    const runId = "same-run-id";
    await store.record(aRun({ runId, subscriptionId: SUB_A }));
    expect(await store.get(SUB_B, runId)).toBeUndefined();
    expect(await store.get(SUB_A, "no-such-run")).toBeUndefined();
    await store.record(aRun({ runId, subscriptionId: SUB_B, status: "succeeded", finishedAt: "2026-11-24T02:01:00.000Z" }));
    expect((await store.get(SUB_A, runId))?.status).toBe("running");
    expect((await store.get(SUB_B, runId))?.status).toBe("succeeded");
  });

  it("lists runs of every subscription newest first, bounded by `since` (inclusive), by subscription and by limit", async () => {
    const store = createTableSweepRunStore(conn(), prefix());
    const runs = [
      aRun({ runId: "r1", subscriptionId: SUB_A, startedAt: "2026-11-22T02:00:00.000Z" }),
      aRun({ runId: "r2", subscriptionId: SUB_B, startedAt: "2026-11-23T02:00:00.000Z" }),
      aRun({ runId: "r3", subscriptionId: SUB_A, startedAt: "2026-11-23T02:00:00.001Z" }),
      aRun({ runId: "r4", subscriptionId: SUB_B, startedAt: "2026-11-24T02:00:00.000Z" }),
    ];
    for (const run of runs) await store.record(run);
    expect((await store.list()).map((r) => r.runId)).toEqual(["r4", "r3", "r2", "r1"]);
    expect((await store.list({ since: "2026-11-23T02:00:00.000Z" })).map((r) => r.runId)).toEqual(["r4", "r3", "r2"]);
    expect((await store.list({ since: "2026-11-23T02:00:00.001Z" })).map((r) => r.runId)).toEqual(["r4", "r3"]);
    expect((await store.list({ since: "2026-11-25T00:00:00.000Z" }))).toEqual([]);
    expect((await store.list({ subscriptionId: SUB_A })).map((r) => r.runId)).toEqual(["r3", "r1"]);
    expect((await store.list({ since: "2026-11-23T00:00:00.000Z", subscriptionId: SUB_B.toUpperCase() })).map((r) => r.runId)).toEqual(["r4", "r2"]);
    expect((await store.list({ limit: 2 })).map((r) => r.runId)).toEqual(["r4", "r3"]);
  });

  it("moves the run in the listing if it is recorded again with another start time", async () => {
    const store = createTableSweepRunStore(conn(), prefix());
    await store.record(aRun({ startedAt: "2026-11-24T02:00:00.000Z" }));
    await store.record(aRun({ startedAt: "2026-11-24T02:00:05.000Z", status: "succeeded", finishedAt: "2026-11-24T02:01:00.000Z" }));
    expect((await store.list()).map((r) => [r.startedAt, r.status])).toEqual([["2026-11-24T02:00:05.000Z", "succeeded"]]);
  });

  it("keeps a run with thousands of failures storable, saying how many it left out", async () => {
    const store = createTableSweepRunStore(conn(), prefix());
    const failures: SweepFailure[] = Array.from({ length: 3000 }, (_, i) => ({
      resourceId: `/subscriptions/${SUB_A}/resourceGroups/rg/providers/Microsoft.Compute/galleries/gallery${i}`,
      operation: "galleryImages.listByGallery",
      reason: "throttled: too many requests",
    }));
    const run = aRun({ status: "partial", finishedAt: "2026-11-24T03:00:00.000Z", failures });
    await store.record(run);
    const stored = (await store.get(SUB_A, run.runId))!;
    expect(stored.failures.length).toBeGreaterThan(10);
    expect(stored.failures.length).toBeLessThan(3000);
    expect(stored.failures.slice(0, -1)).toEqual(failures.slice(0, stored.failures.length - 1));
    expect(stored.failures.at(-1)!.reason).toContain(`${3000 - (stored.failures.length - 1)} more failure(s) not stored`);
    expect(stored.status).toBe("partial");
  });
});
