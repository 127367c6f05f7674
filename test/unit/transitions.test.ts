import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { evaluateSubject, violationsOf } from "../../shared/domain/evaluate.js";
import { parseExceptionTag } from "../../shared/domain/exceptions.js";
import { computeTransitions, fingerprintOf, resolveAllFor } from "../../shared/domain/transitions.js";
import type { Evaluation, Finding, FindingRuleId, FindingTransition } from "../../shared/domain/findings.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import type { RelatedResources } from "../../shared/domain/rules/related.js";
import { RULE_IDS } from "../../shared/domain/findings.js";
import { readAccessViolation } from "../../shared/domain/rules/readAccess.js";
import { aDefinition, aGallery, aScaleSet, aVersion, NOW, policy, regions, evaluation } from "../support/snapshotBuilders.js";

const none: RelatedResources = { definitions: [], versions: [] };
const RULES: FindingRuleId[] = [...RULE_IDS, "read-access"];


/** The stored findings after applying transitions. */
function apply(stored: Finding[], transitions: readonly FindingTransition[]): Finding[] {
  const byFingerprint = new Map(stored.map((f) => [f.fingerprint, f]));
  for (const t of transitions) byFingerprint.set(t.fingerprint, t.after);
  return [...byFingerprint.values()];
}

describe("exception tags", () => {
  const at = NOW;
  it.each([
    ["reason=CAB-1;expires=2026-12-31", "active"],
    ["Reason = CAB-1 ; EXPIRES = 2026-12-31", "active"],
    ["reason=CAB-1;expires=2026-11-24", "active"], // a date-only expiry holds through that day (UTC)
    ["reason=CAB-1;expires=2026-11-23", "expired"],
    ["reason=CAB-1;expires=2026-11-24T11:59:59Z", "expired"],
    ["reason=CAB-1;expires=2026-11-24T13:00:00+02:00", "expired"],
    ["expires=2026-12-31", "invalid"],
    ["reason=CAB-1", "invalid"],
    ["reason=CAB-1;expires=next week", "invalid"],
    ["reason=CAB-1;expires=2028-01-01", "invalid"],
  ])("%s → %s", (value, status) => {
    expect(parseExceptionTag("gallery-watch-exception", value, "lifecycle", at)?.status).toBe(status);
  });

  it("can be scoped to some rules", () => {
    expect(parseExceptionTag("t", "reason=x;expires=2026-12-31;rules=lifecycle", "lifecycle", at)?.status).toBe("active");
    expect(parseExceptionTag("t", "reason=x;expires=2026-12-31;rules=lifecycle", "scale-set-use", at)).toBeUndefined();
  });

  it("is read from the resource, case-insensitively, and for a version from its definition", () => {
    const wide = { targetRegions: regions("West Europe", "North Europe", "East US") };
    const onVersion = evaluateSubject(aVersion({ ...wide, tags: { owner: "o", approver: "a", "Gallery-Watch-Exception": "reason=DR test;expires=2026-12-01" } }), none, policy(), NOW);
    expect(onVersion.find((r) => r.violation?.ruleId === "replication-breadth")?.exception).toMatchObject({ status: "active", reason: "DR test" });
    const viaDefinition = evaluateSubject(aVersion(wide), { definition: aDefinition({ tags: { owner: "o", approver: "a", "gallery-watch-exception": "reason=CAB-7;expires=2026-12-01" } }), definitions: [], versions: [] }, policy(), NOW);
    expect(viaDefinition[0]?.exception).toMatchObject({ status: "active", reason: "CAB-7" });
  });
});

