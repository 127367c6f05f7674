/**
 * One change to one resource is one card: pending alerts for the same resource from the same
 * change (same transition time and event id) are rendered together, most severe first, and
 * marked delivered — or retried — together. Runs deliverAlerts against an in-memory outbox.
 */
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { deliverAlerts } from "../../shared/app/deliverAlerts.js";
import { alertsMessage } from "../../shared/views/adaptiveCard.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { RULE_IDS, type FindingTransition } from "../../shared/domain/findings.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import { AlertDeliveryError, StorageError } from "../../shared/domain/errors.js";
import type { AlertOutbox, Attribution, FindingStore, OutboxAlert, TeamsNotifier } from "../../shared/app/ports.js";
import { aVersion, BASE, NOW, policy, regions } from "../support/snapshotBuilders.js";

function opened(subject: Snapshot, at = NOW): FindingTransition[] {
  return computeTransitions([], { subjects: [subject.id.key], rules: [...RULE_IDS], results: evaluateSubject(subject, { definitions: [], versions: [] }, policy(), at), evaluatedAt: at.toISOString() });
}

const attribution = (eventId: string): Attribution => ({ eventId, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: NOW.toISOString(), callerName: "Priya Patel" });

/** A version violating four rules at once: replication-breadth, selectable-as-latest, lifecycle, governance-tags. */
const everything = aVersion({ tags: {}, excludeFromLatest: false, endOfLifeDate: undefined, targetRegions: regions("West Europe", "North Europe", "East US") });
const other = { ...aVersion({ excludeFromLatest: false }), id: parseResourceId(`${BASE}/galleries/gal/images/def/versions/2.0.0`) };

function memoryOutbox(): AlertOutbox & { rows: Map<string, OutboxAlert & { leaseUntil?: string }> } {
  const rows = new Map<string, OutboxAlert & { leaseUntil?: string }>();
  const patch = (id: string, p: Partial<OutboxAlert>) => void rows.set(id, { ...rows.get(id)!, ...p });
  return {
    rows,
    async enqueue(items, now) {
      for (const i of items) if (!rows.has(i.alertId)) rows.set(i.alertId, { ...i, state: "pending", attempts: 0, nextAttemptAt: now, createdAt: now });
    },
    async release() {},
    async discard() {},
    async staged() {
      return [];
    },
    async claimDue(now, limit, leaseMs) {
      const due = [...rows.values()].filter((r) => (r.state === "pending" || (r.state === "owed" && r.owedReason === "refused")) && r.nextAttemptAt <= now && !(r.leaseUntil && r.leaseUntil > now)).slice(0, limit);
      for (const r of due) r.leaseUntil = new Date(Date.parse(now) + leaseMs).toISOString();
      return due.map(({ leaseUntil: _, ...r }) => r);
    },
    async markDelivered(id, at) {
      patch(id, { state: "delivered", deliveredAt: at });
      rows.get(id)!.leaseUntil = "";
    },
    async markRetry(id, nextAttemptAt, error) {
      patch(id, { attempts: rows.get(id)!.attempts + 1, nextAttemptAt, lastError: error });
      rows.get(id)!.leaseUntil = "";
    },
    async markOwed(id, owed) {
      patch(id, { state: "owed", owedReason: owed.reason, attempts: rows.get(id)!.attempts + 1, lastError: owed.error, ...(owed.nextAttemptAt ? { nextAttemptAt: owed.nextAttemptAt } : {}) });
      rows.get(id)!.leaseUntil = "";
    },
    async unclaim(ids) {
      for (const id of ids) rows.get(id)!.leaseUntil = "";
    },
    async resend(id, now) {
      const row = rows.get(id);
      if (row?.state !== "owed") return false;
      patch(id, { state: "pending", attempts: 0, nextAttemptAt: now, retrySince: now });
      return true;
    },
    async list() {
      return [...rows.values()];
    },
  };
}

const noFindings: FindingStore = { forResource: async () => [], apply: async () => {}, open: async () => [], asOf: async () => [], query: async () => ({ items: [] }) };

