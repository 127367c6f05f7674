/**
 * Event Grid and Teams misbehave in production: duplicate, out-of-order and early deliveries,
 * 429s and outages. The stored state and the cards must come out exactly as with one clean,
 * in-order delivery.
 */
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { TableClient } from "@azure/data-tables";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { CALLERS, ids, rg } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";

let stack: LocalStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function start(options: Partial<Parameters<typeof startLocalStack>[0]> = {}): Promise<LocalStack> {
  stack = await startLocalStack({ seed: caseStudySeed(undefined, new Date()), log: pino({ level: "silent" }), ...options });
  return stack;
}

function plantVersionBody(s: LocalStack, regions: string[]) {
  const body = structuredClone(s.arm.estate.get(ids(s).plantVersion)) as Record<string, any>;
  body.properties.publishingProfile.targetRegions = regions.map((name) => ({ name, regionalReplicaCount: 1 }));
  return { location: body.location, tags: body.tags, properties: body.properties };
}

/** History rows of the plant gateway version (the gallery it lives in is recorded too, as context). */
function versionSnapshots(s: LocalStack, state: Record<string, unknown[]>): unknown[] {
  return state.Snapshots!.filter((row) => (row as { resourceKey?: string }).resourceKey === ids(s).plantVersion.toLowerCase());
}

/** Everything gallery-watch stored in the tables the assertions look at. */
async function storedState(s: LocalStack): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of ["Snapshots", "Findings", "Alerts"]) {
    const client = TableClient.fromConnectionString(s.settings.AzureWebJobsStorage!, `${s.settings.GW_TABLE_PREFIX}${table}`, { allowInsecureConnection: true });
    const rows: unknown[] = [];
    for await (const row of client.listEntities()) rows.push(row);
    out[table] = rows;
  }
  return out;
}

