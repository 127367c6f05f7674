/**
 * Version reads in a burst: while the read budget has reads to spare each version is read at
 * once; when it has none, the reads of one definition's versions that queue meanwhile are
 * answered by one listing, sent only when the budget lets it go.
 */
import { describe, expect, it } from "vitest";
import { VersionBatches, type BatchBudget } from "../../shared/arm/versionBatches.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { ImageVersionSnapshot } from "../../shared/domain/snapshots.js";
import { aVersion } from "../support/snapshotBuilders.js";

const versions = [1, 2, 3].map((n) => aVersion({ id: parseResourceId(`${aVersion().id.display.replace(/[^/]+$/, "")}1.0.${n}`) }) as ImageVersionSnapshot);

function aBudget(tokens: number) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const budget: BatchBudget & { open(): void } = { available: () => tokens, ready: () => gate, open };
  return budget;
}

describe("version reads batched by definition", () => {
  it("with reads to spare, a version gets its own GET at once", async () => {
    const batches = new VersionBatches(aBudget(10));
    const calls: string[] = [];
    const outcome = await batches.read(versions[0]!.id, () => calls.push("sending"), async () => (calls.push("get"), { status: "found", snapshot: versions[0]! }), async () => (calls.push("list"), versions));
    expect(outcome.status).toBe("found");
    expect(calls).toEqual(["sending", "get"]);
  });

  it("with none, the reads that queue are answered by one listing sent when the budget allows, and a version not listed gets its own GET", async () => {
    const budget = aBudget(0);
    const batches = new VersionBatches(budget);
    const calls: string[] = [];
    const gone = aVersion({ id: parseResourceId(`${versions[0]!.id.display.replace(/[^/]+$/, "")}9.9.9`) }) as ImageVersionSnapshot;
    const read = (v: ImageVersionSnapshot) =>
      batches.read(v.id, () => calls.push(`sending ${v.id.version}`), async () => (calls.push(`get ${v.id.version}`), { status: "gone" as const, id: v.id }), async () => (calls.push("list"), versions));
    const reads = Promise.all([...versions, gone].map(read));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([]); // nothing goes out before the budget allows
    budget.open();
    const outcomes = await reads;
    expect(outcomes.map((o) => o.status)).toEqual(["found", "found", "found", "gone"]);
    expect(calls.filter((c) => c === "list")).toHaveLength(1);
    expect(calls.filter((c) => c.startsWith("get"))).toEqual(["get 9.9.9"]);
    // Every read was marked as sent before the listing went out.
    expect(calls.indexOf("list")).toBe(4);
    expect(batches.figures).toEqual({ listings: 1, answered: 3 });
  });

  it("a listing that fails leaves each read to its own GET", async () => {
    const budget = aBudget(0);
    const batches = new VersionBatches(budget);
    const reads = Promise.all(versions.map((v) => batches.read(v.id, undefined, async () => ({ status: "found", snapshot: v }), async () => Promise.reject(new Error("throttled")))));
    budget.open();
    expect((await reads).map((o) => o.status)).toEqual(["found", "found", "found"]);
    expect(batches.figures.listings).toBe(0);
  });
});
