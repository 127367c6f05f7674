/**
 * Ends `npm run conformance` with one line counting what was validated, per kind, e.g.
 * `conformance: 41 gallery responses, 12 scale-set responses, 7 error bodies, 24 gallery examples, 9 scale-set examples validated`,
 * preceded by each check's note (which swagger, which refs were stubbed). When Microsoft's
 * fixtures are absent it says the suite was skipped and why.
 */
import type { Reporter, TestModule } from "vitest/node";
import { fixturesDir, SKIP_REASON } from "../support/fixtures.js";
import { KINDS, type ConformanceKind, type ConformanceRecord } from "./summary.js";

export default class ConformanceSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (fixturesDir() === undefined) {
      process.stdout.write(`\nconformance: skipped: ${SKIP_REASON}\n`);
      return;
    }
    const counts = new Map<ConformanceKind, number>(KINDS.map((k) => [k, 0]));
    const notes = new Set<string>();
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        if (test.result().state !== "passed") continue;
        for (const record of (test.meta().conformance ?? []) as ConformanceRecord[]) {
          counts.set(record.kind, (counts.get(record.kind) ?? 0) + record.count);
          if (record.note) notes.add(record.note);
        }
      }
    }
    const lines = [...notes].sort().map((n) => `conformance: ${n}`);
    lines.push(`conformance: ${KINDS.map((k) => `${counts.get(k)} ${k}`).join(", ")} validated`);
    process.stdout.write(`\n${lines.join("\n")}\n`);
  }
}