function recordingTeams(failures = 0): TeamsNotifier & { sent: Array<{ payload: unknown; alertId: string }> } {
  const sent: Array<{ payload: unknown; alertId: string }> = [];
  let failing = failures;
  return {
    sent,
    async send(payload, alertId) {
      if (failing-- > 0) throw new AlertDeliveryError(alertId, 503, "receiver asked to retry", 5_000);
      sent.push({ payload, alertId });
    },
  };
}

const headlines = (payload: unknown): string[] =>
  [...JSON.stringify(payload).matchAll(/"((?:Opened|Escalated|De-escalated|Excepted|Reopened|Resolved): [a-z-]+ \([a-z]+\))"/g)].map((m) => m[1]!);

describe("one change to one resource is one card", () => {
  it("renders every transition of the change in one card, most severe first, and marks them all delivered", async () => {
    const transitions = opened(everything);
    expect(transitions).toHaveLength(4);
    const outbox = memoryOutbox();
    const event = attribution("e-1");
    // Stored in rule order, not severity order: the card must sort them.
    await outbox.enqueue([...transitions].reverse().map((t) => ({ alertId: `${t.fingerprint}:1`, transition: t, attribution: event })), NOW.toISOString());
    await outbox.enqueue(opened(other).map((t) => ({ alertId: `${t.fingerprint}:1`, transition: t, attribution: event })), NOW.toISOString());
    const teams = recordingTeams();
    const figures = await deliverAlerts({ outbox, findings: noFindings, teams, clock: { now: () => NOW }, log: pino({ level: "silent" }) });

    expect(teams.sent).toHaveLength(2);
    const card = teams.sent.find((s) => JSON.stringify(s.payload).includes("gal/def/1.0.0"))!;
    expect(headlines(card.payload)).toEqual([
      "Opened: replication-breadth (high)",
      "Opened: selectable-as-latest (medium)", // equal severity: the rules' own order
      "Opened: lifecycle (medium)",
      "Opened: governance-tags (low)",
    ]);
    for (const t of transitions) expect(JSON.stringify(card.payload)).toContain(`alert ${t.fingerprint}:1`);
    expect(figures).toMatchObject({ delivered: 5, retried: 0, owed: 0 });
    expect([...outbox.rows.values()].every((r) => r.state === "delivered")).toBe(true);
  });

  it("keeps different changes apart: another event on the same resource is another card", async () => {
    const [a, b] = opened(everything);
    const outbox = memoryOutbox();
    await outbox.enqueue([{ alertId: "a:1", transition: a!, attribution: attribution("e-1") }], NOW.toISOString());
    await outbox.enqueue([{ alertId: "b:1", transition: b!, attribution: attribution("e-2") }], NOW.toISOString());
    const later = opened(everything, new Date(NOW.getTime() + 60_000));
    await outbox.enqueue([{ alertId: "c:1", transition: later[0]! }, { alertId: "d:1", transition: later[1]! }], NOW.toISOString()); // the sweep: no attribution, same time → one card
    const teams = recordingTeams();
    await deliverAlerts({ outbox, findings: noFindings, teams, clock: { now: () => new Date(NOW.getTime() + 120_000) }, log: pino({ level: "silent" }) });
    expect(teams.sent.map((s) => headlines(s.payload).length).sort()).toEqual([1, 1, 2]);
  });

  it("a refused card is retried as one: every alert of the group waits for the same next attempt and is sent once", async () => {
    const transitions = opened(everything);
    const outbox = memoryOutbox();
    await outbox.enqueue(transitions.map((t) => ({ alertId: `${t.fingerprint}:1`, transition: t, attribution: attribution("e-1") })), NOW.toISOString());
    const teams = recordingTeams(1);
    let now = NOW;
    const deps = { outbox, findings: noFindings, teams, clock: { now: () => now }, log: pino({ level: "silent" }) };
    expect(await deliverAlerts(deps)).toMatchObject({ delivered: 0, retried: 4 });
    const waits = new Set([...outbox.rows.values()].map((r) => r.nextAttemptAt));
    expect(waits.size).toBe(1);
    expect([...waits][0]! >= new Date(NOW.getTime() + 5_000).toISOString()).toBe(true); // Retry-After honoured
    now = new Date(NOW.getTime() + 3_600_000);
    expect(await deliverAlerts(deps)).toMatchObject({ delivered: 4, retried: 0 });
    expect(await deliverAlerts(deps)).toMatchObject({ delivered: 0, retried: 0 });
    expect(teams.sent).toHaveLength(1);
  });

  it("a group the webhook refuses (404) is owed as one and retried; past the retry window it stays owed for a person; an unanswered send is owed, never repeated", async () => {
    const transitions = opened(everything);
    const outbox = memoryOutbox();
    await outbox.enqueue(transitions.map((t) => ({ alertId: `${t.fingerprint}:1`, transition: t, attribution: attribution("e-1") })), NOW.toISOString());
    let now = new Date(NOW.getTime() + 1000);
    let answer: "404" | "timeout" | "ok" = "404";
    const sent: string[] = [];
    const teams: TeamsNotifier = {
      async send(_payload, alertId) {
        if (answer === "404") throw new AlertDeliveryError(alertId, 404, "receiver refused the message", undefined, { permanent: true });
        if (answer === "timeout") throw new AlertDeliveryError(alertId, undefined, "no answer within 120000 ms", undefined, { ambiguous: true });
        sent.push(alertId);
      },
    };
    const deps = { outbox, findings: noFindings, teams, clock: { now: () => now }, log: pino({ level: "silent" }) };
    expect(await deliverAlerts(deps)).toMatchObject({ delivered: 0, owed: 4, ambiguous: 0 });
    expect(new Set([...outbox.rows.values()].map((r) => `${r.state}/${r.owedReason}/${r.nextAttemptAt}`)).size).toBe(1);
    expect([...outbox.rows.values()][0]).toMatchObject({ state: "owed", owedReason: "refused" });
    now = new Date(NOW.getTime() + 25 * 3_600_000); // past the 24 h window
    expect(await deliverAlerts(deps)).toMatchObject({ owed: 4 });
    expect([...outbox.rows.values()].every((r) => r.owedReason === "expired")).toBe(true);
    expect(await deliverAlerts(deps)).toMatchObject({ delivered: 0, owed: 0 }); // waits for a person
    for (const id of outbox.rows.keys()) await outbox.resend(id, now.toISOString());
    answer = "timeout";
    expect(await deliverAlerts(deps)).toMatchObject({ owed: 4, ambiguous: 4 });
    answer = "ok";
    now = new Date(now.getTime() + 3_600_000);
    expect(await deliverAlerts(deps)).toMatchObject({ delivered: 0 }); // not repeated on its own
    expect(sent).toEqual([]);
  });

  it("the card of a group is a valid Workflows envelope with the first (most severe) alert id first", () => {
    const transitions = opened(everything);
    const message = alertsMessage(transitions.map((t) => ({ alertId: `${t.fingerprint}:1`, transition: t })));
    const first = /alert ([0-9a-f]+:\d+)/.exec(JSON.stringify(message))?.[1];
    expect(first).toBe(`${transitions.find((t) => t.after.ruleId === "replication-breadth")!.fingerprint}:1`);
  });
});

