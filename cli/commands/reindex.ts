/** `gallery-watch reindex`: rebuild the index tables from the primary tables (shared/app/reindex.ts). */
import { Command } from "commander";
import type { SingleBar } from "cli-progress";
import { terminalBar } from "../progress.js";
import { reindex, type ReindexProgress, type ReindexResult } from "../../shared/app/reindex.js";
import type { CliContext, CliIo, ContextFor } from "../context.js";

export interface ReindexCommandOptions {
  readonly index?: string[];
}

/**
 * A bar per index on stderr when it is a terminal (cli-progress: a well-kept bar that handles
 * terminal width and redraw throttling); one line per index otherwise, so logs stay readable.
 */
function terminalProgress(io: CliIo): ReindexProgress {
  let bar: SingleBar | undefined;
  return {
    start(name, total, scanned) {
      bar = terminalBar(io, `${name.padEnd(16)} [{bar}] {percentage}% | {value}/{total} rows | {rebuilt} rebuilt`);
      bar.start(total ?? 0, scanned, { rebuilt: 0 });
    },
    advance(_name, scanned, rebuilt) {
      // Rows written since the count may take the scan past its total.
      if (bar && scanned > bar.getTotal()) bar.setTotal(scanned);
      bar?.update(scanned, { rebuilt });
    },
    finish() {
      bar?.stop();
    },
  };
}

function lineProgress(ctx: CliContext): ReindexProgress {
  return {
    start: (name, _total, scanned) => ctx.note(`${name}: ${scanned > 0 ? `resuming after ${scanned} rows` : "rebuilding"}`),
    advance: () => undefined,
    finish: () => undefined,
  };
}

const row = (r: ReindexResult) => ({ Index: r.index, Scanned: r.scanned, Rebuilt: r.rebuilt, Resumed: r.resumed ? "yes" : "no", CompletedAt: r.completedAt });

export async function runReindex(ctx: CliContext, options: ReindexCommandOptions): Promise<number> {
  const deps = ctx.app.reindex();
  const known = deps.indexes.map((i) => i.name);
  const unknown = (options.index ?? []).filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    ctx.io.stderr(`ERROR: no index named ${unknown.join(", ")}; choose from ${known.join(", ")}\n`);
    return 2;
  }
  const results = await reindex(deps, { progress: ctx.io.interactive ? terminalProgress(ctx.io) : lineProgress(ctx), ...(options.index ? { only: options.index } : {}) });
  ctx.output.print({ json: results, rows: results.map(row) });
  return 0;
}

export function reindexCommand(context: ContextFor): Command {
  return new Command("reindex")
    .summary("rebuild the index tables from the primary tables")
    .description(
      "Rebuild FindingIndex (from Findings), ChangeLog (from Changes), the alert outbox's due and staged rows (from its outbox partition) and Lineage (from each machine's history) " +
        "for data stored before those indexes existed. Writes only missing index rows, so it is safe while the app runs and a second run " +
        "changes nothing. Resumable: a run that stops continues where it was on the next run (a checkpoint per index in <prefix>Maintenance).",
    )
    .configureHelp({ showGlobalOptions: true })
    .option("--index <name...>", "only these indexes: FindingIndex, ChangeLog, AlertOutboxIndex, Lineage")
    .addHelpText("after", "\nExamples:\n  gallery-watch reindex\n  gallery-watch reindex --index FindingIndex ChangeLog --output json\n  gallery-watch reindex --index Lineage\n")
    .action(async (options: ReindexCommandOptions, command: Command) => {
      process.exitCode = await runReindex(context(command, "all"), options);
    });
}
