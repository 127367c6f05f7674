/**
 * The performance issue's other figures, through the local host: a trickle (one change at a
 * time) for event → outbox row and write → card latency, and an autoscale storm for the reads it
 * costs (the sweep's figures are in sweep.ts). Each returns figures with their targets beside them.
 */
import { pino } from "pino";
import { startLocalStack } from "../local/stack.js";
import { armWrite } from "../local/armWrite.js";
import { waitUntilQuiet } from "../local/quiet.js";
import { runtime } from "../shared/wiring/composition.js";

/** Nearest-rank percentile: the smallest value with at least p % of the values at or below it. */
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
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
    const write = (i: number) =>
      armWrite(stack.arm, caller, "PUT", `${gallery}/images/def/versions/1.0.${i}`, {
        location: "westeurope",
        tags: { owner: "o", approver: "a" },
        properties: { publishingProfile: { targetRegions: ["West Europe", "North Europe", "East US"].map((name) => ({ name })), excludeFromLatest: true, endOfLifeDate: "2027-06-30T00:00:00Z" }, ...source },
      });
    // One change first, not measured: it creates the tables and warms the clients, as a running app has.
    await write(changes);
    await waitUntilQuiet(stack);
    const warm = stack.arm.events.sent.length;
    for (let i = 0; i < changes; i++) {
      const before = stack.inbox.cards().length;
      const writtenAt = Date.now();
      await write(i);
      const deadline = Date.now() + 30_000;
      while (stack.inbox.cards().length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      cardLatency.push(Date.now() - writtenAt);
      // One change at a time: the next starts once the card's delivery has finished its bookkeeping.
      await stack.host.idle();
    }
    await waitUntilQuiet(stack);
    const events = stack.arm.events.sent.slice(warm);
    // Received → outbox row: the simulator stamps when it posted each event; the outbox row its creation (same clock).
    const postedAt = new Map(events.map((e) => [e.subject.toLowerCase(), Date.parse(e.postedAt)]));
    // The outbox row's createdAt is stamped as its insert is sent (it lands one storage round trip,
    // 1–2 ms here, later); the row's own Timestamp moves on with delivery, so it cannot say when it was created.
    const stored = (await runtime().dependencies({ invocationId: "bench", functionName: "bench" }).outbox.list())
      .map((a) => Date.parse(a.createdAt) - (postedAt.get(a.transition.after.resourceId.toLowerCase()) ?? Number.NaN))
      .filter((ms) => Number.isFinite(ms));
    const acknowledged = events.map((e) => Date.parse(e.deliveredAt) - Date.parse(e.postedAt));
    const label = armLatencyMs > 0 ? ` (ARM at ${armLatencyMs} ms)` : " (ARM at 0 ms)";
    return {
      [`trickle${label}: changes`]: changes,
      [`event received → outbox row p50 / p99 ms${label}`]: `${percentile(stored, 50)} / ${percentile(stored, 99)}   target p99 < ${armLatencyMs > 0 ? 300 : 25}`,
      [`event received → acknowledged p50 / p99 ms${label}`]: `${percentile(acknowledged, 50)} / ${percentile(acknowledged, 99)}   (everything done: findings, dependents, gate)`,
      [`write → card p50 / p99 ms${label}`]: `${percentile(cardLatency, 50)} / ${percentile(cardLatency, 99)}   target p99 < 2000`,
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
      "ARM reads per second over the run": `${(armReads / (stormSeconds + drainSeconds)).toFixed(1)}   (includes ARM's 250-read burst)`,
      // ARM's bucket lets 250 reads go at once; what it sustains after that is the refill rate.
      "ARM reads per second sustained (after the 250 burst)": `${(Math.max(0, armReads - 250) / (stormSeconds + drainSeconds)).toFixed(1)}   target ≤ 25`,
      "requests throttled by the simulated ARM": `${throttled}   target 0`,
      "cards sent": `${stack.inbox.cards().length - cardsBefore}   target 0`,
      "backlog drained after the storm": `${drainSeconds.toFixed(1)} s   target: none left`,
    };
  } finally {
    await stack.close();
  }
}

/**
 * The VM path (issue 20): `vms` VMs written at once from one specialized version (half pinned to
 * it, half following its definition as `latest`), then deleted. Events per second through the local
 * host, ARM reads per changed VM (the VM, its image's definition and versions, nothing per VM for the
 * `clones` recount, which reads the store), and the cards it makes (vm-use per VM, clones once).
 */
