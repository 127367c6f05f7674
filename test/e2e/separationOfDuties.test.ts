/**
 * Separation of duties for exception tags (issue 20, point 5), through the local stack and the
 * simulated ARM: the person whose change raised a finding cannot except it with a tag (the
 * finding stays open and a card says why, naming the setter), another person can, and with
 * GW_EXCEPTION_APPROVERS set (here: Sam) only the people it names can.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { CALLERS } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";

let s: LocalStack;
beforeAll(async () => {
  s = await startLocalStack({ log: pino({ level: "silent" }), settings: { GW_EXCEPTION_APPROVERS: CALLERS.sam.upn } });
  s.arm.estate.putResourceGroup(s.subscriptionId, "rg-sod");
});
afterAll(async () => s?.close());

const gallery = () => `/subscriptions/${s.subscriptionId}/resourceGroups/rg-sod/providers/Microsoft.Compute/galleries/sodGallery`;
const definition = () => `${gallery()}/images/recovery-os`;
const version = () => `${definition()}/versions/1.0.0`;
const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
/** The card's text as the channel shows it: JSON, with Markdown escapes (`\(`) taken out. */
const cardTexts = (from: number) => s.inbox.cards().slice(from).map((c) => JSON.stringify(c.card).replaceAll("\\\\", ""));
const findingOf = async (id: string, ruleId: string) => {
  const response = await fetch(`${s.host.url}/api/resources/history?id=${encodeURIComponent(id)}`, { headers: { "x-functions-key": s.keys.function } });
  const body = (await response.json()) as { findings: Array<Record<string, any>> };
  return body.findings.find((f) => f.ruleId === ruleId);
};
const until = async (what: () => boolean | Promise<boolean>, ms: number) => {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
};
const setTags = (id: string, values: Record<string, string>, caller: (typeof CALLERS)[keyof typeof CALLERS]) =>
  armWrite(s.arm, caller, "PATCH", `${id}/providers/Microsoft.Resources/tags/default`, { operation: "Merge", properties: { tags: values } });

describe("separation of duties for exception tags", () => {
  it("Jo creates a version and sets its exception tag: refused, the finding stays open and the card says Jo raised it; Sam sets it: excepted", async () => {
    await armWrite(s.arm, CALLERS.jo, "PUT", gallery(), { location: "westeurope", properties: {} }, { wait: true });
    await armWrite(s.arm, CALLERS.jo, "PUT", definition(), { location: "westeurope", tags: { owner: "ops", approver: "ciso" }, properties: { osType: "Windows", osState: "Specialized", identifier: { publisher: "p", offer: "recovery", sku: "s" } } }, { wait: true });
    await armWrite(s.arm, CALLERS.jo, "PUT", version(), {
      location: "westeurope",
      tags: { owner: "ops", approver: "ciso" },
      properties: {
        publishingProfile: { targetRegions: [{ name: "West Europe" }], excludeFromLatest: false, endOfLifeDate: `${tomorrow()}T00:00:00Z` },
        storageProfile: { source: { virtualMachineId: `/subscriptions/${s.subscriptionId}/resourceGroups/rg-sod/providers/Microsoft.Compute/virtualMachines/recovery-01` } },
      },
    }, { wait: true });
    await waitUntilQuiet(s);
    expect(await findingOf(version(), "selectable-as-latest")).toMatchObject({ status: "open" });

    // Jo, whose change raised the finding, excepts it.
    const beforeJo = s.inbox.cards().length;
    await setTags(version(), { "gallery-watch-exception": `reason=CAB-77 recovery drill;expires=${tomorrow()}` }, CALLERS.jo);
    const joWrote = Date.now();
    expect(await until(() => cardTexts(beforeJo).some((c) => c.includes("Exception refused: selectable-as-latest")), 10_000)).toBe(true);
    expect(Date.now() - joWrote).toBeLessThan(8_000); // measured 3.1 s on an idle machine
    await waitUntilQuiet(s);
    const refused = await findingOf(version(), "selectable-as-latest");
    expect(refused).toMatchObject({ status: "open", exception: { status: "refused", setBy: { upn: CALLERS.jo.upn } }, raisedBy: [expect.objectContaining({ upn: CALLERS.jo.upn })] });
    const joCards = cardTexts(beforeJo).filter((c) => c.includes("selectable-as-latest"));
    expect(joCards).toHaveLength(1);
    expect(joCards[0]).toContain(`Exception refused: exception tag 'gallery-watch-exception' was set by ${CALLERS.jo.name} (${CALLERS.jo.upn}), whose change raised this finding: an exception must be approved by someone else (separation of duties); may approve: ${CALLERS.sam.upn}`);
    expect(joCards[0]).toContain("Exception refused: selectable-as-latest (medium)");
    expect(joCards[0]).not.toContain("Excepted:");

    // Sam, who raised nothing here, sets it (a new value: the approval is Sam's).
    const beforeSam = s.inbox.cards().length;
    await setTags(version(), { "gallery-watch-exception": `reason=CAB-77 recovery drill, approved by Sam;expires=${tomorrow()}` }, CALLERS.sam);
    const written = Date.now();
    expect(await until(() => cardTexts(beforeSam).some((c) => c.includes("Excepted: selectable-as-latest")), 10_000)).toBe(true);
    expect(Date.now() - written).toBeLessThan(8_000); // measured 3.6 s
    await waitUntilQuiet(s);
    expect(await findingOf(version(), "selectable-as-latest")).toMatchObject({ status: "excepted", exception: { status: "active", setBy: { upn: CALLERS.sam.upn } } });
    const samCard = cardTexts(beforeSam).find((c) => c.includes("Excepted: selectable-as-latest"));
    expect(samCard).toBeDefined();
    expect(samCard).toContain(`Exception set by ${CALLERS.sam.name} (${CALLERS.sam.upn}); the finding was raised by ${CALLERS.jo.name} (${CALLERS.jo.upn})`);
  }, 90_000);

  it("Priya, who raised nothing here but is not among GW_EXCEPTION_APPROVERS, changes the exception: refused, the finding reopens and the card names her and who may approve", async () => {
    const before = s.inbox.cards().length;
    await setTags(version(), { "gallery-watch-exception": `reason=CAB-77 extended by Priya;expires=${tomorrow()}` }, CALLERS.priya);
    await waitUntilQuiet(s);
    expect(await findingOf(version(), "selectable-as-latest")).toMatchObject({ status: "open", exception: { status: "refused", setBy: { upn: CALLERS.priya.upn } } });
    const card = cardTexts(before).find((c) => c.includes("Reopened: selectable-as-latest"));
    expect(card).toContain(`Exception refused: exception tag 'gallery-watch-exception' was set by ${CALLERS.priya.name} (${CALLERS.priya.upn}), who is not among the exception approvers (GW_EXCEPTION_APPROVERS); may approve: ${CALLERS.sam.upn}`);
  }, 60_000);
});
