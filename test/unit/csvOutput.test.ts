/**
 * `--output csv` as a spreadsheet opens it: what Azure callers wrote (a caller's name, a tag, a
 * resource name) must arrive as text, never as a formula (OWASP "CSV Injection"), and still parse
 * back to what was written, commas, quotes and line breaks included.
 */
import { describe, expect, it } from "vitest";
import { createOutput, formatCsv } from "../../cli/output.js";
import { streamListing } from "../../cli/commands/listing.js";
import type { CliContext } from "../../cli/context.js";
import { parseCsv } from "../support/csv.js";

const HOSTILE = [
  '=HYPERLINK("http://evil.example/x","open")',
  "+1+cmd|' /C calc'!A0",
  "-2+3",
  "@SUM(A1:A2)",
  "\t=1+1",
  "\r=1+1",
  "＝1+1",
];
const HARMLESS = ["priya.patel@contoso.example", "rg-plant, west", 'say "hi"', "two\nlines", ""];

/** What a spreadsheet would run: a cell whose text starts with a formula trigger. */
const runnable = (cell: string) => /^[=+\-@\t\r＝＋－＠]/.test(cell);

function ctxWriting(chunks: string[]): CliContext {
  const io = { stdout: (c: string) => chunks.push(c), stderr: () => undefined, interactive: false, clock: { now: () => new Date(0) } };
  const output = createOutput({ format: "csv", write: (c) => void chunks.push(c) });
  return { io, output, note: () => undefined, warn: () => undefined } as unknown as CliContext;
}

describe("csv output", () => {
  it.each(HOSTILE)("a listing cell %j is written as quoted text a spreadsheet does not run", async (caller) => {
    const chunks: string[] = [];
    await streamListing(ctxWriting(chunks), {
      what: "changes",
      columns: [
        { header: "Caller", value: (c: { caller: string }) => c.caller },
        { header: "Count", value: () => 3 },
      ],
      fetch: async () => ({ items: [{ caller }] }),
    });
    const text = chunks.join("");
    const [row] = parseCsv(text);
    expect(row!.Caller).toBe(`'${caller}`);
    expect(runnable(row!.Caller!)).toBe(false);
    // Quoted, as OWASP asks, so the leading quote is part of the cell's text.
    expect(text).toContain(`"'${caller.replace(/"/g, '""')}"`);
    expect(row!.Count).toBe("3");
  });

  it("formatCsv neutralises every hostile cell and keeps harmless ones as written", () => {
    const rows = [...HOSTILE, ...HARMLESS].map((value, i) => ({ N: i, Value: value, Flag: i % 2 === 0 }));
    const parsed = parseCsv(formatCsv(rows));
    expect(parsed.map((r) => r.Value)).toEqual([...HOSTILE.map((h) => `'${h}`), ...HARMLESS]);
    expect(parsed.some((r) => Object.values(r).some(runnable))).toBe(false);
    expect(parsed.map((r) => r.Flag)).toEqual(rows.map((r) => String(r.Flag)));
    expect(parsed.map((r) => r.N)).toEqual(rows.map((r) => String(r.N)));
  });
});
