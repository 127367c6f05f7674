/**
 * Cards that tell the truth: a resolved card says what is true now (and what was before), a
 * severity drop is its own transition, autoscaling does not page anyone, an excepted finding
 * does not look like an open critical, text from claims and tags cannot inject Markdown, and
 * portal links follow GW_PORTAL_URL.
 */
import { describe, expect, it } from "vitest";
import { alertMessage } from "../../shared/views/adaptiveCard.js";
import { loadConfig } from "../../shared/wiring/config.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { type Finding, type FindingTransition } from "../../shared/domain/findings.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import { readAccessViolation } from "../../shared/domain/rules/readAccess.js";
import type { RelatedResources } from "../../shared/domain/rules/related.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import { computeTransitions, resolveAllFor } from "../../shared/domain/transitions.js";
import type { Attribution } from "../../shared/app/ports.js";
import { aDefinition, aGallery, aScaleSet, aVersion, BASE, NOW, policy, regions, evaluation } from "../support/snapshotBuilders.js";

const none: RelatedResources = { definitions: [], versions: [] };


/** Feeds states one after the other through computeTransitions, keeping the stored findings. */
function history() {
  let stored: Finding[] = [];
  return (subject: Snapshot, related?: RelatedResources, now = NOW): FindingTransition[] => {
    const t = computeTransitions(stored, evaluation([[subject, related]], now));
    const byFingerprint = new Map(stored.map((f) => [f.fingerprint, f]));
    for (const x of t) byFingerprint.set(x.fingerprint, x.after);
    stored = [...byFingerprint.values()];
    return t;
  };
}

const cardText = (t: FindingTransition, attribution?: Attribution) => JSON.stringify(alertMessage({ alertId: `${t.fingerprint}:${t.after.revision}`, transition: t, ...(attribution ? { attribution } : {}) }));
const content = (t: FindingTransition) => (alertMessage({ alertId: "a:1", transition: t }).attachments[0] as { content: { body: Array<Record<string, any>> } }).content;

const specialized: RelatedResources = { definitions: [aDefinition()], versions: [] };
const community = aGallery({ sharing: { permissions: "Community", groups: [], community: { enabled: true, publicNames: ["gal-1a2b"] } } });
const groups = aGallery({ sharing: { permissions: "Groups", groups: [{ type: "Subscriptions", ids: ["34a4ab42-0d72-47d9-bd1a-aed207386dac"] }] } });
const generalizedId = parseResourceId(`${BASE}/galleries/gal/images/web-generalized`);

describe("a resolved finding says what changed, not the old violation", () => {
  it("replication-breadth: now replicated to the remaining regions, with the count before", () => {
    const step = history();
    step(aVersion({ targetRegions: regions("West Europe", "North Europe", "East US", "UK South", "Japan East") }));
    const [resolved] = step(aVersion({ targetRegions: regions("West Europe", "North Europe") }));
    expect(resolved).toMatchObject({ kind: "resolved", alert: true });
    expect(resolved!.after.summary).toContain("now replicated to westeurope, northeurope (2 regions, was 5: eastus, japaneast, northeurope, uksouth, westeurope)");
    expect(resolved!.after.facts).toMatchObject({ regions: ["northeurope", "westeurope"], regionCount: 2, resolution: "no longer violates" });
    const text = cardText(resolved!);
    expect(text).toContain("now replicated to westeurope, northeurope");
    expect(text).not.toContain("is replicated to 5 regions (limit 2)"); // the old violation is not the headline
    expect(text).toMatch(/Regions in use[^}]*5 → 2/); // before → after, fact by fact
  });

  it("shared-outside: the gallery is Private now (was Community)", () => {
    const step = history();
    step(community, specialized);
    const [resolved] = step(aGallery(), specialized);
    expect(resolved?.kind).toBe("resolved");
    expect(resolved!.after.summary).toContain("Gallery gal is Private now (was Community)");
    expect(resolved!.after.facts.permissions).toBe("Private");
  });

  it("scale-set-use: now uses the generalized image", () => {
    const step = history();
    step(aScaleSet({ capacity: 180 }), { definition: aDefinition(), definitions: [], versions: [] });
    const moved = aScaleSet({ capacity: 180, imageReference: { kind: "definition", definitionId: generalizedId }, image: { outcome: "resolved", definitionId: generalizedId.display, osState: "Generalized" } });
    const [resolved] = step(moved, { definition: aDefinition({ name: "web-generalized", osState: "Generalized" }), definitions: [], versions: [] });
    expect(resolved?.kind).toBe("resolved");
    expect(resolved!.after.summary).toContain("now uses gal/web-generalized (Generalized)");
    expect(resolved!.after.facts).toMatchObject({ osState: "Generalized", image: generalizedId.display });
  });

  it("a resolution because the resource was deleted says so", () => {
    const step = history();
    const opened = step(aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") }));
    const [gone] = resolveAllFor(opened.map((t) => t.after), opened[0]!.after.resourceKey, "2026-11-25T00:00:00Z", "resource deleted");
    expect(gone!.after.summary).toMatch(/deleted/);
    expect(gone!.after.facts.resolution).toBe("resource deleted");
    const header = content(gone!).body[0]!;
    expect(header.items.map((i: { text?: string }) => i.text)).toEqual(["Resolved: replication-breadth (high)", expect.stringMatching(/^Image version gal\/def\/1\.0\.0 was deleted, so this finding is closed/)]);
  });

  it("a clean subject without a stored finding transitions nothing, and observations are not violations", () => {
    const results = evaluateSubject(aVersion(), none, policy(), NOW);
    expect(results.filter((r) => r.violation)).toEqual([]);
    expect(computeTransitions([], evaluation([[aVersion()]]))).toEqual([]);
  });
});

