/**
 * No cached value decides a verdict or a history row unless it cannot change (osState): through
 * the local stack and the simulated ARM, a new definition's card follows its write settling, a
 * second tag edit a second after the first is recorded and judged, an exception tag set on a
 * definition with the Tags API excepts its versions within seconds and the card names who set
 * it, and a resource-group delete records everything under it deleted with no other card.
 * Each failed on the old code (a 30 s process cache of definitions served their state and tags).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { CALLERS } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";

let s: LocalStack;
beforeAll(async () => {
  s = await startLocalStack({ log: pino({ level: "silent" }) });
  s.arm.estate.putResourceGroup(s.subscriptionId, "rg-fresh");
});
afterAll(async () => s?.close());

const base = () => `/subscriptions/${s.subscriptionId}/resourceGroups/rg-fresh/providers/Microsoft.Compute/galleries/freshGallery`;
const titles = (from = 0) => s.inbox.cards().slice(from).map((c) => JSON.stringify(c.card).match(/(Opened|Resolved|Escalated|De-escalated|Reopened|Excepted): [a-z-]+( \(\w+\))?/)?.[0]);
const cardText = (from = 0) => s.inbox.cards().slice(from).map((c) => JSON.stringify(c.card));
const history = async (id: string) => (await (await fetch(`${s.host.url}/api/resources/history?id=${encodeURIComponent(id)}`, { headers: { "x-functions-key": s.keys.function } })).json()) as Record<string, any>;
const tags = (id: string, operation: "Merge" | "Replace", values: Record<string, string>, caller = CALLERS.priya) =>
  armWrite(s.arm, caller, "PATCH", `${id}/providers/Microsoft.Resources/tags/default`, { operation, properties: { tags: values } });
const definitionBody = (values: Record<string, string>) => ({ location: "westeurope", tags: values, properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: "fresh", sku: "s" } } });
const until = async (what: () => boolean | Promise<boolean>, ms: number) => {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
};
const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

describe("verdicts from fresh reads", () => {
  it("a new definition's card arrives within seconds of its write settling, not when a cache expires", async () => {
    await armWrite(s.arm, CALLERS.jo, "PUT", base(), { location: "westeurope", properties: {} }, { wait: true });
    await waitUntilQuiet(s);
    const before = s.inbox.cards().length;
    const definition = `${base()}/images/fresh-def`;
    await armWrite(s.arm, CALLERS.jo, "PUT", definition, definitionBody({}), { wait: true });
    const settled = Date.now();
    expect(await until(() => titles(before).some((t) => t?.startsWith("Opened: governance-tags")), 20_000)).toBe(true);
    expect(Date.now() - settled).toBeLessThan(8_000);
    await waitUntilQuiet(s);
  });

  it("two tag edits a second apart are both recorded and judged", async () => {
    const definition = `${base()}/images/fresh-def`;
    await tags(definition, "Merge", { owner: "platform" });
    await new Promise((r) => setTimeout(r, 1_000));
    await tags(definition, "Merge", { approver: "ciso" }, CALLERS.sam);
    await waitUntilQuiet(s);
    const view = await history(definition);
    expect(view.snapshot.snapshot.tags).toEqual({ owner: "platform", approver: "ciso" });
    expect(view.findings.find((f: { ruleId: string }) => f.ruleId === "governance-tags")).toMatchObject({ status: "resolved" });
  });

  it("an exception tag set on a definition with the Tags API excepts its versions' findings within seconds; the card names who set it", async () => {
    const definition = `${base()}/images/fresh-def`;
    const version = `${definition}/versions/1.0.0`;
    await armWrite(s.arm, CALLERS.jo, "PUT", version, {
      location: "westeurope",
      tags: { owner: "o", approver: "a" },
      properties: { publishingProfile: { targetRegions: [{ name: "West Europe" }], excludeFromLatest: false, endOfLifeDate: `${tomorrow()}T00:00:00Z` }, storageProfile: { source: { virtualMachineId: `/subscriptions/${s.subscriptionId}/resourceGroups/rg-capture/providers/Microsoft.Compute/virtualMachines/vm` } } },
    }, { wait: true });
    await waitUntilQuiet(s);
    expect((await history(version)).findings.find((f: { ruleId: string }) => f.ruleId === "selectable-as-latest")).toMatchObject({ status: "open" });
    const before = s.inbox.cards().length;

    await tags(definition, "Merge", { "gallery-watch-exception": `reason=CAB-1 rebuild;expires=${tomorrow()}` }, CALLERS.sam);
    const written = Date.now();

    expect(await until(async () => (await history(version)).findings.find((f: { ruleId: string }) => f.ruleId === "selectable-as-latest")?.status === "excepted", 10_000)).toBe(true);
    expect(Date.now() - written).toBeLessThan(5_000);
    await waitUntilQuiet(s);
    const card = cardText(before).find((c) => c.includes("Excepted: selectable-as-latest"));
    expect(card).toContain(CALLERS.sam.name);
    expect(card).not.toContain("no caller recorded");
  });

  it("a card names the resource as ARM spells it, not as the event did", async () => {
    const version = `${base()}/images/fresh-def/versions/1.1.0`;
    await armWrite(s.arm, CALLERS.jo, "PUT", version, {
      location: "westeurope",
      tags: { owner: "o", approver: "a" },
      properties: { publishingProfile: { targetRegions: ["West Europe", "North Europe", "East US", "West US"].map((name) => ({ name })), excludeFromLatest: true, endOfLifeDate: `${tomorrow()}T00:00:00Z` }, storageProfile: { source: { virtualMachineId: `/subscriptions/${s.subscriptionId}/resourceGroups/rg-capture/providers/Microsoft.Compute/virtualMachines/vm` } } },
    }, { wait: true, headers: { "x-simulator-drop-event": "true" } });
    const before = s.inbox.cards().length;
    const shouted = version.replace("freshGallery/images/fresh-def", "FRESHGALLERY/images/FRESH-DEF");
    const event = { id: "shouted-1", topic: `/subscriptions/${s.subscriptionId}`, subject: shouted, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: new Date().toISOString(), dataVersion: "2", metadataVersion: "1", data: { operationName: "Microsoft.Compute/galleries/images/versions/write", resourceUri: shouted, status: "Succeeded", claims: { name: "Jo Lindqvist" } } };
    await fetch(s.host.eventGridUrl("eventGridResourceEvent"), { method: "POST", headers: { "content-type": "application/json", "aeg-event-type": "Notification" }, body: JSON.stringify([event]) });
    await waitUntilQuiet(s);
    const cards = cardText(before);
    expect(cards.length).toBeGreaterThan(0);
    expect(cards.join("\n")).toContain("freshGallery/fresh-def/1.1.0");
    expect(cards.join("\n")).not.toContain("FRESHGALLERY");
  });

  it("a resource-group delete records every stored resource under it deleted and resolves their findings, with no other card", async () => {
    const definition = `${base()}/images/fresh-def`;
    const version = `${definition}/versions/1.0.0`;
    const second = `${base()}/images/untagged`;
    await armWrite(s.arm, CALLERS.jo, "PUT", second, definitionBody({}), { wait: true });
    await waitUntilQuiet(s);
    expect((await history(second)).findings.find((f: { ruleId: string }) => f.ruleId === "governance-tags")).toMatchObject({ status: "open" });
    const before = s.inbox.cards().length;

    await armWrite(s.arm, CALLERS.jo, "DELETE", `/subscriptions/${s.subscriptionId}/resourceGroups/rg-fresh`, undefined, { wait: true });
    await waitUntilQuiet(s);

    for (const id of [base(), definition, second, version]) {
      const view = await history(id);
      expect(view.state, id).toBe("deleted");
      expect(view.findings.filter((f: { status: string }) => f.status !== "resolved"), id).toEqual([]);
    }
    const cards = cardText(before);
    expect(cards.filter((c) => /now has its owner|now has/.test(c))).toEqual([]);
    expect(titles(before).every((t) => t?.startsWith("Resolved:"))).toBe(true);
  }, 60_000);
});
