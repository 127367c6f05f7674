/**
 * The performance issue's other figures, through the local host: a trickle (one change at a
 * time) for event → stored and write → card latency, a sweep at ARM latency for the read budget
 * it uses and for what a second, unchanged sweep writes, and an autoscale storm for the reads it
 * costs. Each returns figures with their targets beside them.
 */
import { pino } from "pino";
import { startLocalStack } from "../local/stack.js";
import { armWrite } from "../local/armWrite.js";
import { waitUntilQuiet } from "../local/quiet.js";
import { runtime } from "../shared/composition.js";

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const source = { storageProfile: { source: { virtualMachineId: "/subscriptions/7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f/resourceGroups/rg-capture/providers/Microsoft.Compute/virtualMachines/capture-vm" } } };
const caller = { name: "Bench", upn: "bench@contoso.example" };
const reads = (counts: Record<string, number>) => Object.entries(counts).filter(([k]) => k.startsWith("GET") || k.startsWith("LIST")).reduce((a, [, v]) => a + v, 0);

/** One change at a time: event received → stored (the host acknowledges after the outbox row), and write → card. */
export async function benchTrickle(changes: number, armLatencyMs: number): Promise<Record<string, string | number>> {
  const stack = await startLocalStack({ log: pino({ level: "silent" }), settleMs: 0, throttle: false, settings: { GW_LOG_LEVEL: "silent" } });
  try {
    const gallery = `/subscriptions/${stack.subscriptionId}/resourceGroups/rg-bench/providers/Microsoft.Compute/galleries/trickle`;
    stack.arm.estate.put({ id: gallery, body: { location: "westeurope", properties: {} } });
    stack.arm.estate.put({ id: `${gallery}/images/def`, body: { location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: "o", sku: "s" } } } });
    if (armLatencyMs > 0) stack.arm.faults.add({ kind: "latency", latencyMs: armLatencyMs, method: "GET" });
    const cardLatency: number[] = [];
    for (let i = 0; i < changes; i++) {
      const before = stack.inbox.cards().length;
      const writtenAt = Date.now();
      await armWrite(stack.arm, caller, "PUT", `${gallery}/images/def/versions/1.0.${i}`, {
        location: "westeurope",
        tags: { owner: "o", approver: "a" },
        properties: { publishingProfile: { targetRegions: ["West Europe", "North Europe", "East US"].map((name) => ({ name })), excludeFromLatest: true, endOfLifeDate: "2027-06-30T00:00:00Z" }, ...source },
      });
      const deadline = Date.now() + 30_000;
      while (stack.inbox.cards().length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      cardLatency.push(Date.now() - writtenAt);
    }
    await waitUntilQuiet(stack);
    // The simulator stamps when the host acknowledged each delivery; the host answers after the function stored its outbox rows.
    const stored = stack.arm.events.sent.map((e) => Date.parse(e.deliveredAt) - Date.parse(e.writtenAt));
    const label = armLatencyMs > 0 ? ` (ARM at ${armLatencyMs} ms)` : " (ARM at 0 ms)";
    return {
      [`trickle${label}: changes`]: changes,
      [`event → stored p50 / p99 ms${label}`]: `${percentile(stored, 50)} / ${percentile(stored, 99)}   target p99 < ${armLatencyMs > 0 ? 300 : 25}`,
      [`write → card p50 / p99 ms${label}`]: `${percentile(cardLatency, 50)} / ${percentile(cardLatency, 99)}   target p99 < 2000`,
    };
  } finally {
    await stack.close();
  }
}

