/**
 * Version reads in a burst: while the read budget has reads to spare each version is read at
 * once; when it has none, the reads of one definition's versions that queue meanwhile are
 * answered by one listing, sent only when the budget lets it go. A listing is kept: a later read
 * whose writes all finished before it went out is answered from it, if the gate agrees.
 */
import { describe, expect, it } from "vitest";
import { VersionBatches, type BatchBudget } from "../../shared/adapters/arm/versionBatches.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { ImageVersionSnapshot } from "../../shared/domain/snapshots.js";
import { aVersion } from "../support/snapshotBuilders.js";

const versions = [1, 2, 3].map((n) => aVersion({ id: parseResourceId(`${aVersion().id.display.replace(/[^/]+$/, "")}1.0.${n}`) }) as ImageVersionSnapshot);

function aBudget(tokens: number) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const budget: BatchBudget & { open(): void; tokens: number } = { tokens, available: () => budget.tokens, ready: () => gate, open };
  return budget;
}

describe("version reads batched by definition", () => {
  it("with reads to spare, a version gets its own GET at once", async () => {
    const batches = new VersionBatches(aBudget(10));
    const calls: string[] = [];
    const outcome = await batches.read(versions[0]!.id, { sending: () => void calls.push("sending") }, async () => (calls.push("get"), { status: "found", snapshot: versions[0]! }), async () => (calls.push("list"), { versions }));
    expect(outcome.status).toBe("found");
    expect(calls).toEqual(["sending", "get"]);
  });

  it("with none, the reads that queue are answered by one listing sent when the budget allows, and a version not listed is gone without a GET of its own", async () => {
    const budget = aBudget(0);
    const batches = new VersionBatches(budget);
    const calls: string[] = [];
    const gone = aVersion({ id: parseResourceId(`${versions[0]!.id.display.replace(/[^/]+$/, "")}9.9.9`) }) as ImageVersionSnapshot;
    const read = (v: ImageVersionSnapshot) =>
      batches.read(v.id, { sending: () => void calls.push(`sending ${v.id.version}`) }, async () => (calls.push(`get ${v.id.version}`), { status: "gone" as const, id: v.id }), async () => (calls.push("list"), { versions }));
    const reads = Promise.all([...versions, gone].map(read));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([]); // nothing goes out before the budget allows
    budget.open();
    const outcomes = await reads;
    expect(outcomes.map((o) => o.status)).toEqual(["found", "found", "found", "gone"]);
    expect(calls.filter((c) => c === "list")).toHaveLength(1);
    expect(calls.filter((c) => c.startsWith("get"))).toEqual([]);
    // Every read was marked as sent before the listing went out.
    expect(calls.indexOf("list")).toBe(4);
    expect(batches.figures).toEqual({ listings: 1, answered: 4, fromKept: 0 });
  });

  it("a listing that fails leaves each read to its own GET", async () => {
    const budget = aBudget(0);
    const batches = new VersionBatches(budget);
    const reads = Promise.all(versions.map((v) => batches.read(v.id, undefined, async () => ({ status: "found", snapshot: v }), async () => Promise.reject(new Error("throttled")))));
    budget.open();
    expect((await reads).map((o) => o.status)).toEqual(["found", "found", "found"]);
    expect(batches.figures.listings).toBe(0);
  });

  /** Three queued reads list the definition at `sentAt`; the listing is then kept. */
  async function listedAt(sentAt: number, requests: string[]) {
    const budget = aBudget(0);
    const batches = new VersionBatches(budget, () => sentAt);
    const reads = Promise.all(versions.map((v) => batches.read(v.id, undefined, async () => (requests.push(`get ${v.id.version}`), { status: "found" as const, snapshot: v }), async () => (requests.push("list"), { versions, armTime: sentAt + 1_000 }))));
    budget.open();
    await reads;
    budget.tokens = 10;
    return batches;
  }
  const later = aVersion({ id: versions[1]!.id, tags: { owner: "changed" } }) as ImageVersionSnapshot;

  it("a later read that the gate lets a kept listing answer costs no request, and says so to the gate with the listing's times (ours and ARM's)", async () => {
    const requests: string[] = [];
    const batches = await listedAt(5_000, requests);
    const asked: Array<[number, number | undefined]> = [];
    const outcome = await batches.read(versions[1]!.id, { answeredBy: (sentAt, armTime) => (asked.push([sentAt, armTime]), true) }, async () => (requests.push("get"), { status: "found", snapshot: later }), async () => (requests.push("list"), { versions }));
    // Recorded as observed when the listing went out, not now: a newer stored state is not overwritten by it.
    expect(outcome).toEqual({ status: "found", snapshot: versions[1], observedAt: new Date(5_000).toISOString(), armTime: 6_000 });
    expect(asked).toEqual([[5_000, 6_000]]);
    expect(requests).toEqual(["list"]);
    expect(batches.figures.fromKept).toBe(1);
  });

  it("a read the gate refuses the kept listing (a write may have finished after it) goes to ARM, as does a read without the gate", async () => {
    const requests: string[] = [];
    const batches = await listedAt(5_000, requests);
    const refused = await batches.read(versions[1]!.id, { answeredBy: () => false }, async () => (requests.push("get"), { status: "found", snapshot: later }), async () => (requests.push("list"), { versions }));
    const ungated = await batches.read(versions[1]!.id, undefined, async () => (requests.push("get"), { status: "found", snapshot: later }), async () => (requests.push("list"), { versions }));
    expect([refused, ungated]).toEqual([{ status: "found", snapshot: later }, { status: "found", snapshot: later }]);
    expect(requests).toEqual(["list", "get", "get"]);
  });

  it("once a definition is known to list in one page, a single queued read lists it rather than spending the read on one version", async () => {
    const requests: string[] = [];
    const budget = aBudget(0);
    const batches = new VersionBatches(budget, () => 5_000);
    const first = Promise.all(versions.map((v) => batches.read(v.id, undefined, async () => (requests.push("get"), { status: "found" as const, snapshot: v }), async () => (requests.push("list"), { versions }))));
    budget.open();
    await first;
    const single = await batches.read(versions[2]!.id, { answeredBy: () => false }, async () => (requests.push("get"), { status: "found", snapshot: versions[2]! }), async () => (requests.push("list"), { versions }));
    expect(single.status).toBe("found");
    expect(requests).toEqual(["list", "list"]);
  });
});

