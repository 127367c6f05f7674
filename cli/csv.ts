/**
 * CSV as a spreadsheet may open it safely: RFC 4180 quoting by csv-stringify (a well-kept library,
 * rather than hand-written quoting), and no cell a spreadsheet would run as a formula. Callers,
 * resource names and tags come from whoever wrote to Azure, so a caller named
 * `=HYPERLINK("http://evil.example/x","open")` must arrive as text. OWASP's "CSV Injection"
 * guidance: a cell starting with `=`, `+`, `-`, `@`, tab or carriage return (and their full-width
 * forms) gets a leading single quote, and the cell is quoted. csv-stringify's `escape_formulas`
 * adds the single quote; `quoted_match` quotes those cells. Numbers stay numbers (a negative
 * count is not a formula).
 */
import { stringify } from "csv-stringify/sync";

/** A cell of table or csv output. */
export type Cell = string | number | boolean | undefined;

const OPTIONS = {
  escape_formulas: true,
  // The cells escape_formulas prefixes (csv-stringify tests this before escaping). A negative
  // number matches too and is quoted, not prefixed: harmless, and still read as a number.
  quoted_match: /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/,
  record_delimiter: "\r\n",
  // With record_delimiter set, csv-stringify quotes a lone \n or \r only when asked to.
  quote_record_delimiter: true,
  // csv-stringify writes `true` as "1" and `false` as "" by default; people read true/false.
  cast: { boolean: (value: boolean) => String(value) },
} as const;

/** One CSV record, ending in CRLF. */
export function csvRecord(cells: readonly Cell[]): string {
  return stringify([cells.map((cell) => (cell === undefined ? "" : cell))], OPTIONS);
}