describe("exactly once through a storage stall", () => {
  it("a card whose 'delivered' mark fails while storage stalls is marked again, never sent again", async () => {
    const outbox = memoryOutbox();
    const [t] = opened(aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") }));
    await outbox.enqueue([{ alertId: `${t!.fingerprint}:1`, transition: t!, attribution: attribution("e-9") }], NOW.toISOString());
    const markDelivered = outbox.markDelivered.bind(outbox);
    let stalls = 3;
    outbox.markDelivered = async (id, at) => {
      if (stalls-- > 0) throw new StorageError("updateEntity", "gwAlerts", "no answer within 15000 ms");
      await markDelivered(id, at);
    };
    const teams = recordingTeams();

    const figures = await deliverAlerts({ outbox, findings: noFindings, teams, clock: { now: () => NOW }, log: pino({ level: "silent" }) }, { markBackoffMs: 1 });
    await deliverAlerts({ outbox, findings: noFindings, teams, clock: { now: () => new Date(NOW.getTime() + 600_000) }, log: pino({ level: "silent" }) }, { markBackoffMs: 1 });

    expect(teams.sent).toHaveLength(1);
    expect(figures.delivered).toBe(1);
    expect([...outbox.rows.values()].map((r) => r.state)).toEqual(["delivered"]);
  });
});
