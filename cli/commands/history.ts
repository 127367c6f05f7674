/**
 * `gallery-watch history <resource id> [--as-of T]`: one resource's configuration timeline, in
 * the manner of AWS Config's timeline and Resource Graph's `resourcechanges`: the snapshot in
 * force at T (or now), whether it was deleted by then and by whom, every change up to T with who
 * did it and what differed from the snapshot before, and the findings as they stood.
 *
 * Reads the store directly (the same adapters as the function app), not the HTTP API.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { tryParseResourceId, type ResourceId } from "../../shared/domain/resourceId.js";
import type { Finding } from "../../shared/domain/findings.js";
import { describeActor, keyFacts, pointInTime, timeline, UnknownResourceError, type PointInTimeView, type TimelineEntry } from "../../shared/app/pointInTime.js";
import type { ChangeRecord, SnapshotRecord } from "../../shared/app/ports.js";
import type { CliContext, ContextFor } from "../context.js";
import { READ_STORAGE } from "../settings.js";
import { formatTable, isoSeconds, type Row } from "../output.js";
import { timeArgument } from "../time.js";

/** Snapshots read to work out what each write changed; beyond it the output says so. */
const SNAPSHOT_LIMIT = 1000;
const PAGE = 500;

export interface HistoryOptions {
  /** ISO time, already resolved. */
  readonly asOf?: string;
}

function resourceIdArgument(value: string): ResourceId {
  const parsed = tryParseResourceId(value);
  if (!parsed.ok) throw new InvalidArgumentError(`not a resource id gallery-watch watches: ${parsed.error.reason}.`);
  return parsed.id;
}

export interface HistoryResult extends PointInTimeView {
  /** The snapshot's key facts (kind, osState, regions and replicas, sharing, excludeFromLatest, end of life, tags). */
  readonly facts?: Readonly<Record<string, string | readonly string[]>>;
  readonly timeline: readonly TimelineEntry[];
}

/** The whole history up to `asOf`: every page of changes, and the snapshots to tell what each write changed. */
export async function readHistory(ctx: CliContext, id: ResourceId, asOf: string): Promise<{ result: HistoryResult; snapshotsTruncated: boolean }> {
  const deps = ctx.reader.dependencies({ invocationId: "cli", functionName: "history" });
  const first = await pointInTime(deps, id, asOf, { limit: PAGE });
  const changes: ChangeRecord[] = [...first.changes];
  let token = first.continuationToken;
  while (token) {
    const page = await deps.resources.changesOf(id.key, { asOf, limit: PAGE, continuationToken: token });
    changes.push(...page.items);
    token = page.continuationToken;
    if (ctx.io.interactive) ctx.io.stderr(`\r\x1b[2Kread ${changes.length} changes…`);
  }
  if (ctx.io.interactive && changes.length > first.changes.length) ctx.io.stderr("\n");
  const snapshots: SnapshotRecord[] = await deps.resources.history(id.key, { asOf, limit: SNAPSHOT_LIMIT });
  const { continuationToken: _drop, ...view } = first;
  return {
    result: {
      ...view,
      changes,
      changesLimit: changes.length,
      ...(first.snapshot ? { facts: keyFacts(first.snapshot.snapshot) } : {}),
      timeline: timeline(changes, snapshots),
    },
    snapshotsTruncated: snapshots.length >= SNAPSHOT_LIMIT,
  };
}

const list = (value: string | readonly string[] | undefined) => (value === undefined ? "" : typeof value === "string" ? value : value.length > 0 ? value.join(", ") : "none");

export function timelineRow(entry: TimelineEntry, correlation = true): Row {
  return {
    Time: entry.time,
    Who: entry.who,
    Action: entry.action,
    WhatChanged: entry.whatChanged.join("; "),
    ...(correlation ? { CorrelationId: entry.actor.correlationId ?? "" } : {}),
  };
}

function findingRow(f: Finding): Row {
  return { Rule: f.ruleId, Severity: f.severity, Status: f.status, Since: f.firstSeenAt, Updated: f.updatedAt, Summary: f.summary };
}

