/**
 * Storms become one card: one caller replicating many specialized versions at once reaches the
 * channel as a few grouped cards that together count every transition, not one card each — and
 * every finding stays stored, every alert delivered once. Real simulator over HTTPS, real Azurite,
 * real local host and Teams inbox; one stack for the file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import pLimit from "p-limit";
import { TableClient } from "@azure/data-tables";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { armWrite } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";
import { MAX_CARD_BYTES } from "../../shared/views/adaptiveCard.js";
import { complaints } from "../support/adaptiveCards.js";

const RESOURCES = 60;
const caller = { name: "Storm Bench", upn: "storm@contoso.example" };
let stack: LocalStack;

async function rows(s: LocalStack, table: string): Promise<Array<Record<string, unknown>>> {
  const client = TableClient.fromConnectionString(s.settings.AzureWebJobsStorage!, `${s.settings.GW_TABLE_PREFIX}${table}`, { allowInsecureConnection: true });
  const out: Array<Record<string, unknown>> = [];
  for await (const row of client.listEntities()) out.push(row);
  return out;
}

/** How many alerts a card delivers: a grouped card says so; an ordinary card lists one `alert <id>` line per alert. */
function carried(card: unknown): number {
  const json = JSON.stringify(card);
  const grouped = /this card carries (\d[\d,]*) alerts/.exec(json);
  return grouped ? Number(grouped[1]!.replace(/,/g, "")) : [...json.matchAll(/"alert [0-9a-f]+:\d+"/g)].length;
}

beforeAll(async () => {
  stack = await startLocalStack({ log: pino({ level: "silent" }), settleMs: 0 });
  const base = `/subscriptions/${stack.subscriptionId}/resourceGroups/rg-storm/providers/Microsoft.Compute/galleries/stormGallery`;
  stack.arm.estate.put({ id: base, body: { location: "westeurope", properties: {} } });
  stack.arm.estate.put({ id: `${base}/images/def`, body: { location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: "o", sku: "s" } } } });
  const body = {
    location: "westeurope",
    tags: { owner: "o", approver: "a" },
    properties: {
      publishingProfile: { targetRegions: ["West Europe", "North Europe", "East US", "UK South", "Japan East"].map((name) => ({ name })), excludeFromLatest: true, endOfLifeDate: "2027-06-30T00:00:00Z" },
      storageProfile: { source: { virtualMachineId: "/subscriptions/7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f/resourceGroups/rg-capture/providers/Microsoft.Compute/virtualMachines/capture-vm" } },
    },
  };
  // One caller replicates many specialized versions to five regions at once.
  const limit = pLimit(16);
  await Promise.all(Array.from({ length: RESOURCES }, (_, i) => limit(() => armWrite(stack.arm, caller, "PUT", `${base}/images/def/versions/1.0.${i}`, body))));
  await waitUntilQuiet(stack, 180_000);
}, 240_000);

afterAll(async () => {
  await stack?.close();
});

describe("an alert storm on the local stack", () => {
  it("reaches the channel as at most 20 cards that together count every transition, at least one of them grouped", () => {
    const cards = stack.inbox.cards();
    expect(cards.length).toBeLessThanOrEqual(20);
    expect(cards.reduce((n, c) => n + carried(c.card), 0)).toBe(RESOURCES);
    const grouped = cards.filter((c) => /this card carries/.test(JSON.stringify(c.card)));
    expect(grouped.length).toBeGreaterThan(0);
    const json = JSON.stringify(grouped[0]!.card);
    expect(json).toContain("Opened: replication-breadth (high) on");
    expect(json).toContain("storm@contoso.example");
    expect(json).toContain("gallery-watch findings --state all --rule replication-breadth --severity high --since ");
  });

  it("sends grouped cards that are valid Adaptive Cards 1.5 under the size limit, with Action.OpenUrl only", () => {
    for (const { card } of stack.inbox.cards()) {
      const content = (card as { attachments: Array<{ content: { version: string; actions?: Array<{ type: string }> } }> }).attachments[0]!.content;
      expect(content.version).toBe("1.5");
      expect(complaints(content)).toEqual([]);
      expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThan(MAX_CARD_BYTES);
      expect((content.actions ?? []).every((a) => a.type === "Action.OpenUrl")).toBe(true);
    }
  });

  it("keeps every finding stored and every alert delivered exactly once", async () => {
    const findings = (await rows(stack, "Findings")).filter((r) => r.ruleId === "replication-breadth");
    expect(findings).toHaveLength(RESOURCES);
    const alerts = (await rows(stack, "Alerts")).filter((r) => r.partitionKey === "outbox");
    expect(alerts).toHaveLength(RESOURCES);
    expect(alerts.every((a) => a.state === "delivered")).toBe(true);
    // Nothing owed is left in the index.
    expect((await rows(stack, "Alerts")).filter((r) => r.partitionKey === "due")).toHaveLength(0);
  });
});