describe("finding transitions", () => {
  const wide = (n: number) => aVersion({ targetRegions: regions(...["West Europe", "North Europe", "East US", "UK South", "Japan East"].slice(0, n)) });

  it("opens, escalates on worse facts, records better-but-still-bad facts without an alert, resolves", () => {
    let stored: Finding[] = [];
    const step = (version: Snapshot) => {
      const t = computeTransitions(stored, evaluation([[version]]));
      stored = apply(stored, t);
      return t.map((x) => [x.kind, x.alert, x.after.revision]);
    };
    expect(step(wide(2))).toEqual([]);
    expect(step(wide(3))).toEqual([["opened", true, 1]]);
    expect(step(wide(3))).toEqual([]); // the same state again: nothing
    expect(step(wide(5))).toEqual([["escalated", true, 2]]);
    expect(step(wide(4))).toEqual([["changed", false, 3]]);
    expect(step(wide(2))).toEqual([["resolved", true, 4]]);
    expect(step(wide(3))).toEqual([["reopened", true, 5]]);
  });

  it("excepts while an exception is active and reopens once it has expired", () => {
    const excepted = aScaleSet({ tags: { "gallery-watch-exception": "reason=CAB-4711;expires=2026-11-30" } });
    const related: RelatedResources = { definition: aDefinition(), definitions: [], versions: [] };
    let stored: Finding[] = [];
    const step = (now: Date) => {
      const t = computeTransitions(stored, evaluation([[excepted, related]], now));
      stored = apply(stored, t);
      return t.map((x) => `${x.kind}:${x.after.status}`);
    };
    expect(step(NOW)).toEqual(["excepted:excepted"]);
    expect(step(new Date("2026-11-30T23:59:59Z"))).toEqual([]);
    expect(step(new Date("2026-12-01T00:00:00Z"))).toEqual(["reopened:open"]);
  });

  it("a malformed exception is not honoured and the finding says why", () => {
    const t = computeTransitions([], evaluation([[aScaleSet({ tags: { "gallery-watch-exception": "reason=trust me" } }), { definition: aDefinition(), definitions: [], versions: [] }]]));
    expect(t[0]?.after.status).toBe("open");
    expect(t[0]?.after.exception).toMatchObject({ status: "invalid", why: expect.stringContaining("no expires=") });
  });

  it("leaves findings of rules and resources outside the evaluation alone", () => {
    const opened = computeTransitions([], evaluation([[wide(3)]]));
    const stored = apply([], opened);
    const other: Evaluation = { subjects: [aGallery().id.key], rules: RULES, results: [], evaluatedAt: NOW.toISOString() };
    expect(computeTransitions(stored, other)).toEqual([]);
    const otherRules: Evaluation = { ...evaluation([[aVersion()]]), rules: ["lifecycle"] };
    expect(computeTransitions(stored, otherRules)).toEqual([]);
  });

  it("fingerprints are stable per rule and resource", () => {
    const key = wide(3).id.key;
    expect(fingerprintOf("replication-breadth", key)).toBe(fingerprintOf("replication-breadth", key));
    expect(fingerprintOf("replication-breadth", key)).not.toBe(fingerprintOf("lifecycle", key));
    expect(computeTransitions([], evaluation([[wide(3)]]))[0]?.fingerprint).toBe(fingerprintOf("replication-breadth", key));
  });

  it("resolves everything on a deleted resource", () => {
    const stored = apply([], computeTransitions([], evaluation([[aVersion({ excludeFromLatest: false, targetRegions: regions("West Europe", "North Europe", "East US") })]])));
    const t = resolveAllFor(stored, wide(3).id.key, "2026-11-25T00:00:00Z", "resource deleted");
    expect(t.map((x) => [x.kind, x.after.status, x.after.facts.resolution])).toEqual([
      ["resolved", "resolved", "resource deleted"],
      ["resolved", "resolved", "resource deleted"],
    ]);
  });
});

describe("resolved findings describe the state that resolved them", () => {
  const resolveBy = (from: Snapshot, to: Snapshot, ruleId: FindingRuleId, now = NOW) => {
    const stored = apply([], computeTransitions([], evaluation([[from]], now)));
    return computeTransitions(stored, evaluation([[to]], now)).find((t) => t.after.ruleId === ruleId);
  };
  it.each([
    ["selectable-as-latest", aVersion({ excludeFromLatest: false }), aVersion({ excludeFromLatest: true }), "is now excluded from latest: only a pinned version id deploys it (was selectable as latest in northeurope, westeurope)."],
    ["lifecycle", aVersion({ endOfLifeDate: undefined }), aVersion({ endOfLifeDate: "2027-01-31T00:00:00Z" }), "now has an end-of-life date, 2027-01-31 (it had none)."],
    ["governance-tags", aVersion({ tags: { owner: "o" } }), aVersion({ tags: { owner: "o", approver: "a" } }), "now has its owner and approver tags (approver was missing)."],
  ] as const)("%s", (ruleId, from, to, phrase) => {
    const t = resolveBy(from, to, ruleId);
    expect(t).toMatchObject({ kind: "resolved", alert: true, after: { status: "resolved" } });
    expect(t!.after.summary).toContain(phrase);
    expect(t!.after.summary).not.toBe(t!.before!.summary);
  });

  it("lifecycle past its date: resolved once no region holds the version any more", () => {
    const later = new Date("2027-02-01T00:00:00Z");
    const t = resolveBy(aVersion({ endOfLifeDate: "2027-01-31T00:00:00Z" }), aVersion({ endOfLifeDate: "2027-01-31T00:00:00Z", targetRegions: [] }), "lifecycle", later);
    expect(t!.after.summary).toContain("is past its end-of-life date 2027-01-31 and is no longer replicated to any region (it was past its end-of-life date 2027-01-31 and still replicated to 2 region(s): northeurope, westeurope).");
    expect(t!.after.facts.regions).toEqual([]);
  });

  it("read-access: says the resource can be read again", () => {
    const id = aVersion().id;
    const blind: Evaluation = { subjects: [id.key], rules: ["read-access"], results: [{ violation: readAccessViolation(id, "AuthorizationFailed") }], evaluatedAt: NOW.toISOString() };
    const stored = apply([], computeTransitions([], blind));
    const [t] = computeTransitions(stored, { ...evaluation([[aVersion()]]), rules: RULES });
    expect(t).toMatchObject({ kind: "resolved", after: { ruleId: "read-access" } });
    expect(t!.after.summary).toMatch(/^gallery-watch can read image version gal\/def\/1\.0\.0 again/);
  });
});

