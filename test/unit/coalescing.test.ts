/**
 * Coalescing: events for one resource arriving while a check is under way lead to one follow-up
 * re-read, not one per event; the first event of a quiet resource is judged at once; re-checks of
 * a resource still provisioning coalesce too. In-memory adapters with the table adapters' contracts.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { handleResourceEvent, type EventSettings } from "../../shared/app/handleResourceEvent.js";
import { checkCoalesced } from "../../shared/app/admission.js";
import { aWorld, type World } from "../support/inMemoryPorts.js";
import { SUB, aDefinition, aGallery, aVersion, policy, regions } from "../support/snapshotBuilders.js";

const settings: EventSettings = { policy: policy(), portalUrl: "https://portal.example.test", recheckDelaySeconds: 60, recheckMaxAttempts: 3, coalesceWindowSeconds: 2, maxEventBytes: 1024 * 1024, watchedSubscriptions: new Set([SUB]) };
const version = aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") });
/** An event for a write that ARM finished at `writtenAt` (default: just now, as the world's clock says). */
const event = (n: number, writtenAt?: string) => ({
  id: `evt-${n}`,
  topic: `/subscriptions/${SUB}`,
  subject: version.id.display,
  eventType: "Microsoft.Resources.ResourceWriteSuccess",
  eventTime: writtenAt ?? world.clock.now().toISOString(),
  dataVersion: "2",
  metadataVersion: "1",
  data: { operationName: "Microsoft.Compute/galleries/images/versions/write", resourceUri: version.id.display, status: "Succeeded", claims: { name: `Caller ${n}` } },
});

let world: World;

beforeEach(() => {
  world = aWorld();
  world.azure.put(aGallery(), aDefinition(), version);
});

/** Ten more events for the version delivered while the first one's check is held (in its ARM read, or waiting for the read budget). */
async function tenMoreWhileHeld(hold: "hold" | "budgetHold") {
  let release!: () => void;
  world.azure[hold] = new Promise<void>((resolve) => (release = resolve));
  const first = handleResourceEvent(world.deps(), settings, event(0));
  await new Promise((resolve) => setImmediate(resolve));
  const others = await Promise.all(Array.from({ length: 10 }, (_, i) => handleResourceEvent(world.deps(), settings, event(i + 1))));
  release();
  world.azure[hold] = undefined;
  return { first: await first, others };
}

describe("coalescing", () => {
  it("the first event of a quiet resource is judged at once, with no follow-up", async () => {
    const result = await handleResourceEvent(world.deps(), settings, event(1));
    expect(result.outcome?.status).toBe("evaluated");
    expect(world.findings.of("replication-breadth", version.id)?.status).toBe("open");
    expect(world.rechecks).toEqual([]);
  });

  it("events within the window after a check queue one follow-up; after the window the next event is judged at once again", async () => {
    await handleResourceEvent(world.deps(), settings, event(1));
    const within = [await handleResourceEvent(world.deps(), settings, event(2)), await handleResourceEvent(world.deps(), settings, event(3))];
    expect(within.map((r) => r.outcome?.status)).toEqual(["coalesced", "coalesced"]);
    expect(world.rechecks).toEqual([{ id: version.id.display, attempt: 0 }]);
    world.clock.advance(3_000);
    await checkCoalesced(world.deps(), settings, version.id, { source: "recheck", attempt: 0 });
    world.clock.advance(3_000);
    expect((await handleResourceEvent(world.deps(), settings, event(4))).outcome?.status).toBe("evaluated");
    expect(world.azure.reads.filter((k) => k === version.id.key)).toHaveLength(3);
  });

  it("ten events arriving while a check is under way queue exactly one follow-up, and every caller is kept in the change log", async () => {
    const { others } = await tenMoreWhileHeld("hold");

    expect(others.map((r) => r.outcome?.status)).toEqual(Array(10).fill("coalesced"));
    expect(world.azure.reads.filter((k) => k === version.id.key)).toHaveLength(1);
    expect(world.rechecks).toEqual([{ id: version.id.display, attempt: 0 }]);
    expect(world.resources.changeRows.filter((c) => c.action === "coalesced")).toHaveLength(10);

    // The follow-up re-reads once and judges the state all ten events left behind.
    await checkCoalesced(world.deps(), settings, version.id, { source: "recheck", attempt: 0 });
    expect(world.azure.reads.filter((k) => k === version.id.key)).toHaveLength(2);
  });

  it("events arriving while the check waits for the read budget are covered by its read: no follow-up, one read", async () => {
    // Their writes finished before they were delivered, and the held read has not gone out yet.
    const { first, others } = await tenMoreWhileHeld("budgetHold");
    expect(first.outcome?.status).toBe("evaluated");

    expect(others.map((r) => r.outcome?.status)).toEqual(Array(10).fill("coalesced"));
    expect(world.azure.reads.filter((k) => k === version.id.key)).toHaveLength(1);
    expect(world.rechecks).toEqual([]);
    expect(world.resources.changeRows.filter((c) => c.action === "coalesced")).toHaveLength(10);
    // Once the read is out, a new event is no longer covered by it: the window queues one follow-up.
    expect((await handleResourceEvent(world.deps(), settings, event(11))).outcome?.status).toBe("coalesced");
    expect(world.rechecks).toEqual([{ id: version.id.display, attempt: 0 }]);
  });

  it.each([-5_000, -3_000, 5_000])("a write whose event's eventTime is %i ms off our clock is judged: no read sent before the event arrived covers it", async (skewMs) => {
    await handleResourceEvent(world.deps(), settings, event(1));
    world.clock.advance(500);
    // A second write half a second after the read, then its event, stamped by a clock `skewMs` off ours.
    const wider = { ...version, targetRegions: regions("West Europe", "North Europe", "East US", "West US", "UK South") };
    world.azure.put(wider);
    const second = await handleResourceEvent(world.deps(), settings, event(2, new Date(world.clock.now().getTime() + skewMs).toISOString()));
    // Within the window: one follow-up is queued (not dropped as covered), and it reads the write.
    expect(second.outcome?.status).toBe("coalesced");
    expect(world.rechecks).toEqual([{ id: version.id.display, attempt: 0 }]);
    world.clock.advance(3_000);
    await checkCoalesced(world.deps(), settings, version.id, { source: "recheck", attempt: 0 });
    expect(await world.resources.current(version.id.key)).toEqual(wider);
  });

  it("a resource still provisioning schedules one re-check however many events arrive for it", async () => {
    world.azure.put({ ...version, provisioningState: "Updating" });
    await handleResourceEvent(world.deps(), settings, event(0));
    for (let i = 1; i <= 100; i++) await handleResourceEvent(world.deps(), settings, event(i));
    expect(world.rechecks).toEqual([{ id: version.id.display, attempt: 1 }]);
    expect(world.azure.reads.filter((k) => k === version.id.key)).toHaveLength(1);
  });

  it("a check that fails lets the next event through at once (the platform retries the failed one)", async () => {
    world.azure.fault(version.id.key, "throttled");
    await expect(handleResourceEvent(world.deps(), settings, event(0))).rejects.toThrow(/throttled/);
    world.azure.fault(version.id.key, undefined);
    const retried = await handleResourceEvent(world.deps(), settings, event(0));
    expect(retried.outcome?.status).toBe("evaluated");
  });
});

