/** Delivery to a real HTTP receiver (the local Teams inbox) from the real Azurite outbox. */
import { randomUUID } from "node:crypto";
import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pino } from "pino";
import { startTeamsInbox, type TeamsInbox } from "../../local/teamsInbox.js";
import { createRequestPacer, createWorkflowsTeamsNotifier } from "../../shared/adapters/teams/workflowsTeamsNotifier.js";
import { retryAfterMs } from "../../shared/platform/retryAfter.js";
import { createTableAlertOutbox } from "../../shared/adapters/tables/tableAlertOutbox.js";
import { createTableFindingStore } from "../../shared/adapters/tables/tableFindingStore.js";
import { deliverAlerts, nextAttemptDelayMs } from "../../shared/app/deliverAlerts.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { RULE_IDS } from "../../shared/domain/findings.js";
import { AlertDeliveryError } from "../../shared/domain/errors.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import { aVersion, BASE, NOW, policy, regions } from "../support/snapshotBuilders.js";

let inbox: TeamsInbox;
beforeAll(async () => {
  inbox = await startTeamsInbox();
});
afterAll(async () => inbox?.close());

function transitions(count: number) {
  return Array.from({ length: count }, (_, i) => {
    const v = { ...aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") }), id: parseResourceId(`${BASE}/galleries/gal/images/def/versions/1.0.${i}`) };
    return computeTransitions([], { subjects: [v.id.key], rules: [...RULE_IDS], results: evaluateSubject(v, { definitions: [], versions: [] }, policy(), NOW), evaluatedAt: NOW.toISOString() })[0]!;
  });
}

/**
 * Virtual time for the pacer: `sleep` only registers a timer; `run` lets every pending promise
 * and I/O settle, then jumps to the earliest timer, until the work is done. No real waiting, and
 * a departure is recorded at the virtual instant it happened.
 */
function fakeScheduler() {
  let now = 0;
  const timers: Array<{ at: number; fire: () => void }> = [];
  return {
    now: () => now,
    clock: { now: () => now, sleep: (ms: number) => new Promise<void>((fire) => void timers.push({ at: now + ms, fire })) },
    async run<T>(work: Promise<T>): Promise<T> {
      let done = false;
      void work.finally(() => (done = true)).catch(() => undefined);
      const deadline = Date.now() + 20_000;
      while (!done && Date.now() < deadline) {
        await new Promise((resolve) => setImmediate(resolve));
        timers.sort((x, y) => x.at - y.at);
        const next = timers.shift();
        if (next) {
          now = Math.max(now, next.at);
          next.fire();
        }
      }
      return work;
    },
  };
}

/** A minimal valid card carrying its alert id the way real cards do, so the inbox can tell them apart. */
function cardFor(alertId: string) {
  return { type: "message", attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: `alert ${alertId}` }] } }] };
}