describe("properties", () => {
  const names = ["West Europe", "westeurope", "North Europe", "East US", "eastus", "UK South", "Japan East", "Brazil South"];
  type VersionShape = { regions: string[]; counts: Array<number | undefined>; replicaCount: number | undefined; excludeFromLatest: boolean; osState: "Specialized" | "Generalized" | "Unknown"; eol: number | undefined; owner: boolean };
  const arbVersion: fc.Arbitrary<VersionShape> = fc.record({
    regions: fc.uniqueArray(fc.constantFrom(...names), { maxLength: 6 }),
    counts: fc.array(fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }), { minLength: 6, maxLength: 6 }),
    replicaCount: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
    excludeFromLatest: fc.boolean(),
    osState: fc.constantFrom("Specialized" as const, "Generalized" as const, "Unknown" as const),
    eol: fc.option(fc.integer({ min: -400, max: 400 }), { nil: undefined }),
    owner: fc.boolean(),
  });
  const build = (r: VersionShape) =>
    aVersion({
      targetRegions: regions(...r.regions.map((n, i): [string, number] | string => (r.counts[i] ? [n, r.counts[i]!] : n))),
      ...(r.replicaCount ? { replicaCount: r.replicaCount } : {}),
      excludeFromLatest: r.excludeFromLatest,
      osState: r.osState,
      endOfLifeDate: r.eol === undefined ? undefined : new Date(NOW.getTime() + r.eol * 86_400_000).toISOString(),
      tags: r.owner ? { owner: "o", approver: "a" } : {},
    });

  it("evaluation is deterministic and independent of the order of target regions", () => {
    fc.assert(
      fc.property(arbVersion, (r) => {
        const version = build(r);
        const reversed = { ...version, targetRegions: [...version.targetRegions].reverse() };
        const a = evaluateSubject(version, none, policy(), NOW);
        expect(evaluateSubject(version, none, policy(), NOW)).toEqual(a);
        // Duplicate region entries keep their first count, so order only matters when names repeat.
        if (new Set(version.targetRegions.map((t) => t.region)).size === version.targetRegions.length) {
          const verdicts = (results: typeof a) => violationsOf(results).map((v) => [v.ruleId, v.facts, v.magnitude]);
          expect(verdicts(evaluateSubject(reversed, none, policy(), NOW))).toEqual(verdicts(a));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a scale set's verdict does not depend on the order of its definition's versions", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ minor: fc.integer({ min: 0, max: 20 }), excluded: fc.boolean() }), { maxLength: 8 }), (vs) => {
        const versions = vs.map((v, i) => aVersion({ version: `1.${v.minor}.${i}`, excludeFromLatest: v.excluded }));
        const related = (list: typeof versions): RelatedResources => ({ definition: aDefinition(), definitions: [], versions: list });
        expect(evaluateSubject(aScaleSet(), related([...versions].reverse()), policy(), NOW)).toEqual(evaluateSubject(aScaleSet(), related(versions), policy(), NOW));
      }),
      { numRuns: 200 },
    );
  });

  it("transitions are idempotent: applying them and evaluating the same state again yields none", () => {
    fc.assert(
      fc.property(fc.array(arbVersion, { minLength: 1, maxLength: 4 }), (rs) => {
        let stored: Finding[] = [];
        for (const r of rs) {
          const e = evaluation([[build(r)]]);
          stored = apply(stored, computeTransitions(stored, e));
          expect(computeTransitions(stored, e)).toEqual([]);
        }
      }),
      { numRuns: 200 },
    );
  });
});
