/**
 * Long listings, streamed page by page with the store's continuation tokens: each page is printed
 * as it arrives (table, csv and tsv rows, json and yaml list elements), so a listing of any length
 * holds one page in memory and shows its first rows at once (with `--query`, which needs the whole
 * list, it is printed at the end). The result is a list, as az's list commands print. Nothing is
 * capped silently: when `--max-items` stops a listing that has more, stderr says so with the token
 * to continue from (`--next-token`), as az's paged commands do (azure-cli's `aaz` paging,
 * Azure/azure-cli#26710 and #26713: the token of the next page goes to stderr as a warning).
 */
import { InvalidArgumentError } from "commander";
import type { Page } from "../../shared/app/ports.js";
import { DEFAULT_PAGE_SIZE } from "../../shared/app/queries.js";
import type { CliContext } from "../context.js";
import type { Column } from "../output.js";

export type { Column };

export interface Listing<T> {
  /** Plural noun for notes: "findings", "changes". */
  readonly what: string;
  readonly columns: ReadonlyArray<Column<T>>;
  readonly fetch: (limit: number, continuationToken: string | undefined) => Promise<Page<T>>;
  /** Total items to print at most (`--max-items`); undefined: all of them. */
  readonly limit?: number;
  /** Where to continue (`--next-token`). */
  readonly continuationToken?: string;
}

export interface ListingResult {
  readonly count: number;
  readonly truncated: boolean;
  readonly continuationToken?: string;
}

/** The paging options every list command takes, as az's paged commands name them. */
export const PAGING_HELP = {
  maxItems: "print at most this many items (default: all); when more match, the token to continue from is printed on stderr",
  nextToken: "continue a listing from the token a previous --max-items printed (\"Next token: …\")",
} as const;

/** `--limit`: a positive whole number. */
export function limitArgument(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError("a whole number of rows, 1 or more.");
  return n;
}

const PROGRESS_AFTER_MS = 1_000;

export async function streamListing<T>(ctx: CliContext, listing: Listing<T>): Promise<ListingResult> {
  const started = ctx.io.clock.now().getTime();
  const printer = ctx.output.list(listing.columns);
  let count = 0;
  let token = listing.continuationToken;
  let progressShown = false;

  do {
    const want = listing.limit === undefined ? DEFAULT_PAGE_SIZE : Math.min(DEFAULT_PAGE_SIZE, listing.limit - count);
    const page = await listing.fetch(want, token);
    if (page.items.length > 0) printer.page(page.items);
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
  printer.end();

  const truncated = token !== undefined;
  if (truncated) {
    ctx.note(`Showing the first ${count} ${listing.what} (--max-items ${listing.limit}); more match. Continue with --next-token and the token below, raise --max-items, or narrow the query.`);
    ctx.warn(`Next token: ${token}`);
  } else if (count === 0) {
    ctx.note(`No ${listing.what} match.`);
  }
  return { count, truncated, ...(token !== undefined ? { continuationToken: token } : {}) };
}