describe("a severity drop is its own transition", () => {
  it("shared-outside Community → Groups is de-escalated (critical → high) with its own card", () => {
    const step = history();
    step(community, specialized);
    const [t] = step(groups, specialized);
    expect(t).toMatchObject({ kind: "deescalated", alert: true });
    expect([t!.before?.severity, t!.after.severity]).toEqual(["critical", "high"]);
    const text = cardText(t!);
    expect(text).toContain("De-escalated: shared-outside (high)");
    expect(text).toContain("critical → high");
  });
});

describe("Community sharing is judged as Azure reports it", () => {
  const prepared = aGallery({ sharing: { permissions: "Community", groups: [], community: { enabled: false, publicNames: ["gal-1a2b"] } } });

  it("created prepared (communityGalleryEnabled false): a medium card that says it is not public; enabling escalates to critical with its own card saying what changed", () => {
    const step = history();
    const [opened] = step(prepared, specialized);
    expect(opened).toMatchObject({ kind: "opened", alert: true });
    expect(opened!.after.severity).toBe("medium");
    expect(cardText(opened!)).not.toContain("anyone in Azure can use it");

    const [published] = step(community, specialized);
    expect(published).toMatchObject({ kind: "escalated", alert: true });
    expect([published!.before?.severity, published!.after.severity]).toEqual(["medium", "critical"]);
    const text = cardText(published!);
    expect(text).toContain("Escalated: shared-outside (critical)");
    expect(text).toContain("anyone in Azure can use it");
    expect(text).toContain("medium → critical");
    expect(text).toContain("Community prepared, not public yet → public: anyone in Azure");
  });

  it("a Groups gallery raises nothing until a subscription is added, then opens high", () => {
    const step = history();
    expect(step(aGallery({ sharing: { permissions: "Groups", groups: [] } }), specialized)).toEqual([]);
    const [opened] = step(groups, specialized);
    expect(opened).toMatchObject({ kind: "opened" });
    expect(opened!.after.severity).toBe("high");
    expect(opened!.after.summary).toContain("shared with 1 other subscription(s)/tenant(s)");
  });

  it("removing the last subscription resolves, saying who it was shared with", () => {
    const step = history();
    step(groups, specialized);
    const [resolved] = step(aGallery({ sharing: { permissions: "Groups", groups: [] } }), specialized);
    expect(resolved?.kind).toBe("resolved");
    expect(resolved!.after.summary).toContain("shared with no subscription or tenant now (was shared with Subscriptions:34a4ab42-0d72-47d9-bd1a-aed207386dac)");
  });
});

