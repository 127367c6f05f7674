/**
 * Issue 16's multi-instance figure: several instances of the app (one principal, so one ARM read
 * bucket) each with its own ReadBudget, sharing the bucket through one Azurite table, read as
 * fast as they can against the simulated ARM's throttle (local/armSimulator/throttle.ts: 250
 * burst, 25/s per subscription and principal). Every read is one id, done once: nothing lost,
 * nothing sent twice; ARM throttles none.
 */
import { randomUUID } from "node:crypto";
import { ReadBudget, remainingReads } from "../shared/adapters/arm/readBudget.js";
import { createTableReadBudget } from "../shared/adapters/tables/tableReadBudget.js";
import { Throttle } from "../local/armSimulator/throttle.js";

export interface SharedBudgetRun {
  readonly reads: number;
  readonly done: number;
  readonly sentTwice: number;
  readonly throttled: number;
  readonly seconds: number;
  /** Reads per second after ARM's 250 burst. */
  readonly sustainedPerSecond: number;
  /** Most reads ARM saw in any window [0, t]: checked against 250 + 25·t. */
  readonly worstOverAllowance: number;
  readonly storageClaims: number;
}

export async function runSharedBudget(connectionString: string, options: { instances: number; reads: number; workersPerInstance?: number; armLatencyMs?: number }): Promise<SharedBudgetRun> {
  const prefix = `bb${randomUUID().replace(/-/g, "").slice(0, 10)}`;
  const subscriptionId = "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f";
  const arm = new Throttle(undefined);
  let storageClaims = 0;
  const instances = Array.from({ length: options.instances }, () => {
    const table = createTableReadBudget({ connectionString }, prefix);
    return new ReadBudget({ shared: { claim: (...args) => (storageClaims++, table.claim(...args)) } });
  });
  const ids = Array.from({ length: options.reads }, (_, i) => i);
  const sent = new Map<number, number>();
  const sentAt: number[] = [];
  let throttled = 0;
  let next = 0;
  const started = Date.now();
  const worker = async (budget: ReadBudget) => {
    for (let id = next++; id < ids.length; id = next++) {
      await budget.take(subscriptionId);
      try {
        sent.set(id, (sent.get(id) ?? 0) + 1);
        sentAt.push(Date.now() - started);
        const verdict = arm.take(subscriptionId, { id: "gallery-watch", label: "gallery-watch" }, "reads");
        if (options.armLatencyMs) await new Promise((r) => setTimeout(r, options.armLatencyMs));
        if (!verdict.allowed) throttled++;
        const retryAfter = verdict.headers["retry-after"];
        budget.observe(subscriptionId, remainingReads((name) => verdict.headers[name]), retryAfter ? Number(retryAfter) * 1000 : undefined);
      } finally {
        budget.settled(subscriptionId);
      }
    }
  };
  await Promise.all(instances.flatMap((budget) => Array.from({ length: options.workersPerInstance ?? 8 }, () => worker(budget))));
  const seconds = (Date.now() - started) / 1000;
  sentAt.sort((a, b) => a - b);
  const worstOverAllowance = Math.max(0, ...sentAt.map((t, i) => i + 1 - (250 + (25 * t) / 1000)));
  return {
    reads: options.reads,
    done: sent.size,
    sentTwice: [...sent.values()].filter((n) => n > 1).length,
    throttled,
    seconds,
    sustainedPerSecond: Math.max(0, options.reads - 250) / seconds,
    worstOverAllowance,
    storageClaims,
  };
}

export async function benchSharedBudget(connectionString: string, instances: number, reads: number): Promise<Record<string, string | number>> {
  const run = await runSharedBudget(connectionString, { instances, reads, armLatencyMs: 20 });
  return {
    [`${instances} instances sharing one table, ${reads} reads as fast as they may`]: `${run.seconds.toFixed(1)} s, ${run.done} done, ${run.sentTwice} sent twice`,
    "reads per second sustained (after the 250 burst)": `${run.sustainedPerSecond.toFixed(1)}   target ≤ 25`,
    "reads beyond 250 + 25·t at any moment": `${run.worstOverAllowance.toFixed(1)}   target ≤ 0`,
    "requests throttled by the simulated ARM": `${run.throttled}   target 0`,
    "storage claims per read": `${(run.storageClaims / run.reads).toFixed(2)}   (slices of 5–25 tokens)`,
  };
}
