/**
 * `gallery-watch report --out evidence.html [--since 30d]`: the audit evidence pack, one HTML page
 * an auditor opens offline (shared/views/report renders it: inline CSS and SVG, no script, nothing
 * fetched). This command only gathers the data through the app's ports: findings open now and
 * those that changed in the period, the change log of every stored resource of the watched
 * subscriptions (and of every resource a finding names, so deleted ones are not missed), and the
 * sweep runs. Progress goes to stderr; stdout gets the path and the counts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import type { Finding } from "../../shared/domain/findings.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { ChangeRecord, ResourceStore } from "../../shared/app/ports.js";
import { changeEntry, isAuditableChange, type EvidenceData } from "../../shared/views/report/evidence.js";
import { isPipelineInternal } from "../../shared/domain/records.js";
import { evidenceCounts, renderEvidence } from "../../shared/views/report/renderEvidence.js";
import { InvalidQueryError, parseTimeOrDuration } from "../../shared/app/queries.js";
import type { CliContext, ContextFor } from "../context.js";
import { progressDisplay } from "../progress.js";
import { READ_WATCHED } from "../settings.js";

export interface ReportOptions {
  readonly out: string;
  readonly since: string;
}

const DEFAULT_SINCE = "30d";

/** `--since`: an ISO-8601 date or time (`2026-04-01`, `2026-04-01T08:00Z`) or a duration back from now (`90m`, `12h`, `30d`, `2w`): shared/app/queries.ts's parser, as every other time. */
export function parseSince(value: string, now: Date): string {
  let since: string;
  try {
    since = parseTimeOrDuration(value, now);
  } catch (error) {
    if (error instanceof InvalidQueryError) throw new InvalidArgumentError(`${error.reason}; a report usually covers 30d, 2w or since a date (2026-04-01).`);
    throw error;
  }
  if (Date.parse(since) > now.getTime()) throw new InvalidArgumentError(`${value} is in the future.`);
  return since;
}

/**
 * Every change of one resource at or after `since`. The store answers newest first with a
 * limit; ask again with a larger one until the oldest row is before `since` or the store has no
 * more, so nothing is cut off by a page size.
 */
export async function changesSince(resources: Pick<ResourceStore, "changes">, key: string, since: string): Promise<ChangeRecord[]> {
  for (let limit = 200; ; limit *= 4) {
    const rows = await resources.changes(key, { limit });
    const oldest = rows[rows.length - 1];
    if (rows.length < limit || (oldest && changeEntry(oldest).at < since)) return rows.filter((c) => changeEntry(c).at >= since);
  }
}

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>, progress: (done: number) => void): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
    progress(Math.min(items.length, i + size));
  }
  return out;
}

function subscriptionOf(resourceId: string): string | undefined {
  try {
    return parseResourceId(resourceId).subscriptionId.toLowerCase();
  } catch {
    return undefined;
  }
}