describe("autoscaling is not an escalation", () => {
  const related: RelatedResources = { definition: aDefinition(), definitions: [], versions: [] };
  it("a flagged scale set going 10 → 12 → 9 instances raises no card", () => {
    const step = history();
    expect(step(aScaleSet({ capacity: 10 }), related).map((t) => t.kind)).toEqual(["opened"]);
    for (const capacity of [12, 9]) {
      const t = step(aScaleSet({ capacity }), related);
      expect(t.map((x) => [x.kind, x.alert])).toEqual([["changed", false]]);
      expect(t[0]!.after.facts.capacity).toBe(capacity); // recorded, just not alerted
    }
  });

  it("0 → 5 instances still escalates (high → critical), and more regions still escalate replication-breadth", () => {
    const step = history();
    step(aScaleSet({ capacity: 0 }), related);
    expect(step(aScaleSet({ capacity: 5 }), related).map((t) => [t.kind, t.after.severity])).toEqual([["escalated", "critical"]]);
    const versions = history();
    versions(aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") }));
    expect(versions(aVersion({ targetRegions: regions("West Europe", "North Europe", "East US", "UK South") })).map((t) => t.kind)).toEqual(["escalated"]);
  });
});

describe("an excepted card does not look like an open critical", () => {
  const related: RelatedResources = { definition: aDefinition(), definitions: [], versions: [] };
  it("is styled good/accent with 'Exception: <reason>; expires <date> (in <n> days)'; the open critical stays attention", () => {
    const [open] = history()(aScaleSet({ capacity: 180 }), related);
    const [excepted] = history()(aScaleSet({ capacity: 180, tags: { "gallery-watch-exception": "reason=CAB-4711 emergency rollback;expires=2026-11-30" } }), related);
    expect(excepted?.kind).toBe("excepted");
    const header = content(excepted!).body[0]!;
    expect(["good", "accent"]).toContain(header.style);
    expect(["Good", "Accent"]).toContain(header.items[0].color);
    expect(header.items[0].text).toBe("Excepted: scale-set-use (critical)");
    expect(JSON.stringify(header)).toContain("Exception: CAB-4711 emergency rollback; expires 2026-11-30 (in 6 days)");
    expect(content(open!).body[0]!.style).toBe("attention");
  });
});

describe("text from claims and tags cannot inject Markdown", () => {
  it("escapes caller name, UPN and an exception reason taken from a tag", () => {
    const related: RelatedResources = { definition: aDefinition(), definitions: [], versions: [] };
    const [excepted] = history()(aScaleSet({ tags: { "gallery-watch-exception": "reason=see [click](https://evil) *now*;expires=2026-11-30" } }), related);
    const attribution: Attribution = {
      eventId: "e-1",
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      eventTime: "2026-11-24T10:15:00.000Z",
      callerName: "[click](https://evil)",
      callerUpn: "![x](https://evil/p.png)",
      operationName: "# heading > quote | pipe",
    };
    const text = cardText(excepted!, attribution);
    expect(text).not.toContain("[click](https://evil)");
    expect(text).not.toContain("![x](https://evil/p.png)");
    expect(text).not.toContain("*now*");
    // JSON doubles the backslash: \[ in the card is \\[ in its JSON text.
    expect(text).toContain(String.raw`\\[click\\]\\(https://evil\\)`);
    expect(text).toContain(String.raw`\\!\\[x\\]\\(https://evil/p.png\\)`);
    expect(text).toContain(String.raw`\\# heading \\> quote \\| pipe`);
    expect(text).toContain(String.raw`\\*now\\*`);
  });
});

describe("GW_PORTAL_URL reaches every portal link", () => {
  const env = {
    AzureWebJobsStorage: "UseDevelopmentStorage=true",
    GW_WATCHED_SUBSCRIPTIONS: "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f",
    GW_TEAMS_WEBHOOK_URL: "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=FAKE-SIG-0002",
    GW_PORTAL_URL: "https://portal.azure.us/",
  };

  it("is part of the policy built from settings and used by all six rules and read-access", () => {
    const p = loadConfig(env).policy;
    expect(p.portalUrl).toBe("https://portal.azure.us/");
    const subjects: Array<[Snapshot, RelatedResources]> = [
      [aVersion({ tags: {}, excludeFromLatest: false, endOfLifeDate: undefined, targetRegions: regions("West Europe", "North Europe", "East US") }), none],
      [aScaleSet(), { definition: aDefinition(), definitions: [], versions: [] }],
      [community, specialized],
    ];
    const violations = subjects.flatMap(([s, r]) => evaluateSubject(s, r, p, NOW)).flatMap((r) => (r.violation ? [r.violation] : []));
    expect(new Set(violations.map((v) => v.ruleId))).toEqual(new Set(["replication-breadth", "selectable-as-latest", "lifecycle", "governance-tags", "scale-set-use", "shared-outside"]));
    for (const v of violations) expect(v.remediation.portalUrl).toMatch(/^https:\/\/portal\.azure\.us\/#@\/resource\/subscriptions\//);
    const id = aVersion().id;
    expect(readAccessViolation(id, "403", p).remediation.portalUrl).toMatch(/^https:\/\/portal\.azure\.us\/#@\//);
    expect(readAccessViolation(id, "403", "https://portal.azure.cn").remediation.portalUrl).toMatch(/^https:\/\/portal\.azure\.cn\/#@\//);
    expect(readAccessViolation(id, "403").remediation.portalUrl).toMatch(/^https:\/\/portal\.azure\.com\/#@\//);
  });

  it("defaults to the public portal", () => {
    const { GW_PORTAL_URL: _, ...rest } = env;
    const [v] = evaluateSubject(aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") }), none, loadConfig(rest).policy, NOW).flatMap((r) => (r.violation ? [r.violation] : []));
    expect(v?.remediation.portalUrl).toMatch(/^https:\/\/portal\.azure\.com\/#@\//);
  });
});
