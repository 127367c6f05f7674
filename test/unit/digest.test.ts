/** The daily digest: what it says, that it is sent once per UTC day, and that its card is valid. */
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { sendDigest, type DigestContent, type DigestDependencies } from "../../shared/app/digest.js";
import { digestCard, MAX_DIGEST_CARD_BYTES } from "../../shared/views/digestCard.js";
import type { Finding, FindingRuleId, Severity } from "../../shared/domain/findings.js";
import type { OutboxAlert, SweepRun } from "../../shared/app/ports.js";
import { envelopeProblem } from "../../local/teamsInbox.js";
import { FakeClock, InMemoryDigestLog, inMemoryFindings, inMemorySweepRuns, RecordingTeams } from "../support/inMemoryDigestPorts.js";
import { complaints } from "../support/adaptiveCards.js";
import { aFinding as aStoredFinding } from "../support/snapshotBuilders.js";


const SUB = "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f";
const PREVIOUS_UNTIL = "2026-11-23T07:00:00.000Z";
const NOW = "2026-11-24T07:00:00.000Z";

let n = 0;
function aFinding(overrides: Partial<Finding> & { name?: string } = {}): Finding {
  const { name = `v${++n}`, ...rest } = overrides;
  const ruleId: FindingRuleId = rest.ruleId ?? "replication-breadth";
  return aStoredFinding(`/subscriptions/${SUB}/resourceGroups/rg-plant/providers/Microsoft.Compute/galleries/plantGallery/images/gateway-os/versions/${name}`, {
    fingerprint: `${ruleId}:${name}`,
    summary: `Specialized version ${name} is replicated too widely`,
    remediation: { commands: ["az sig image-version update …"], portalUrl: "https://portal.azure.com/#resource", advice: "Remove regions." },
    firstSeenAt: "2026-11-01T00:00:00.000Z",
    updatedAt: "2026-11-01T00:00:00.000Z",
    ...rest,
  });
}

function aRun(overrides: Partial<SweepRun> = {}): SweepRun {
  return {
    runId: "run-1",
    subscriptionId: SUB,
    startedAt: "2026-11-24T02:00:00.000Z",
    finishedAt: "2026-11-24T02:03:00.000Z",
    status: "succeeded",
    seen: { galleries: 3, definitions: 7, versions: 21, scaleSets: 4, virtualMachines: 0 },
    armRequests: 40,
    snapshotsWritten: 2,
    transitions: { opened: 1 },
    reconciled: 0,
    failures: [],
    ...overrides,
  };
}

function deps(options: { findings?: Finding[]; runs?: SweepRun[]; now?: string; log?: InMemoryDigestLog; teams?: RecordingTeams } = {}) {
  const clock = new FakeClock(new Date(options.now ?? NOW));
  const digests = options.log ?? new InMemoryDigestLog();
  const teams = options.teams ?? new RecordingTeams();
  const findings = inMemoryFindings(options.findings ?? []);
  const value: DigestDependencies = { findings, findingActivity: findings, sweepRuns: inMemorySweepRuns(options.runs ?? []), digests, teams, clock, log: pino({ level: "silent" }) };
  return { deps: value, clock, digests, teams };
}

/** A log holding yesterday's digest, sent at PREVIOUS_UNTIL. */
function logWithYesterday(): InMemoryDigestLog {
  const log = new InMemoryDigestLog();
  log.rows.set("digest:2026-11-23", { digestId: "digest:2026-11-23", period: "2026-11-23", claimedAt: PREVIOUS_UNTIL, sentAt: PREVIOUS_UNTIL, until: PREVIOUS_UNTIL, claim: "old", version: 1 });
  return log;
}

const cardOf = (payload: unknown) => (payload as { attachments: Array<{ content: Record<string, unknown> }> }).attachments[0]!.content;