describe("Event Grid delivery faults", () => {
  it("duplicate deliveries (each event three times) store one snapshot per change and send one card per transition", async () => {
    const s = await start();
    s.arm.events.setDuplicates(3);
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US", "UK South"]));
    await waitUntilQuiet(s);
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe"]));
    await waitUntilQuiet(s);
    expect(s.arm.events.sent).toHaveLength(6);
    const titles = s.inbox.cards().map((c) => JSON.stringify(c.card).match(/(Opened|Resolved): [a-z-]+/)?.[0]);
    expect(titles).toEqual(["Opened: replication-breadth", "Resolved: replication-breadth"]);
    const state = await storedState(s);
    expect(versionSnapshots(s, state)).toHaveLength(2);
    expect(state.Alerts).toHaveLength(2);
  });

  it("out-of-order deliveries end in the same stored verdict and cards as in-order ones", async () => {
    const s = await start();
    s.arm.events.holdForReorder(true);
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US", "UK South"]));
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US", "UK South", "Japan East"]));
    await s.arm.events.flush(); // the newest write's event arrives first
    await waitUntilQuiet(s);
    // The event is only a hint: both deliveries re-read ARM, which says five regions.
    const titles = s.inbox.cards().map((c) => JSON.stringify(c.card).match(/(Opened|Escalated|Resolved): [a-z-]+/)?.[0]);
    expect(titles).toEqual(["Opened: replication-breadth"]);
    expect(JSON.stringify(s.inbox.cards()[0]!.card)).toContain("5 regions (limit 2)");
    const state = await storedState(s);
    expect(versionSnapshots(s, state)).toHaveLength(1);
  });

  it("an event that arrives while the PUT is still provisioning is re-checked later, not judged half-built", async () => {
    const s = await start({ settleMs: 3000, settings: { GW_RECHECK_DELAY_SECONDS: "5" } });
    await armWrite(s.arm, CALLERS.jo, "PUT", `${ids(s).saasEmergency}/versions/1.0.0`, {
      location: "westeurope",
      tags: { owner: "saas-sre", approver: "jo" },
      properties: { publishingProfile: { targetRegions: [{ name: "West Europe" }], excludeFromLatest: false, endOfLifeDate: "2027-01-31T00:00:00Z" }, storageProfile: { source: { virtualMachineId: "/subscriptions/7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f/resourceGroups/rg-capture/providers/Microsoft.Compute/virtualMachines/capture-vm" } } },
    });
    await s.arm.events.idle();
    await s.host.idle(); // the re-check message waits in the queue (visibility delay) until the version settles
    expect(s.host.stats().invocations.recheckResource?.succeeded).toBe(1);
    await waitUntilQuiet(s);
    const titles = s.inbox.cards().map((c) => JSON.stringify(c.card).match(/(Opened|Resolved): [a-z-]+/)?.[0]);
    expect(titles).toEqual(["Opened: selectable-as-latest"]);
  });

  it("a delivery that throws (ARM throttling) is retried by Event Grid and processed once", async () => {
    const s = await start();
    // 429s with a 1 s Retry-After outlast the reader's own retries (1 + 3): the invocation fails and Event Grid redelivers.
    s.arm.faults.add({ kind: "throttle", retryAfterSeconds: 1, method: "GET", path: "/versions/1.0.0", times: 4 });
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US"]));
    await waitUntilQuiet(s);
    const stats = s.host.stats().invocations.eventGridResourceEvent!;
    expect(stats.failed).toBeGreaterThanOrEqual(1);
    expect(stats.succeeded).toBe(1);
    expect(s.inbox.cards()).toHaveLength(1);
  });

  it("malformed, hostile and foreign events are acknowledged without a retry storm while valid ones in the same delivery complete", async () => {
    const s = await start();
    const valid = {
      id: "0b9c2b8e-8f3a-4c55-9d0e-1f2a3b4c5d6e",
      topic: `/subscriptions/${s.subscriptionId}`,
      subject: `${rg(s, "rg-forensics")}/galleries/forensicsGallery`,
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      eventTime: new Date().toISOString(),
      dataVersion: "2",
      metadataVersion: "1",
      data: { operationName: "Microsoft.Compute/galleries/write", resourceUri: `${rg(s, "rg-forensics")}/galleries/forensicsGallery`, status: "Succeeded" },
    };
    const batch = [
      { ...valid, id: "bad-1", eventType: 42 },
      { ...valid, id: "bad-2", data: { ...valid.data, resourceUri: `${rg(s, "rg-x")}/galleries/../../../etc` } },
      { ...valid, id: "foreign", data: { ...valid.data, operationName: "Microsoft.Storage/storageAccounts/write" } },
      "not even an object",
      valid,
    ];
    const response = await fetch(s.host.eventGridUrl("eventGridResourceEvent"), { method: "POST", headers: { "content-type": "application/json", "aeg-event-type": "Notification" }, body: JSON.stringify(batch) });
    expect(response.status).toBe(200);
    const stats = s.host.stats().invocations.eventGridResourceEvent!;
    // The host refuses what the Event Grid extension would not deliver (eventType 42, a bare string) before any invocation.
    expect(stats).toEqual({ succeeded: 3, failed: 0 });
    const view = (await (await fetch(`${s.host.url}/api/resources/history?id=${encodeURIComponent(valid.subject)}`, { headers: { "x-functions-key": s.keys.function } })).json()) as Record<string, any>;
    expect(view.snapshot.snapshot.kind).toBe("gallery");
  });

  it("answers the subscription validation handshake in both schemas", async () => {
    const s = await start();
    const url = s.host.eventGridUrl("eventGridResourceEvent");
    const validation = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "aeg-event-type": "SubscriptionValidation" },
      body: JSON.stringify([{ id: "v1", eventType: "Microsoft.EventGrid.SubscriptionValidationEvent", subject: "", eventTime: new Date().toISOString(), data: { validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" }, dataVersion: "1" }]),
    });
    expect(await validation.json()).toEqual({ validationResponse: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" });
    const options = await fetch(url, { method: "OPTIONS", headers: { "WebHook-Request-Origin": "eventgrid.azure.net" } });
    expect(options.headers.get("webhook-allowed-origin")).toBe("eventgrid.azure.net");
  });

  it("processes CloudEvents 1.0 deliveries like Event Grid schema ones", async () => {
    const s = await start({ eventSchema: "CloudEventSchemaV1_0" });
    await armWrite(s.arm, CALLERS.sam, "POST", `${ids(s).forensicsGallery}/share`, { operationType: "EnableCommunity" });
    await waitUntilQuiet(s);
    expect(s.inbox.cards().map((c) => JSON.stringify(c.card).match(/Opened: [a-z-]+ \(\w+\)/)?.[0])).toEqual(["Opened: shared-outside (critical)"]);
  });
});

describe("Teams outage", () => {
  it("loses nothing: cards refused with 429 / 503 arrive exactly once after the receiver recovers", async () => {
    const s = await start({ settings: { GW_OUTBOX_SCHEDULE: "*/1 * * * * *" } });
    s.inbox.faults.failNext(3, 429, 1);
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US"]));
    await s.arm.events.idle();
    await s.host.idle();
    const deadline = Date.now() + 45_000;
    while (s.inbox.cards().length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    await new Promise((r) => setTimeout(r, 2000)); // a few more outbox runs: nothing may be sent twice
    expect(s.inbox.attempts().filter((a) => a.status === 429)).toHaveLength(3);
    expect(s.inbox.cards()).toHaveLength(1);
    expect(JSON.stringify(s.inbox.cards()[0]!.card)).toContain("Opened: replication-breadth");
  }, 60_000);

  it("never logs the webhook secret", async () => {
    const lines: string[] = [];
    const logDestination = { write: (line: string) => void lines.push(line) };
    const s = await start({ log: pino({ level: "debug" }, logDestination), logDestination, settings: { GW_LOG_LEVEL: "debug" } });
    s.inbox.faults.failNext(1, 500);
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US"]));
    await waitUntilQuiet(s);
    expect(lines.some((l) => l.includes("alert delivery will be retried"))).toBe(true);
    expect(lines.join("\n")).not.toContain("local-inbox-secret");
  });
});

/** The outbox rows (one per alert) as stored: state, why owed, attempts. */
async function outboxRows(s: LocalStack): Promise<Array<Record<string, any>>> {
  const client = TableClient.fromConnectionString(s.settings.AzureWebJobsStorage!, `${s.settings.GW_TABLE_PREFIX}Alerts`, { allowInsecureConnection: true });
  const rows: Array<Record<string, any>> = [];
  try {
    for await (const row of client.listEntities({ queryOptions: { filter: "PartitionKey eq 'outbox'" } })) rows.push(row);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error; // the outbox table is created with the first alert
  }
  return rows;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

describe("Teams webhook faults: every card is delivered exactly once or visibly owed", () => {
  it("a webhook answering 404 parks the alert as owed (refused), not failed; its card arrives exactly once when the webhook is back", async () => {
    const s = await start({ settings: { GW_OUTBOX_SCHEDULE: "*/1 * * * * *" } });
    s.inbox.faults.failNext(3, 404);
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US"]));
    // While the webhook refuses, the alert is owed with its reason, never failed.
    expect(await until(async () => (await outboxRows(s)).some((r) => r.state === "owed" && r.owedReason === "refused"), 30_000)).toBe(true);
    expect(await until(() => s.inbox.cards().length >= 1, 45_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 2000)); // a few more outbox runs: nothing may be sent twice
    expect(s.inbox.attempts().filter((a) => a.status === 404)).toHaveLength(3);
    expect(s.inbox.cards()).toHaveLength(1);
    expect((await outboxRows(s)).map((r) => r.state)).toEqual(["delivered"]);
  }, 90_000);

  it("a burst of 429 Retry-After: 3600 is honoured only up to the cap, then probed: the card arrives within seconds of the webhook recovering", async () => {
    const s = await start({ settings: { GW_OUTBOX_SCHEDULE: "*/1 * * * * *", GW_TEAMS_RETRY_AFTER_CAP_SECONDS: "10" } });
    s.inbox.faults.failNext(1, 429, 3600);
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US"]));
    expect(await until(() => s.inbox.attempts().some((a) => a.status === 429), 30_000)).toBe(true);
    const throttledAt = Date.now();
    expect(await until(() => s.inbox.cards().length >= 1, 30_000)).toBe(true);
    const waitedMs = Date.now() - throttledAt;
    expect(waitedMs).toBeGreaterThanOrEqual(9_000); // the capped Retry-After is still honoured
    expect(waitedMs).toBeLessThan(25_000);
    expect(s.inbox.cards()).toHaveLength(1);
  }, 90_000);

  it("a slow webhook (answers after 15 s) gets each card once: the send waits for a slow Workflows flow", async () => {
    const s = await start({ settings: { GW_OUTBOX_SCHEDULE: "*/1 * * * * *" } });
    s.inbox.faults.slowNext(1, 15_000);
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US"]));
    expect(await until(async () => (await outboxRows(s)).some((r) => r.state === "delivered"), 45_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 2000));
    expect(s.inbox.attempts()).toHaveLength(1);
    expect(s.inbox.cards()).toHaveLength(1);
  }, 90_000);

  it("a send that gets no answer within the timeout is recorded as ambiguous and owed, and not sent again", async () => {
    const s = await start({ settings: { GW_OUTBOX_SCHEDULE: "*/1 * * * * *", GW_TEAMS_TIMEOUT_MS: "1000" } });
    s.inbox.faults.slowNext(1, 3000);
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, plantVersionBody(s, ["West Europe", "North Europe", "East US"]));
    expect(await until(async () => (await outboxRows(s)).some((r) => r.state === "owed"), 30_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 5000)); // several outbox runs and the late answer
    expect(s.inbox.attempts()).toHaveLength(1);
    expect(s.inbox.cards()).toHaveLength(1);
    const [row] = await outboxRows(s);
    expect(row).toMatchObject({ state: "owed", owedReason: "ambiguous" });
    expect(row!.ambiguousAt).toEqual(expect.any(String));
  }, 90_000);
});
