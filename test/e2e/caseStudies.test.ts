/**
 * The design brief's three case studies, end to end through the local host: a write on the
 * simulated ARM → Event Grid event → function → stored snapshot, change (with who) and finding →
 * card in the Teams inbox. Asserts on stored state (through the history API) and received cards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed, IMAGE_USERS } from "../../local/scenarios/caseStudies.js";
import { caseStudySteps, ids } from "../../local/scenarios/replay.js";
import { waitUntilQuiet } from "../../local/quiet.js";

const today = new Date();
let stack: LocalStack;
const steps = caseStudySteps(today);

beforeAll(async () => {
  stack = await startLocalStack({ seed: caseStudySeed(undefined, today), log: pino({ level: "silent" }) });
});
afterAll(async () => {
  await stack?.close();
});

/** Run step `n` (1-based) and return the cards it produced. */
async function step(n: number): Promise<Array<Record<string, any>>> {
  const before = stack.inbox.cards().length;
  await steps[n - 1]!.run(stack);
  await waitUntilQuiet(stack);
  return stack.inbox.cards().slice(before).map((c) => (c.card as any).attachments[0].content);
}

const textOf = (card: unknown) => JSON.stringify(card);

async function history(id: string, asOf?: string): Promise<Record<string, any>> {
  const url = `${stack.host.url}/api/resources/history?id=${encodeURIComponent(id)}${asOf ? `&asOf=${encodeURIComponent(asOf)}` : ""}`;
  const response = await fetch(url, { headers: { "x-functions-key": stack.keys.function } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, any>;
}

describe("case study 1: plant gateway", () => {
  it("raises replication-breadth naming who added the regions, with the az fix, and stores the history", async () => {
    const cards = await step(1);
    expect(cards).toHaveLength(1);
    const card = textOf(cards[0]);
    expect(card).toContain("Opened: replication-breadth (high)");
    expect(card).toContain("Priya Patel");
    expect(card).toContain("priya.patel@contoso.example");
    expect(card).toContain("203.0.113.24");
    expect(card).toContain("az sig image-version update --resource-group rg-plant --gallery-name plantGallery --gallery-image-definition gateway-os --gallery-image-version 1.0.0");
    expect(card).toContain("--target-regions westeurope=1 northeurope=1");
    expect(cards[0]!.actions).toEqual([expect.objectContaining({ type: "Action.OpenUrl", url: expect.stringContaining("/galleries/plantGallery/images/gateway-os/versions/1.0.0") })]);

    const view = await history(ids(stack).plantVersion);
    expect(view.snapshot.snapshot.targetRegions.map((t: any) => t.region)).toEqual(["westeurope", "northeurope", "eastus", "uksouth", "southeastasia"]);
    expect(view.changes[0].trigger.attribution).toMatchObject({ callerName: "Priya Patel", callerUpn: "priya.patel@contoso.example", operationName: "Microsoft.Compute/galleries/images/versions/write" });
    expect(view.findings).toEqual([expect.objectContaining({ ruleId: "replication-breadth", status: "open" })]);
  });

  it("resolves it when the regions are removed, and answers the point-in-time question for before", async () => {
    const beforeRemoval = new Date().toISOString();
    const cards = await step(2);
    expect(cards.map((c) => c.body[0].items[0].text)).toEqual(["Resolved: replication-breadth (high)"]);
    const now = await history(ids(stack).plantVersion);
    expect(now.findings).toEqual([expect.objectContaining({ ruleId: "replication-breadth", status: "resolved" })]);
    const then = await history(ids(stack).plantVersion, beforeRemoval);
    expect(then.snapshot.snapshot.targetRegions).toHaveLength(5);
    expect(then.findings).toEqual([expect.objectContaining({ status: "open" })]);
  });
});

describe("case study 2: forensics lab", () => {
  it("finds the version past its end of life at the nightly sweep, and nothing else in the approved estate", async () => {
    const cards = await step(3);
    expect(cards).toHaveLength(1);
    expect(textOf(cards[0])).toContain("Opened: lifecycle (high)");
    expect(textOf(cards[0])).toContain("memory-lab");
    expect(textOf(cards[0])).toContain("Found by the nightly sweep");
  });

  it("raises a critical shared-outside alert when the gallery goes Community", async () => {
    const cards = await step(4);
    expect(cards).toHaveLength(1);
    const card = textOf(cards[0]);
    expect(card).toContain("Opened: shared-outside (critical)");
    expect(card).toContain("Sam Okafor");
    expect(card).toContain("az sig share reset --resource-group rg-forensics --gallery-name forensicsGallery");
  });
});

describe("case study 3: SaaS emergency image", () => {
  it("flags the emergency version selectable as latest, then the scale set following it (latency is measured by npm run bench)", async () => {
    expect((await step(5)).map((c) => c.body[0].items[0].text)).toEqual(["Opened: selectable-as-latest (medium)"]);
    const cards = await step(6);
    expect(cards.map((c) => c.body[0].items[0].text).sort()).toEqual(["Opened: clones (high)", "Opened: scale-set-use (critical)"]);
    const scaleSetCard = textOf(cards.find((c) => textOf(c).includes("scale-set-use")));
    expect(scaleSetCard).toContain("180 instance(s)");
    expect(scaleSetCard).toContain("now 1.0.0");
    // The scale set's 180 instances counted on the version they run: one machine identity, 180 times.
    const clonesCard = textOf(cards.find((c) => textOf(c).includes("Opened: clones")));
    expect(clonesCard).toContain("runs on 180 machines (limit 1)");
    expect(clonesCard).toContain("Jo Lindqvist");
  });

  it("resolves both when the version leaves latest and the scale set moves to the generalized image", async () => {
    const titles = (await step(7)).map((c) => c.body[0].items[0].text).sort();
    expect(titles).toEqual(["Resolved: clones (high)", "Resolved: scale-set-use (critical)", "Resolved: selectable-as-latest (medium)"]);
  });

  it("honours an approved, expiring exception tag", async () => {
    const cards = await step(8);
    expect(cards.map((c) => c.body[0].items[0].text)).toEqual(["Excepted: scale-set-use (critical)"]);
    expect(textOf(cards[0])).toContain("CAB-4711 emergency rollback");
    // Jo's change raised it; Sam, who set the exception, is not Jo: honoured, and the card says who set it.
    expect(textOf(cards[0])).toContain("Exception set by Sam Okafor");
    expect(textOf(cards[0])).toContain("Jo Lindqvist");
  });
});

describe("the machines in the case studies (issue 20)", () => {
  it("the plant's quarterly drill VM raises vm-use, then Sam's approval as recovery excepts it; one machine is no clone", async () => {
    const cards = await step(9);
    expect(cards.map((c) => c.body[0].items[0].text)).toEqual(["Opened: vm-use (high)", "Excepted: vm-use (high)"]);
    expect(textOf(cards[0])).toContain("Priya Patel");
    expect(textOf(cards[1])).toContain("quarterly recovery drill, CAB-5120");
    expect(textOf(cards[1])).toContain("Sam Okafor");
    const view = await history(ids(stack).plantDrillVm);
    expect(view.findings).toEqual([expect.objectContaining({ ruleId: "vm-use", status: "excepted" })]);
    expect((await history(ids(stack).plantVersion)).findings.filter((f: { ruleId: string }) => f.ruleId === "clones")).toEqual([]);
  });

  it("the forensics workstation inside the lab's allowed scope raises nothing", async () => {
    expect(await step(10)).toEqual([]);
    const view = await history(ids(stack).forensicsWorkstation);
    expect(view.snapshot.snapshot).toMatchObject({ kind: "virtualMachine", image: { outcome: "resolved", osState: "Specialized" } });
    expect(view.findings).toEqual([]);
  });

  it("a role assignment granting the SaaS deployment pipeline Reader on the emergency image raises broad-access naming it (issue 20 point 4)", async () => {
    const cards = await step(11);
    expect(cards.map((c) => c.body[0].items[0].text)).toEqual(["Opened: broad-access (high)"]);
    const card = textOf(cards[0]);
    expect(card).toContain("emergency-specialized");
    expect(card).toContain(IMAGE_USERS.saasPipeline);
    expect(card).toContain("az role assignment delete --ids");
    expect(card).toContain("Jo Lindqvist");
    const view = await history(ids(stack).saasEmergency);
    expect(view.findings).toEqual(expect.arrayContaining([expect.objectContaining({ ruleId: "broad-access", status: "open", severity: "high" })]));
  });

  it("sent every card exactly once", () => {
    const alertIds = stack.inbox.cards().map((c) => c.alertId);
    expect(alertIds.every(Boolean)).toBe(true);
    expect(new Set(alertIds).size).toBe(alertIds.length);
  });
});
