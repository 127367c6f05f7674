/**
 * Long listings, streamed page by page with the store's continuation tokens: each page is printed
 * as it arrives (table and csv rows, json array elements), so a listing of any length holds one
 * page in memory and shows its first rows at once. Nothing is capped silently: when `--limit`
 * stops a listing that has more, table and csv say so on stderr and json carries
 * `"truncated": true` and the token to continue from (`--continuation-token`).
 */
import { InvalidArgumentError } from "commander";
import type { Page } from "../../shared/ports.js";
import { DEFAULT_PAGE_SIZE } from "../../shared/queries.js";
import type { CliContext } from "../context.js";
import type { Cell, OutputFormat } from "../output.js";
import { csvRecord } from "../csv.js";

export interface Column<T> {
  readonly header: string;
  readonly value: (item: T) => Cell;
  /** Table output only: longer text is cut with an ellipsis (csv and json keep it whole). */
  readonly truncate?: number;
}

export interface Listing<T> {
  /** Plural noun for notes: "findings", "changes". */
  readonly what: string;
  readonly columns: ReadonlyArray<Column<T>>;
  readonly fetch: (limit: number, continuationToken: string | undefined) => Promise<Page<T>>;
  /** Total rows to print at most; undefined: all of them. */
  readonly limit?: number;
  readonly continuationToken?: string;
  readonly json: (item: T) => unknown;
}

export interface ListingResult {
  readonly count: number;
  readonly truncated: boolean;
  readonly continuationToken?: string;
}

/** `--limit`: a positive whole number. */
export function limitArgument(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError("a whole number of rows, 1 or more.");
  return n;
}

const text = (cell: Cell) => (cell === undefined ? "" : String(cell));
const PROGRESS_AFTER_MS = 1_000;

function cut(value: string, max: number | undefined): string {
  const oneLine = value.replace(/\s+/g, " ");
  return max !== undefined && oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

export async function streamListing<T>(ctx: CliContext, format: OutputFormat, listing: Listing<T>): Promise<ListingResult> {
  const out = ctx.io.stdout;
  const started = ctx.io.clock.now().getTime();
  let widths: number[] | undefined;
  let count = 0;
  let token = listing.continuationToken;
  let progressShown = false;
  let first = true;

  if (format === "json") out('{\n  "items": [');
  if (format === "csv") out(csvRecord(listing.columns.map((c) => c.header)));

  const print = (items: readonly T[]) => {
    if (format === "json") {
      for (const item of items) {
        out(`${first ? "\n" : ",\n"}${JSON.stringify(listing.json(item), null, 2).replace(/^/gm, "    ")}`);
        first = false;
      }
      return;
    }
    if (format === "csv") {
      for (const item of items) out(csvRecord(listing.columns.map((c) => c.value(item))));
      return;
    }
    const rows = items.map((item) => listing.columns.map((c) => cut(text(c.value(item)), c.truncate)));
    const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths![i]!)).join("  ").trimEnd();
    if (!widths) {
      // Widths from the first page; a later, longer cell only pushes its own line out of line.
      widths = listing.columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => r[i]!.length)));
      out(`${line(listing.columns.map((c) => c.header))}\n${line(widths.map((w) => "-".repeat(w)))}\n`);
    }
    for (const row of rows) out(`${line(row)}\n`);
  };

  do {
    const want = listing.limit === undefined ? DEFAULT_PAGE_SIZE : Math.min(DEFAULT_PAGE_SIZE, listing.limit - count);
    const page = await listing.fetch(want, token);
    if (page.items.length > 0) print(page.items);
    count += page.items.length;
    token = page.continuationToken;
    const elapsed = ctx.io.clock.now().getTime() - started;
    if (token !== undefined && elapsed >= PROGRESS_AFTER_MS) {
      const line = `${listing.what}: ${count} so far, reading more…`;
      if (ctx.io.interactive) ctx.io.stderr(`\r\x1b[2K${line}`);
      else ctx.note(line);
      progressShown = true;
    }
  } while (token !== undefined && (listing.limit === undefined || count < listing.limit));
  if (progressShown && ctx.io.interactive) ctx.io.stderr("\r\x1b[2K");

  const truncated = token !== undefined;
  if (format === "json") {
    out(`${first ? "" : "\n  "}],\n  "count": ${count},\n  "truncated": ${truncated}${truncated ? `,\n  "continuationToken": ${JSON.stringify(token)}` : ""}\n}\n`);
  } else if (truncated) {
    ctx.note(`Showing the first ${count} ${listing.what} (--limit ${listing.limit}); more match. Raise --limit, narrow the query, or continue with --continuation-token ${token}`);
  } else if (count === 0) {
    ctx.note(`No ${listing.what} match.`);
  }
  return { count, truncated, ...(token !== undefined ? { continuationToken: token } : {}) };
}
