/**
 * The audit evidence page (shared/views/report): every section is there with what an auditor looks
 * for, stored text stays text, the chart has one point per day with the right counts, and the
 * page asks the browser for nothing.
 */
import { describe, expect, it } from "vitest";
import type { Finding, FindingRuleId, Severity } from "../../shared/domain/findings.js";
import type { ChangeRecord, SweepRun, Trigger } from "../../shared/app/ports.js";
import { activeExceptions, isAuditableChange, openFindingsPerDay, type EvidenceData } from "../../shared/views/report/evidence.js";
import { evidenceCounts, renderEvidence, SECTION_IDS } from "../../shared/views/report/renderEvidence.js";
import { parseSince } from "../../cli/commands/report.js";
import { changesSince } from "../../shared/app/evidence.js";

const SUB = "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f";
const GENERATED_AT = "2026-11-24T10:00:00.000Z";
const SINCE = "2026-11-17T10:00:00.000Z"; // 7 days back: the 17th to the 24th is 8 UTC days
const rg = (group: string) => `/subscriptions/${SUB}/resourceGroups/${group}/providers/Microsoft.Compute`;
const XSS = "<script>alert(1)</script>";

function aFinding(o: { name: string; ruleId?: FindingRuleId; severity?: Severity; status?: Finding["status"]; firstSeenAt?: string; resolvedAt?: string; summary?: string; portalUrl?: string; exception?: Finding["exception"] }): Finding {
  const resourceId = `${rg("rg-plant")}/galleries/plantGallery/images/${o.name}/versions/1.0.0`;
  return {
    fingerprint: `fp-${o.name}`,
    ruleId: o.ruleId ?? "replication-breadth",
    resourceKey: resourceId.toLowerCase(),
    resourceId,
    resourceKind: "imageVersion",
    status: o.status ?? "open",
    severity: o.severity ?? "high",
    summary: o.summary ?? `${o.name} is replicated to 5 regions`,
    facts: {},
    magnitude: 5,
    remediation: {
      commands: [`az sig image-version update --resource-group rg-plant --gallery-name plantGallery --gallery-image-definition ${o.name} --gallery-image-version 1.0.0 --target-regions westeurope=1`],
      portalUrl: o.portalUrl ?? `https://portal.azure.com/#@/resource${resourceId}`,
      advice: "Remove the extra regions.",
    },
    ...(o.exception ? { exception: o.exception } : {}),
    firstSeenAt: o.firstSeenAt ?? "2026-11-10T08:00:00.000Z",
    updatedAt: o.resolvedAt ?? o.firstSeenAt ?? "2026-11-10T08:00:00.000Z",
    ...(o.resolvedAt ? { resolvedAt: o.resolvedAt } : {}),
    revision: 1,
  };
}

const eventTrigger = (time: string, who: Partial<Record<"callerName" | "callerUpn" | "callerAppId" | "clientIp" | "correlationId", string>>): Trigger => ({
  source: "event",
  attribution: { eventId: `ev-${time}`, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: time, operationName: "Microsoft.Compute/galleries/images/versions/write", ...who },
});
const change = (time: string, trigger: Trigger, action = "written"): ChangeRecord => ({
  resourceKey: `${rg("rg-plant")}/galleries/plantGallery/images/gateway-os/versions/1.0.0`.toLowerCase(),
  resourceId: `${rg("rg-plant")}/galleries/plantGallery/images/gateway-os/versions/1.0.0`,
  action,
  observedAt: time,
  trigger,
});

const run: SweepRun = {
  runId: "nightly-2026-11-24",
  subscriptionId: SUB,
  startedAt: "2026-11-24T02:00:00.000Z",
  finishedAt: "2026-11-24T02:01:10.000Z",
  status: "partial",
  seen: { galleries: 3, definitions: 6, versions: 8, scaleSets: 2, virtualMachines: 0 },
  armRequests: 41,
  snapshotsWritten: 4,
  transitions: { opened: 1, resolved: 2 },
  reconciled: 1,
  failures: [{ resourceId: `${rg("rg-secret")}/galleries/hidden`, operation: "galleryImages.listByGallery", reason: "noAccess: <b>AuthorizationFailed</b>" }],
};