describe("a late delivery of a write that a judged answer covers", () => {
  it("costs one change row naming its caller, no read and no judgement; a write within ARM's margin is read", async () => {
    // ARM dates its answers on its own clock, here the world's.
    world.azure.armClock = () => world.clock.now().getTime();
    const t0 = world.clock.now().getTime();
    // The first event (written 30 s ago, delivered now) is judged with a read ARM dates t0.
    expect((await handleResourceEvent(world.deps(), settings, event(1, new Date(t0 - 30_000).toISOString()))).outcome?.status).toBe("evaluated");
    expect(world.azure.reads.filter((k) => k === version.id.key)).toHaveLength(1);
    // A backlog: the next writes' events arrive 5 s later, after the coalescing window.
    world.clock.advance(5_000);
    const covered = await handleResourceEvent(world.deps(), settings, event(2, new Date(t0 - 15_000).toISOString()));
    expect(covered.outcome?.status).toBe("coalesced");
    expect(world.azure.reads.filter((k) => k === version.id.key)).toHaveLength(1);
    expect(world.rechecks).toEqual([]);
    expect(world.resources.changeRows.filter((c) => c.action === "coalesced").map((c) => (c.trigger.source === "event" ? c.trigger.attribution.callerName : undefined))).toEqual(["Caller 2"]);
    // Written 9 s before ARM's date on the answer: inside the margin, read.
    expect((await handleResourceEvent(world.deps(), settings, event(3, new Date(t0 - 9_000).toISOString()))).outcome?.status).toBe("evaluated");
    expect(world.azure.reads.filter((k) => k === version.id.key)).toHaveLength(2);
  });
});

