/**
 * `gallery-watch sweep`: queue a sweep now, the nightly timer's fan-out on demand: one message
 * per subscription on the sweep queue, one fresh run id; the function app's `sweepSubscription`
 * does the work and records each run (`SweepRunStore`). `--wait` follows the run records until
 * every run has finished.
 */
import { isGuid } from "../../shared/domain/resourceId.js";
import { randomUUID } from "node:crypto";
import { Command, InvalidArgumentError, Option } from "commander";
import type { SweepRun } from "../../shared/app/ports.js";
import type { CliContext, ContextFor } from "../context.js";
import type { Row } from "../output.js";
import { progressDisplay } from "../progress.js";

const POLL_MS = 1_000;

export interface SweepOptions {
  readonly subscription?: string;
  readonly wait?: boolean;
  readonly timeout: number;
}

function subscriptionArgument(value: string): string {
  if (!isGuid(value)) throw new InvalidArgumentError("give the subscription id (a GUID, e.g. 7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f; see az account list -o table).");
  return value.toLowerCase();
}

function secondsArgument(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 86_400) throw new InvalidArgumentError("a whole number of seconds between 1 and 86400.");
  return n;
}

export function sweepRow(run: SweepRun): Row {
  return {
    Subscription: run.subscriptionId,
    Status: run.status,
    Started: run.startedAt,
    Finished: run.finishedAt,
    Galleries: run.seen.galleries,
    Definitions: run.seen.definitions,
    Versions: run.seen.versions,
    ScaleSets: run.seen.scaleSets,
    VirtualMachines: run.seen.virtualMachines,
    ArmRequests: run.armRequests,
    Snapshots: run.snapshotsWritten,
    Transitions: Object.entries(run.transitions).filter(([, n]) => (n ?? 0) > 0).map(([kind, n]) => `${kind}=${n}`).join(" "),
    Reconciled: run.reconciled,
    Failures: run.failures.length,
    RunId: run.runId,
  };
}

function progressLine(runId: string, subscriptions: readonly string[], runs: ReadonlyMap<string, SweepRun>): string {
  const finished = subscriptions.filter((s) => runs.get(s)?.finishedAt).length;
  const parts = subscriptions.map((s) => {
    const run = runs.get(s);
    if (!run) return `${s.slice(0, 8)}: queued`;
    const seen = `${run.seen.galleries} galleries, ${run.seen.definitions} definitions, ${run.seen.versions} versions, ${run.seen.scaleSets} scale sets, ${run.seen.virtualMachines} VMs`;
    return `${s.slice(0, 8)}: ${run.status} (${seen}${run.failures.length > 0 ? `, ${run.failures.length} failures` : ""})`;
  });
  return `sweep ${runId}: ${finished}/${subscriptions.length} finished; ${parts.join("; ")}`;
}

export async function runSweep(ctx: CliContext, options: SweepOptions): Promise<number> {
  const { config } = ctx.settings;
  const subscriptions = options.subscription ? [options.subscription] : [...config.subscriptions];
  if (options.subscription && !config.subscriptions.includes(options.subscription)) {
    ctx.warn(`subscription ${options.subscription} is not in GW_WATCHED_SUBSCRIPTIONS; sweeping it anyway (the nightly sweep will not).`);
  }
  const startedAt = ctx.io.clock.now();
  const runId = `cli-${startedAt.toISOString()}-${randomUUID().slice(0, 8)}`;
  for (const subscriptionId of subscriptions) await ctx.app.sweepQueue.enqueue({ subscriptionId, runId });
  ctx.log.info({ runId, subscriptions }, "sweep queued");

  if (!options.wait) {
    const queued = subscriptions.map((subscriptionId) => ({ subscriptionId, runId, status: "queued" }));
    ctx.output.print({ json: queued, rows: queued.map((q) => ({ Subscription: q.subscriptionId, Status: q.status, RunId: q.runId })) });
    ctx.note(`Queued on '${config.queues.sweep}'. Follow it with: gallery-watch sweep --wait, or watch the Teams channel.`);
    return 0;
  }

  const runs = new Map<string, SweepRun>();
  const deadline = startedAt.getTime() + options.timeout * 1000;
  const progress = progressDisplay(ctx);
  for (;;) {
    for (const subscriptionId of subscriptions) {
      if (runs.get(subscriptionId)?.finishedAt) continue;
      const run = await ctx.app.sweepRuns.get(subscriptionId, runId);
      if (run) runs.set(subscriptionId, run);
    }
    const finished = subscriptions.filter((s) => runs.get(s)?.finishedAt).length;
    progress.update(finished, subscriptions.length, progressLine(runId, subscriptions, runs));
    if (finished === subscriptions.length) break;
    if (ctx.io.clock.now().getTime() >= deadline) {
      progress.stop();
      const waiting = subscriptions.filter((s) => !runs.get(s)?.finishedAt);
      const none = waiting.filter((s) => !runs.has(s));
      ctx.io.stderr(
        `ERROR: sweep ${runId} did not finish within ${options.timeout} s for ${waiting.join(", ")}.` +
          (none.length > 0 ? ` No run record appeared for ${none.join(", ")}: is the function app (npm start) running and reading queue '${config.queues.sweep}'?` : "") +
          "\n",
      );
      return 1;
    }
    await ctx.io.sleep(POLL_MS);
  }
  progress.stop();

  const results = subscriptions.map((s) => runs.get(s)!);
  ctx.output.print({ json: results, rows: results.map(sweepRow) });
  for (const run of results.filter((r) => r.failures.length > 0)) {
    ctx.warn(`${run.subscriptionId}: ${run.status}, could not read ${run.failures.length} part(s): ${run.failures.slice(0, 5).map((f) => `${f.operation} on ${f.resourceId} (${f.reason})`).join("; ")}${run.failures.length > 5 ? " …" : ""}`);
  }
  return results.some((r) => r.status === "failed") ? 1 : 0;
}

export function sweepCommand(context: ContextFor): Command {
  return new Command("sweep")
    .summary("queue a sweep of the watched subscriptions now")
    .description(
      "Queue a sweep now, as the nightly timer does: one message per watched subscription (GW_WATCHED_SUBSCRIPTIONS), or only --subscription, " +
        "for the function app to sweep. With --wait, follow the runs until they finish and print their figures; exits 1 if a run failed.",
    )
    .configureHelp({ showGlobalOptions: true })
    .addOption(new Option("--subscription <id>", "sweep only this subscription (GUID)").argParser(subscriptionArgument))
    .option("--wait", "wait until every run has finished, showing progress, then print the runs")
    .addOption(new Option("--timeout <seconds>", "with --wait: give up after this many seconds (exit 1)").argParser(secondsArgument).default(900))
    .addHelpText("after", "\nExamples:\n  gallery-watch sweep --wait\n  gallery-watch sweep --subscription 7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f --wait --output json\n")
    .action(async (options: SweepOptions, command: Command) => {
      process.exitCode = await runSweep(context(command, "all"), options);
    });
}
