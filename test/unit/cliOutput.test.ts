/**
 * The CLI's output as the Azure CLI shapes it: every `--output` form of one result, `--query`
 * (JMESPath) applied before formatting, az's automatic table and tsv, one timestamp form and one
 * header style, and a streamed list that reads back as the same list.
 */
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { applyQuery, autoRows, createOutput, OUTPUT_FORMATS, queryArgument, type Column, type OutputFormat } from "../../cli/output.js";
import { parseCsv } from "../support/csv.js";

interface Finding {
  readonly resourceId: string;
  readonly severity: string;
  readonly updatedAt: string;
  readonly regions: readonly string[];
  readonly owner: { readonly upn: string } | null;
}

const FINDINGS: Finding[] = [
  { resourceId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g", severity: "critical", updatedAt: "2026-12-07T03:19:56.123Z", regions: ["westeurope", "eastus"], owner: { upn: "sam@contoso.example" } },
  { resourceId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/h", severity: "medium", updatedAt: "2026-12-06T10:00:00.000Z", regions: [], owner: null },
];
const COLUMNS: ReadonlyArray<Column<Finding>> = [
  { header: "Severity", value: (f) => f.severity },
  { header: "Updated", value: (f) => f.updatedAt },
  { header: "ResourceId", value: (f) => f.resourceId },
];

function render(format: OutputFormat, options: { query?: string; color?: boolean } = {}, print?: (o: ReturnType<typeof createOutput>) => void): string {
  const chunks: string[] = [];
  const output = createOutput({ format, write: (c) => void chunks.push(c), ...options });
  if (print) print(output);
  else output.print({ json: FINDINGS, rows: FINDINGS.map((f) => Object.fromEntries(COLUMNS.map((c) => [c.header, c.value(f)]))) });
  return chunks.join("");
}

/** Prints the list in two pages, as a listing does. */
const streamed = (format: OutputFormat, query?: string) =>
  render(format, query ? { query } : {}, (o) => {
    const printer = o.list(COLUMNS);
    printer.page(FINDINGS.slice(0, 1));
    printer.page(FINDINGS.slice(1));
    printer.end();
  });

const ESC = "\x1b[";

describe("--output", () => {
  it("takes az's forms and csv", () => {
    expect([...OUTPUT_FORMATS].sort()).toEqual(["csv", "json", "jsonc", "none", "table", "tsv", "yaml", "yamlc"]);
  });

  it("json and yaml carry the whole result; jsonc and yamlc are the same text, coloured only when asked", () => {
    expect(JSON.parse(render("json"))).toEqual(FINDINGS);
    expect(parseYaml(render("yaml"))).toEqual(FINDINGS);
    expect(render("jsonc")).toBe(render("json"));
    expect(render("yamlc")).toBe(render("yaml"));
    const coloured = render("jsonc", { color: true });
    expect(coloured).toContain(ESC);
    expect(JSON.parse(coloured.replace(/\x1b\[\d+m/g, ""))).toEqual(FINDINGS);
    const colouredYaml = render("yamlc", { color: true });
    expect(colouredYaml).toContain(ESC);
    expect(parseYaml(colouredYaml.replace(/\x1b\[\d+m/g, ""))).toEqual(FINDINGS);
    expect(render("json", { color: true })).not.toContain(ESC);
  });

  it("none prints nothing", () => {
    expect(render("none")).toBe("");
    expect(streamed("none")).toBe("");
  });

  it("table, csv and tsv show the command's columns with times ISO 8601 UTC to the second", () => {
    const table = render("table").split("\n");
    expect(table[0]).toMatch(/^Severity\s+Updated\s+ResourceId$/);
    expect(table[2]).toMatch(/^critical\s+2026-12-07T03:19:56Z\s+\/subscriptions/);
    expect(parseCsv(render("csv"))[0]).toEqual({ Severity: "critical", Updated: "2026-12-07T03:19:56Z", ResourceId: FINDINGS[0]!.resourceId });
    // az's tsv: no header, a line per row, tab separated.
    expect(render("tsv")).toBe(`critical\t2026-12-07T03:19:56Z\t${FINDINGS[0]!.resourceId}\nmedium\t2026-12-06T10:00:00Z\t${FINDINGS[1]!.resourceId}\n`);
  });

  it("a streamed list reads back as the list, in every form", () => {
    expect(JSON.parse(streamed("json"))).toEqual(FINDINGS);
    expect(parseYaml(streamed("yaml"))).toEqual(FINDINGS);
    expect(streamed("table")).toBe(render("table"));
    expect(streamed("csv")).toBe(render("csv"));
    expect(streamed("tsv")).toBe(render("tsv"));
    const empty = (format: OutputFormat) => render(format, {}, (o) => o.list(COLUMNS).end());
    expect(JSON.parse(empty("json"))).toEqual([]);
    expect(parseYaml(empty("yaml"))).toEqual([]);
    expect(empty("table")).toBe("");
  });

  it("without a command's own rows, table is az's automatic one: scalar fields, PascalCase headers", () => {
    const out = render("table", {}, (o) => o.print({ json: { digestId: "2026-12-07", status: "alreadySent", sentAt: "2026-12-07T07:00:00.5Z", nested: { a: 1 } } }));
    expect(out.split("\n")[0]).toMatch(/^DigestId\s+Status\s+SentAt$/);
    expect(out).toContain("2026-12-07T07:00:00Z");
    expect(autoRows(["a", "b"])).toEqual([{ Result: "a" }, { Result: "b" }]);
    expect(autoRows([[1, 2]])).toEqual([{ Column1: 1, Column2: 2 }]);
  });
});

describe("--query", () => {
  it("runs JMESPath on the result before it is formatted", () => {
    expect(JSON.parse(render("json", { query: "[?severity=='critical'].resourceId" }))).toEqual([FINDINGS[0]!.resourceId]);
    expect(render("tsv", { query: "[].resourceId" })).toBe(`${FINDINGS[0]!.resourceId}\n${FINDINGS[1]!.resourceId}\n`);
    expect(parseYaml(render("yaml", { query: "length(@)" }))).toBe(2);
  });

  it("with a query, table, csv and tsv show the query's result, not the command's columns", () => {
    const table = render("table", { query: "[].{sev: severity, upn: owner.upn, regions: regions}" }).split("\n");
    // Headers are the query's keys, first letter upper-cased; a list is left out of a table, a null cell is empty.
    expect(table[0]).toMatch(/^Sev\s+Upn$/);
    expect(table[2]).toMatch(/^critical\s+sam@contoso.example$/);
    expect(table[3]).toMatch(/^medium$/);
    expect(parseCsv(render("csv", { query: "[].{Severity: severity, At: updatedAt}" }))).toEqual([
      { Severity: "critical", At: "2026-12-07T03:19:56Z" },
      { Severity: "medium", At: "2026-12-06T10:00:00Z" },
    ]);
    // az's tsv of objects: values in order; a list as its length, an object as an empty field.
    expect(render("tsv", { query: "[].{s: severity, r: regions, o: owner}" })).toBe("critical\t2\t\nmedium\t0\t\n");
  });

  it("sees the whole of a streamed list", () => {
    expect(JSON.parse(streamed("json", "length(@)"))).toBe(2);
    expect(JSON.parse(streamed("json", "[1].severity"))).toBe("medium");
  });

  it("an expression that does not parse is refused as an argument error before anything runs", () => {
    expect(() => queryArgument("[?severity==")).toThrow(/not a JMESPath expression/);
    expect(queryArgument("[].name")).toBe("[].name");
    // Only the syntax is checked up front: a function's argument types depend on the result.
    expect(queryArgument("length(@)")).toBe("length(@)");
    expect(applyQuery({ a: undefined, b: 1 }, "keys(@)")).toEqual(["b"]);
  });
});