describe("a read sent earlier standing in for a check's own (a definition's listing)", () => {
  const at = (ms: number) => new Date(ms).toISOString();

  it("answers a check only if sent after every event it stands for was received here, an event folded into it while it waited included", async () => {
    const gate = world.deps().gate;
    const t0 = world.clock.now().getTime();
    const entry = await gate.enter(version.id.key, at(t0));
    expect(entry.kind).toBe("run");
    const token = entry.kind === "run" ? entry.token : "";
    expect(gate.reading(version.id.key, token, t0 - 1)).toBe(false); // sent before the event arrived
    // A second event arrives 5 s later while the check still waits: folded in.
    world.clock.advance(5_000);
    expect((await gate.enter(version.id.key, at(t0 + 5_000))).kind).toBe("coalesced");
    expect(gate.reading(version.id.key, token, t0 + 2_000)).toBe(false); // covers the first event only
    expect(gate.reading(version.id.key, token, t0 + 5_000)).toBe(false); // not provably after the second
    expect(gate.reading(version.id.key, token, t0 + 5_001)).toBe(true);
    await gate.leave(version.id.key, token, "done");
    // Once the read is taken, a later event is not covered by it.
    world.clock.advance(10_000);
    expect((await gate.enter(version.id.key, world.clock.now().toISOString())).kind).toBe("run");
  });

  it("answers a late delivery with a read ARM dated at least 10 s after every write the check stands for, on ARM's clocks alone, whatever our clock says", async () => {
    const gate = world.deps().gate;
    const t0 = world.clock.now().getTime();
    // A listing went out at t0 and ARM dated it t0 (ARM's clock); the events below reach us later.
    const written = (ms: number) => new Date(t0 + ms).toISOString();
    const late = async (writtenMs: number) => {
      world.clock.advance(30_000); // delivered long after the listing was sent
      const entry = await gate.enter(version.id.key, world.clock.now().toISOString(), written(writtenMs));
      return entry.kind === "run" ? entry.token : "";
    };
    const early = await late(-10_000); // written 10 s before ARM answered the listing
    expect(gate.reading(version.id.key, early, t0, t0)).toBe(true);
    await gate.leave(version.id.key, early, "done");
    world.clock.advance(10_000);
    // Written 9 s before: inside the margin for a skew between Event Grid's stamp and ARM's answer.
    const close = await late(-9_000);
    expect(gate.reading(version.id.key, close, t0, t0)).toBe(false);
    expect(gate.reading(version.id.key, close, t0)).toBe(false); // no ARM time: our clock alone, and the listing went out before the event came
    await gate.leave(version.id.key, close, "done");
  });

  it("an event folded into a waiting check raises the write time the check stands for; a re-check (event times unknown) is covered on our clock only", async () => {
    const gate = world.deps().gate;
    const t0 = world.clock.now().getTime();
    const entry = await gate.enter(version.id.key, at(t0), at(t0 - 60_000));
    const token = entry.kind === "run" ? entry.token : "";
    expect((await gate.enter(version.id.key, at(t0), at(t0 - 5_000))).kind).toBe("coalesced");
    expect(gate.reading(version.id.key, token, t0 - 1, t0)).toBe(false); // covers the first write, not the folded one
    expect(gate.reading(version.id.key, token, t0 - 1, t0 + 5_000)).toBe(true);
    await gate.leave(version.id.key, token, "done");

    const recheck = await gate.takeOver(version.id.key, at(t0));
    expect(gate.reading(version.id.key, recheck, t0 - 1, t0 + 3_600_000)).toBe(false);
  });

  it("while a check judges a kept answer, an event that answer covers folds into it; one written later, or after a check that stored nothing, does not", () => {
    const gate = world.deps().gate;
    const armTime = Date.parse("2026-11-24T12:01:00Z");
    const done = gate.judgingAnswer(version.id.key, armTime);
    expect(gate.answered(version.id.key, armTime - 10_000)).toBe(true);
    expect(gate.answered(version.id.key, armTime - 9_000)).toBe(false);
    expect(gate.answered(aDefinition().id.key, armTime - 60_000)).toBe(false);
    done(false);
    expect(gate.answered(version.id.key, armTime - 60_000)).toBe(false);
  });

  it("an answer judged and stored goes on covering the writes ARM dated it well after, the latest answer per resource", async () => {
    const gate = world.deps().gate;
    const armTime = Date.parse("2026-11-24T12:01:00Z");
    gate.judgingAnswer(version.id.key, armTime)(true);
    expect(gate.answered(version.id.key, armTime - 10_000)).toBe(true);
    expect(gate.answered(version.id.key, armTime - 9_000)).toBe(false);
    // A check that read ARM and stored its verdict: its answer, dated later, covers more.
    const entry = await gate.enter(version.id.key, world.clock.now().toISOString());
    await gate.leave(version.id.key, entry.kind === "run" ? entry.token : "", "done", armTime + 60_000);
    expect(gate.answered(version.id.key, armTime + 50_000)).toBe(true);
    // One that failed covers nothing.
    const other = aDefinition().id.key;
    const failed = await gate.enter(other, world.clock.now().toISOString());
    await gate.leave(other, failed.kind === "run" ? failed.token : "", "failed", armTime);
    expect(gate.answered(other, armTime - 60_000)).toBe(false);
  });

  it("answers a re-check only with a read sent after it took over (it stands for events received before it was queued)", async () => {
    const gate = world.deps().gate;
    const t0 = world.clock.now().getTime();
    const token = await gate.takeOver(version.id.key, at(t0));
    expect(gate.reading(version.id.key, token, t0 - 1)).toBe(false);
    expect(gate.reading(version.id.key, token, t0 + 1)).toBe(true);
  });
});