const data: EvidenceData = {
  generatedAt: GENERATED_AT,
  since: SINCE,
  subscriptions: [SUB],
  findings: [
    aFinding({ name: "gateway-os", severity: "high", firstSeenAt: "2026-11-10T08:00:00.000Z" }),
    aFinding({ name: "memory-lab", ruleId: "lifecycle", severity: "critical", status: "escalated", firstSeenAt: "2026-11-20T12:00:00.000Z", summary: `retired ${XSS}` }),
    aFinding({ name: "disk-lab", ruleId: "lifecycle", severity: "medium", status: "resolved", firstSeenAt: "2026-11-18T01:00:00.000Z", resolvedAt: "2026-11-22T05:00:00.000Z" }),
    aFinding({ name: "evil", portalUrl: "javascript:alert(2)" }),
    aFinding({
      name: "emergency",
      ruleId: "scale-set-use",
      severity: "critical",
      status: "excepted",
      firstSeenAt: "2026-11-23T09:00:00.000Z",
      exception: { status: "active", reason: `CAB-4711 ${XSS}`, expires: "2026-11-25", tag: "gallery-watch-exception" },
    }),
    aFinding({
      name: "partner",
      ruleId: "shared-outside",
      status: "excepted",
      firstSeenAt: "2026-11-01T09:00:00.000Z",
      exception: { status: "active", reason: "partner tenant, contract 42", expires: "2027-06-30", tag: "gallery-watch-exception", setBy: { name: "Sam Okafor", upn: "sam.okafor@contoso.example" } },
    }),
    aFinding({ name: "lapsed", status: "open", exception: { status: "expired", reason: "old", expires: "2026-11-01", tag: "gallery-watch-exception" } }),
  ],
  changes: [
    change("2026-11-23T09:00:00.000Z", eventTrigger("2026-11-23T09:00:00.000Z", { callerName: XSS, callerUpn: "mallory@contoso.example", clientIp: "203.0.113.66", correlationId: "corr-mallory" })),
    change("2026-11-21T10:00:00.000Z", eventTrigger("2026-11-21T10:00:00.000Z", { callerAppId: "11111111-2222-3333-4444-555555555555", correlationId: "corr-app" })),
    change("2026-11-24T02:00:30.000Z", { source: "sweep", runId: run.runId }, "deleted"),
  ],
  sweepRuns: [run],
  lineage: [
    {
      versionId: `${rg("rg-plant")}/galleries/plantGallery/images/gateway-os/versions/1.0.0`,
      machines: [
        { machineId: `${rg("rg-plant")}/virtualMachines/drill-vm`, kind: "virtualMachine", firstSeen: "2026-11-20T08:00:00.000Z", lastSeen: "2026-11-21T08:00:00.000Z" },
        { machineId: `${rg("rg-plant")}/virtualMachineScaleSets/gateways`, kind: "scaleSet", firstSeen: "2026-11-19T08:00:00.000Z" },
      ],
    },
  ],
};

const html = renderEvidence(data);
const section = (id: string) => {
  const match = new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(html);
  if (!match) throw new Error(`no section ${id}`);
  return match[1]!;
};

