/**
 * The event pipeline through the local host, shaped as the performance issue's burst: every
 * resource changed once and the rest duplicates or re-writes. Each resource gets one write that
 * creates a version (its finding opens: one alert; together a storm, sent as a few grouped cards), then re-writes of the same body, and Event
 * Grid delivers every event twice, so `events` deliveries over `resources` resources. Writes on
 * the simulated ARM (no injected latency) → Event Grid → function → ARM re-read (through the
 * client read budget: 250 burst, 25/s, as ARM) → Table Storage → findings → outbox → Teams inbox.
 */
import pLimit from "p-limit";
import { pino } from "pino";
import { startLocalStack } from "../local/stack.js";
import { armWrite } from "../local/armWrite.js";
import { ARM_LIMITS } from "../local/armSimulator/throttle.js";
import { waitUntilQuiet } from "../local/quiet.js";
import { fingerprintOf } from "../shared/domain/transitions.js";
import { runtime } from "../shared/wiring/composition.js";

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

export async function benchPipeline(events = 10_000, resources = 1_000): Promise<Record<string, string | number>> {
  // ARM throttles gallery-watch's reads as it would (250 burst, 25/s). The writes stand for many
  // pipelines, each with its own write budget, so they are not throttled here.
  const throttle = { reads: ARM_LIMITS.reads, writes: { burst: 1_000_000, perSecond: 1_000_000 } };
  const stack = await startLocalStack({ log: pino({ level: "silent" }), settleMs: 0, throttle, settings: { GW_LOG_LEVEL: "silent", GW_TEAMS_MAX_RPS: "4" } });
  try {
    const sub = stack.subscriptionId;
    const base = `/subscriptions/${sub}/resourceGroups/rg-bench/providers/Microsoft.Compute/galleries/benchGallery`;
    stack.arm.estate.put({ id: base, body: { location: "westeurope", properties: {} } });
    const definitions = Math.max(1, Math.ceil(resources / 100));
    const caller = { name: "Bench", upn: "bench@contoso.example" };
    // The definitions exist before the burst and gallery-watch has recorded them (their events, as
    // a running app has, or a sweep): a burst of versions is judged against the recorded definitions.
    for (let d = 0; d < definitions; d++) await armWrite(stack.arm, caller, "PUT", `${base}/images/def${d}`, { location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: `o${d}`, sku: "s" } } });
    await waitUntilQuiet(stack, 60_000);
    const cardsBefore = stack.inbox.cards().length;
    const deliveredBefore = stack.arm.events.sent.length;
    const body = {
      location: "westeurope",
      tags: { owner: "o", approver: "a" },
      properties: { publishingProfile: { targetRegions: [{ name: "West Europe" }, { name: "North Europe" }, { name: "East US" }], excludeFromLatest: true, endOfLifeDate: "2027-06-30T00:00:00Z" }, storageProfile: { source: { virtualMachineId: "/subscriptions/7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f/resourceGroups/rg-capture/providers/Microsoft.Compute/virtualMachines/capture-vm" } } },
    };
    // Every event delivered twice (Event Grid is at-least-once); writes per resource: the change, then re-writes.
    stack.arm.events.setDuplicates(2);
    const writesPerResource = Math.max(1, Math.round(events / resources / 2));
    const counts = () => stack.arm.requestCounts();
    const sum = (prefix: string[]) => Object.entries(counts()).filter(([k]) => prefix.some((p) => k.startsWith(p))).reduce((a, [, v]) => a + v, 0);
    const readsBefore = sum(["GET", "LIST"]);
    const throttledBefore = sum(["THROTTLED"]);
    const writtenAt = new Map<string, number>();
    const limit = pLimit(32);
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    await Promise.all(
      Array.from({ length: resources }, (_, r) =>
        limit(async () => {
          const id = `${base}/images/def${r % definitions}/versions/1.0.${r}`;
          writtenAt.set(id.toLowerCase(), Date.now());
          for (let w = 0; w < writesPerResource; w++) await armWrite(stack.arm, caller, "PUT", id, body);
        }),
      ),
    );
    // BENCH_DEBUG=1: when the writes ended, then ARM reads and deliveries every 2 s, on stderr.
    const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
    if (process.env.BENCH_DEBUG) console.error(`writes done at ${seconds()} s`);
    const timeline = process.env.BENCH_DEBUG ? setInterval(() => console.error(`t=${seconds()} s: ${sum(["GET", "LIST"]) - readsBefore} ARM reads (${sum(["LIST"])} list pages), ${stack.arm.events.sent.length} events delivered, ${stack.inbox.cards().length - cardsBefore} cards`), 2000) : undefined;
    await stack.arm.events.idle();
    // The host, the simulated ARM and Event Grid, and this bench share one Node process (one
    // JavaScript thread): its CPU time from the first write to the last delivery says how busy it was.
    const cpu = process.cpuUsage(cpuAtStart);
    const deliveredSeconds = (performance.now() - started) / 1000;
    // Processed = every event acknowledged and every follow-up re-check done: the last delivery or
    // stored observation, whichever came later (the host also runs card delivery, paced by Teams).
    const startedAt = Date.now() - (performance.now() - started);
    let lastObserved = 0;
    for (let idle = 0; idle < 3; ) {
      await new Promise((r) => setTimeout(r, 1_000));
      let token: string | undefined;
      let latest = 0;
      do {
        const page = await runtime().dependencies({ invocationId: "bench", functionName: "bench" }).resources.changesSince({ since: new Date(startedAt).toISOString(), limit: 1000, ...(token ? { continuationToken: token } : {}) });
        for (const c of page.items) latest = Math.max(latest, Date.parse(c.observedAt));
        token = page.continuationToken;
      } while (token);
      idle = latest === lastObserved ? idle + 1 : 0;
      lastObserved = latest;
    }
    const burst = stack.arm.events.sent.slice(deliveredBefore);
    const lastDelivered = Math.max(...burst.map((e) => Date.parse(e.deliveredAt)));
    const processedSeconds = (Math.max(lastDelivered, lastObserved) - startedAt) / 1000;
    // Every resource's alert delivered: on its own card or on a storm's grouped card (one card
    // carries many), so the wait is on the outbox, not on a count of cards.
    const outbox = runtime().dependencies({ invocationId: "bench", functionName: "bench" }).outbox;
    const deadline = Date.now() + 900_000;
    let delivered = await outbox.list({ state: "delivered" });
    while (delivered.length < resources && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      delivered = await outbox.list({ state: "delivered" });
    }
    await waitUntilQuiet(stack, 60_000);
    clearInterval(timeline);
    delivered = await outbox.list({ state: "delivered" });
    const cardsSeconds = (performance.now() - started) / 1000;

    const reads = sum(["GET", "LIST"]) - readsBefore;
    const throttled = sum(["THROTTLED"]) - throttledBefore;
    // Write → processed: the simulator records when the host acknowledged each delivery (the host answers after the function ran).
    const processed = burst.map((e) => Date.parse(e.deliveredAt) - Date.parse(e.writtenAt)).sort((a, b) => a - b);
    // Write → the first card that carries the resource's alert: deliveredAt is stamped as the send
    // returns (before the marks), for a grouped card on every alert it carries.
    const writtenByFingerprint = new Map([...writtenAt].map(([key, at]) => [fingerprintOf("replication-breadth", key), at]));
    const cardLatency = delivered
      .map((a) => {
        const at = writtenByFingerprint.get(a.alertId.split(":")[0] ?? "");
        return at === undefined || !a.deliveredAt ? Number.NaN : Date.parse(a.deliveredAt) - at;
      })
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);
    const cards = stack.inbox.cards().length;
    // How soon the channel hears of the storm at all: the first write to the first card.
    const firstCard = Math.min(...stack.inbox.cards().map((c) => Date.parse(c.receivedAt))) - Math.min(...writtenAt.values());
    const stats = stack.host.stats().invocations.eventGridResourceEvent ?? { succeeded: 0, failed: 0 };
    return {
      "resources (each changed once)": resources,
      "ARM writes (the change + re-writes)": resources * writesPerResource,
      "events delivered (each twice)": burst.length,
      "invocations ok / failed-and-retried": `${stats.succeeded} / ${stats.failed}`,
      "events/s (write burst to all processed)": Math.round(burst.length / processedSeconds),
      "seconds until all processed": `${processedSeconds.toFixed(1)}   target ≤ 30 for 10,000 over 1,000`,
      "CPU s, host + simulated Azure, to last delivery": `${((cpu.user + cpu.system) / 1e6).toFixed(1)} in ${deliveredSeconds.toFixed(1)} s of wall time (one process, its GC threads included; Azurite apart)`,
      "write→processed p50 ms": percentile(processed, 50),
      "write→processed p99 ms": percentile(processed, 99),
      "ARM reads per event": (reads / Math.max(1, burst.length)).toFixed(2),
      "ARM reads throttled by the simulated ARM": `${throttled}   target 0`,
      "ARM reads per changed resource": `${(reads / resources).toFixed(2)}   target ≤ 1.1`,
      "resources whose alert reached a card": `${cardLatency.length} of ${resources}`,
      "cards sent (storms grouped)": `${cards}   target ≤ 20`,
      "write→first card p50 ms": percentile(cardLatency, 50),
      "write→first card p99 ms": `${percentile(cardLatency, 99)}   target < 10000 (floor: write→processed; grouping adds ≤ GW_ALERT_GROUP_INTERVAL_SECONDS)`,
      "first write→the storm's first card ms": firstCard,
      "seconds until the last card (Teams limit 4/s)": Math.round(cardsSeconds),
    };
  } finally {
    await stack.close();
  }
}