describe("Workflows webhook delivery", () => {
  it("paces departures so no one-second window holds more than 4, also for concurrent callers (fake scheduler)", async () => {
    const time = fakeScheduler();
    const departures: number[] = [];
    const pace = createRequestPacer(4, time.clock);
    const record = () => pace().then(() => void departures.push(time.now()));
    await time.run((async () => {
      for (let i = 0; i < 6; i++) await record();
      await Promise.all(Array.from({ length: 6 }, record));
    })());
    expect(departures).toHaveLength(12);
    for (let i = 4; i < departures.length; i++) expect(departures[i]! - departures[i - 4]!).toBeGreaterThan(1000);
    expect(departures[1]! - departures[0]!).toBeLessThan(300); // paced, not serialised a second apart
  });

  it("the notifier waits for its pacer before every request (fake scheduler, real HTTP): all cards arrive, none twice", async () => {
    const time = fakeScheduler();
    const departures: number[] = [];
    const pacer = createRequestPacer(4, time.clock);
    const before = inbox.cards().length;
    const notifier = createWorkflowsTeamsNotifier({ webhookUrl: inbox.webhookUrl, maxRequestsPerSecond: 4, pace: () => pacer().then(() => void departures.push(time.now())) });
    await time.run(Promise.all(Array.from({ length: 10 }, (_, i) => notifier.send(cardFor(`feed${i}:1`), `feed${i}:1`))));
    expect(departures).toHaveLength(10);
    for (let i = 4; i < departures.length; i++) expect(departures[i]! - departures[i - 4]!).toBeGreaterThan(1000);
    const ids = inbox.cards().slice(before).map((c) => c.alertId).sort();
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => `feed${i}:1`).sort());
  });

  it("sends a burst of 10 cards with the real pacer: every card arrives exactly once (spacing is the benchmark's business)", async () => {
    const before = inbox.cards().length;
    const notifier = createWorkflowsTeamsNotifier({ webhookUrl: inbox.webhookUrl, maxRequestsPerSecond: 4 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => notifier.send(cardFor(`abc${i}:1`), `abc${i}:1`)));
    const ids = inbox.cards().slice(before).map((c) => c.alertId);
    expect(ids).toHaveLength(10);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `abc${i}:1`)));
  });

  it("classifies receiver answers: 429 with Retry-After is retryable with the wait, 400 is permanent", async () => {
    const notifier = createWorkflowsTeamsNotifier({ webhookUrl: inbox.webhookUrl });
    inbox.faults.failNext(1, 429, 7);
    const throttled = await notifier.send({ type: "message", attachments: [] }, "a").catch((e: unknown) => e);
    expect(throttled).toMatchObject({ status: 429, retryAfterMs: 7000, permanent: false });
    const refused = await notifier.send({ type: "nonsense" }, "b").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AlertDeliveryError);
    expect(refused).toMatchObject({ status: 400, permanent: true });
    expect(String((refused as Error).message)).not.toContain("local-inbox-secret");
    expect(retryAfterMs("Wed, 25 Nov 2026 00:00:10 GMT", Date.parse("2026-11-25T00:00:00Z"))).toBe(10_000);
    expect(nextAttemptDelayMs(1, 30_000, () => 0.5)).toBe(30_000);
    // Retry-After: 3600 is honoured up to the 5-minute cap, then the next attempt probes.
    expect(nextAttemptDelayMs(1, 3_600_000, () => 0.5)).toBe(300_000);
    expect(nextAttemptDelayMs(30, undefined, () => 0.5)).toBe(15 * 60_000);
  });

  it("a send without an answer is ambiguous (the card may be posted); a connection that never opened is not", async () => {
    const slow = createWorkflowsTeamsNotifier({ webhookUrl: inbox.webhookUrl, timeoutMs: 300 });
    inbox.faults.slowNext(1, 1000);
    const timedOut = await slow.send(cardFor("a1b:1"), "a1b:1").catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ ambiguous: true, permanent: false });
    expect(inbox.cards().some((c) => c.alertId === "a1b:1")).toBe(true);
    const server = http.createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve)); // nothing listens there now: connection refused
    const closed = createWorkflowsTeamsNotifier({ webhookUrl: `http://127.0.0.1:${port}/webhook?sig=x`, timeoutMs: 2000 });
    expect(await closed.send(cardFor("d0:1"), "d0:1").catch((e: unknown) => e)).toMatchObject({ ambiguous: false, permanent: false });
    // The default timeout waits as long as a Workflows request trigger may take to answer (120 s).
    expect(createWorkflowsTeamsNotifier({ webhookUrl: inbox.webhookUrl }).timeoutMs).toBe(120_000);
  });

  it("the outbox keeps owed alerts: a refusal stays claimable at its next attempt, an ambiguous send waits for a resend, nothing is lost", async () => {
    const prefix = `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const outbox = createTableAlertOutbox({ connectionString: inject("azuriteConnectionString") }, prefix);
    const [refused, ambiguous] = transitions(2).map((t) => ({ alertId: `${t.fingerprint}:1`, transition: t }));
    await outbox.enqueue([refused!, ambiguous!], NOW.toISOString());
    await outbox.release([refused!, ambiguous!], NOW.toISOString());
    const at = (s: number) => new Date(NOW.getTime() + s * 1000).toISOString();
    expect((await outbox.claimDue(at(1), 10, 60_000)).map((a) => a.alertId).sort()).toEqual([refused!.alertId, ambiguous!.alertId].sort());
    await outbox.markOwed(refused!.alertId, { at: at(2), reason: "refused", error: "HTTP 404", nextAttemptAt: at(10) });
    await outbox.markOwed(ambiguous!.alertId, { at: at(2), reason: "ambiguous", error: "no answer" });
    expect(await outbox.claimDue(at(5), 10, 60_000)).toEqual([]);
    const later = await outbox.claimDue(at(11), 10, 60_000);
    expect(later.map((a) => [a.alertId, a.state, a.owedReason])).toEqual([[refused!.alertId, "owed", "refused"]]);
    expect((await outbox.list({ state: "owed" })).map((a) => a.alertId).sort()).toEqual([refused!.alertId, ambiguous!.alertId].sort());
    // A person resends the ambiguous one: claimable at once, still saying when the unanswered send was.
    expect(await outbox.resend(ambiguous!.alertId, at(20))).toBe(true);
    const resent = await outbox.claimDue(at(20), 10, 60_000);
    expect(resent.map((a) => [a.alertId, a.state, a.ambiguousAt, a.retrySince])).toEqual([[ambiguous!.alertId, "pending", at(2), at(20)]]);
    await outbox.markDelivered(ambiguous!.alertId, at(21));
    expect(await outbox.resend(ambiguous!.alertId, at(22))).toBe(false); // delivered: nothing to resend
  });

  it("a claim hands back what it cannot send before its lease ends: no send outlives the lease (another sender could post it)", async () => {
    const prefix = `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const conn = { connectionString: inject("azuriteConnectionString") };
    const outbox = createTableAlertOutbox(conn, prefix);
    const findings = createTableFindingStore(conn, prefix);
    const alerts = transitions(3).map((t) => ({ alertId: `${t.fingerprint}:1`, transition: t }));
    await outbox.enqueue(alerts, NOW.toISOString());
    await outbox.release(alerts, NOW.toISOString());
    // Each send takes 100 s of the clock; the notifier may take up to 120 s; the lease is 300 s.
    let now = NOW.getTime() + 1000;
    const sent: string[] = [];
    const teams = { timeoutMs: 120_000, send: async (_p: unknown, id: string) => void (sent.push(id), (now += 100_000)) };
    const figures = await deliverAlerts({ outbox, findings, teams, clock: { now: () => new Date(now) }, log: pino({ level: "silent" }) }, { leaseMs: 300_000 });
    // 2 sends fit under one lease (1 s + 100 + 100 + 120 > 300 stops the third), the third is re-claimed under a new lease.
    expect(figures).toMatchObject({ delivered: 3, cards: 3 });
    expect(new Set(sent).size).toBe(3);
    expect((await outbox.list()).map((a) => a.state)).toEqual(["delivered", "delivered", "delivered"]);
  });

  it("an outbox alert refused twice with 503, then accepted, reaches the channel exactly once", async () => {
    const prefix = `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const conn = { connectionString: inject("azuriteConnectionString") };
    const outbox = createTableAlertOutbox(conn, prefix);
    const findings = createTableFindingStore(conn, prefix);
    const [t] = transitions(1);
    const alert = { alertId: `${t!.fingerprint}:1`, transition: t! };
    await outbox.enqueue([alert], NOW.toISOString());
    await outbox.release([alert], NOW.toISOString());
    let now = new Date(NOW.getTime() + 1000);
    const clock = { now: () => now };
    const deps = { outbox, findings, teams: createWorkflowsTeamsNotifier({ webhookUrl: inbox.webhookUrl }), clock, log: pino({ level: "silent" }) };
    const before = inbox.cards().length;
    inbox.faults.failNext(2, 503);
    const runs = [];
    for (let i = 0; i < 4; i++) {
      runs.push(await deliverAlerts(deps));
      now = new Date(now.getTime() + 3_600_000); // past any backoff
    }
    expect(runs.map((r) => [r.delivered, r.retried])).toEqual([[0, 1], [0, 1], [1, 0], [0, 0]]);
    expect(inbox.cards().slice(before).map((c) => c.alertId)).toEqual([alert.alertId]);
    expect((await outbox.list())[0]).toMatchObject({ state: "delivered" });
  });
  it("one change to one resource with several transitions arrives as one card; every alert of it is delivered once", async () => {
    const prefix = `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const conn = { connectionString: inject("azuriteConnectionString") };
    const outbox = createTableAlertOutbox(conn, prefix);
    const findings = createTableFindingStore(conn, prefix);
    const v = aVersion({ tags: {}, excludeFromLatest: false, endOfLifeDate: undefined, targetRegions: regions("West Europe", "North Europe", "East US") });
    const all = computeTransitions([], { subjects: [v.id.key], rules: [...RULE_IDS], results: evaluateSubject(v, { definitions: [], versions: [] }, policy(), NOW), evaluatedAt: NOW.toISOString() });
    expect(all).toHaveLength(4);
    const attribution = { eventId: "e-group", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: NOW.toISOString(), callerName: "Priya Patel" };
    const alerts = all.map((t) => ({ alertId: `${t.fingerprint}:1`, transition: t, attribution }));
    await outbox.enqueue(alerts, NOW.toISOString());
    await outbox.release(alerts, NOW.toISOString());
    const clock = { now: () => new Date(NOW.getTime() + 1000) };
    const deps = { outbox, findings, teams: createWorkflowsTeamsNotifier({ webhookUrl: inbox.webhookUrl }), clock, log: pino({ level: "silent" }) };
    const before = inbox.cards().length;
    // A batch smaller than the group: the outbox still hands over the whole change at once.
    expect(await deliverAlerts(deps, { batchSize: 2 })).toMatchObject({ delivered: 4, retried: 0, owed: 0 });
    expect(await deliverAlerts(deps, { batchSize: 2 })).toMatchObject({ delivered: 0 });
    const cards = inbox.cards().slice(before);
    expect(cards).toHaveLength(1);
    const text = JSON.stringify(cards[0]!.card);
    for (const a of alerts) expect(text).toContain(`alert ${a.alertId}`);
    expect((await outbox.list()).map((a) => a.state)).toEqual(["delivered", "delivered", "delivered", "delivered"]);
  });
});
