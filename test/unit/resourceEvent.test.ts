import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { classifyEvent, type ResourceEvent } from "../../shared/app/resourceEvent.js";
import { WATCHED_OPERATIONS } from "../../shared/domain/resourceTypes.js";

/** The resource a resource event names (a resource-group delete names none). */
function idOf(event: ResourceEvent) {
  if (event.action === "resourceGroupDelete" || event.action === "scopeChange") throw new Error(`a ${event.action} names no resource`);
  return event.resourceId;
}

const SUB = "00000000-1111-2222-3333-444444444444";
const VERSION_ID = `/subscriptions/${SUB}/resourceGroups/rg-plant/providers/Microsoft.Compute/galleries/plantGallery/images/gateway-os/versions/1.0.0`;
const MAX = 1024 * 1024;

function eventGridEvent(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "5f0e8c1e-0000-4000-8000-000000000001",
    topic: `/subscriptions/${SUB}`,
    subject: VERSION_ID,
    eventType: "Microsoft.Resources.ResourceWriteSuccess",
    eventTime: "2026-11-24T10:15:00.123Z",
    dataVersion: "2",
    metadataVersion: "1",
    data: {
      operationName: "Microsoft.Compute/galleries/images/versions/write",
      resourceUri: VERSION_ID,
      status: "Succeeded",
      correlationId: "c0ffee00-0000-4000-8000-000000000002",
      subscriptionId: SUB,
      claims: {
        name: "Priya Patel",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "priya@contoso.example",
        appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "http://schemas.microsoft.com/identity/claims/objectidentifier": "11111111-2222-3333-4444-555555555555",
        ipaddr: "203.0.113.7",
        aud: "https://management.core.windows.net/",
        puid: "not-for-storage",
      },
      httpRequest: { clientIpAddress: "203.0.113.7", method: "PUT", url: "https://management.azure.com/..." },
      authorization: { action: "Microsoft.Compute/galleries/images/versions/write", evidence: { role: "Contributor" } },
      ...data,
    },
    ...overrides,
  };
}

