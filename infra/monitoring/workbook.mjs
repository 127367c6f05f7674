// Builds workbook.json (the serializedData of the "gallery-watch: first look" workbook) from the
// .kql files next to it, so the workbook and the queries never drift apart:
//   node infra/monitoring/workbook.mjs
// test/unit/telemetry.test.ts checks that workbook.json holds exactly these queries.
// Workbook format: https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-automate
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The panels in order: file, title, visualization (workbooks ignore `render`; they use this). */
export const PANELS = [
  ["events-by-disposition.kql", "Events by disposition", "timechart"],
  ["arm-reads-and-throttles.kql", "ARM reads and throttles", "timechart"],
  ["arm-reads-by-operation.kql", "ARM reads by operation", "table"],
  ["findings-over-time.kql", "Findings: worse vs better", "timechart"],
  ["findings-by-rule.kql", "Findings by rule", "table"],
  ["alert-delivery.kql", "Alert delivery to Teams", "table"],
  ["sweep-runs.kql", "Sweep runs: duration and failures", "table"],
  ["sweep-failures-by-operation.kql", "Sweep failures by operation", "table"],
  ["dead-letters.kql", "Dead letters and poison messages", "table"],
  ["redriven-events.kql", "Re-driven events", "table"],
];

/** The query a panel runs: the file without its header comment and without `render`. */
export function panelQuery(text) {
  return text
    .split("\n")
    .filter((line) => !line.startsWith("//") && !/^\|\s*render\b/.test(line))
    .join("\n")
    .trim();
}

export function buildWorkbook() {
  const items = [
    {
      type: 1,
      name: "title",
      content: {
        json: "## gallery-watch: first look\nEvents, ARM reads, findings, alert delivery, sweeps and dead letters. Queries: `infra/monitoring/*.kql`; what to do about what you see: `docs/operations.md`. For one ARM operation, run `correlation.kql` in Logs.",
      },
    },
    {
      type: 9,
      name: "parameters",
      content: {
        version: "KqlParameterItem/1.0",
        parameters: [
          {
            id: "5d0f3b3e-6c1a-4f7e-9a51-3e2b9c7d1a10",
            version: "KqlParameterItem/1.0",
            name: "TimeRange",
            label: "Time range",
            type: 4,
            isRequired: true,
            value: { durationMs: 86400000 },
            typeSettings: {
              selectableValues: [{ durationMs: 3600000 }, { durationMs: 14400000 }, { durationMs: 86400000 }, { durationMs: 604800000 }, { durationMs: 2592000000 }],
              allowCustom: true,
            },
          },
        ],
        style: "pills",
        queryType: 0,
        resourceType: "microsoft.insights/components",
      },
    },
    ...PANELS.map(([file, title, visualization]) => ({
      type: 3,
      name: file.replace(/\.kql$/, ""),
      content: {
        version: "KqlItem/1.0",
        query: panelQuery(readFileSync(path.join(here, file), "utf8")),
        size: 0,
        title,
        timeContextFromParameter: "TimeRange",
        queryType: 0,
        resourceType: "microsoft.insights/components",
        visualization,
      },
    })),
  ];
  return {
    version: "Notebook/1.0",
    items,
    fallbackResourceIds: [],
    $schema: "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json",
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(path.join(here, "workbook.json"), `${JSON.stringify(buildWorkbook(), null, 2)}\n`);
}
