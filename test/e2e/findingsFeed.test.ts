/**
 * The findings feed on the whole local stack: a write in the simulated ARM → judged by the local
 * Functions host → every finding transition published by the real EventGridPublisherClient over
 * HTTPS to the simulated Event Grid topic, which refuses anything not CloudEvents 1.0. Faults on
 * the topic (500, 429 with Retry-After, 404) lose and double nothing and never hold up a card;
 * a refusing Teams webhook never holds up the feed.
 */
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { TableClient } from "@azure/data-tables";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { CALLERS, ids } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { cloudEventProblem } from "../../shared/views/findingsFeed.js";

let stack: LocalStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function start(settings: Record<string, string> = {}): Promise<LocalStack> {
  stack = await startLocalStack({ seed: caseStudySeed(undefined, new Date()), log: pino({ level: "silent" }), findingsFeed: true, settings: { GW_OUTBOX_SCHEDULE: "*/1 * * * * *", ...settings } });
  return stack;
}

function plantVersionBody(s: LocalStack, regions: string[]) {
  const body = structuredClone(s.arm.estate.get(ids(s).plantVersion)) as Record<string, any>;
  body.properties.publishingProfile.targetRegions = regions.map((name) => ({ name, regionalReplicaCount: 1 }));
  return { location: body.location, tags: body.tags, properties: body.properties };
}

/** The alert ids of the card outbox: one per transition that makes a card (and an event). */
async function alertIds(s: LocalStack): Promise<string[]> {
  const client = TableClient.fromConnectionString(s.settings.AzureWebJobsStorage!, `${s.settings.GW_TABLE_PREFIX}Alerts`, { allowInsecureConnection: true });
  const ids: string[] = [];
  try {
    for await (const row of client.listEntities<{ alertId: string }>({ queryOptions: { filter: "PartitionKey eq 'outbox'" } })) ids.push(row.alertId);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error; // the outbox table is created with the first alert
  }
  return ids.sort();
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

describe("findings feed on the local stack", () => {
  it("publishes one schema-valid CloudEvent per transition, with the caller, through 500, 429 Retry-After and 404, while the card arrives undisturbed", async () => {
    const s = await start();
    s.topic!.faults.failNext(1, 500);
    s.topic!.faults.failNext(1, 429, 2);
    s.topic!.faults.failNext(1, 404);
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US"]));
    // The card is not held up by the failing topic.
    expect(await until(() => s.inbox.cards().length >= 1, 45_000)).toBe(true);
    const expected = await alertIds(s);
    expect(expected.length).toBeGreaterThan(0);
    expect(await until(() => s.topic!.events().length >= expected.length, 60_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 3000)); // more publisher runs: nothing may be published twice
    const events = s.topic!.events().map((r) => r.event);
    expect(events.map((e) => e.id).sort()).toEqual(expected);
    for (const e of events) expect(cloudEventProblem(e)).toBeUndefined();
    expect(s.topic!.attempts().filter((a) => a.status !== 200).map((a) => a.status)).toEqual([500, 429, 404]);
    const opened = events.find((e) => e.type === "com.gallerywatch.finding.opened" && (e.data as { rule: string }).rule === "replication-breadth") as Record<string, any>;
    expect(opened).toMatchObject({ specversion: "1.0", source: "/gallery-watch/local", subject: expect.stringMatching(/\/versions\//i), data: { severity: expect.any(String), status: "open" } });
    expect(opened.subject.toLowerCase()).toBe(ids(s).plantVersion.toLowerCase());
    expect(JSON.stringify(opened.data.attribution)).toContain(CALLERS.priya.name);
    // The inbox page's "Findings feed" shows the same events.
    const listed = (await (await fetch(`${s.inbox.url}/events.json`)).json()) as Array<{ id: string }>;
    expect(listed.map((e) => e.id).sort()).toEqual(expected);
  }, 120_000);

  it("a webhook refusing every card does not hold up the feed", async () => {
    const s = await start();
    s.inbox.faults.failNext(1000, 404);
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US"]));
    expect(await until(async () => (await alertIds(s)).length > 0 && s.topic!.events().length >= (await alertIds(s)).length, 45_000)).toBe(true);
    expect(s.inbox.cards()).toHaveLength(0);
    expect(s.topic!.events().map((r) => r.event.id).sort()).toEqual(await alertIds(s));
  }, 90_000);
});
