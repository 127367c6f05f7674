/**
 * The findings feed end to end below the Functions host: the real Azurite outbox (its own table),
 * the real `@azure/eventgrid` EventGridPublisherClient with a bearer token, over real HTTPS to the
 * local simulated topic, which refuses anything that is not schema-valid CloudEvents 1.0.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pino } from "pino";
import { startFindingsTopic, type FindingsTopic } from "../../local/findingsTopic.js";
import { createEventGridFindingsPublisher } from "../../shared/adapters/eventgrid/eventGridFindingsPublisher.js";
import { FEED_TABLE, publishFindings, withFindingsFeed } from "../../shared/app/publishFindings.js";
import { cloudEventProblem, findingEvent, type FindingCloudEvent } from "../../shared/views/findingsFeed.js";
import { createTableAlertOutbox } from "../../shared/adapters/tables/tableAlertOutbox.js";
import { createTableFindingStore } from "../../shared/adapters/tables/tableFindingStore.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { RULE_IDS } from "../../shared/domain/findings.js";
import { AlertDeliveryError } from "../../shared/domain/errors.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import { aVersion, BASE, NOW, policy, regions } from "../support/snapshotBuilders.js";

let topic: FindingsTopic;
beforeAll(async () => {
  topic = await startFindingsTopic();
});
afterAll(async () => topic?.close());

const token = { getToken: async () => ({ token: "local-token", expiresOnTimestamp: Date.now() + 3_600_000 }) };
const attribution = { eventId: "e-1", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: NOW.toISOString(), callerName: "Priya Patel", callerUpn: "priya@contoso.com", callerObjectId: "0b6e4b5e-0000-4000-8000-000000000001" };

/** Opened transitions on `count` specialized versions (several rules each). */
function alerts(count: number) {
  return Array.from({ length: count }, (_, i) => {
    const v = { ...aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") }), id: parseResourceId(`${BASE}/galleries/gal/images/def/versions/1.0.${i}`) };
    return computeTransitions([], { subjects: [v.id.key], rules: [...RULE_IDS], results: evaluateSubject(v, { definitions: [], versions: [] }, policy(), NOW), evaluatedAt: NOW.toISOString() });
  })
    .flat()
    .map((t) => ({ alertId: `${t.fingerprint}:${t.after.revision}`, transition: t, attribution }));
}

function publisher(timeoutMs = 5000) {
  return createEventGridFindingsPublisher({ endpoint: topic.endpoint, credential: token, caCertPem: topic.caCertPem, timeoutMs });
}

describe("findings feed: EventGridPublisherClient against the simulated topic over HTTPS", () => {
  it("publishes schema-valid CloudEvents 1.0 with the finding and its attribution; the topic refuses invalid ones", async () => {
    const [a] = alerts(1);
    const event = findingEvent(a!, "/gallery-watch/test");
    const before = topic.events().length;
    await publisher().publish([event], a!.alertId);
    const [got] = topic.events().slice(before).map((r) => r.event);
    expect(cloudEventProblem(got)).toBeUndefined();
    expect(got).toMatchObject({
      specversion: "1.0",
      id: a!.alertId,
      source: "/gallery-watch/test",
      type: "com.gallerywatch.finding.opened",
      subject: a!.transition.after.resourceId,
      time: a!.transition.at,
      datacontenttype: "application/json",
      data: { rule: a!.transition.after.ruleId, severity: a!.transition.after.severity, status: "open", resourceId: a!.transition.after.resourceId, attribution: { callerName: "Priya Patel", callerUpn: "priya@contoso.com" } },
    });
    // What the topic refuses, the publisher reports as a permanent refusal (a bug, not a retry).
    const invalid = { ...event, specversion: "0.3" } as unknown as FindingCloudEvent;
    expect(cloudEventProblem(invalid)).toMatch(/specversion/);
    expect(cloudEventProblem({ ...event, id: "" })).toMatch(/'id'/);
    expect(cloudEventProblem({ ...event, Type: "x" })).toMatch(/attribute name/);
  });

  it("maps the topic's answers: 429 with Retry-After and 5xx retryable, 404 refused, no answer ambiguous", async () => {
    const [a] = alerts(1);
    const event = findingEvent(a!, "/gallery-watch/test");
    topic.faults.failNext(1, 429, 7);
    expect(await publisher().publish([event], "b1").catch((e: unknown) => e)).toMatchObject({ status: 429, retryAfterMs: 7000, permanent: false, ambiguous: false });
    topic.faults.failNext(1, 500);
    expect(await publisher().publish([event], "b1").catch((e: unknown) => e)).toMatchObject({ status: 500, permanent: false });
    topic.faults.failNext(1, 404);
    const refused = await publisher().publish([event], "b1").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AlertDeliveryError);
    expect(refused).toMatchObject({ status: 404, permanent: true });
    topic.faults.hangNext(1, 3000);
    expect(await publisher(500).publish([event], "b1").catch((e: unknown) => e)).toMatchObject({ ambiguous: true, status: undefined });
  });

  it("every transition staged beside its card is published once, through 500, 429 Retry-After and 404; none lost or doubled", async () => {
    const prefix = `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const conn = { connectionString: inject("azuriteConnectionString") };
    const cards = createTableAlertOutbox(conn, prefix);
    const feed = createTableAlertOutbox(conn, prefix, FEED_TABLE);
    const findings = createTableFindingStore(conn, prefix);
    const judging = withFindingsFeed(cards, feed);
    const staged = alerts(30);
    // As the judging step does: staged, then released once the findings are stored.
    await judging.enqueue(staged, NOW.toISOString());
    await judging.release(staged, NOW.toISOString());
    expect((await cards.list()).length).toBe(staged.length);

    let now = NOW.getTime() + 1000;
    const deps = { feed, findings, publisher: publisher(), source: "/gallery-watch/test", clock: { now: () => new Date(now) }, log: pino({ level: "silent" }) };
    const before = topic.events().length;
    const attemptsBefore = topic.attempts().length;
    topic.faults.failNext(1, 500);
    topic.faults.failNext(1, 429, 120);
    topic.faults.failNext(1, 404);
    // Small requests, so the faults meet different batches.
    const runs = [];
    for (let i = 0; i < 6; i++) {
      runs.push(await publishFindings(deps, { maxBatchBytes: 20_000 }));
      now += 3_600_000; // past any backoff
    }
    // A failed batch does not stop the run: the other batches go out; the failed ones come back due later.
    expect(runs[0]!.published).toBeLessThan(staged.length);
    expect(runs.reduce((n, r) => n + r.published, 0)).toBe(staged.length);
    const published = topic.events().slice(before).map((r) => r.event);
    expect(published.map((e) => e.id).sort()).toEqual(staged.map((a) => a.alertId).sort());
    expect(new Set(published.map((e) => e.id)).size).toBe(staged.length);
    for (const e of published) expect(cloudEventProblem(e)).toBeUndefined();
    expect(topic.attempts().slice(attemptsBefore).filter((a) => a.status !== 200).map((a) => a.status)).toEqual([500, 429, 404]);
    expect((await feed.list()).every((a) => a.state === "delivered")).toBe(true);
    // The cards' outbox is untouched by the feed: still owed to Teams.
    expect((await cards.list()).every((a) => a.state === "pending")).toBe(true);
  });

  it("a throttled topic's Retry-After is honoured: the events are not due again before it", async () => {
    const prefix = `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const conn = { connectionString: inject("azuriteConnectionString") };
    const feed = createTableAlertOutbox(conn, prefix, FEED_TABLE);
    const findings = createTableFindingStore(conn, prefix);
    const staged = alerts(1);
    await feed.enqueue(staged, NOW.toISOString());
    await feed.release(staged, NOW.toISOString());
    let now = NOW.getTime() + 1000;
    const deps = { feed, findings, publisher: publisher(), source: "/gallery-watch/test", clock: { now: () => new Date(now) }, log: pino({ level: "silent" }) };
    topic.faults.failNext(1, 429, 120);
    expect(await publishFindings(deps)).toMatchObject({ published: 0, retried: staged.length });
    now += 100_000;
    expect(await publishFindings(deps)).toMatchObject({ published: 0, requests: 0 });
    now += 30_000;
    expect(await publishFindings(deps)).toMatchObject({ published: staged.length });
  });

  it("an invocation that died after storing the findings but before releasing: the feed's reconcile releases the staged events, each published once; a transition never stored is discarded", async () => {
    const prefix = `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const conn = { connectionString: inject("azuriteConnectionString") };
    const cards = createTableAlertOutbox(conn, prefix);
    const feed = createTableAlertOutbox(conn, prefix, FEED_TABLE);
    const findings = createTableFindingStore(conn, prefix);
    const judging = withFindingsFeed(cards, feed);
    const [stored, lost] = [alerts(2).slice(0, 1), alerts(3).slice(-1)];
    // The judging step staged both, stored the first one's finding, then died: nothing released.
    await judging.enqueue([...stored, ...lost], NOW.toISOString());
    await findings.apply(stored.map((a) => a.transition));
    let now = NOW.getTime() + 1000;
    const deps = { feed, findings, publisher: publisher(), source: "/gallery-watch/test", clock: { now: () => new Date(now) }, log: pino({ level: "silent" }) };
    const before = topic.events().length;
    expect(await publishFindings(deps)).toMatchObject({ published: 0, requests: 0 }); // staged: owed to nobody yet
    now += 180_000; // past the staged grace period
    expect(await publishFindings(deps)).toMatchObject({ published: 1 });
    now += 180_000;
    expect(await publishFindings(deps)).toMatchObject({ published: 0 });
    expect(topic.events().slice(before).map((r) => r.event.id)).toEqual(stored.map((a) => a.alertId));
    expect((await feed.list()).map((a) => [a.alertId, a.state])).toEqual([[stored[0]!.alertId, "delivered"]]);
  });

  it("an event the topic still fails after the retry window is owed (expired) with an error, not retried forever", async () => {
    const prefix = `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const conn = { connectionString: inject("azuriteConnectionString") };
    const feed = createTableAlertOutbox(conn, prefix, FEED_TABLE);
    const findings = createTableFindingStore(conn, prefix);
    const staged = alerts(1).slice(0, 1);
    await feed.enqueue(staged, NOW.toISOString());
    await feed.release(staged, NOW.toISOString());
    let now = NOW.getTime() + 25 * 3_600_000;
    const lines: string[] = [];
    const log = pino({ level: "error" }, { write: (line: string) => void lines.push(line) });
    const deps = { feed, findings, publisher: publisher(), source: "/gallery-watch/test", clock: { now: () => new Date(now) }, log };
    topic.faults.failNext(1, 500);
    expect(await publishFindings(deps)).toMatchObject({ published: 0, owed: 1 });
    expect(lines.join("\n")).toMatch(/no longer retried/);
    now += 3_600_000;
    expect(await publishFindings(deps)).toMatchObject({ requests: 0 });
    expect((await feed.list()).map((a) => [a.state, a.owedReason])).toEqual([["owed", "expired"]]);
  });
});
