/**
 * The event pipeline through the local host: a burst of writes on the simulated ARM (no injected
 * latency) → Event Grid events → function → ARM re-read → Table Storage → findings → outbox →
 * Teams inbox. Each resource's first write opens a finding (one card); later writes change
 * only tags (a new snapshot, no transition), as most real writes do.
 */
import pLimit from "p-limit";
import { pino } from "pino";
import { startLocalStack } from "../local/stack.js";
import { armWrite } from "../local/armWrite.js";
import { waitUntilQuiet } from "../local/quiet.js";
import { fingerprintOf } from "../shared/domain/transitions.js";

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

export async function benchPipeline(events = 10_000, resources = 1_000): Promise<Record<string, string | number>> {
  // Throttling off: the burst measures the pipeline, not ARM's token bucket (the budget is the performance issue's work).
  const stack = await startLocalStack({ log: pino({ level: "silent" }), settleMs: 0, throttle: false, settings: { GW_LOG_LEVEL: "silent", GW_TEAMS_MAX_RPS: "4" } });
  try {
    const sub = stack.subscriptionId;
    const base = `/subscriptions/${sub}/resourceGroups/rg-bench/providers/Microsoft.Compute/galleries/benchGallery`;
    stack.arm.estate.put({ id: base, body: { location: "westeurope", properties: {} } });
    const definitions = Math.max(1, Math.ceil(resources / 100));
    for (let d = 0; d < definitions; d++) stack.arm.estate.put({ id: `${base}/images/def${d}`, body: { location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: `o${d}`, sku: "s" } } } });
    const caller = { name: "Bench", upn: "bench@contoso.example" };
    const body = (n: number) => ({
      location: "westeurope",
      tags: { owner: "o", approver: "a", build: String(n) },
      properties: { publishingProfile: { targetRegions: [{ name: "West Europe" }, { name: "North Europe" }, { name: "East US" }], excludeFromLatest: true, endOfLifeDate: "2027-06-30T00:00:00Z" }, storageProfile: { source: { virtualMachineId: "/subscriptions/7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f/resourceGroups/rg-capture/providers/Microsoft.Compute/virtualMachines/capture-vm" } } },
    });
    const readsBefore = Object.entries(stack.arm.requestCounts()).filter(([k]) => k.startsWith("GET") || k.startsWith("LIST")).reduce((a, [, v]) => a + v, 0);
    const writtenAt = new Map<string, number>();
    const limit = pLimit(32);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: events }, (_, i) =>
        limit(async () => {
          const r = i % resources;
          const id = `${base}/images/def${r % definitions}/versions/1.0.${r}`;
          if (!writtenAt.has(id.toLowerCase())) writtenAt.set(id.toLowerCase(), Date.now());
          await armWrite(stack.arm, caller, "PUT", id, body(i));
        }),
      ),
    );
    await stack.arm.events.idle();
    await stack.host.idle(600_000);
    const processedSeconds = (performance.now() - started) / 1000;
    const deadline = Date.now() + 900_000;
    while (stack.inbox.cards().length < resources && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    await waitUntilQuiet(stack, 60_000);
    const cardsSeconds = (performance.now() - started) / 1000;

    const reads = Object.entries(stack.arm.requestCounts()).filter(([k]) => k.startsWith("GET") || k.startsWith("LIST")).reduce((a, [, v]) => a + v, 0) - readsBefore;
    // Write → processed: the simulator records when the host acknowledged each delivery (the host answers after the function ran).
    const processed = stack.arm.events.sent.map((e) => Date.parse(e.deliveredAt) - Date.parse(e.writtenAt)).sort((a, b) => a - b);
    // Write → card, per resource (the card is for the first write of each resource).
    const writtenByFingerprint = new Map([...writtenAt].map(([key, at]) => [fingerprintOf("replication-breadth", key), at]));
    const cardLatency = stack.inbox
      .cards()
      .map((c) => {
        const at = writtenByFingerprint.get(c.alertId?.split(":")[0] ?? "");
        return at === undefined ? Number.NaN : Date.parse(c.receivedAt) - at;
      })
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);
    const stats = stack.host.stats().invocations.eventGridResourceEvent ?? { succeeded: 0, failed: 0 };
    return {
      "events written": events,
      resources,
      "events delivered": stack.arm.events.sent.length,
      "invocations ok / failed-and-retried": `${stats.succeeded} / ${stats.failed}`,
      "events/s (write burst to all processed)": Math.round(stack.arm.events.sent.length / processedSeconds),
      "seconds until all processed": `${processedSeconds.toFixed(1)}   target ≤ 30 for 10,000 over 1,000`,
      "write→processed p50 ms": percentile(processed, 50),
      "write→processed p99 ms": percentile(processed, 99),
      "ARM reads per event": (reads / Math.max(1, stack.arm.events.sent.length)).toFixed(2),
      "ARM reads per changed resource": `${(reads / resources).toFixed(2)}   target ≤ 1.1`,
      "cards received": stack.inbox.cards().length,
      "write→card p50 ms": percentile(cardLatency, 50),
      "write→card p99 ms": percentile(cardLatency, 99),
      "seconds until the last card (Teams limit 4/s)": Math.round(cardsSeconds),
    };
  } finally {
    await stack.close();
  }
}