describe("digest content", () => {
  const findings = [
    aFinding({ name: "old-open", ruleId: "replication-breadth", severity: "high" }),
    aFinding({ name: "old-critical", ruleId: "scale-set-use", severity: "critical", status: "escalated", updatedAt: "2026-11-23T09:00:00.000Z", revision: 2 }),
    aFinding({ name: "new-open", ruleId: "lifecycle", severity: "medium", firstSeenAt: "2026-11-23T20:00:00.000Z", updatedAt: "2026-11-23T20:00:00.000Z" }),
    aFinding({ name: "resolved-today", ruleId: "governance-tags", severity: "low", status: "resolved", resolvedAt: "2026-11-24T01:00:00.000Z", updatedAt: "2026-11-24T01:00:00.000Z", revision: 2 }),
    aFinding({ name: "resolved-last-week", ruleId: "governance-tags", severity: "low", status: "resolved", resolvedAt: "2026-11-17T01:00:00.000Z", updatedAt: "2026-11-17T01:00:00.000Z", revision: 2 }),
    aFinding({
      name: "excepted-today",
      ruleId: "replication-breadth",
      severity: "high",
      status: "excepted",
      updatedAt: "2026-11-24T03:00:00.000Z",
      revision: 2,
      exception: { status: "active", reason: "migration of plant B", expires: "2026-11-30", tag: "gallery-watch-exception" },
    }),
    aFinding({
      name: "excepted-long-ago",
      ruleId: "shared-outside",
      severity: "high",
      status: "excepted",
      revision: 2,
      exception: { status: "active", reason: "partner tenant, contract 42", expires: "2027-06-30", tag: "gallery-watch-exception" },
    }),
    aFinding({
      name: "expiring-soon",
      ruleId: "lifecycle",
      severity: "medium",
      status: "excepted",
      revision: 2,
      exception: { status: "active", reason: "forensics hold", expires: "2026-12-08", tag: "gallery-watch-exception" },
    }),
  ];
  const runs = [
    aRun({ runId: "before", startedAt: "2026-11-23T02:00:00.000Z" }),
    aRun({ runId: "tonight", startedAt: "2026-11-24T02:00:00.000Z", status: "partial", failures: [{ resourceId: `/subscriptions/${SUB}/resourceGroups/rg-lab/providers/Microsoft.Compute/galleries/labGallery`, operation: "galleryImages.listByGallery", reason: "noAccess: AuthorizationFailed" }] }),
  ];

  it("counts open findings by rule and severity, and what opened, resolved and was excepted since the previous digest", async () => {
    const { deps: d } = deps({ findings, runs, log: logWithYesterday() });
    const outcome = await sendDigest(d);
    expect(outcome.status).toBe("sent");
    const content = (outcome as { content: DigestContent }).content;
    expect(content).toMatchObject({ digestId: "digest:2026-11-24", period: "2026-11-24", since: PREVIOUS_UNTIL, until: NOW, firstDigest: false });
    expect(content.open).toEqual({
      total: 6,
      excepted: 3,
      byRule: { "replication-breadth": 2, "scale-set-use": 1, lifecycle: 2, "shared-outside": 1 },
      bySeverity: { critical: 1, high: 3, medium: 2, low: 0 },
    });
    expect(content.opened.map((f) => f.fingerprint)).toEqual(["lifecycle:new-open"]);
    expect(content.resolved.map((f) => f.fingerprint)).toEqual(["governance-tags:resolved-today"]);
    expect(content.excepted.map((f) => f.fingerprint)).toEqual(["replication-breadth:excepted-today"]);
  });

  it("lists exceptions expiring within 14 days, soonest first, and the sweep runs since the previous digest", async () => {
    const { deps: d } = deps({ findings, runs, log: logWithYesterday() });
    const content = ((await sendDigest(d)) as { content: DigestContent }).content;
    expect(content.expiringExceptions.map((e) => [e.finding.fingerprint, e.expires, e.daysLeft])).toEqual([
      ["replication-breadth:excepted-today", "2026-11-30", 6],
      ["lifecycle:expiring-soon", "2026-12-08", 14],
    ]);
    expect(content.sweepRuns.map((r) => r.runId)).toEqual(["tonight"]);
  });

  it("puts it all on the card: figures, names, the expiring exception's reason and the sweep's failure", async () => {
    const { deps: d, teams } = deps({ findings, runs, log: logWithYesterday() });
    await sendDigest(d);
    expect(teams.sent).toHaveLength(1);
    expect(teams.sent[0]!.alertId).toBe("digest:2026-11-24");
    const text = JSON.stringify(cardOf(teams.sent[0]!.payload));
    expect(text).toContain("gallery-watch daily digest — 2026-11-24");
    expect(text).toContain("6 open finding(s) (3 excepted); 1 opened, 1 resolved and 1 excepted since the previous digest.");
    expect(text).toContain("plantGallery/gateway-os/new-open (rg-plant)");
    expect(text).toContain("forensics hold");
    expect(text).toContain("expires 2026-12-07 (in 13 days)"); // stored 2026-12-08T00:00Z: holds through 2026-12-07
    expect(text).toContain("Subscription 7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f: **partial**");
    expect(text).toContain("galleryImages.listByGallery on labGallery (rg-lab): noAccess: AuthorizationFailed");
  });

  it("covers the last 24 hours when no digest was ever sent", async () => {
    const { deps: d } = deps({ findings, runs });
    const content = ((await sendDigest(d)) as { content: DigestContent }).content;
    expect(content.firstDigest).toBe(true);
    expect(content.since).toBe("2026-11-23T07:00:00.000Z");
  });

  it("says plainly when no sweep ran", async () => {
    const { deps: d, teams } = deps({ findings: [], runs: [], log: logWithYesterday() });
    await sendDigest(d);
    expect(JSON.stringify(teams.sent[0]!.payload)).toContain("No sweep ran in this period.");
  });

  it("counts the alert cards Teams still owes, by reason, and says how to resend them", async () => {
    const { deps: d, teams } = deps({ findings: [], runs: [], log: logWithYesterday() });
    const owed = (alertId: string, state: "owed" | "failed", owedReason?: OutboxAlert["owedReason"], owedSince?: string) =>
      ({ alertId, state, ...(owedReason ? { owedReason } : {}), ...(owedSince ? { owedSince } : {}), createdAt: "2026-11-23T10:00:00.000Z" }) as unknown as OutboxAlert;
    const rows = [owed("a:1", "owed", "refused", "2026-11-23T11:00:00.000Z"), owed("b:1", "owed", "ambiguous", "2026-11-23T12:00:00.000Z"), owed("c:1", "failed")];
    const content = (await sendDigest({ ...d, owedAlerts: { list: async (o) => rows.filter((r) => r.state === o?.state) } })) as Extract<Awaited<ReturnType<typeof sendDigest>>, { status: "sent" }>;
    expect(content.content.owedAlerts).toEqual({ total: 3, refused: 1, ambiguous: 1, expired: 1, oldestSince: "2026-11-23T10:00:00.000Z" });
    const card = JSON.stringify(teams.sent[0]!.payload);
    expect(card).toContain("Alert cards still owed (3)");
    expect(card).toContain("1 ambiguous");
    expect(card).toContain("gallery-watch alerts resend");
  });
});

