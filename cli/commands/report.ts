/**
 * `gallery-watch report --out evidence.html [--since 30d]`: the audit evidence pack, one HTML page
 * an auditor opens offline (shared/views/report renders it: inline CSS and SVG, no script, nothing
 * fetched). The data is gathered through the app's ports by shared/app/evidence.ts. Progress goes
 * to stderr; stdout gets the path and the counts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { evidenceCounts, renderEvidence } from "../../shared/views/report/renderEvidence.js";
import { gatherEvidence } from "../../shared/app/evidence.js";
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

export async function runReport(ctx: CliContext, options: ReportOptions): Promise<number> {
  const now = ctx.io.clock.now();
  const generatedAt = now.toISOString();
  const since = parseSince(options.since, now);
  const { config } = ctx.settings;
  const deps = ctx.reader.dependencies({ invocationId: "cli", functionName: "report" });
  const activity = ctx.reader.digest({ invocationId: "cli", functionName: "report" }, ctx.io.clock).findingActivity;
  // A bar on a terminal (done = resources whose changes are read), a line per step otherwise.
  const display = progressDisplay(ctx);
  const data = await gatherEvidence(deps, activity, { generatedAt, since, subscriptions: config.subscriptions }, (done, total, line) => display.update(done, total, line));
  display.stop();
  const subscriptions = data.subscriptions;
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
