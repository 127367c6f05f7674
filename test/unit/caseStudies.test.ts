/**
 * The brief's three case studies played through the pure core (rules → transitions), step by
 * step, with stored findings carried from one step to the next.
 */
import { describe, expect, it } from "vitest";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { RULE_IDS, type Finding, type FindingRuleId } from "../../shared/domain/findings.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import type { RelatedResources } from "../../shared/domain/rules/related.js";
import { aDefinition, aGallery, aScaleSet, aVersion, NOW, policy, regions } from "../support/snapshotBuilders.js";

const RULES: FindingRuleId[] = [...RULE_IDS, "read-access"];

/** A tiny in-memory history of one run of a case study. */
function story() {
  let stored: Finding[] = [];
  return (subjects: Array<[Snapshot, RelatedResources]>, now = NOW): string[] => {
    const results = subjects.flatMap(([s, r]) => evaluateSubject(s, r, policy(), now));
    const transitions = computeTransitions(stored, { subjects: subjects.map(([s]) => s.id.key), rules: RULES, results, evaluatedAt: now.toISOString() });
    const next = new Map(stored.map((f) => [f.fingerprint, f]));
    for (const t of transitions) next.set(t.fingerprint, t.after);
    stored = [...next.values()];
    return transitions.filter((t) => t.alert).map((t) => `${t.kind} ${t.after.ruleId} ${t.after.severity}`);
  };
}

const none: RelatedResources = { definitions: [], versions: [] };

describe("case study 1: plant gateway", () => {
  it("no finding at primary + DR; three more regions → replication-breadth; removed → resolved", () => {
    const step = story();
    const definition = aDefinition({ name: "gateway-os" });
    const related = { ...none, definition };
    const at = (names: string[]) => aVersion({ definition: "gateway-os", targetRegions: regions(...names) });
    expect(step([[at(["West Europe", "North Europe"]), related]])).toEqual([]);
    expect(step([[at(["West Europe", "North Europe", "East US", "UK South", "Southeast Asia"]), related]])).toEqual(["opened replication-breadth high"]);
    expect(step([[at(["West Europe", "North Europe"]), related]])).toEqual(["resolved replication-breadth high"]);
  });
});

describe("case study 2: forensics lab", () => {
  it("approved, retiring, excluded, private → nothing; past end of life at the sweep → lifecycle; Community → critical", () => {
    const step = story();
    const definitions = ["triage-ws", "memory-lab", "disk-lab"].map((name) => aDefinition({ name }));
    const versions = definitions.map((d) => aVersion({ definition: d.id.image!, endOfLifeDate: d.id.image === "memory-lab" ? "2026-11-30T00:00:00Z" : "2027-06-30T00:00:00Z" }));
    const estate = (gallery = aGallery()): Array<[Snapshot, RelatedResources]> => [
      [gallery, { definitions, versions: [] }],
      ...versions.map((v, i): [Snapshot, RelatedResources] => [v, { ...none, definition: definitions[i]! }]),
    ];
    expect(step(estate())).toEqual([]);
    expect(step(estate(), new Date("2026-12-01T02:00:00Z"))).toEqual(["opened lifecycle high"]);
    expect(step(estate(aGallery({ sharing: { permissions: "Community", groups: [], community: { enabled: true, publicNames: ["forensics-1a2b"] } } })), new Date("2026-12-01T09:00:00Z"))).toEqual(["opened shared-outside critical"]);
  });
});

describe("case study 3: SaaS emergency image", () => {
  it("scale set follows the emergency definition → critical; excluded + moved → resolved; exception → excepted, then reopened at expiry", () => {
    const step = story();
    const emergency = aDefinition({ name: "emergency" });
    const generalized = aDefinition({ name: "web", osState: "Generalized" });
    const capture = aVersion({ definition: "emergency", excludeFromLatest: false });
    const scaleSet = (definition: string, tags: Record<string, string> = {}) => aScaleSet({ definition, capacity: 180, tags });

    expect(step([[capture, { ...none, definition: emergency }]])).toEqual(["opened selectable-as-latest medium"]);
    expect(step([[scaleSet("emergency"), { ...none, definition: emergency, versions: [capture] }]])).toEqual(["opened scale-set-use critical"]);
    const excluded = { ...capture, excludeFromLatest: true };
    expect(step([[excluded, { ...none, definition: emergency }]])).toEqual(["resolved selectable-as-latest medium"]);
    expect(step([[scaleSet("web"), { ...none, definition: generalized, versions: [] }]])).toEqual(["resolved scale-set-use critical"]);
    const approved = scaleSet("emergency", { "gallery-watch-exception": "reason=CAB-4711 emergency rollback;expires=2026-11-26" });
    expect(step([[approved, { ...none, definition: emergency, versions: [excluded] }]])).toEqual(["excepted scale-set-use critical"]);
    expect(step([[approved, { ...none, definition: emergency, versions: [excluded] }]], new Date("2026-11-26T23:00:00Z"))).toEqual([]);
    expect(step([[approved, { ...none, definition: emergency, versions: [excluded] }]], new Date("2026-11-27T00:00:00Z"))).toEqual(["reopened scale-set-use critical"]);
  });
});
