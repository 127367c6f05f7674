/**
 * Issue 22's query figure: every single request to the query API finishes in under a second on
 * the case-study store, whatever its parameters — time ranges centuries wide or absurd, filters
 * that match nothing, the largest page — and none answers 5xx. Through the local host, as a
 * person's curl would go.
 */
import { pino } from "pino";
import { startLocalStack } from "../local/stack.js";
import { caseStudySeed } from "../local/scenarios/caseStudies.js";
import { caseStudySteps } from "../local/scenarios/replay.js";
import { waitUntilQuiet } from "../local/quiet.js";

/** Parameters a hurried or hostile caller sends; each is one request. */
const QUERIES = [
  "changes",
  "changes?limit=1000",
  "changes?since=99999d",
  "changes?since=99999d&until=9999-12-31&limit=1000",
  "changes?since=1900-01-01",
  "changes?since=0001-01-01T00:00:00Z&caller=nobody%40contoso.example",
  "changes?since=99999d&resourceGroup=rg-none",
  "changes?since=1000000000000000000000d",
  `changes?since=${"9".repeat(300)}d`,
  "changes?until=1000000000000000000000d",
  "changes?since=9999-12-31",
  "findings?state=all&limit=1000",
  "findings?state=all&since=1900-01-01",
  "findings?since=1000000000000000000000d",
  "resources/history?id=%2Fsubscriptions%2F00000000-0000-0000-0000-000000000000%2FresourceGroups%2Frg%2Fproviders%2FMicrosoft.Compute%2Fgalleries%2Fg&asOf=99999d",
] as const;

export async function benchQueries(repetitions = 3): Promise<Record<string, string | number>> {
  const today = new Date();
  const stack = await startLocalStack({ seed: caseStudySeed(undefined, today), log: pino({ level: "silent" }), settings: { GW_LOG_LEVEL: "silent" } });
  try {
    for (const step of caseStudySteps(today)) {
      await step.run(stack);
      await waitUntilQuiet(stack);
    }
    const times: Array<{ query: string; ms: number; status: number }> = [];
    for (let r = 0; r < repetitions; r++) {
      for (const query of QUERIES) {
        const started = performance.now();
        const response = await fetch(`${stack.host.url}/api/${query}`, { headers: { "x-functions-key": stack.keys.function } });
        await response.arrayBuffer();
        times.push({ query, ms: performance.now() - started, status: response.status });
      }
    }
    const slowest = times.reduce((a, b) => (b.ms > a.ms ? b : a));
    const statuses = [...new Set(times.map((t) => t.status))].sort().join(", ");
    return {
      [`query API: ${QUERIES.length} parameter sets × ${repetitions}`]: `${times.length} requests (answers: ${statuses})`,
      "slowest single request": `${Math.round(slowest.ms)} ms (${slowest.query.slice(0, 60)})   target < 1000 ms`,
      "answered 5xx": `${times.filter((t) => t.status >= 500).length}   target 0`,
    };
  } finally {
    await stack.close();
  }
}
