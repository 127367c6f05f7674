/** A deleted resource resolves its findings; a resource gallery-watch cannot read becomes a blind-spot finding. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { CALLERS, ids } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";

let s: LocalStack;
beforeAll(async () => {
  s = await startLocalStack({ seed: caseStudySeed(undefined, new Date()), log: pino({ level: "silent" }) });
});
afterAll(async () => s?.close());

const titles = () => s.inbox.cards().map((c) => JSON.stringify(c.card).match(/(Opened|Resolved|Escalated): [a-z-]+/)?.[0]);

describe("deletion and missing access", () => {
  it("deleting a violating version records the deletion and resolves its findings", async () => {
    const version = `${ids(s).saasEmergency}/versions/1.0.0`;
    await armWrite(s.arm, CALLERS.jo, "PUT", version, { location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { publishingProfile: { targetRegions: [{ name: "West Europe" }], excludeFromLatest: false, endOfLifeDate: "2027-01-31T00:00:00Z" }, storageProfile: { source: { virtualMachineId: "/subscriptions/7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f/resourceGroups/rg-capture/providers/Microsoft.Compute/virtualMachines/capture-vm" } } } });
    await waitUntilQuiet(s);
    expect(titles()).toEqual(["Opened: selectable-as-latest"]);
    await armWrite(s.arm, CALLERS.jo, "DELETE", version);
    await waitUntilQuiet(s);
    expect(titles()).toEqual(["Opened: selectable-as-latest", "Resolved: selectable-as-latest"]);
    const view = (await (await fetch(`${s.host.url}/api/resources/history?id=${encodeURIComponent(version)}`, { headers: { "x-functions-key": s.keys.function } })).json()) as Record<string, any>;
    expect(view.changes[0]).toMatchObject({ action: "deleted", trigger: { attribution: { callerName: "Jo Lindqvist" } } });
    expect(view.findings[0]).toMatchObject({ status: "resolved", facts: { resolution: "resource deleted" } });
  });

  it("a 403 on re-read raises a read-access blind-spot finding instead of silence, resolved once access returns", async () => {
    s.arm.faults.add({ kind: "error", status: 403, method: "GET", path: "/galleries/plantGallery/images/gateway-os/versions/1.0.0", times: 10 });
    const body = structuredClone(s.arm.estate.get(ids(s).plantVersion)) as Record<string, any>;
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, { location: body.location, tags: body.tags, properties: body.properties });
    await waitUntilQuiet(s);
    expect(titles().at(-1)).toBe("Opened: read-access");
    expect(JSON.stringify(s.inbox.cards().at(-1)!.card)).toContain("az role assignment create");
    s.arm.faults.clear();
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, { location: body.location, tags: body.tags, properties: body.properties });
    await waitUntilQuiet(s);
    expect(titles().at(-1)).toBe("Resolved: read-access");
  });
});
