/**
 * `--output` and `--query` as the Azure CLI does them
 * (https://learn.microsoft.com/cli/azure/format-output-azure-cli, https://learn.microsoft.com/cli/azure/query-azure-cli):
 * - `--query` is a JMESPath expression applied to the JSON result before it is formatted
 *   (@jmespath-community/jmespath, a kept implementation of the JMESPath spec with no dependencies);
 * - `json` (default) / `jsonc`, `yaml` / `yamlc` (the `yaml` library), `table`, `tsv`, `csv`
 *   (ours, for spreadsheets: `csv.ts`), `none`. The coloured forms are coloured only when stdout
 *   and stderr are terminals, as knack (the Azure CLI's framework) does, so a pipe never gets
 *   escape codes; `NO_COLOR` turns colour off too. Colouring by emphasize (highlight.js grammars).
 * - `table` / `csv` / `tsv` show a command's own columns when no `--query` is given; with
 *   `--query` they show the query's result as az's automatic table does: each object's scalar
 *   fields, the key's first letter upper-cased (`resourceName` → `ResourceName`), so every
 *   header is PascalCase. `tsv` has no header and one line per row, as az's.
 * - Every time in a table, csv or tsv cell is ISO 8601 UTC to the second (`2026-12-07T03:19:56Z`);
 *   json and yaml keep the stored value (the same form, with milliseconds).
 * Results go to stdout; progress, notes and errors to stderr, so a pipe gets only the result.
 */
import { InvalidArgumentError } from "commander";
import { compile, search } from "@jmespath-community/jmespath";
import { common, createEmphasize } from "emphasize";
import { stringify as yamlStringify } from "yaml";
import { csvRecord, type Cell } from "./csv.js";

export const OUTPUT_FORMATS = ["json", "jsonc", "table", "tsv", "yaml", "yamlc", "none", "csv"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export type { Cell };
export type Row = Readonly<Record<string, Cell>>;

/** A column of a command's own table / csv / tsv. */
export interface Column<T> {
  readonly header: string;
  readonly value: (item: T) => Cell;
  /** Table output only: longer text is cut with an ellipsis (csv, tsv and json keep it whole). */
  readonly truncate?: number;
}

export interface Printable {
  /** The result: what json and yaml print and what `--query` runs on. */
  readonly json: unknown;
  /** Table, csv and tsv without `--query`: the command's own rows (default: az's automatic table of `json`). */
  readonly rows?: readonly Row[];
  /** Table without `--query`: a layout of the command's own (history). */
  readonly text?: string;
}

/** A list printed page by page as it is read; with `--query` (which needs the whole list) it is collected and printed at the end. */
export interface ListPrinter<T> {
  page(items: readonly T[]): void;
  end(): void;
}

export interface Output {
  readonly format: OutputFormat;
  print(result: Printable): void;
  list<T>(columns: ReadonlyArray<Column<T>>): ListPrinter<T>;
}

export interface OutputOptions {
  readonly format: OutputFormat;
  /** A JMESPath expression (checked by `queryArgument`). */
  readonly query?: string;
  /** Colour jsonc / yamlc (stdout and stderr are terminals, no NO_COLOR). */
  readonly color?: boolean;
  readonly write: (chunk: string) => void;
}

/** `--query`: a usage error (exit 2) when the expression does not parse, before anything is read. */
export function queryArgument(value: string): string {
  try {
    compile(value); // parses only: a type error depends on the result, which is not read yet
  } catch (error) {
    throw new InvalidArgumentError(`not a JMESPath expression: ${(error as Error).message}. See https://jmespath.org/tutorial.html`);
  }
  return value;
}

/** Runs a JMESPath expression over a result, as plain JSON (no undefined, dates as their ISO text). */
export function applyQuery(json: unknown, query: string): unknown {
  return search(JSON.parse(JSON.stringify(json ?? null)) as Parameters<typeof search>[0], query);
}

const ISO_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/;

/** One timestamp form for people: ISO 8601 UTC to the second. Other text is left alone. */
export function isoSeconds(value: string): string {
  const m = ISO_TIME.exec(value);
  return m ? `${m[1]}Z` : value;
}

/** The text of a table, csv or tsv cell. */
export function cellText(cell: Cell): string {
  if (cell === undefined || cell === null) return "";
  return typeof cell === "string" ? isoSeconds(cell) : String(cell);
}

const capitalise = (key: string) => (key ? key[0]!.toUpperCase() + key.slice(1) : key);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const scalar = (value: unknown): Cell => (typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? value : undefined);

/**
 * az's automatic table (knack's `_TableOutput`): one row per element of a list (or the one
 * object), each scalar field a column under its key with the first letter upper-cased; null,
 * lists and objects left out. A scalar result is a `Result` column, a list of lists `Column1…`.
 */
export function autoRows(json: unknown): Row[] {
  const items = Array.isArray(json) ? json : json === null || json === undefined ? [] : [json];
  return items.map((item): Row => {
    if (isObject(item)) {
      const row: Record<string, Cell> = {};
      for (const [key, value] of Object.entries(item)) if (scalar(value) !== undefined) row[capitalise(key)] = scalar(value);
      return row;
    }
    if (Array.isArray(item)) return Object.fromEntries(item.map((v, i) => [`Column${i + 1}`, scalar(v) ?? ""]));
    return { Result: scalar(item) };
  });
}

/**
 * az's tsv of a result (knack's `_TsvOutput`): a line per element, an object's values in order
 * (a nested list as its length, a nested object as an empty field, so columns stay aligned).
 * Tabs and line breaks inside a value become spaces, so every line is one row.
 */
export function tsvLines(json: unknown): string {
  const items = Array.isArray(json) ? json : [json];
  const field = (value: unknown): string => (Array.isArray(value) ? String(value.length) : isObject(value) || value === null || value === undefined ? "" : tsvCell(value as Cell));
  return items.map((item) => `${(isObject(item) ? Object.values(item) : Array.isArray(item) ? item : [item]).map(field).join("\t")}\n`).join("");
}

const tsvCell = (cell: Cell) => cellText(cell).replace(/[\t\r\n]+/g, " ");

function columnsOf(rows: readonly Row[]): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r)))];
}

