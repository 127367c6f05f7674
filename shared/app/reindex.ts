/**
 * `gallery-watch reindex`: rebuilds the index tables from the primary tables, for an app whose data
 * was written before the indexes existed (FindingIndex from Findings, ChangeLog from Changes, the
 * alert outbox's `due` and `staged` rows from its `outbox` partition).
 *
 * - Idempotent: an index row is written only where it is missing; a second run writes nothing.
 * - Resumable: after each page of primary rows a checkpoint records where the scan is, so a run
 *   that stops (Ctrl+C, a lost connection) continues there; a finished pass starts over next time.
 * - Safe beside the running app: each adapter writes only missing rows and re-reads the primary
 *   row after writing, dropping its row again if the live app moved the item meanwhile.
 */
import type { Clock, IndexRebuild, ReindexCheckpoint, ReindexCheckpoints } from "./ports.js";

export interface ReindexDependencies {
  readonly indexes: readonly IndexRebuild[];
  readonly checkpoints: ReindexCheckpoints;
  readonly clock: Clock;
}

/** What a terminal shows while it runs (the CLI draws a bar); every call is optional to honour. */
export interface ReindexProgress {
  start(name: string, total: number | undefined, scanned: number): void;
  advance(name: string, scanned: number, rebuilt: number): void;
  finish(name: string): void;
}

export interface ReindexResult {
  readonly index: string;
  readonly scanned: number;
  readonly rebuilt: number;
  /** The run continued a pass an earlier run had started. */
  readonly resumed: boolean;
  readonly completedAt: string;
}

export interface ReindexOptions {
  readonly progress?: ReindexProgress;
  /** Only these indexes (by name); all when absent. */
  readonly only?: readonly string[];
}

export async function reindex(deps: ReindexDependencies, options: ReindexOptions = {}): Promise<ReindexResult[]> {
  const results: ReindexResult[] = [];
  for (const index of deps.indexes.filter((i) => !options.only || options.only.includes(i.name))) {
    const saved = await deps.checkpoints.read(index.name);
    const resumed = saved !== undefined && saved.completedAt === undefined && saved.continuation !== undefined;
    let checkpoint: ReindexCheckpoint = resumed ? saved : { scanned: 0, rebuilt: 0, startedAt: deps.clock.now().toISOString() };
    options.progress?.start(index.name, options.progress ? await index.count() : undefined, checkpoint.scanned);
    let continuation = checkpoint.continuation;
    do {
      const page = await index.rebuildPage(continuation);
      continuation = page.continuation;
      checkpoint = {
        ...(continuation ? { continuation } : {}),
        scanned: checkpoint.scanned + page.scanned,
        rebuilt: checkpoint.rebuilt + page.rebuilt,
        startedAt: checkpoint.startedAt,
      };
      if (continuation) await deps.checkpoints.write(index.name, checkpoint);
      options.progress?.advance(index.name, checkpoint.scanned, checkpoint.rebuilt);
    } while (continuation);
    const completedAt = deps.clock.now().toISOString();
    await deps.checkpoints.write(index.name, { ...checkpoint, completedAt });
    options.progress?.finish(index.name);
    results.push({ index: index.name, scanned: checkpoint.scanned, rebuilt: checkpoint.rebuilt, resumed, completedAt });
  }
  return results;
}