describe("the evidence page", () => {
  it("has a title, the generation time and the scope (subscriptions, period)", () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<title>gallery-watch audit evidence · 2026-11-24</title>");
    expect(html).toContain(`<dd id="generated-at"><time datetime="${GENERATED_AT}">2026-11-24 10:00 UTC</time></dd>`);
    expect(html).toMatch(new RegExp(`<dd id="period"><time datetime="${SINCE}">2026-11-17 10:00 UTC</time> to <time datetime="${GENERATED_AT}">`));
    expect(html).toContain(`<dd id="subscriptions"><span class="id">${SUB}</span></dd>`);
  });

  it("has every section, in order", () => {
    const positions = SECTION_IDS.map((id) => html.indexOf(`<section id="${id}">`));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it("lists open and escalated findings worst first with rule, resource, since, summary and the remediation command; not the resolved or excepted ones", () => {
    const open = section("open-findings");
    const rows = [...open.matchAll(/<tr data-fingerprint="([^"]+)"/g)].map((m) => m[1]);
    // Critical first; then by first seen, then by resource.
    expect(rows).toEqual(["fp-memory-lab", "fp-evil", "fp-gateway-os", "fp-lapsed"]);
    expect(open).toContain("lifecycle");
    expect(open).toContain("plantGallery/gateway-os/1.0.0");
    expect(open).toContain('<time datetime="2026-11-10T08:00:00.000Z">2026-11-10 08:00 UTC</time>');
    expect(open).toContain("<code>az sig image-version update --resource-group rg-plant --gallery-name plantGallery --gallery-image-definition gateway-os");
    expect(open).toContain(`<a href="https://portal.azure.com/#@/resource${rg("rg-plant")}/galleries/plantGallery/images/gateway-os/versions/1.0.0" rel="noopener noreferrer">`);
  });

  it("lists active exceptions with reason and expiry, flagging those within 14 days", () => {
    const exceptions = section("exceptions");
    const rows = exceptions.split("<tr").slice(2); // header row, then one per exception
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain("CAB-4711");
    expect(rows[0]).toContain('<time datetime="2026-11-25T00:00:00.000Z">expires 2026-11-24 (today)</time>'); // holds through 2026-11-24, 14 hours after the page's generation
    expect(rows[0]).toContain("expiring soon");
    expect(rows[1]).toContain("partner tenant, contract 42");
    expect(rows[1]).toContain("2027-06-30");
    expect(rows[1]).toMatch(/expires 2027-06-(29|30) \(in \d+ days\)/);
    expect(rows[1]).not.toContain("expiring soon");
    // Who set each exception (separation of duties), or that it could not be established.
    expect(rows[1]).toContain("tag gallery-watch-exception, set by Sam Okafor (sam.okafor@contoso.example)");
    expect(rows[0]).toContain("set by someone gallery-watch could not establish");
    expect(exceptions).not.toContain("lapsed");
    expect(activeExceptions(data).map((e) => [e.finding.fingerprint, e.expiringSoon])).toEqual([
      ["fp-emergency", true],
      ["fp-partner", false],
    ]);
  });

  it("lists changes newest first with who (name, UPN, app id, IP), action, resource and correlation id", () => {
    const changes = section("changes");
    const rows = changes.split("<tr").slice(2);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain("gallery-watch sweep");
    expect(rows[0]).toContain("deleted");
    expect(rows[1]).toContain("mallory@contoso.example");
    expect(rows[1]).toContain("IP 203.0.113.66");
    expect(rows[1]).toContain("corr-mallory");
    expect(rows[1]).toContain("Microsoft.Compute/galleries/images/versions/write");
    expect(rows[2]).toContain("app 11111111-2222-3333-4444-555555555555");
    expect(rows[2]).toContain("corr-app");
  });

  it("shows the lineage: each machine that ran a version, first seen, and last seen or that it runs it now", () => {
    const rows = section("lineage").split("<tr>").slice(2);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain("drill-vm");
    expect(rows[0]).toContain('<time datetime="2026-11-20T08:00:00.000Z">');
    expect(rows[0]).toContain('<time datetime="2026-11-21T08:00:00.000Z">');
    expect(rows[1]).toContain("gateways");
    expect(rows[1]).toContain("scale set");
    expect(rows[1]).toContain("runs it now");
  });

  it("lists sweep runs with start, end, status, figures and failures", () => {
    const runs = section("sweep-runs");
    expect(runs).toContain('<time datetime="2026-11-24T02:00:00.000Z">');
    expect(runs).toContain('<time datetime="2026-11-24T02:01:10.000Z">');
    expect(runs).toContain("partial");
    expect(runs).toContain("3 galleries, 6 definitions, 8 versions, 2 scale sets, 0 VMs; 41 ARM requests, 4 snapshots written, 1 found missing; transitions: opened 1, resolved 2");
    expect(runs).toContain("galleryImages.listByGallery");
    expect(runs).toContain("noAccess: &lt;b&gt;AuthorizationFailed&lt;/b&gt;");
  });

  it("keeps stored text as text: a caller named <script>alert(1)</script> is shown, never run", () => {
    expect(html).toContain("<div>&lt;script&gt;alert(1)&lt;/script&gt;</div>");
    expect(html).toContain("CAB-4711 &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("retired &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain("<b>AuthorizationFailed");
  });

  it("strips control characters from stored text: ESC sequences and bidi overrides in claims never reach the page", () => {
    const claims = { callerName: "\u001b[31mEve\u001b[0m \u202Eexe.txt\u0007", callerUpn: "eve@contoso.example\u0000", correlationId: "corr-\u009bevil" };
    const page = renderEvidence({ ...data, changes: [change("2026-11-23T10:00:00.000Z", eventTrigger("2026-11-23T10:00:00.000Z", claims))] });
    expect(page).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/);
    expect(page).toContain("[31mEve[0m exe.txt");
    expect(page).toContain("eve@contoso.example");
    expect(page).toContain("corr-evil");
  });

  it("links only https portal URLs: a javascript: URL in a stored finding is text", () => {
    expect(html).not.toMatch(/href="javascript:/i);
    expect(section("open-findings")).toContain("Open in the Azure portal");
    expect(html.match(/<a href="https:/g)).toHaveLength(3); // gateway-os, memory-lab, lapsed; not evil
  });

  it("refers to nothing outside itself: no script, stylesheet, image, font or frame, and a CSP that forbids them", () => {
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'`);
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/\bsrc=/i);
    expect(html).not.toMatch(/url\(/i);
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
    expect(hrefs.filter((h) => !h.startsWith("#") && !h.startsWith("https://portal.azure.com/"))).toEqual([]);
  });

  it("charts open findings with one point per day of the period and labelled axes", () => {
    const chart = section("chart");
    expect(chart).toContain('<svg id="findings-chart"');
    expect(chart).toContain(">Open findings</text>");
    expect(chart).toContain(">Day (UTC, month-day)</text>");
    const points = [...chart.matchAll(/<circle class="point" data-day="([^"]+)" data-open="(\d+)"/g)].map((m) => [m[1], Number(m[2])]);
    // Open at each day's end: gateway-os, partner, evil, lapsed (before the period) = 4; disk-lab from the 18th to the
    // 22nd (resolved 05:00 on the 22nd); memory-lab from the 20th; emergency from the 23rd.
    expect(points).toEqual([
      ["2026-11-17", 4],
      ["2026-11-18", 5],
      ["2026-11-19", 5],
      ["2026-11-20", 6],
      ["2026-11-21", 6],
      ["2026-11-22", 5],
      ["2026-11-23", 6],
      ["2026-11-24", 6],
    ]);
  });

  it("has one chart point per day for a 30-day period, and a single point when the period is today", () => {
    const thirty = openFindingsPerDay({ findings: [], since: "2026-10-25T10:00:00.000Z", generatedAt: GENERATED_AT });
    expect(thirty).toHaveLength(31);
    expect(new Set(thirty.map((p) => p.day)).size).toBe(31);
    const html30 = renderEvidence({ ...data, since: "2026-10-25T10:00:00.000Z" });
    expect(html30.match(/<circle class="point"/g)).toHaveLength(31);
    expect(openFindingsPerDay({ findings: [], since: "2026-11-24T09:00:00.000Z", generatedAt: GENERATED_AT })).toEqual([{ day: "2026-11-24", open: 0 }]);
  });

  it("says so when a section is empty", () => {
    const empty = renderEvidence({ generatedAt: GENERATED_AT, since: SINCE, subscriptions: [], findings: [], changes: [], sweepRuns: [] });
    expect(empty).toContain("No open findings.");
    expect(empty).toContain("No active exceptions.");
    expect(empty).toContain("No changes recorded in the period.");
    expect(empty).toContain("No sweep ran in the period.");
    expect(empty.match(/<circle class="point"/g)).toHaveLength(8);
  });

  it("counts what it shows", () => {
    expect(evidenceCounts(data)).toEqual({ openFindings: 4, exceptions: 2, expiringExceptions: 1, changes: 3, sweepRuns: 1, days: 8 });
  });
});

describe("what the report command gathers", () => {
  const now = new Date(GENERATED_AT);

  it("reads --since as a duration back from now or an ISO date or time (UTC when no offset)", () => {
    expect(parseSince("30d", now)).toBe("2026-10-25T10:00:00.000Z");
    expect(parseSince("12h", now)).toBe("2026-11-23T22:00:00.000Z");
    expect(parseSince("2w", now)).toBe("2026-11-10T10:00:00.000Z");
    expect(parseSince("2026-11-01", now)).toBe("2026-11-01T00:00:00.000Z");
    expect(parseSince("2026-11-01T08:30", now)).toBe("2026-11-01T08:30:00.000Z");
    expect(parseSince("2026-11-01T08:30+01:00", now)).toBe("2026-11-01T07:30:00.000Z");
    for (const bad of ["yesterday", "30", "-3d", "2026-13-45", "2027-01-01"]) expect(() => parseSince(bad, now), bad).toThrow();
  });

  it("keeps events and what a sweep found different; leaves out sweep re-reads that found nothing new", () => {
    expect(isAuditableChange(change(GENERATED_AT, eventTrigger(GENERATED_AT, {}), "unchanged"))).toBe(true);
    expect(isAuditableChange(change(GENERATED_AT, { source: "sweep", runId: "r" }, "written"))).toBe(true);
    expect(isAuditableChange(change(GENERATED_AT, { source: "sweep", runId: "r" }, "unchanged"))).toBe(false);
  });

  it("does not count the pipeline's own rows (provisioning, coalesced) as changes, even when an event caused them", () => {
    expect(isAuditableChange(change(GENERATED_AT, eventTrigger(GENERATED_AT, {}), "provisioning"))).toBe(false);
    expect(isAuditableChange(change(GENERATED_AT, eventTrigger(GENERATED_AT, {}), "coalesced"))).toBe(false);
    expect(isAuditableChange(change(GENERATED_AT, eventTrigger(GENERATED_AT, {}), "written"))).toBe(true);
  });

  it("separates the section links visibly (each on its own line, a separator between them)", () => {
    const nav = /<nav aria-label="Sections">([\s\S]*?)<\/nav>/.exec(html)![1]!;
    // As text (a text browser, a screen reader's run-through, copy and paste) no two link names touch.
    const asText = nav.replace(/<[^>]+>/g, "");
    expect(asText).not.toMatch(/Summary\S*Findings over time|\)(Exceptions|Changes|Sweep)/);
    expect(nav.match(/<li>/g)).toHaveLength(SECTION_IDS.length);
    // On screen: no list numbers crowding the links; a separator between each pair.
    expect(html).toMatch(/nav li:not\(:last-child\)::after \{ content: "·"/);
  });

  it("reads every change since the start of the period, asking for more rows until it reaches it (no page-size cap)", async () => {
    // 1000 changes, one an hour back from now, served newest first with a limit as the table store does.
    const all = Array.from({ length: 1000 }, (_, i) => change(new Date(now.getTime() - i * 3_600_000).toISOString(), { source: "sweep", runId: `r${i}` }));
    const limits: number[] = [];
    const store = { changes: async (_key: string, options?: { limit?: number }) => (limits.push(options?.limit ?? 50), all.slice(0, options?.limit ?? 50)) };
    const since = new Date(now.getTime() - 900 * 3_600_000).toISOString();
    const got = await changesSince(store, "k", since);
    expect(got).toHaveLength(901);
    expect(limits.length).toBeGreaterThan(1);
    expect((await changesSince(store, "k", "2000-01-01T00:00:00.000Z")).length).toBe(1000);
  });
});