describe("patient reads (follow-ups and re-checks)", () => {
  it("in a burst (reads short), one re-check lists a definition of unknown size, at most two pages, and the listing, kept, answers its siblings' re-checks without a request", async () => {
    const budget = Object.assign(aBudget(0), { short: () => true });
    budget.open();
    const batches = new VersionBatches(budget, () => 5_000, 5);
    const calls: string[] = [];
    const read = (v: ImageVersionSnapshot) =>
      batches.read(v.id, { patient: true, answeredBy: () => true }, async () => (calls.push(`get ${v.id.version}`), { status: "found" as const, snapshot: v }), async (_definition, limit) => (calls.push(`list ${limit}`), { versions }));
    // The old rule wanted three queued reads of a definition it had not listed: re-checks arriving one or two at a time each read alone.
    expect((await read(versions[0]!)).status).toBe("found");
    expect((await read(versions[1]!)).status).toBe("found");
    expect((await read(versions[2]!)).status).toBe("found");
    expect(calls).toEqual(["list 100"]);
    expect(batches.figures).toEqual({ listings: 1, answered: 1, fromKept: 2 });
  });

  it("a definition that listing finds larger than two pages is read version by version, and not listed for one again", async () => {
    const budget = Object.assign(aBudget(0), { short: () => true });
    budget.open();
    const batches = new VersionBatches(budget, () => 5_000, 5);
    const calls: string[] = [];
    const read = (v: ImageVersionSnapshot) =>
      batches.read(v.id, { patient: true }, async () => (calls.push(`get ${v.id.version}`), { status: "found" as const, snapshot: v }), async (_definition, limit) => (calls.push(`list ${limit}`), { versions, truncated: true as const }));
    expect((await read(versions[0]!)).status).toBe("found");
    expect((await read(versions[1]!)).status).toBe("found");
    expect(calls).toEqual(["list 100", "get 1.0.1", "get 1.0.2"]);
    expect(batches.figures.listings).toBe(0);
  });

  it("with reads to spare, a lone re-check of a definition of unknown size reads its one version, not the whole definition", async () => {
    const budget = aBudget(100);
    budget.open();
    const batches = new VersionBatches(budget, () => 5_000, 5);
    const calls: string[] = [];
    await batches.read(versions[0]!.id, { patient: true }, async () => (calls.push("get"), { status: "found" as const, snapshot: versions[0]! }), async () => (calls.push("list"), { versions }));
    expect(calls).toEqual(["get"]);
  });

  it("gather for a moment even with reads to spare: the follow-ups of a definition's versions share one listing", async () => {
    const budget = aBudget(100);
    budget.open();
    const batches = new VersionBatches(budget, Date.now, 20);
    const calls: string[] = [];
    const read = (v: ImageVersionSnapshot) => batches.read(v.id, { patient: true }, async () => (calls.push(`get ${v.id.version}`), { status: "found" as const, snapshot: v }), async () => (calls.push("list"), { versions }));
    const first = read(versions[0]!);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const outcomes = await Promise.all([first, read(versions[1]!), read(versions[2]!)]);
    expect(outcomes.map((o) => o.status)).toEqual(["found", "found", "found"]);
    expect(calls).toEqual(["list"]);
  });
});