/** A sweep of `versions` versions and `scaleSets` scale sets at ARM latency, then a second, unchanged sweep. */
export async function benchSweep(versions: number, scaleSets: number, armLatencyMs: number): Promise<Record<string, string | number>> {
  const stack = await startLocalStack({ log: pino({ level: "silent" }), settleMs: 0, settings: { GW_LOG_LEVEL: "silent" } });
  try {
    const rg = `/subscriptions/${stack.subscriptionId}/resourceGroups/rg-sweep/providers/Microsoft.Compute`;
    const perDefinition = 100;
    const definitions = Math.ceil(versions / perDefinition);
    stack.arm.estate.put({ id: `${rg}/galleries/sweep`, body: { location: "westeurope", properties: {} } });
    for (let d = 0; d < definitions; d++) {
      const def = `${rg}/galleries/sweep/images/def${d}`;
      stack.arm.estate.put({ id: def, body: { location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { osType: "Linux", osState: d % 2 ? "Generalized" : "Specialized", identifier: { publisher: "p", offer: `o${d}`, sku: "s" } } } });
      for (let v = 0; v < perDefinition && d * perDefinition + v < versions; v++) {
        stack.arm.estate.put({ id: `${def}/versions/1.0.${v}`, body: { location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { publishingProfile: { targetRegions: [{ name: "West Europe" }], excludeFromLatest: true, endOfLifeDate: "2027-06-30T00:00:00Z" }, ...source } } });
      }
    }
    for (let s = 0; s < scaleSets; s++) {
      stack.arm.estate.put({ id: `${rg}/virtualMachineScaleSets/vmss${s}`, body: { location: "westeurope", sku: { name: "Standard_D2s_v5", capacity: 2 }, properties: { orchestrationMode: "Uniform", virtualMachineProfile: { storageProfile: { imageReference: { id: `${rg}/galleries/sweep/images/def${(s * 2 + 1) % definitions}` } } } } } });
    }
    if (armLatencyMs > 0) stack.arm.faults.add({ kind: "latency", latencyMs: armLatencyMs, method: "GET" });
    const sweep = async () => {
      const readsBefore = reads(stack.arm.requestCounts());
      const started = performance.now();
      await stack.host.invoke("nightlySweep");
      await stack.host.idle(1_800_000);
      const seconds = (performance.now() - started) / 1000;
      const run = (await runtime().sweepRuns.list({ subscriptionId: stack.subscriptionId }))[0]!;
      return { seconds, reads: reads(stack.arm.requestCounts()) - readsBefore, run };
    };
    const rssBefore = process.memoryUsage().rss;
    const first = await sweep();
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1_048_576;
    const second = await sweep();
    // ARM's budget over the run: the 250-read burst plus 25 reads a second.
    const budget = (seconds: number) => 250 + 25 * seconds;
    return {
      [`sweep of ${versions} versions / ${scaleSets} scale sets at ${armLatencyMs} ms`]: `${first.seconds.toFixed(1)} s, ${first.reads} ARM reads, ${first.run.status}`,
      "read budget used while sweeping": `${Math.round((first.reads / budget(first.seconds)) * 100)} %   target ≥ 90 %`,
      "snapshots written by a second, unchanged sweep": `${second.run.snapshotsWritten}   target 0`,
      "RSS growth during the first sweep": `${rssGrowthMb.toFixed(0)} MB   target < 50 MB from 1,000 to 10,000 versions`,
    };
  } finally {
    await stack.close();
  }
}

/** Autoscale: `scaleSets` scale sets changing capacity every second for `seconds` s. */
export async function benchAutoscaleStorm(scaleSets: number, seconds: number): Promise<Record<string, string | number>> {
  const stack = await startLocalStack({ log: pino({ level: "silent" }), settleMs: 0, settings: { GW_LOG_LEVEL: "silent" } });
  try {
    const rg = `/subscriptions/${stack.subscriptionId}/resourceGroups/rg-storm/providers/Microsoft.Compute`;
    stack.arm.estate.put({ id: `${rg}/galleries/g`, body: { location: "westeurope", properties: {} } });
    stack.arm.estate.put({ id: `${rg}/galleries/g/images/base`, body: { location: "westeurope", properties: { osType: "Linux", osState: "Generalized", identifier: { publisher: "p", offer: "o", sku: "s" } } } });
    for (let s = 0; s < scaleSets; s++) {
      stack.arm.estate.put({ id: `${rg}/virtualMachineScaleSets/vmss${s}`, body: { location: "westeurope", sku: { name: "Standard_D2s_v5", capacity: 2 }, properties: { orchestrationMode: "Uniform", virtualMachineProfile: { storageProfile: { imageReference: { id: `${rg}/galleries/g/images/base` } } } } } });
    }
    const readsBefore = reads(stack.arm.requestCounts());
    const throttledBefore = Object.entries(stack.arm.requestCounts()).filter(([k]) => k.startsWith("THROTTLED")).reduce((a, [, v]) => a + v, 0);
    const cardsBefore = stack.inbox.cards().length;
    const started = performance.now();
    stack.arm.noise.start({ perSecond: scaleSets, kinds: ["scaleSetCapacity"] });
    await new Promise((r) => setTimeout(r, seconds * 1000));
    stack.arm.noise.stop();
    const stormSeconds = (performance.now() - started) / 1000;
    await stack.arm.events.idle();
    await stack.host.idle(600_000);
    const drainSeconds = (performance.now() - started) / 1000 - stormSeconds;
    const armReads = reads(stack.arm.requestCounts()) - readsBefore;
    const throttled = Object.entries(stack.arm.requestCounts()).filter(([k]) => k.startsWith("THROTTLED")).reduce((a, [, v]) => a + v, 0) - throttledBefore;
    return {
      [`autoscale storm: ${scaleSets} scale sets × ${seconds} s`]: `${stack.arm.events.sent.length} events`,
      "ARM reads per second (sustained)": `${(armReads / (stormSeconds + drainSeconds)).toFixed(1)}   target ≤ 25`,
      "requests throttled by the simulated ARM": `${throttled}   target 0`,
      "cards sent": `${stack.inbox.cards().length - cardsBefore}   target 0`,
      "backlog drained after the storm": `${drainSeconds.toFixed(1)} s   target: none left`,
    };
  } finally {
    await stack.close();
  }
}
