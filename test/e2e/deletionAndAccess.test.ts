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

  it("a 404 on the first read right after a write is not a deletion: re-checked, and the write judged once ARM shows it", async () => {
    const version = `${ids(s).saasEmergency}/versions/2.0.0`;
    const body = (regions: string[]) => ({ location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { publishingProfile: { targetRegions: regions.map((name) => ({ name })), excludeFromLatest: true, endOfLifeDate: "2027-01-31T00:00:00Z" }, storageProfile: { source: { virtualMachineId: "/subscriptions/7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f/resourceGroups/rg-capture/providers/Microsoft.Compute/virtualMachines/capture-vm" } } } });
    await armWrite(s.arm, CALLERS.jo, "PUT", version, body(["West Europe"]));
    await waitUntilQuiet(s);
    const before = s.inbox.cards().length;
    // ARM's read lags the write its event announces: the next GET of the version answers 404.
    s.arm.faults.add({ kind: "error", status: 404, method: "GET", path: "/images/emergency-specialized/versions/2.0.0", times: 1 });
    await armWrite(s.arm, CALLERS.jo, "PUT", version, body(["West Europe", "North Europe", "East US", "West US"]));
    await waitUntilQuiet(s);
    await new Promise((r) => setTimeout(r, 3_000)); // the re-check's delay
    await waitUntilQuiet(s);
    s.arm.faults.clear();
    const view = (await (await fetch(`${s.host.url}/api/resources/history?id=${encodeURIComponent(version)}`, { headers: { "x-functions-key": s.keys.function } })).json()) as Record<string, any>;
    expect(view.state).toBe("present");
    expect(view.changes.map((c: { action: string }) => c.action)).not.toContain("deleted");
    expect(view.snapshot.snapshot.targetRegions).toHaveLength(4);
    expect(titles().slice(before)).toEqual(["Opened: replication-breadth"]);
  });

  it("an event for a resource ARM has never shown, delivered twice, is dropped after its re-checks, with no history rows", async () => {
    const ghost = `${ids(s).saasEmergency}/versions/9.9.9`;
    const event = { id: "forged-1", topic: `/subscriptions/${s.subscriptionId}`, subject: ghost, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: new Date().toISOString(), dataVersion: "2", metadataVersion: "1", data: { operationName: "Microsoft.Compute/galleries/images/versions/write", resourceUri: ghost, status: "Succeeded", claims: { name: "Mallory" } } };
    const deliver = () => fetch(s.host.eventGridUrl("eventGridResourceEvent"), { method: "POST", headers: { "content-type": "application/json", "aeg-event-type": "Notification" }, body: JSON.stringify([event]) });
    expect((await deliver()).status).toBeLessThan(300);
    // Event Grid's at-least-once copy, while the first waits for its re-check: it had written a 'coalesced' row naming Mallory.
    expect((await deliver()).status).toBeLessThan(300);
    await waitUntilQuiet(s);
    await new Promise((r) => setTimeout(r, 7_000)); // its re-check
    await waitUntilQuiet(s);
    const history = await fetch(`${s.host.url}/api/resources/history?id=${encodeURIComponent(ghost)}`, { headers: { "x-functions-key": s.keys.function } });
    expect(history.status).toBe(404);
    const changes = (await (await fetch(`${s.host.url}/api/changes?since=1h&caller=Mallory`, { headers: { "x-functions-key": s.keys.function } })).json()) as { items: unknown[] };
    expect(changes.items).toEqual([]);
  }, 60_000);

  it("a delete followed within seconds by a re-create is recorded as both", async () => {
    const version = `${ids(s).saasEmergency}/versions/3.0.0`;
    const body = { location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { publishingProfile: { targetRegions: [{ name: "West Europe" }], excludeFromLatest: true, endOfLifeDate: "2027-01-31T00:00:00Z" }, storageProfile: { source: { virtualMachineId: "/subscriptions/7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f/resourceGroups/rg-capture/providers/Microsoft.Compute/virtualMachines/capture-vm" } } } };
    await armWrite(s.arm, CALLERS.jo, "PUT", version, body);
    await waitUntilQuiet(s);
    // The delete's event reaches gallery-watch after the re-create (Event Grid does not keep order).
    await armWrite(s.arm, CALLERS.jo, "DELETE", version, undefined, { headers: { "x-simulator-drop-event": "true" }, wait: true });
    const deletedAt = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 50));
    await armWrite(s.arm, CALLERS.jo, "PUT", version, body, { wait: true });
    await waitUntilQuiet(s);
    const deleteEvent = { id: "late-delete-1", topic: `/subscriptions/${s.subscriptionId}`, subject: version, eventType: "Microsoft.Resources.ResourceDeleteSuccess", eventTime: deletedAt, dataVersion: "2", metadataVersion: "1", data: { operationName: "Microsoft.Compute/galleries/images/versions/delete", resourceUri: version, status: "Succeeded", claims: { name: "Jo Lindqvist" } } };
    await fetch(s.host.eventGridUrl("eventGridResourceEvent"), { method: "POST", headers: { "content-type": "application/json", "aeg-event-type": "Notification" }, body: JSON.stringify([deleteEvent]) });
    await waitUntilQuiet(s);
    const view = (await (await fetch(`${s.host.url}/api/resources/history?id=${encodeURIComponent(version)}`, { headers: { "x-functions-key": s.keys.function } })).json()) as Record<string, any>;
    expect(view.changes.map((c: { action: string }) => c.action)).toContain("deleted");
    expect(view.state).toBe("present");
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