describe("digest delivery: once per UTC day", () => {
  it("a second run the same day sends nothing; the next day's digest starts where the first ended", async () => {
    const { deps: d, clock, teams } = deps({ log: logWithYesterday() });
    expect((await sendDigest(d)).status).toBe("sent");
    clock.advance(60 * 60_000);
    expect(await sendDigest(d)).toEqual({ status: "alreadySent", digestId: "digest:2026-11-24", sentAt: NOW });
    expect(teams.sent).toHaveLength(1);
    clock.set("2026-11-25T07:00:05.000Z");
    const next = await sendDigest(d);
    expect(next.status).toBe("sent");
    expect((next as { content: DigestContent }).content.since).toBe(NOW);
    expect(teams.sent.map((s) => s.alertId)).toEqual(["digest:2026-11-24", "digest:2026-11-25"]);
  });

  it("two instances racing send one card", async () => {
    const log = logWithYesterday();
    const teams = new RecordingTeams();
    const outcomes = await Promise.all([sendDigest(deps({ log, teams }).deps), sendDigest(deps({ log, teams }).deps)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(["inProgress", "sent"]);
    expect(teams.sent).toHaveLength(1);
  });

  it("a claim abandoned by a sender that died is retried after five minutes, not before", async () => {
    const log = logWithYesterday();
    log.abandon({ digestId: "digest:2026-11-24", period: "2026-11-24", claimedAt: NOW });
    const { deps: d, clock, teams } = deps({ log });
    clock.advance(4 * 60_000);
    expect((await sendDigest(d)).status).toBe("inProgress");
    expect(teams.sent).toHaveLength(0);
    clock.advance(2 * 60_000);
    expect((await sendDigest(d)).status).toBe("sent");
    expect(teams.sent).toHaveLength(1);
  });

  it("a refused send gives the claim back, so the next attempt sends at once", async () => {
    const { deps: d, teams } = deps({ log: logWithYesterday() });
    teams.failNext(1);
    await expect(sendDigest(d)).rejects.toThrow("429");
    expect((await sendDigest(d)).status).toBe("sent");
    expect(teams.sent).toHaveLength(1);
  });

  it("--force sends again the same day", async () => {
    const { deps: d, teams } = deps({ log: logWithYesterday() });
    await sendDigest(d);
    expect((await sendDigest(d, { force: true })).status).toBe("sent");
    expect(teams.sent).toHaveLength(2);
  });

  it("the period is the UTC day, whatever the local time zone", async () => {
    const { deps: d, teams } = deps({ now: "2026-11-24T23:59:59.999Z", log: logWithYesterday() });
    await sendDigest(d);
    expect(teams.sent[0]!.alertId).toBe("digest:2026-11-24");
  });
});

describe("digest card", () => {
  const content = (overrides: Partial<DigestContent> = {}): DigestContent => ({
    digestId: "digest:2026-11-24",
    period: "2026-11-24",
    since: PREVIOUS_UNTIL,
    until: NOW,
    firstDigest: false,
    open: { total: 0, excepted: 0, byRule: {}, bySeverity: { critical: 0, high: 0, medium: 0, low: 0 } },
    opened: [],
    resolved: [],
    excepted: [],
    expiringExceptions: [],
    sweepRuns: [],
    ...overrides,
  });

  it.each([
    ["an empty day", content()],
    [
      "a busy day",
      content({
        open: { total: 4, excepted: 1, byRule: { lifecycle: 3, "read-access": 1 }, bySeverity: { critical: 1, high: 1, medium: 1, low: 1 } },
        opened: (["critical", "high", "medium", "low"] as Severity[]).map((severity) => aFinding({ severity })),
        resolved: [aFinding({ status: "resolved" })],
        excepted: [aFinding({ status: "excepted" })],
        expiringExceptions: [{ finding: aFinding(), expires: "2026-11-25", reason: "r", daysLeft: 1 }],
        sweepRuns: [aRun(), aRun({ status: "running", finishedAt: undefined }), aRun({ status: "failed", failures: [{ resourceId: `/subscriptions/${SUB}`, operation: "galleries.list", reason: "failed: 500" }] })],
      }),
    ],
  ])("%s: a valid Adaptive Card 1.5 in a Workflows envelope", (_name, c) => {
    const message = digestCard(c);
    expect(envelopeProblem(message)).toBeUndefined();
    const card = cardOf(message);
    expect(card.version).toBe("1.5");
    expect(complaints(card)).toEqual([]);
  });

  it("stays under 25 KB for 2,000 findings in each list and 50 runs with 1,000 failures each, saying how many it left out", () => {
    const many = Array.from({ length: 2000 }, (_, i) => aFinding({ name: `version-${i}-${"x".repeat(80)}`, summary: "s".repeat(400) }));
    const runs = Array.from({ length: 50 }, (_, i) =>
      aRun({ runId: `r${i}`, status: "partial", failures: Array.from({ length: 1000 }, (_, j) => ({ resourceId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g${j}`, operation: "galleryImages.listByGallery", reason: "t".repeat(500) })) }),
    );
    const message = digestCard(
      content({
        opened: many,
        resolved: many,
        excepted: many,
        expiringExceptions: many.map((finding) => ({ finding, expires: "2026-11-30", reason: "r".repeat(500), daysLeft: 6 })),
        sweepRuns: runs,
      }),
    );
    const text = JSON.stringify(message);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_DIGEST_CARD_BYTES);
    expect(text).toContain("Opened (2000)");
    expect(text).toContain("more opened");
    expect(text).toContain("Sweep runs (50)");
    expect(complaints(cardOf(message))).toEqual([]);
  });
});
