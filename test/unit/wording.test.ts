/**
 * Cards, the digest, the evidence report and the CLI speak one language: every fact a rule
 * records has a label (no raw `resolvedVersion` or `maxRegions` in front of a person), and an
 * exception's expiry is worded one way everywhere.
 */
import { describe, expect, it } from "vitest";
import { alertMessage } from "../../shared/views/adaptiveCard.js";
import { digestCard, type DigestContent } from "../../shared/views/digestCard.js";
import type { Finding, FindingTransition, FactValue } from "../../shared/domain/findings.js";
import { RULES } from "../../shared/domain/rules/index.js";
import { readAccessViolation } from "../../shared/domain/rules/readAccess.js";
import type { RelatedResources } from "../../shared/domain/rules/related.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { expiryWording, FACT_LABELS, factLabel } from "../../shared/domain/wording.js";
import { renderEvidence } from "../../shared/views/report/renderEvidence.js";
import { findingColumns } from "../../cli/commands/findings.js";
import { findingView } from "../../shared/app/queries.js";
import { aDefinition, aFinding, aGallery, aScaleSet, aVersion, BASE, evaluation, NOW, policy, regions } from "../support/snapshotBuilders.js";

const specialized: RelatedResources = { definition: aDefinition(), definitions: [aDefinition()], versions: [] };
const latest = aVersion({ version: "2.0.0", excludeFromLatest: false });
const withLatest: RelatedResources = { definition: aDefinition(), definitions: [aDefinition()], versions: [latest] };

/** Subjects that walk every branch of every rule: violations and clean observations alike. */
const SUBJECTS: Array<[Snapshot, RelatedResources]> = [
  [aVersion(), specialized],
  [aVersion({ targetRegions: regions("West Europe", "North Europe", "East US", ["UK South", 3], "Japan East") }), specialized],
  [aVersion({ targetRegions: regions("West Europe", "North Europe"), excludeFromLatest: false, tags: {} }), specialized],
  [aVersion({ osState: "Generalized" }), { definitions: [], versions: [] }],
  [aVersion({ osState: "Unknown" as never, targetRegions: regions("West Europe", "North Europe", "East US") }), { definitions: [], versions: [] }],
  [aVersion({ endOfLifeDate: "2026-01-01T00:00:00Z" }), specialized],
  [aVersion({ endOfLifeDate: undefined }), specialized],
  [aVersion({ endOfLifeDate: "soon" }), specialized],
  [aDefinition(), specialized],
  [aDefinition({ tags: {} }), specialized],
  [aDefinition({ osState: "Generalized" }), specialized],
  [aGallery(), specialized],
  [aGallery({ sharing: { permissions: "Community", groups: [], community: { enabled: true, publicNames: ["gal-1a2b"] } } }), specialized],
  [aGallery({ sharing: { permissions: "Groups", groups: [{ type: "Subscriptions", ids: ["34a4ab42-0d72-47d9-bd1a-aed207386dac"] }] } }), specialized],
  [aScaleSet(), withLatest],
  [aScaleSet({ capacity: 0 }), specialized],
  [aScaleSet({ image: { outcome: "unresolvable", reason: "another tenant's image" } }), specialized],
  [aScaleSet({ imageReference: { kind: "other", description: "Canonical:ubuntu" }, image: { outcome: "notGalleryImage" } }), specialized],
  [aScaleSet({ image: { outcome: "resolved", definitionId: `${BASE}/galleries/gal/images/gen`, osState: "Generalized" } }), specialized],
];

