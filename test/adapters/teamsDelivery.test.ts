/** Delivery to a real HTTP receiver (the local Teams inbox) from the real Azurite outbox. */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pino } from "pino";
import { startTeamsInbox, type TeamsInbox } from "../../local/teamsInbox.js";
import { createRequestPacer, createWorkflowsTeamsNotifier, retryAfterMs } from "../../shared/alerts/workflowsTeamsNotifier.js";
import { createTableAlertOutbox } from "../../shared/alerts/tableAlertOutbox.js";
import { createTableFindingStore } from "../../shared/storage/tableFindingStore.js";
import { deliverAlerts, nextAttemptDelayMs } from "../../shared/alerts/deliverAlerts.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { RULE_IDS } from "../../shared/domain/findings.js";
import { AlertDeliveryError } from "../../shared/errors.js";
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

describe("Workflows webhook delivery", () => {
  it("paces departures so no one-second window holds more than 4 (fake clock)", async () => {
    let now = 0;
    const departures: number[] = [];
    const pace = createRequestPacer(4, { now: () => now, sleep: async (ms) => void (now += ms) });
    for (let i = 0; i < 12; i++) {
      await pace();
      departures.push(now);
    }
    for (let i = 4; i < departures.length; i++) expect(departures[i]! - departures[i - 4]!).toBeGreaterThan(1000);
  });

  it("sends a burst of 10 cards paced at the receiver too (allowing for network jitter)", async () => {
    const before = inbox.attempts().length;
    const notifier = createWorkflowsTeamsNotifier({ webhookUrl: inbox.webhookUrl, maxRequestsPerSecond: 4 });
    const message = { type: "message", attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: { type: "AdaptiveCard", version: "1.5", body: [] } }] };
    await Promise.all(Array.from({ length: 10 }, (_, i) => notifier.send(message, `rate-${i}`)));
    const times = inbox.attempts().slice(before).map((a) => Date.parse(a.at)).sort((a, b) => a - b);
    expect(times).toHaveLength(10);
    // Departures are paced exactly (above); arrival timestamps carry scheduling jitter, hence the margin.
    for (let i = 4; i < times.length; i++) expect(times[i]! - times[i - 4]!).toBeGreaterThanOrEqual(900);
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
});
