import { describe, expect, it } from "vitest";
import { alertMessage, alertsMessage, digestMessage, escapeMarkdown, MAX_CARD_BYTES } from "../../shared/views/adaptiveCard.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { RULE_IDS, type Finding, type FindingTransition, type TransitionKind } from "../../shared/domain/findings.js";
import type { Attribution } from "../../shared/app/ports.js";
import { envelopeProblem } from "../../local/teamsInbox.js";
import { aVersion, NOW, policy, regions } from "../support/snapshotBuilders.js";
import { complaints } from "../support/adaptiveCards.js";


const attribution: Attribution = {
  eventId: "e-1",
  eventType: "Microsoft.Resources.ResourceWriteSuccess",
  eventTime: "2026-11-24T10:15:00.000Z",
  operationName: "Microsoft.Compute/galleries/images/versions/write",
  correlationId: "c0ffee00-0000-4000-8000-000000000002",
  callerName: "Priya Patel",
  callerUpn: "priya.patel@contoso.example",
  clientIp: "203.0.113.24",
};

const opened = computeTransitions([], {
  subjects: [aVersion().id.key],
  rules: [...RULE_IDS],
  results: evaluateSubject(aVersion({ excludeFromLatest: false, endOfLifeDate: undefined, tags: {}, targetRegions: regions("West Europe", "North Europe", "East US") }), { definitions: [], versions: [] }, policy(), NOW),
  evaluatedAt: NOW.toISOString(),
});

function asKind(t: FindingTransition, kind: TransitionKind): FindingTransition {
  return { ...t, kind, after: { ...t.after, status: kind === "resolved" ? "resolved" : kind === "excepted" ? "excepted" : "open" } };
}

