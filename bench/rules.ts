/** Rule evaluation throughput: 100,000 versions and 10,000 scale sets, then transitions over 100,000 findings. */
import { evaluateSubject } from "../shared/domain/evaluate.js";
import { computeTransitions } from "../shared/domain/transitions.js";
import { RULE_IDS, type RuleResult } from "../shared/domain/findings.js";
import { aDefinition, aScaleSet, aVersion, NOW, policy, regions } from "../test/support/snapshotBuilders.js";
import { parseResourceId } from "../shared/domain/resourceId.js";

export async function benchRules(versionCount = 100_000, scaleSetCount = 10_000): Promise<Record<string, string | number>> {
  const names = ["West Europe", "North Europe", "East US", "UK South", "Japan East", "Brazil South"];
  const definition = aDefinition();
  const related = { definition, definitions: [], versions: [] as ReturnType<typeof aVersion>[] };
  const versions = Array.from({ length: versionCount }, (_, i) =>
    aVersion({ version: `1.${Math.floor(i / 1000)}.${i % 1000}`, targetRegions: regions(...names.slice(0, 1 + (i % names.length))), excludeFromLatest: i % 3 === 0, endOfLifeDate: i % 5 === 0 ? undefined : "2026-01-01T00:00:00Z" }),
  );
  related.versions = versions.slice(0, 50);
  const scaleSets = Array.from({ length: scaleSetCount }, (_, i) => ({ ...aScaleSet({ capacity: i % 200 }), id: parseResourceId(`/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss${i}`) }));
  const p = policy();
  const heapBefore = process.memoryUsage().heapUsed;

  let started = performance.now();
  const results: RuleResult[] = [];
  for (const v of versions) results.push(...evaluateSubject(v, related, p, NOW));
  const versionMs = performance.now() - started;
  started = performance.now();
  for (const s of scaleSets) results.push(...evaluateSubject(s, related, p, NOW));
  const scaleSetMs = performance.now() - started;

  const evaluation = { subjects: [...versions, ...scaleSets].map((s) => s.id.key), rules: [...RULE_IDS], results, evaluatedAt: NOW.toISOString() };
  started = performance.now();
  const opened = computeTransitions([], evaluation);
  const openMs = performance.now() - started;
  started = performance.now();
  const again = computeTransitions(opened.map((t) => t.after), evaluation);
  const steadyMs = performance.now() - started;

  return {
    "versions evaluated": versionCount,
    "version evaluations/s": Math.round(versionCount / (versionMs / 1000)),
    "scale sets evaluated": scaleSetCount,
    "scale-set evaluations/s": Math.round(scaleSetCount / (scaleSetMs / 1000)),
    "findings produced": results.length,
    "transitions (all new) ms": Math.round(openMs),
    "transitions (steady state, none expected) ms": Math.round(steadyMs),
    "steady-state transitions": again.length,
    "heap used by the run, MB": Math.round((process.memoryUsage().heapUsed - heapBefore) / 1e6),
  };
}
