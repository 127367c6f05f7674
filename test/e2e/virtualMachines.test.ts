/**
 * Virtual machines end to end through the local stack (issue 20): a VM PUT on the simulated
 * Compute RP → its Event Grid event → the function → a `vm-use` card naming the caller within 5 s;
 * a second VM from the same specialized version → `clones` on the version; deletions resolve both.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { CALLERS, ids, rg } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";
import { cardTexts, cardWithin as waitForCard } from "../support/adaptiveCards.js";

let s: LocalStack;
beforeAll(async () => {
  s = await startLocalStack({ seed: caseStudySeed(undefined, new Date()), log: pino({ level: "silent" }) });
  // ARM refuses writes into a resource group that does not exist.
  s.arm.estate.putResourceGroup(s.subscriptionId, "rg-ops");
});
afterAll(async () => s?.close());

/** `az vm create --image <version> --specialized` as the REST PUT it sends: no osProfile. */
const vmBody = (imageId: string) => ({
  location: "westeurope",
  properties: {
    hardwareProfile: { vmSize: "Standard_D2s_v5" },
    storageProfile: { imageReference: { id: imageId }, osDisk: { osType: "Windows", createOption: "FromImage", caching: "ReadWrite", managedDisk: { storageAccountType: "Premium_LRS" }, deleteOption: "Delete" } },
    networkProfile: { networkInterfaces: [] },
  },
});
const contents = (from: number) => cardTexts(s.inbox, from);
const cardWithin = (from: number, text: string, ms: number) => waitForCard(s.inbox, from, text, ms);

describe("a VM built from the plant's specialized version", () => {
  it("raises vm-use naming the caller within 5 s of the PUT, and its deletion resolves it", async () => {
    const vm = `${rg(s, "rg-ops")}/virtualMachines/gw-restore-01`;
    const before = s.inbox.cards().length;
    const started = Date.now();
    await armWrite(s.arm, CALLERS.priya, "PUT", vm, vmBody(ids(s).plantVersion));
    const card = await cardWithin(before, "Opened: vm-use (high)", 5_000);
    const elapsedMs = Date.now() - started;
    expect(card, `no vm-use card within 5 s (cards: ${contents(before).join(" | ").slice(0, 600)})`).toBeDefined();
    expect(elapsedMs).toBeLessThan(5_000);
    expect(card).toContain("Priya Patel");
    expect(card).toContain("gw-restore-01");
    expect(card).toContain("outside the subscriptions and resource groups allowed for specialized images");
    expect(card).toContain("az vm delete --resource-group rg-ops --name gw-restore-01");
    await waitUntilQuiet(s);

    const beforeDelete = s.inbox.cards().length;
    await armWrite(s.arm, CALLERS.priya, "DELETE", vm, undefined, { wait: true, pollMs: 50 });
    expect(await cardWithin(beforeDelete, "Resolved: vm-use", 10_000)).toBeDefined();
    await waitUntilQuiet(s);
  });

  it("a second machine from the same specialized version opens clones on the version; deleting it resolves clones", async () => {
    // The version is recorded once the sweep has seen it (as every night).
    await s.host.invoke("nightlySweep");
    await waitUntilQuiet(s);
    const first = `${rg(s, "rg-ops")}/virtualMachines/gw-drill-01`;
    const second = `${rg(s, "rg-ops")}/virtualMachines/gw-copy-01`;
    await armWrite(s.arm, CALLERS.priya, "PUT", first, vmBody(ids(s).plantVersion), { wait: true, pollMs: 50 });
    await waitUntilQuiet(s);
    const before = s.inbox.cards().length;
    await armWrite(s.arm, CALLERS.sam, "PUT", second, vmBody(ids(s).plantVersion), { wait: true, pollMs: 50 });
    const clones = await cardWithin(before, "Opened: clones (high)", 10_000);
    expect(clones).toBeDefined();
    expect(clones).toContain("runs on 2 machines (limit 1)");
    expect(clones).toContain("Sam Okafor");
    await waitUntilQuiet(s);

    const beforeDelete = s.inbox.cards().length;
    await armWrite(s.arm, CALLERS.sam, "DELETE", second, undefined, { wait: true, pollMs: 50 });
    expect(await cardWithin(beforeDelete, "Resolved: clones", 10_000)).toBeDefined();
    await waitUntilQuiet(s);
  });
});
