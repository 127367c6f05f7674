/**
 * `gallery-watch findings`: the current verdicts across every resource, newest update first, from
 * the findings index (one partition per status, so no scan of every resource). By default every
 * finding that is not resolved: open, escalated and excepted.
 */
import { Command, Option } from "commander";
import { findingQueryFrom, FINDING_STATES, InvalidQueryError, listFindings, type FindingView } from "../../shared/app/queries.js";
import { FINDING_RULES, SEVERITIES } from "../../shared/domain/findings.js";
import { exceptionText } from "../../shared/domain/wording.js";
import type { CliContext, ContextFor } from "../context.js";
import { READ_STORAGE } from "../settings.js";
import { limitArgument, PAGING_HELP, streamListing, type Column } from "./listing.js";

export interface FindingsOptions {
  readonly state?: string;
  readonly rule?: string;
  readonly severity?: string;
  readonly subscription?: string;
  readonly since?: string;
  readonly maxItems?: number;
  readonly nextToken?: string;
}

/** The columns; `now` counts an exception's days left in the one expiry wording (shared/domain/wording.ts). */
export const findingColumns = (now: Date): ReadonlyArray<Column<FindingView>> => [
  { header: "Severity", value: (f) => f.severity },
  { header: "Rule", value: (f) => f.ruleId },
  { header: "Status", value: (f) => f.status },
  { header: "Resource", value: (f) => f.resourceName },
  { header: "Subscription", value: (f) => f.subscriptionId },
  { header: "FirstSeen", value: (f) => f.firstSeenAt },
  { header: "Updated", value: (f) => f.updatedAt },
  { header: "Summary", value: (f) => f.summary, truncate: 60 },
  { header: "Exception", value: (f) => (f.exception ? exceptionText(f.exception, now) : undefined), truncate: 60 },
  { header: "ResourceId", value: (f) => f.resourceId },
];

export async function runFindings(ctx: CliContext, options: FindingsOptions): Promise<number> {
  let query;
  try {
    query = findingQueryFrom({ state: options.state, rule: options.rule, severity: options.severity, subscription: options.subscription, since: options.since }, ctx.io.clock.now());
  } catch (error) {
    if (!(error instanceof InvalidQueryError)) throw error;
    ctx.io.stderr(`ERROR: --${error.parameter}: ${error.reason}\n`);
    return 2;
  }
  const deps = ctx.reader.dependencies({ invocationId: `cli-findings-${ctx.io.clock.now().getTime()}`, functionName: "cli:findings" });
  await streamListing(ctx, {
    what: "findings",
    // Table output is for people: the id is long and the short name says which resource.
    columns: ctx.output.format === "table" ? findingColumns(ctx.io.clock.now()).filter((c) => c.header !== "ResourceId") : findingColumns(ctx.io.clock.now()),
    fetch: (limit, continuationToken) => listFindings(deps, query, { limit, ...(continuationToken ? { continuationToken } : {}) }),
    ...(options.maxItems !== undefined ? { limit: options.maxItems } : {}),
    ...(options.nextToken ? { continuationToken: options.nextToken } : {}),
  });
  return 0;
}

export function findingsCommand(context: ContextFor): Command {
  return new Command("findings")
    .summary("list the current findings across resources")
    .description(
      "List findings across every watched resource, newest update first. By default the ones not resolved (open, escalated, excepted). " +
        "Long listings stream page by page; with --max-items, stderr says when more match and gives the token to continue from.",
    )
    .configureHelp({ showGlobalOptions: true })
    .addOption(new Option("--state <state>", `${FINDING_STATES.join(", ")} or all; several separated by commas (default: open,escalated,excepted)`))
    .addOption(new Option("--rule <rule>", "only this rule").choices(FINDING_RULES))
    .addOption(new Option("--severity <severity>", "only this severity").choices(SEVERITIES))
    .option("--subscription <id>", "only findings on resources of this subscription (GUID)")
    .option("--since <time>", "only findings updated since: an ISO time (2026-11-24, 2026-11-24T08:00:00Z) or a duration back from now (7d, 12h)")
    .addOption(new Option("--max-items <n>", PAGING_HELP.maxItems).argParser(limitArgument))
    .option("--next-token <token>", PAGING_HELP.nextToken)
    .addHelpText(
      "after",
      "\nExamples:\n  gallery-watch findings\n  gallery-watch findings --state open --severity critical --output csv > open-critical.csv\n  gallery-watch findings --state all --rule scale-set-use --since 7d --output json\n" +
        "  gallery-watch findings --query \"[?severity=='critical'].resourceId\" --output tsv\n" +
        "  gallery-watch findings --max-items 50 --output json   (then --next-token <the token printed on stderr>)\n",
    )
    .action(async (options: FindingsOptions, command: Command) => {
      process.exitCode = await runFindings(context(command, READ_STORAGE), options);
    });
}