function factKeysRulesProduce(): Set<string> {
  const keys = new Set<string>();
  const add = (facts: Readonly<Record<string, FactValue>> | undefined) => Object.keys(facts ?? {}).forEach((k) => keys.add(k));
  for (const [subject, related] of SUBJECTS) {
    for (const rule of RULES.filter((r) => r.appliesTo === subject.kind)) {
      add(rule.evaluate(subject, related, policy(), NOW)?.facts);
      add(rule.observe?.(subject, related, policy(), NOW)?.facts);
    }
  }
  add(readAccessViolation(aVersion().id, "AuthorizationFailed").facts);
  // A resolved finding adds `resolution` (transitions.ts).
  const before = computeTransitions([], evaluation([[aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") }), specialized]]));
  const after = computeTransitions(before.map((t) => t.after), evaluation([[aVersion(), specialized]]));
  for (const t of [...before, ...after]) add(t.after.facts);
  return keys;
}

describe("fact labels", () => {
  it("every fact key a rule produces has a label, declared once", () => {
    const keys = factKeysRulesProduce();
    // The walk above reaches the rules' facts (a guard against the walk itself going blind).
    for (const k of ["resolvedVersion", "maxRegions", "missingTags", "endOfLifeDate", "sharedWith", "selectableInRegions", "reason", "resolution"]) expect(keys).toContain(k);
    const unlabelled = [...keys].filter((k) => !(k in FACT_LABELS));
    expect(unlabelled).toEqual([]);
  });

  it("an alert card's How bad shows labels, never raw keys", () => {
    const [t] = computeTransitions([], evaluation([[aScaleSet(), withLatest]]));
    const card = JSON.stringify(alertMessage({ alertId: "a:1", transition: t! }));
    expect(card).toContain('"title":"Resolved version"');
    expect(card).not.toMatch(/"title":"(resolvedVersion|osState|orchestrationMode)"/);
    const [v] = computeTransitions([], evaluation([[aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") }), specialized]]));
    const versionCard = JSON.stringify(alertMessage({ alertId: "a:2", transition: v! }));
    expect(versionCard).toContain('"title":"Regions allowed"');
    expect(versionCard).not.toContain('"title":"maxRegions"');
    expect(versionCard).toContain('{"title":"Published","value":"2026-10-01"}');
  });

  it("a key no rule records any more still reads as words", () => {
    expect(factLabel("someOldKey")).toBe("Some old key");
  });
});

describe("one expiry wording", () => {
  const now = new Date("2026-12-07T09:30:00Z");
  it("counts calendar days to the last day a date-only exception holds (stored as the next midnight)", () => {
    expect(expiryWording("2027-02-01T00:00:00.000Z", now).text).toBe("expires 2027-01-31 (in 55 days)");
    expect(expiryWording("2026-12-08T00:00:00.000Z", now).text).toBe("expires 2026-12-07 (today)");
    expect(expiryWording("2026-12-09T00:00:00.000Z", now).text).toBe("expires 2026-12-08 (in 1 day)");
    expect(expiryWording("2026-12-01T00:00:00.000Z", now).text).toBe("expired 2026-11-30 (7 days ago)");
    expect(expiryWording("2026-12-07T14:00:00.000Z", now).text).toBe("expires 2026-12-07 14:00 UTC (today)");
    expect(expiryWording("2026-12-07T08:00:00.000Z", now).text).toBe("expired 2026-12-07 08:00 UTC (today)");
    expect(expiryWording("next week", now).text).toBe("expiry unreadable (next week)");
  });

  it("reads the same on the alert card, the digest card, the evidence report and the CLI", () => {
    const at = new Date("2026-11-24T12:00:00Z");
    const expires = "2026-12-01T00:00:00.000Z"; // tag expires=2026-11-30
    const wording = "expires 2026-11-30 (in 6 days)";
    const id = `${BASE}/galleries/gal/images/def/versions/1.0.0`;
    const finding: Finding = aFinding(id, { status: "excepted", exception: { status: "active", reason: "CAB-4711", expires, tag: "gallery-watch-exception" } });

    const transition: FindingTransition = { kind: "excepted", fingerprint: finding.fingerprint, at: at.toISOString(), after: finding, alert: true } as FindingTransition;
    expect(JSON.stringify(alertMessage({ alertId: "a:1", transition }))).toContain(wording);

    const digest: DigestContent = {
      digestId: "digest:2026-11-24",
      period: "2026-11-24",
      since: "2026-11-23T12:00:00.000Z",
      until: at.toISOString(),
      firstDigest: false,
      open: { total: 1, excepted: 1, byRule: {}, bySeverity: { critical: 0, high: 1, medium: 0, low: 0 } },
      opened: [],
      resolved: [],
      excepted: [],
      expiringExceptions: [{ finding, expires, reason: "CAB-4711", daysLeft: 6 }],
      sweepRuns: [],
    };
    expect(JSON.stringify(digestCard(digest))).toContain(wording);

    const html = renderEvidence({ generatedAt: at.toISOString(), since: "2026-11-01T00:00:00.000Z", subscriptions: [], findings: [finding], changes: [], sweepRuns: [] });
    expect(html).toContain(wording);

    const column = findingColumns(at).find((c) => c.header === "Exception")!;
    expect(column.value(findingView(finding))).toBe(`CAB-4711: ${wording}`);
  });
});