function cut(value: string, max: number | undefined): string {
  const oneLine = value.replace(/\s+/g, " ");
  return max !== undefined && oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

export function formatTable(rows: readonly Row[]): string {
  if (rows.length === 0) return "";
  const columns = columnsOf(rows);
  const cells = rows.map((r) => columns.map((c) => cellText(r[c]).replace(/\s+/g, " ")));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) => values.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n") + "\n";
}

export function formatCsv(rows: readonly Row[]): string {
  if (rows.length === 0) return "";
  const columns = columnsOf(rows);
  return [csvRecord(columns), ...rows.map((r) => csvRecord(columns.map((c) => csvCell(r[c]))))].join("");
}

const csvCell = (cell: Cell): Cell => (typeof cell === "string" ? isoSeconds(cell) : cell);

export function formatTsv(rows: readonly Row[]): string {
  return rows.map((r) => `${Object.values(r).map(tsvCell).join("\t")}\n`).join("");
}

// Colours as a terminal shows them; emphasize tokenises with highlight.js's json and yaml grammars.
const sgr = (code: number) => (text: string) => `\x1b[${code}m${text}\x1b[39m`;
const SHEET = { attr: sgr(34), string: sgr(32), number: sgr(33), literal: sgr(35), bullet: sgr(90), punctuation: sgr(90), meta: sgr(90) };
let highlighter: ReturnType<typeof createEmphasize> | undefined;
function colour(language: "json" | "yaml", text: string): string {
  highlighter ??= createEmphasize({ json: common.json!, yaml: common.yaml! });
  return highlighter.highlight(language, text, SHEET).value;
}

const jsonText = (value: unknown) => `${JSON.stringify(value ?? null, null, 2)}\n`;
const yamlText = (value: unknown) => yamlStringify(value ?? null, { lineWidth: 0 });

export function createOutput(options: OutputOptions): Output {
  const { format, query, write } = options;
  const coloured = options.color === true;

  const printWhole = (result: Printable) => {
    const json = query ? applyQuery(result.json, query) : result.json;
    switch (format) {
      case "none":
        return;
      case "json":
      case "jsonc":
        return write(format === "jsonc" && coloured ? colour("json", jsonText(json)) : jsonText(json));
      case "yaml":
      case "yamlc":
        return write(format === "yamlc" && coloured ? colour("yaml", yamlText(json)) : yamlText(json));
      case "tsv":
        return write(query || !result.rows ? tsvLines(json) : formatTsv(result.rows));
      case "csv":
        return write(formatCsv(query || !result.rows ? autoRows(json) : result.rows));
      case "table":
        if (!query && result.text !== undefined) return write(result.text);
        return write(formatTable(query || !result.rows ? autoRows(json) : result.rows));
    }
  };

  return {
    format,
    print: printWhole,
    list<T>(columns: ReadonlyArray<Column<T>>): ListPrinter<T> {
      const rowOf = (item: T): Row => Object.fromEntries(columns.map((c) => [c.header, c.value(item)]));
      if (query) {
        // The query sees the whole list, as az's does.
        const all: T[] = [];
        return { page: (items) => void all.push(...items), end: () => printWhole({ json: all, rows: all.map(rowOf) }) };
      }
      let count = 0;
      let widths: number[] | undefined;
      return {
        page(items) {
          for (const item of items) {
            switch (format) {
              case "none":
                break;
              case "json":
              case "jsonc": {
                const text = JSON.stringify(item, null, 2).replace(/^/gm, "  ");
                write(`${count === 0 ? "[\n" : ",\n"}${format === "jsonc" && coloured ? colour("json", text) : text}`);
                break;
              }
              case "yaml":
              case "yamlc": {
                // A one-element sequence per item: the pieces together are the whole sequence.
                const text = yamlText([item]);
                write(format === "yamlc" && coloured ? colour("yaml", text) : text);
                break;
              }
              case "tsv":
                write(formatTsv([rowOf(item)]));
                break;
              case "csv":
                if (count === 0) write(csvRecord(columns.map((c) => c.header)));
                write(csvRecord(columns.map((c) => csvCell(c.value(item)))));
                break;
              case "table": {
                const cells = columns.map((c) => cut(cellText(c.value(item)), c.truncate));
                const line = (values: readonly string[]) => values.map((cell, i) => cell.padEnd(widths![i]!)).join("  ").trimEnd();
                if (!widths) {
                  // Widths from the first page; a later, longer cell only pushes its own line out of line.
                  const firstPage = items.map((it) => columns.map((c) => cut(cellText(c.value(it)), c.truncate)));
                  widths = columns.map((c, i) => Math.max(c.header.length, ...firstPage.map((r) => r[i]!.length)));
                  write(`${line(columns.map((c) => c.header))}\n${line(widths.map((w) => "-".repeat(w)))}\n`);
                }
                write(`${line(cells)}\n`);
                break;
              }
            }
            count++;
          }
        },
        end() {
          if (format === "json" || format === "jsonc") write(count === 0 ? "[]\n" : "\n]\n");
          if ((format === "yaml" || format === "yamlc") && count === 0) write(yamlText([]));
        },
      };
    },
  };
}
