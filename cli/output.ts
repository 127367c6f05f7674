/**
 * `--output table|json|csv`, as the Azure CLI does it: json is the full objects (for scripts and
 * `jq`), table is aligned columns for people, csv has a header row, RFC 4180 quoting and no cell
 * a spreadsheet would run as a formula (`csv.ts`).
 * Results go to stdout; progress, notes and errors to stderr, so a pipe gets only the result.
 */
import { csvRecord, type Cell } from "./csv.js";

export const OUTPUT_FORMATS = ["table", "json", "csv"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export type { Cell };
export type Row = Readonly<Record<string, Cell>>;

export interface Output {
  /** `json` is printed as given; `rows` is what table and csv show. */
  print(result: { readonly json: unknown; readonly rows: readonly Row[] }): void;
}

const text = (cell: Cell) => (cell === undefined ? "" : String(cell));

export function formatTable(rows: readonly Row[]): string {
  if (rows.length === 0) return "";
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => text(r[c]).length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...rows.map((r) => line(columns.map((c) => text(r[c]))))].join("\n") + "\n";
}

export function formatCsv(rows: readonly Row[]): string {
  if (rows.length === 0) return "";
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return [csvRecord(columns), ...rows.map((r) => csvRecord(columns.map((c) => r[c])))].join("");
}

export function createOutput(format: OutputFormat, write: (chunk: string) => void = (chunk) => process.stdout.write(chunk)): Output {
  return {
    print({ json, rows }) {
      if (format === "json") write(`${JSON.stringify(json, null, 2)}\n`);
      else if (format === "csv") write(formatCsv(rows));
      else write(formatTable(rows));
    },
  };
}