export async function runReport(ctx: CliContext, options: ReportOptions): Promise<number> {
  const now = ctx.io.clock.now();
  const generatedAt = now.toISOString();
  const since = parseSince(options.since, now);
  const { config } = ctx.settings;
  const subscriptions = config.subscriptions.map((s) => s.toLowerCase());
  const watched = new Set(subscriptions);
  const deps = ctx.reader.dependencies({ invocationId: "cli", functionName: "report" });
  const activity = ctx.reader.digest({ invocationId: "cli", functionName: "report" }, ctx.io.clock).findingActivity;
  // A bar on a terminal (done = resources whose changes are read), a line per step otherwise.
  const display = progressDisplay(ctx);
  let resourcesDone = 0;
  let resourcesTotal = 0;
  const progress = (line: string) => display.update(resourcesDone, resourcesTotal, line);

  progress(`report: reading findings since ${since} …`);
  const [open, changed] = await Promise.all([deps.findings.open(), activity.changedSince(since)]);
  const byFingerprint = new Map<string, Finding>();
  for (const f of [...open, ...changed]) {
    const seen = byFingerprint.get(f.fingerprint);
    if (!seen || f.revision > seen.revision) byFingerprint.set(f.fingerprint, f);
  }
  const all = [...byFingerprint.values()];
  const findings = all.filter((f) => watched.has(subscriptionOf(f.resourceId) ?? ""));
  progress(`report: ${findings.length} findings; listing stored resources of ${subscriptions.length} subscription(s) …`);

  const keys = new Set<string>();
  for (const subscriptionId of subscriptions) {
    for await (const id of deps.resources.currentIn(subscriptionId)) keys.add(id.key);
  }
  // Resources named by a finding may be deleted now (currentIn lists only current ones); their changes belong in the pack too.
  for (const f of findings) keys.add(f.resourceKey);
  const resourceKeys = [...keys].sort();
  resourcesTotal = resourceKeys.length;
  const perResource = await inBatches(resourceKeys, 8, (key) => changesSince(deps.resources, key, since), (done) => {
    resourcesDone = done;
    progress(`report: reading changes: ${done}/${resourceKeys.length} resources`);
  });
  const everyChange = perResource.flat();
  const changes = everyChange.filter(isAuditableChange);

  progress("report: reading sweep runs …");
  const sweepRuns = (await deps.sweepRuns.list({ since })).filter((r) => watched.has(r.subscriptionId.toLowerCase()));
  display.stop();

  const notes: string[] = [];
  const internal = everyChange.filter(isPipelineInternal).length;
  const omitted = everyChange.length - changes.length - internal;
  if (internal > 0) notes.push(`${internal} pipeline-internal row(s) (provisioning, coalesced) are kept in history but not listed as changes; gallery-watch changes --all shows them.`);
  if (omitted > 0) notes.push(`${omitted} sweep or re-check re-read(s) that found nothing new are not listed as changes; the sweep runs below account for them.`);
  if (all.length > findings.length) notes.push(`${all.length - findings.length} finding(s) of subscriptions no longer watched (GW_WATCHED_SUBSCRIPTIONS) are not included.`);

  const data: EvidenceData = { generatedAt, since, subscriptions, findings, changes, sweepRuns, notes };
  const file = path.resolve(ctx.io.cwd, options.out);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, renderEvidence(data));

  const counts = evidenceCounts(data);
  const summary = { file, since, generatedAt, subscriptions, ...counts };
  ctx.output.print({
    json: summary,
    rows: [
      {
        File: file,
        Since: since,
        OpenFindings: counts.openFindings,
        Exceptions: counts.exceptions,
        ExpiringSoon: counts.expiringExceptions,
        Changes: counts.changes,
        SweepRuns: counts.sweepRuns,
        Days: counts.days,
      },
    ],
  });
  ctx.note(`Wrote ${file}: open it in a browser (it loads nothing from the network) or print it to PDF.`);
  return 0;
}

export function reportCommand(context: ContextFor): Command {
  return new Command("report")
    .summary("write an audit evidence pack (one offline HTML page)")
    .description(
      "Write one self-contained HTML page an auditor can open offline: open findings with their remediation, exceptions with reasons and " +
        "expiries (flagging those within 14 days), changes with who made them (name, UPN, app id, IP, correlation id), the sweep runs " +
        "with their figures and failures, and a chart of open findings per day over the period.",
    )
    .configureHelp({ showGlobalOptions: true })
    .requiredOption("--out <file>", "where to write the page (e.g. evidence.html)")
    .addOption(
      new Option("--since <time>", "start of the period: an ISO date or time, or a duration back from now (12h, 30d, 2w)")
        .default(DEFAULT_SINCE)
        // Checked here so commander reports a bad value as a usage error; the time itself is taken from the command's clock.
        .argParser((value: string) => (parseSince(value, new Date()), value)),
    )
    .addHelpText("after", "\nExamples:\n  gallery-watch report --out evidence.html\n  gallery-watch report --out q2.html --since 2026-04-01 --output json\n")
    .action(async (options: ReportOptions, command: Command) => {
      process.exitCode = await runReport(context(command, READ_WATCHED), options);
    });
}