describe("Teams card for a finding transition", () => {
  it("covers every rule the version violates", () => {
    expect(opened.map((t) => t.after.ruleId).sort()).toEqual(["governance-tags", "lifecycle", "replication-breadth", "selectable-as-latest"]);
  });

  it.each(opened.flatMap((t) => (["opened", "escalated", "excepted", "reopened", "resolved"] as const).map((kind) => [t.after.ruleId, kind, asKind(t, kind)] as const)))(
    "%s %s: a valid Adaptive Card 1.5 in a Workflows envelope, with only Action.OpenUrl",
    (_rule, kind, transition) => {
      const message = alertMessage({ alertId: `${transition.fingerprint}:1`, transition, attribution });
      expect(envelopeProblem(message)).toBeUndefined();
      const content = (message.attachments[0] as { content: Record<string, unknown> }).content;
      expect(content.version).toBe("1.5");
      expect(complaints(content)).toEqual([]);
      const text = JSON.stringify(content);
      expect(text).toContain(kind.charAt(0).toUpperCase() + kind.slice(1));
      expect(text).toContain("Priya Patel"); // who
      expect(text).toContain("gal/def/1.0.0"); // where
      expect(text).toContain("2026-11-24T10:15:00.000Z"); // when
      expect(text).toContain(transition.after.severity); // how bad
      if (kind !== "resolved") expect(text).toContain(transition.after.remediation.commands[0]!); // what to do
      expect((content.actions as Array<{ type: string }>).map((a) => a.type)).toEqual(["Action.OpenUrl"]);
    },
  );

  it("the validator is not vacuous", () => {
    expect(complaints({ type: "AdaptiveCard", version: "1.5", body: [{ type: "NoSuchElement" }] })).not.toEqual([]);
  });

  it("strips control characters and bidi overrides that claims carry: none reaches the card", () => {
    const hostile: Attribution = { ...attribution, callerName: "\u001b[2J\u001b[31mPriya\u0007 \u202Egnp.exe", callerUpn: "priya@contoso.example\u0000", clientIp: "203.0.113.24\u009b" };
    const text = JSON.stringify(alertMessage({ alertId: "a:1", transition: opened[0]!, attribution: hostile }));
    expect(text).not.toMatch(/\\u00[01][0-9a-f]|\\u007f|\\u00[89][0-9a-f]|[\u0080-\u009F\u202A-\u202E\u2066-\u2069]/i);
    expect(text).toContain("Priya gnp.exe");
    expect(text).toContain("priya@contoso.example");
  });

  it("says it came from the sweep when nobody is on record", () => {
    const text = JSON.stringify(alertMessage({ alertId: "a:1", transition: opened[0]! }));
    expect(text).toContain("Found by the nightly sweep");
  });

  it("stays under 25 KB for a version in 60 regions and a finding about 500 scale sets, summarising instead of truncating", () => {
    const sixty = Array.from({ length: 60 }, (_, i) => `region${i}`);
    const t = opened.find((x) => x.after.ruleId === "replication-breadth")!;
    const huge: Finding = { ...t.after, facts: { ...t.after.facts, regions: sixty, scaleSets: Array.from({ length: 500 }, (_, i) => `vmss-proxy-${i}`) } };
    const message = alertMessage({ alertId: "big:1", transition: { ...t, after: huge }, attribution });
    const bytes = Buffer.byteLength(JSON.stringify(message));
    expect(bytes).toBeLessThan(MAX_CARD_BYTES);
    expect(JSON.stringify(message)).toContain("and 488 more");
    expect(JSON.stringify(message)).toContain("and 48 more");
    expect(complaints((message.attachments[0] as { content: unknown }).content)).toEqual([]);
  });

  it("a de-escalation and a whole change's group are valid cards too; a group of six with 500-item facts stays under 25 KB", () => {
    const t = opened.find((x) => x.after.ruleId === "replication-breadth")!;
    const down: FindingTransition = { ...t, kind: "deescalated", before: { ...t.after, severity: "critical" }, after: { ...t.after, revision: 2 } };
    const single = alertMessage({ alertId: "d:2", transition: down, attribution });
    expect(envelopeProblem(single)).toBeUndefined();
    expect(complaints((single.attachments[0] as { content: unknown }).content)).toEqual([]);
    expect(JSON.stringify(single)).toContain("critical → high");

    const wide = (x: FindingTransition): FindingTransition => ({ ...x, after: { ...x.after, facts: { ...x.after.facts, scaleSets: Array.from({ length: 500 }, (_, i) => `vmss-proxy-${i}-${"x".repeat(200)}`) } } });
    const group = [...opened, ...opened.slice(0, 2)].map((x, i) => ({ alertId: `${i}${x.fingerprint.slice(1)}:1`, transition: wide(x), attribution }));
    const message = alertsMessage(group);
    expect(envelopeProblem(message)).toBeUndefined();
    expect(complaints((message.attachments[0] as { content: unknown }).content)).toEqual([]);
    expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThan(MAX_CARD_BYTES);
    for (const a of group) expect(JSON.stringify(message)).toContain(`alert ${a.alertId}`);
  });

  it.each([
    ["[click](https://evil)", String.raw`\[click\]\(https://evil\)`],
    ["![x](https://evil/p.png)", String.raw`\!\[x\]\(https://evil/p.png\)`],
    ["**bold** _it_ `code` # h > q | p <b> \\", String.raw`\*\*bold\*\* \_it\_ \`code\` \# h \> q \| p \<b\> \\`],
    ["- list item", String.raw`\- list item`],
    ["+ list item", String.raw`\+ list item`],
    ["1. numbered", String.raw`1\. numbered`],
    ["line\n- injected", "line - injected"],
    ["CAB-4711 emergency rollback", "CAB-4711 emergency rollback"],
    ["203.0.113.24", "203.0.113.24"],
  ])("escapes Markdown in %j", (raw, escaped) => {
    expect(escapeMarkdown(raw)).toBe(escaped);
  });

  it("renders the nightly digest as a valid card", () => {
    const message = digestMessage({ date: "2026-11-24", openByRule: { lifecycle: 2, "scale-set-use": 1 }, opened: [opened[0]!.after], resolved: [], sweep: { galleries: 3, versions: 12 } });
    expect(envelopeProblem(message)).toBeUndefined();
    expect(complaints((message.attachments[0] as { content: unknown }).content)).toEqual([]);
    expect(JSON.stringify(message)).toContain("3 open finding(s)");
  });
});
