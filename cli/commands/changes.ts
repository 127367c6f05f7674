/**
 * `gallery-watch changes`: who changed what across resources, newest first, from the change log
 * (one partition per UTC day, so "the last 7 days" is seven small range queries): the time, the
 * caller (name, UPN, app id), the action and ARM operation, the resource and the correlation id
 * to find the operation in the Activity Log.
 */
import { Command, Option } from "commander";
import { changeQueryFrom, DEFAULT_CHANGES_SINCE, InvalidQueryError, listChanges, type ChangeView } from "../../shared/app/queries.js";
import type { CliContext, ContextFor } from "../context.js";
import { READ_STORAGE } from "../settings.js";
import { limitArgument, PAGING_HELP, streamListing, type Column } from "./listing.js";

export interface ChangesOptions {
  readonly since?: string;
  readonly until?: string;
  readonly caller?: string;
  readonly resourceGroup?: string;
  readonly maxItems?: number;
  readonly nextToken?: string;
  readonly all?: boolean;
}

export const CHANGE_COLUMNS: ReadonlyArray<Column<ChangeView>> = [
  { header: "Time", value: (c) => c.time },
  { header: "Caller", value: (c) => c.callerName ?? (c.source === "sweep" ? "(nightly sweep)" : c.source === "recheck" ? "(re-check)" : undefined) },
  { header: "CallerUpn", value: (c) => c.callerUpn },
  { header: "CallerAppId", value: (c) => c.callerAppId },
  { header: "Action", value: (c) => c.action },
  { header: "Operation", value: (c) => c.operation },
  { header: "Resource", value: (c) => c.resourceName },
  { header: "ResourceGroup", value: (c) => c.resourceGroup },
  { header: "CorrelationId", value: (c) => c.correlationId },
  { header: "ResourceId", value: (c) => c.resourceId },
];

export async function runChanges(ctx: CliContext, options: ChangesOptions): Promise<number> {
  let query;
  try {
    query = changeQueryFrom({ since: options.since, until: options.until, caller: options.caller, resourceGroup: options.resourceGroup, all: options.all ? "true" : undefined }, ctx.io.clock.now());
  } catch (error) {
    if (!(error instanceof InvalidQueryError)) throw error;
    ctx.io.stderr(`ERROR: --${error.parameter}: ${error.reason}\n`);
    return 2;
  }
  const deps = ctx.reader.dependencies({ invocationId: `cli-changes-${ctx.io.clock.now().getTime()}`, functionName: "cli:changes" });
  await streamListing(ctx, {
    what: "changes",
    columns: ctx.output.format === "table" ? CHANGE_COLUMNS.filter((c) => c.header !== "ResourceId") : CHANGE_COLUMNS,
    fetch: (limit, continuationToken) => listChanges(deps, query, { limit, ...(continuationToken ? { continuationToken } : {}) }),
    ...(options.maxItems !== undefined ? { limit: options.maxItems } : {}),
    ...(options.nextToken ? { continuationToken: options.nextToken } : {}),
  });
  return 0;
}

export function changesCommand(context: ContextFor): Command {
  return new Command("changes")
    .summary("list who changed what across resources")
    .description(
      "List the changes gallery-watch recorded across resources, newest first: when, who (name, UPN, app id), what, where, and ARM's correlation id. " +
        "Sweeps and re-checks appear too (without a caller); the pipeline's own rows (provisioning, coalesced) only with --all. Long listings stream page by page; with --max-items, stderr says when more match and gives the token to continue from.",
    )
    .configureHelp({ showGlobalOptions: true })
    .option("--since <time>", `changes since: an ISO time or a duration back from now (default: ${DEFAULT_CHANGES_SINCE})`)
    .option("--until <time>", "changes before: an ISO time or a duration back from now (default: now)")
    .option("--caller <who>", "only this caller: UPN, app (client) id, object id or display name, any case")
    .option("--resource-group <name>", "only resources in this resource group")
    .option("--all", "also list the pipeline's own rows (provisioning: read before ARM finished; coalesced: an event folded into a running check), kept in history but not changes")
    .addOption(new Option("--max-items <n>", PAGING_HELP.maxItems).argParser(limitArgument))
    .option("--next-token <token>", PAGING_HELP.nextToken)
    .addHelpText(
      "after",
      "\nExamples:\n  gallery-watch changes\n  gallery-watch changes --since 24h --caller priya.patel@contoso.example\n  gallery-watch changes --since 2026-11-01 --resource-group rg-plant --output csv > plant-changes.csv\n" +
        "  gallery-watch changes --since 7d --query \"[].{time: time, who: callerUpn, what: operation}\" --output yaml\n",
    )
    .action(async (options: ChangesOptions, command: Command) => {
      process.exitCode = await runChanges(context(command, READ_STORAGE), options);
    });
}
