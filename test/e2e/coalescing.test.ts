/**
 * Coalescing across instances: two Functions hosts sharing one Azurite (as instances of a Flex
 * Consumption app share one storage account) receive a burst of duplicate and distinct events for
 * one resource. The check gate is a conditional row in Table Storage, so the burst costs a couple
 * of ARM re-reads and one card, not one re-read per delivery.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { startLocalHost, type LocalHost } from "../../local/host.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { CALLERS, ids } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";
import { declarations } from "../../functions/all.js";

let s: LocalStack;
let second: LocalHost;
beforeAll(async () => {
  s = await startLocalStack({ seed: caseStudySeed(undefined, new Date()), settleMs: 0, log: pino({ level: "silent" }) });
  second = await startLocalHost({ declarations, settings: { ...process.env }, storageConnectionString: s.azurite.connectionString, log: pino({ level: "silent" }) });
});
afterAll(async () => {
  await second?.close();
  await s?.close();
});

describe("coalescing across two host instances", () => {
  it("a burst of 40 deliveries (duplicates and distinct events) for one version, split across both hosts, costs at most 3 re-reads and one card", async () => {
    const version = ids(s).plantVersion;
    const body = structuredClone(s.arm.estate.get(version)) as Record<string, any>;
    body.properties.publishingProfile.targetRegions = ["West Europe", "North Europe", "East US", "UK South"].map((name) => ({ name }));
    // Change ARM without an event, then deliver a burst of events for it by hand.
    await armWrite(s.arm, CALLERS.priya, "PUT", version, { location: body.location, tags: body.tags, properties: body.properties }, { headers: { "x-simulator-drop-event": "true" }, wait: true });
    const readsBefore = s.arm.requestCounts()["GET imageVersion"] ?? 0;
    const cardsBefore = s.inbox.cards().length;
    const event = (n: number) => ({
      id: `burst-${n % 20}`, // every event delivered twice
      topic: `/subscriptions/${s.subscriptionId}`,
      subject: version,
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      eventTime: new Date().toISOString(),
      dataVersion: "2",
      metadataVersion: "1",
      data: { operationName: "Microsoft.Compute/galleries/images/versions/write", resourceUri: version, status: "Succeeded", claims: { name: "Priya Patel" } },
    });
    await Promise.all(
      Array.from({ length: 40 }, (_, n) =>
        fetch((n % 2 === 0 ? s.host : second).eventGridUrl("eventGridResourceEvent"), { method: "POST", headers: { "content-type": "application/json", "aeg-event-type": "Notification" }, body: JSON.stringify([event(n)]) }),
      ),
    );
    await second.idle();
    await waitUntilQuiet(s);
    await second.idle();
    await waitUntilQuiet(s);

    const reads = (s.arm.requestCounts()["GET imageVersion"] ?? 0) - readsBefore;
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(reads).toBeLessThanOrEqual(3);
    const cards = s.inbox.cards().slice(cardsBefore).map((c) => JSON.stringify(c.card).match(/(Opened|Escalated): [a-z-]+/)?.[0]);
    expect(cards).toEqual(["Opened: replication-breadth"]);
  });

  it.each([-3_000, -5_000, 5_000])("with Event Grid's eventTime %i ms off the function's clock, every second write is judged", async (skewMs) => {
    const version = ids(s).plantVersion;
    const original = structuredClone(s.arm.estate.get(version)) as Record<string, any>;
    const put = async (regions: string[], id: string, wait = false) => {
      const body = structuredClone(original);
      body.properties.publishingProfile.targetRegions = regions.map((name) => ({ name }));
      // Written without its event; the event is delivered by hand, stamped by a clock `skewMs` off ours.
      await armWrite(s.arm, CALLERS.priya, "PUT", version, { location: body.location, tags: body.tags, properties: body.properties }, { headers: { "x-simulator-drop-event": "true" }, wait: true });
      const event = { id, topic: `/subscriptions/${s.subscriptionId}`, subject: version, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: new Date(Date.now() + skewMs).toISOString(), dataVersion: "2", metadataVersion: "1", data: { operationName: "Microsoft.Compute/galleries/images/versions/write", resourceUri: version, status: "Succeeded", claims: { name: "Priya Patel" } } };
      const posted = fetch(s.host.eventGridUrl("eventGridResourceEvent"), { method: "POST", headers: { "content-type": "application/json", "aeg-event-type": "Notification" }, body: JSON.stringify([event]) });
      if (wait) await posted;
    };
    await put(["West Europe"], `skew${skewMs}-first`, true);
    // The second write lands right after the first one's read: its event is not covered by that read.
    await new Promise((r) => setTimeout(r, 200));
    await put(["West Europe", "North Europe", "East US", "West US", "UK South"], `skew${skewMs}-second`, true);
    await waitUntilQuiet(s);
    await new Promise((r) => setTimeout(r, 3_000)); // the coalescing window's follow-up
    await waitUntilQuiet(s);
    const view = (await (await fetch(`${s.host.url}/api/resources/history?id=${encodeURIComponent(version)}`, { headers: { "x-functions-key": s.keys.function } })).json()) as Record<string, any>;
    expect(view.snapshot.snapshot.targetRegions).toHaveLength(5);
  });
});