export async function benchVmWrites(vms: number): Promise<Record<string, string | number>> {
  const stack = await startLocalStack({ log: pino({ level: "silent" }), settleMs: 0, throttle: false, settings: { GW_LOG_LEVEL: "silent", GW_ALERT_GROUP_THRESHOLD: "0" } });
  try {
    const rg = `/subscriptions/${stack.subscriptionId}/resourceGroups/rg-vm-bench/providers/Microsoft.Compute`;
    const definition = `${rg}/galleries/g/images/recovery`;
    stack.arm.estate.put({ id: `${rg}/galleries/g`, body: { location: "westeurope", properties: {} } });
    stack.arm.estate.put({ id: definition, body: { location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: "o", sku: "s" } } } });
    stack.arm.estate.put({ id: `${definition}/versions/1.0.0`, body: { location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { publishingProfile: { targetRegions: [{ name: "West Europe" }], excludeFromLatest: false, endOfLifeDate: "2027-06-30T00:00:00Z" }, ...source } } });
    // The version recorded first (as after a sweep), so `clones` is judged on it; not measured.
    await armWrite(stack.arm, caller, "PUT", `${definition}/versions/1.0.0`, stack.arm.estate.get(`${definition}/versions/1.0.0`) as Record<string, unknown>);
    await waitUntilQuiet(stack);
    const body = (i: number) => ({
      location: "westeurope",
      properties: { hardwareProfile: { vmSize: "Standard_D2s_v3" }, storageProfile: { imageReference: { id: i % 2 === 0 ? `${definition}/versions/1.0.0` : definition }, osDisk: { createOption: "FromImage", deleteOption: "Delete" } }, networkProfile: { networkInterfaces: [] } },
    });
    const measure = async (write: (i: number) => Promise<unknown>) => {
      const readsBefore = reads(stack.arm.requestCounts());
      const eventsBefore = stack.arm.events.sent.length;
      const cardsBefore = stack.inbox.cards().length;
      const started = Date.now();
      await Promise.all(Array.from({ length: vms }, (_, i) => write(i)));
      await waitUntilQuiet(stack, 120_000);
      // VM events only: the simulator also announces each OS disk, which gallery-watch ignores.
      const vmEvents = stack.arm.events.sent.slice(eventsBefore).filter((e) => /\/virtualMachines\//i.test(e.subject));
      // Until the last VM event was acknowledged (judged, its alerts in the outbox): Teams' pacing of the cards is not the VM path's.
      const seconds = (Math.max(...vmEvents.map((e) => Date.parse(e.deliveredAt))) - started) / 1000;
      // Reads the product made (the operation polls are the writer's own).
      const armReads = reads(stack.arm.requestCounts()) - readsBefore - (stack.arm.requestCounts()["GET operation"] ?? 0);
      return { seconds, vmEvents: vmEvents.length, armReads, cards: stack.inbox.cards().slice(cardsBefore).map((c) => JSON.stringify(c.card).match(/(Opened|Resolved|Escalated|Changed|Excepted): [a-z-]+/)?.[0] ?? "?") };
    };
    const created = await measure((i) => armWrite(stack.arm, caller, "PUT", `${rg}/virtualMachines/vm-${i}`, body(i)));
    const deleted = await measure((i) => armWrite(stack.arm, caller, "DELETE", `${rg}/virtualMachines/vm-${i}`));
    const tally = (cards: string[]) => Object.entries(cards.reduce<Record<string, number>>((t, c) => ((t[c] = (t[c] ?? 0) + 1), t), {})).map(([k, v]) => `${v} ${k}`).join(", ");
    return {
      [`${vms} VMs written at once from one specialized version`]: `${created.vmEvents} events judged in ${created.seconds.toFixed(1)} s: ${(created.vmEvents / created.seconds).toFixed(1)} events/s   (from the first PUT to the last event acknowledged)`,
      "ARM reads per changed VM (create)": `${(created.armReads / vms).toFixed(2)}   (VM GET, its definition, the definition's versions; the clones recount reads the store only)`,
      "cards (create)": tally(created.cards),
      [`${vms} VMs deleted at once`]: `${deleted.vmEvents} events judged in ${deleted.seconds.toFixed(1)} s: ${(deleted.vmEvents / deleted.seconds).toFixed(1)} events/s`,
      "ARM reads per changed VM (delete)": `${(deleted.armReads / vms).toFixed(2)}   (404s re-checked after a delete event: none)`,
      "cards (delete)": tally(deleted.cards),
    };
  } finally {
    await stack.close();
  }
}
