/**
 * Every KQL query the operator runs (infra/monitoring/*.kql) and every query the workbook runs
 * (workbook.json) is parsed and semantically checked by Microsoft's Kusto language service
 * (@kusto/language-service-next, the engine behind the Azure portal's query editor) against the
 * Application Insights tables it reads. Any error diagnostic (unknown table, column or function,
 * wrong argument types, syntax) fails the test.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";

const folder = path.resolve(import.meta.dirname, "../../infra/monitoring");

// The service is a Bridge.NET build: bridge.js defines the runtime, the second file defines the
// Kusto namespace on globalThis.
const require = createRequire(import.meta.url);
require("@kusto/language-service-next/bridge.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.js");

interface KustoDiagnostic {
  readonly Severity: string;
  readonly Code: string;
  readonly Message: string;
  readonly Start: number;
}
interface KustoLanguage {
  readonly Symbols: {
    readonly TableSymbol: { readonly $ctor7: new (name: string, schema: string, description: string | null) => unknown };
    readonly DatabaseSymbol: { readonly $ctor2: new (name: string, alternateName: string | null, members: unknown[]) => unknown };
  };
  readonly GlobalState: { readonly Default: { WithDatabase(database: unknown): unknown } };
  readonly KustoCode: {
    ParseAndAnalyze(text: string, globals: unknown): { GetDiagnostics(): { readonly Count: number; getItem(index: number): KustoDiagnostic } };
  };
}
const Kusto = (globalThis as unknown as { Kusto: { Language: KustoLanguage } }).Kusto.Language;

/**
 * The Application Insights (classic, as queried on the component) tables the queries use, with
 * their columns and types as Microsoft documents them:
 * https://learn.microsoft.com/azure/azure-monitor/app/data-model-complete and the per-table pages
 * under https://learn.microsoft.com/azure/azure-monitor/reference/tables/ (AppRequests … map to
 * requests …). `success` is a string in the classic schema.
 */
const COMMON =
  "operation_Name:string, operation_Id:string, operation_ParentId:string, operation_SyntheticSource:string, session_Id:string, user_Id:string, " +
  "user_AuthenticatedId:string, user_AccountId:string, application_Version:string, client_Type:string, client_Model:string, client_OS:string, " +
  "client_IP:string, client_City:string, client_StateOrProvince:string, client_CountryOrRegion:string, client_Browser:string, cloud_RoleName:string, " +
  "cloud_RoleInstance:string, appId:string, appName:string, iKey:string, sdkVersion:string, itemId:string, itemType:string, itemCount:int";
const TABLES: Record<string, string> = {
  requests: `timestamp:datetime, id:string, source:string, name:string, url:string, success:string, resultCode:string, duration:real, performanceBucket:string, customDimensions:dynamic, customMeasurements:dynamic, ${COMMON}`,
  dependencies: `timestamp:datetime, id:string, target:string, type:string, name:string, data:string, success:string, resultCode:string, duration:real, performanceBucket:string, customDimensions:dynamic, customMeasurements:dynamic, ${COMMON}`,
  traces: `timestamp:datetime, message:string, severityLevel:int, customDimensions:dynamic, customMeasurements:dynamic, ${COMMON}`,
  exceptions: `timestamp:datetime, problemId:string, handledAt:string, type:string, message:string, assembly:string, method:string, outerType:string, outerMessage:string, outerAssembly:string, outerMethod:string, innermostType:string, innermostMessage:string, innermostAssembly:string, innermostMethod:string, severityLevel:int, details:dynamic, customDimensions:dynamic, customMeasurements:dynamic, ${COMMON}`,
  customEvents: `timestamp:datetime, name:string, customDimensions:dynamic, customMeasurements:dynamic, ${COMMON}`,
  customMetrics: `timestamp:datetime, name:string, value:real, valueCount:int, valueSum:real, valueMin:real, valueMax:real, valueStdDev:real, customDimensions:dynamic, ${COMMON}`,
};

const globals = Kusto.GlobalState.Default.WithDatabase(
  new Kusto.Symbols.DatabaseSymbol.$ctor2(
    "applicationinsights",
    null,
    Object.entries(TABLES).map(([name, columns]) => new Kusto.Symbols.TableSymbol.$ctor7(name, `(${columns})`, null)),
  ),
);

/** Error diagnostics of a query, each with the line it is on. */
function errors(query: string): string[] {
  const diagnostics = Kusto.KustoCode.ParseAndAnalyze(query, globals).GetDiagnostics();
  const found: string[] = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    if (d.Severity !== "Error") continue;
    const line = query.slice(0, d.Start).split("\n").length;
    found.push(`line ${line}: ${d.Code} ${d.Message}`);
  }
  return found;
}

const files = readdirSync(folder).filter((f) => f.endsWith(".kql")).sort();
const workbook = JSON.parse(readFileSync(path.join(folder, "workbook.json"), "utf8")) as {
  items: { type: number; name: string; content: { query?: string } }[];
};
const panels = workbook.items.filter((item) => item.type === 3 && item.content.query !== undefined);

describe("the Kusto language service", () => {
  it("reports what a wrong query gets wrong (the check can fail)", () => {
    expect(errors('customMetrics | where nmae == "gallerywatch.events"').join("\n")).toMatch(/nmae/);
    expect(errors("customMetric | take 1").join("\n")).toMatch(/customMetric/);
    expect(errors("customMetrics | summarize sum(customDimensions) by bin(timestamp, 1h)")).not.toEqual([]);
    expect(errors('customMetrics | where name == "gallerywatch.events" | summarize sum(valueSum) by bin(timestamp, 1h)')).toEqual([]);
  });
});

describe("infra/monitoring queries", () => {
  it("are all checked", () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(panels.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)("%s parses and checks against the Application Insights schema", (file) => {
    expect(errors(readFileSync(path.join(folder, file), "utf8"))).toEqual([]);
  });

  it.each(panels.map((p) => [p.name, p.content.query!] as const))("workbook panel %s parses and checks", (_name, query) => {
    expect(errors(query)).toEqual([]);
  });
});

/**
 * The Sentinel query infra/README.md shows for the findings feed, over the custom table Azure
 * Monitor's Event Hubs ingestion writes ("Ingest events from Azure Event Hubs into Azure Monitor
 * Logs": TimeGenerated, RawData, Properties).
 */
describe("the findings feed's Sentinel query (infra/README.md)", () => {
  const feedGlobals = Kusto.GlobalState.Default.WithDatabase(
    new Kusto.Symbols.DatabaseSymbol.$ctor2("sentinel", null, [new Kusto.Symbols.TableSymbol.$ctor7("GalleryWatchFindings_CL", "(TimeGenerated:datetime, RawData:string, Properties:dynamic)", null)]),
  );
  const feedErrors = (query: string) => {
    const diagnostics = Kusto.KustoCode.ParseAndAnalyze(query, feedGlobals).GetDiagnostics();
    return Array.from({ length: diagnostics.Count }, (_, i) => diagnostics.getItem(i)).filter((d) => d.Severity === "Error").map((d) => `${d.Code} ${d.Message}`);
  };
  const readme = readFileSync(path.resolve(import.meta.dirname, "../../infra/README.md"), "utf8");
  const query = /## Findings feed[\s\S]*?```kql\n([\s\S]*?)```/.exec(readme)?.[1];

  it("checks against the ingested table's schema", () => {
    expect(query).toContain("GalleryWatchFindings_CL");
    expect(feedErrors(query!)).toEqual([]);
    expect(feedErrors(query!.replace("parse_json(RawData)", "parse_json(RawDatum)")).join("\n")).toMatch(/RawDatum/);
  });
});