function tableText(result: HistoryResult): string {
  const out: string[] = [];
  out.push(`Resource: ${result.resourceId}`);
  out.push(`As of:    ${isoSeconds(result.asOf)}`);
  if (result.deleted) out.push(`State:    DELETED at ${result.deletedAt ? isoSeconds(result.deletedAt) : "?"} by ${result.deletedBy ? describeActor(result.deletedBy) : "unknown"} (the snapshot below is how it last was)`);
  else if (result.state === "notYetObserved") out.push("State:    not yet observed by gallery-watch at that time");
  else out.push("State:    present");
  out.push("");
  if (result.snapshot && result.facts) {
    out.push(`Snapshot in force (observed ${isoSeconds(result.snapshot.observedAt)})`);
    out.push(formatTable(Object.entries(result.facts).map(([Fact, value]) => ({ Fact, Value: list(value) }))).trimEnd());
    out.push("");
  }
  out.push(`Timeline (${result.timeline.length} change${result.timeline.length === 1 ? "" : "s"}, newest first)`);
  out.push(result.timeline.length > 0 ? formatTable(result.timeline.map((e) => timelineRow(e))).trimEnd() : "(none)");
  out.push("");
  out.push(`Findings as of ${isoSeconds(result.asOf)}`);
  out.push(result.findings.length > 0 ? formatTable(result.findings.map(findingRow)).trimEnd() : "(none)");
  return `${out.join("\n")}\n`;
}

export async function runHistory(ctx: CliContext, id: ResourceId, options: HistoryOptions): Promise<number> {
  const asOf = options.asOf ?? ctx.io.clock.now().toISOString();
  let read: Awaited<ReturnType<typeof readHistory>>;
  try {
    read = await readHistory(ctx, id, asOf);
  } catch (error) {
    if (!(error instanceof UnknownResourceError)) throw error;
    ctx.io.stderr(`ERROR: ${error.message}\n`);
    return 3;
  }
  const { result, snapshotsTruncated } = read;
  // json and yaml: everything; table: the page above; csv and tsv: the timeline.
  ctx.output.print({ json: result, rows: result.timeline.map((e) => ({ ...timelineRow(e), ObservedAt: e.observedAt, ContentHash: e.contentHash ?? "" })), text: tableText(result) });
  if (ctx.output.format === "csv" || ctx.output.format === "tsv") ctx.note(`${ctx.output.format} holds the timeline; --output json has the snapshot and the findings too.`);
  if (snapshotsTruncated) ctx.warn(`"what changed" is worked out from the newest ${SNAPSHOT_LIMIT} snapshots; older writes show no differences.`);
  if (result.deleted) ctx.warn(`${result.resourceId} was deleted at ${result.deletedAt ?? "?"} (as of ${asOf}).`);
  return 0;
}

export function historyCommand(context: ContextFor): Command {
  return new Command("history")
    .summary("one resource's snapshot, timeline of changes (who, what) and findings, now or at a time")
    .description(
      "Show what gallery-watch stored about one resource as of a time (default: now): the snapshot in force and its key facts, " +
        "whether it was deleted by then and by whom, every change up to then (time, who: name / UPN / app id, action, and the fields " +
        "that differ from the snapshot before), and the findings as they stood. Exits 3 when gallery-watch never stored the id.",
    )
    .configureHelp({ showGlobalOptions: true })
    .argument("<resource-id>", "the ARM id of a gallery, image definition, image version or scale set", resourceIdArgument)
    .addOption(new Option("--as-of <time>", "ISO 8601 time, or a duration back from now (7d, 12h)").argParser(timeArgument(() => new Date())))
    .addHelpText(
      "after",
      "\nExamples:\n  gallery-watch history /subscriptions/<sub>/resourceGroups/rg-plant/providers/Microsoft.Compute/galleries/plantGallery/images/gateway-os/versions/1.0.0\n" +
        "  gallery-watch history <id> --as-of 7d --output json\n",
    )
    .action(async (id: ResourceId, options: HistoryOptions, command: Command) => {
      process.exitCode = await runHistory(context(command, READ_STORAGE), id, options);
    });
}