describe("classifyEvent", () => {
  it("accepts a version write in the Event Grid schema and keeps only attribution from the claims", async () => {
    const result = await classifyEvent(eventGridEvent(), MAX);
    expect(result.kind).toBe("accepted");
    if (result.kind !== "accepted") return;
    expect(result.event.action).toBe("write");
    expect(idOf(result.event).kind).toBe("imageVersion");
    expect(idOf(result.event).display).toBe(VERSION_ID);
    expect(result.event.attribution).toEqual({
      eventId: "5f0e8c1e-0000-4000-8000-000000000001",
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      eventTime: "2026-11-24T10:15:00.123Z",
      operationName: "Microsoft.Compute/galleries/images/versions/write",
      correlationId: "c0ffee00-0000-4000-8000-000000000002",
      callerName: "Priya Patel",
      callerUpn: "priya@contoso.example",
      callerAppId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
      callerObjectId: "11111111-2222-3333-4444-555555555555",
      clientIp: "203.0.113.7",
      httpMethod: "PUT",
      role: "Contributor",
    });
    expect(JSON.stringify(result.event.attribution)).not.toContain("not-for-storage");
  });

  it("accepts the same event as CloudEvents 1.0", async () => {
    const eg = eventGridEvent();
    const cloudEvent = { specversion: "1.0", id: "ce-1", type: eg.eventType, source: eg.topic, subject: eg.subject, time: "2026-11-24T10:15:00Z", datacontenttype: "application/json", data: eg.data };
    const result = await classifyEvent(cloudEvent, MAX);
    expect(result.kind).toBe("accepted");
    if (result.kind === "accepted") {
      expect(result.event.attribution.eventId).toBe("ce-1");
      expect(idOf(result.event).key).toBe(VERSION_ID.toLowerCase());
    }
  });

  it.each([
    ["write", "Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/virtualMachines/write"],
    ["delete", "Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Compute/virtualMachines/delete"],
  ])("accepts a virtual machine %s as a watched kind's event", async (action, eventType, operationName) => {
    const result = await classifyEvent(eventGridEvent({ eventType }, { operationName, resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/drill-01` }), MAX);
    expect(result.kind).toBe("accepted");
    if (result.kind === "accepted") {
      expect(result.event.action).toBe(action);
      expect(idOf(result.event)).toMatchObject({ kind: "virtualMachine", virtualMachine: "drill-01" });
    }
  });

  it("treats a gallery share action as an action on the gallery", async () => {
    const galleryId = VERSION_ID.replace(/\/images\/.*$/, "");
    const result = await classifyEvent(
      eventGridEvent({ eventType: "Microsoft.Resources.ResourceActionSuccess", subject: `${galleryId}/share` }, { operationName: "Microsoft.Compute/galleries/share/action", resourceUri: `${galleryId}/share` }),
      MAX,
    );
    expect(result.kind).toBe("accepted");
    if (result.kind === "accepted") {
      expect(result.event.action).toBe("action");
      expect(idOf(result.event).kind).toBe("gallery");
    }
  });

  it.each([
    ["another provider", eventGridEvent({}, { operationName: "Microsoft.Storage/storageAccounts/write" }), /not a gallery, scale set or virtual machine operation/],
    ["another event type", eventGridEvent({ eventType: "Microsoft.Resources.ResourceWriteFailure" }), /is not watched/],
    ["an action that changes nothing we judge", eventGridEvent({ eventType: "Microsoft.Resources.ResourceActionSuccess" }, { operationName: "Microsoft.Compute/virtualMachineScaleSets/restart/action" }), /does not change/],
    ["a scale set instance", eventGridEvent({}, { operationName: "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss/virtualMachines/3` }), /does not change/],
    ["a scale set extension", eventGridEvent({}, { operationName: "Microsoft.Compute/virtualMachineScaleSets/extensions/write", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss/extensions/health` }), /does not change/],
    ["a VM extension", eventGridEvent({}, { operationName: "Microsoft.Compute/virtualMachines/extensions/write", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/drill-01/extensions/AzureMonitorLinuxAgent` }), /does not change/],
    ["a VM restart", eventGridEvent({ eventType: "Microsoft.Resources.ResourceActionSuccess" }, { operationName: "Microsoft.Compute/virtualMachines/restart/action", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/drill-01` }), /does not change/],
    ["a VM start", eventGridEvent({ eventType: "Microsoft.Resources.ResourceActionSuccess" }, { operationName: "Microsoft.Compute/virtualMachines/start/action", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/drill-01` }), /does not change/],
    ["a VM deallocation", eventGridEvent({ eventType: "Microsoft.Resources.ResourceActionSuccess" }, { operationName: "Microsoft.Compute/virtualMachines/deallocate/action", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/drill-01` }), /does not change/],
    ["a VM instance view read", eventGridEvent({ eventType: "Microsoft.Resources.ResourceActionSuccess" }, { operationName: "Microsoft.Compute/virtualMachines/instanceView/read", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/drill-01/instanceView` }), /does not change/],
    ["a VM run command", eventGridEvent({}, { operationName: "Microsoft.Compute/virtualMachines/runCommands/write", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/drill-01/runCommands/patch` }), /does not change/],
    ["a gallery application", eventGridEvent({}, { operationName: "Microsoft.Compute/galleries/applications/write", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/applications/app` }), /does not change/],
    ["a gallery application version", eventGridEvent({}, { operationName: "Microsoft.Compute/galleries/applications/versions/write", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/applications/app/versions/1.0.0` }), /does not change/],
    ["tags on a storage account", eventGridEvent({}, { operationName: "Microsoft.Resources/tags/write", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/providers/Microsoft.Resources/tags/default` }), /does not watch/],
  ])("ignores %s", async (_label, event, reason) => {
    const result = await classifyEvent(event, MAX);
    expect(result.kind).toBe("ignored");
    if (result.kind === "ignored") expect(result.reason).toMatch(reason);
  });

  it.each([
    ["null", null, /got null/],
    ["an array", [eventGridEvent()], /got an array/],
    ["a number as eventType", eventGridEvent({ eventType: 7 }), /eventType/],
    ["no data.operationName", eventGridEvent({ data: { resourceUri: VERSION_ID } }), /operationName/],
    ["a hostile resource id", eventGridEvent({}, { resourceUri: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/../../x` }), /'\.\.'/],
    ["a resource id with control characters", eventGridEvent({}, { resourceUri: `${VERSION_ID}\u0000` }), /control characters/],
    ["an oversized event", eventGridEvent({}, { padding: "x".repeat(2 * MAX) }), /bytes; at most/],
    ["a 40,000-character event id (it would end up in a table key)", eventGridEvent({ id: "x".repeat(40_000) }), /event id is 40000 characters long/],
    ["a resource-group delete naming no group", eventGridEvent({ eventType: "Microsoft.Resources.ResourceDeleteSuccess" }, { operationName: "Microsoft.Resources/subscriptions/resourceGroups/delete", resourceUri: `/subscriptions/${SUB}` }), /resource group id/],
    ["a 10 KB operation name", eventGridEvent({}, { operationName: `Microsoft.Compute/galleries/${"a".repeat(10_000)}` }), /operationName/],
  ])("refuses %s with a reason", async (_label, event, reason) => {
    const result = await classifyEvent(event, MAX);
    expect(result.kind).toBe("invalid");
    if (result.kind === "invalid") {
      expect(result.reason).toMatch(reason);
      expect(result.reason.length).toBeLessThan(500);
    }
  });

  it("accepts a tag edit through the Tags API as a write of the tagged resource (Microsoft.Resources/tags/write)", async () => {
    const result = await classifyEvent(eventGridEvent({}, { operationName: "Microsoft.Resources/tags/write", resourceUri: `${VERSION_ID}/providers/Microsoft.Resources/tags/default` }), MAX);
    expect(result.kind).toBe("accepted");
    if (result.kind === "accepted") expect(idOf(result.event).key).toBe(VERSION_ID.toLowerCase());
  });

  it("accepts a resource-group delete, the one event Azure sends for everything the group held", async () => {
    const result = await classifyEvent(
      eventGridEvent({ eventType: "Microsoft.Resources.ResourceDeleteSuccess" }, { operationName: "Microsoft.Resources/subscriptions/resourceGroups/delete", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg-zürich` }),
      MAX,
    );
    expect(result.kind).toBe("accepted");
    if (result.kind === "accepted") expect(result.event).toMatchObject({ action: "resourceGroupDelete", resourceGroup: { subscriptionId: SUB, resourceGroup: "rg-zürich" } });
  });

  it("the Event Grid filter in infra/ admits exactly the operations gallery-watch acts on", () => {
    const bicep = readFileSync(path.resolve(import.meta.dirname, "../../infra/watch/eventSubscription.bicep"), "utf8");
    const filter = /key: 'data.operationName'\s*values: \[([^\]]*)\]/.exec(bicep)?.[1] ?? "";
    const admitted = [...filter.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(admitted.sort()).toEqual([...WATCHED_OPERATIONS].sort());
  });

  const fixture = path.resolve(import.meta.dirname, "../../../shared/fixtures/eventgrid/ResourceDeleteSuccess.eventgrid.json");
  describe.skipIf(!existsSync(fixture))("Microsoft's published example payload (../shared/fixtures)", () => {
    it("is read: a storage delete is ignored, and the same envelope on a gallery version is accepted with its claims", async () => {
      const [example] = JSON.parse(readFileSync(fixture, "utf8")) as Record<string, any>[];
      expect((await classifyEvent(example, MAX)).kind).toBe("ignored");
      const onVersion = { ...example, subject: VERSION_ID, data: { ...example!.data, resourceUri: VERSION_ID, operationName: "Microsoft.Compute/galleries/images/versions/delete" } };
      const result = await classifyEvent(onVersion, MAX);
      expect(result.kind).toBe("accepted");
      if (result.kind === "accepted") {
        expect(result.event.action).toBe("delete");
        expect(result.event.attribution.callerUpn).toBe("user@contoso.com");
        expect(result.event.attribution.role).toBe("Subscription Admin");
      }
    });
  });
  if (!existsSync(fixture)) console.warn(`skipping Microsoft's example payload test: ${fixture} not found (../shared absent)`);
});
