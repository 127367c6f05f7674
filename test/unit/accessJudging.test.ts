/**
 * `broad-access` on the judging path through in-memory adapters: a specialized definition is
 * judged with who can use it (the role assignments at, above and below it); a role assignment
 * written or deleted judges again the stored specialized definitions its scope reaches, and only
 * those; what could not be read reaches no verdict.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { checkResource } from "../../shared/app/checkResource.js";
import { handleResourceEvent, type EventSettings } from "../../shared/app/handleResourceEvent.js";
import { classifyEvent } from "../../shared/app/resourceEvent.js";
import { sweepSubscription } from "../../shared/app/sweepSubscription.js";
import { READER_ROLE_ID, OWNER_ROLE_ID } from "../../local/armSimulator/builtInRoles.js";
import { aWorld, type World } from "../support/inMemoryPorts.js";
import { BASE, SUB, aDefinition, aGallery, aVersion, policy } from "../support/snapshotBuilders.js";

const PIPELINE = "2b3c4d5e-6f70-4182-9a3b-4c5d6e7f8091";
const OPERATORS = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const WATCHER = "33333333-0000-4000-8000-000000000003";
const settings: EventSettings = {
  policy: policy({ approvedImageUsers: [OPERATORS, WATCHER] }),
  portalUrl: "https://portal.example.test",
  recheckDelaySeconds: 60,
  recheckMaxAttempts: 3,
  maxEventBytes: 1024 * 1024,
  watchedSubscriptions: new Set([SUB]),
};
const GALLERY = `${BASE}/galleries/gal`;
const specialized = aDefinition();
const generalized = aDefinition({ name: "base", osState: "Generalized" });

let n = 0;
const roleAssignmentEvent = (assignmentId: string, operation: "write" | "delete") => ({
  id: `ra-${++n}`,
  topic: `/subscriptions/${SUB}`,
  subject: assignmentId,
  eventType: operation === "write" ? "Microsoft.Resources.ResourceWriteSuccess" : "Microsoft.Resources.ResourceDeleteSuccess",
  eventTime: "2026-11-24T12:00:00Z",
  dataVersion: "2",
  metadataVersion: "1",
  data: {
    operationName: `Microsoft.Authorization/roleAssignments/${operation}`,
    resourceUri: assignmentId,
    resourceProvider: "Microsoft.Authorization",
    status: "Succeeded",
    claims: { name: "Ana Admin", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "ana@contoso.example", "http://schemas.microsoft.com/identity/claims/objectidentifier": "0a1b2c3d-0000-4000-8000-00000000a0a0" },
  },
});
const write = (id: string) => ({ source: "event", attribution: { eventId: `w-${++n}`, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-24T12:00:00Z", operationName: "Microsoft.Compute/galleries/images/write", callerUpn: "jo@contoso.example" } }) as const;

let world: World;
beforeEach(async () => {
  world = aWorld();
  world.azure.put(aGallery(), specialized, generalized, aVersion());
  world.access.assign(`/subscriptions/${SUB}`, "00000001-aaaa-4bbb-8ccc-dddddddddddd", WATCHER, READER_ROLE_ID);
  world.access.assign(specialized.id.display, "00000002-aaaa-4bbb-8ccc-dddddddddddd", OPERATORS, READER_ROLE_ID, "Group");
  for (const d of [specialized, generalized]) await checkResource(world.deps(), settings, d.id, write(d.id.display));
});

describe("broad-access on the judging path", () => {
  it("judges a specialized definition with who can use it: only approved principals → nothing open, and no access read for a generalized one", async () => {
    expect(world.findings.of("broad-access", specialized.id)).toBeUndefined();
    const reads = world.access.reads;
    await checkResource(world.deps(), settings, generalized.id, write(generalized.id.display));
    expect(world.access.reads).toBe(reads);
  });

  it("a role assignment granting Reader on the gallery to an unapproved pipeline identity opens broad-access on the definition, naming it, raised by the assignment's caller; deleting it resolves it", async () => {
    const grant = world.access.assign(GALLERY, "00000003-aaaa-4bbb-8ccc-dddddddddddd", PIPELINE, READER_ROLE_ID);
    const result = await handleResourceEvent(world.deps(), settings, roleAssignmentEvent(grant.id, "write"));
    expect(result.disposition).toBe("accepted");
    const finding = world.findings.of("broad-access", specialized.id)!;
    expect(finding).toMatchObject({ status: "open", severity: "high", facts: { unapprovedPrincipals: [PIPELINE], grantingAssignments: [grant.id] } });
    expect(finding.summary).toContain(`ServicePrincipal ${PIPELINE} (Reader inherited from ${GALLERY})`);
    expect(finding.remediation.commands[0]).toBe(`az role assignment delete --ids ${grant.id}`);
    expect(finding.raisedBy).toEqual([expect.objectContaining({ upn: "ana@contoso.example" })]);
    // Only the specialized definition was judged: the generalized one has nothing.
    expect(world.findings.of("broad-access", generalized.id)).toBeUndefined();
    // The change is on the definition's record, attributed to the assignment's event.
    expect((await world.resources.changes(specialized.id.key)).map((c) => c.trigger.source === "event" ? c.trigger.attribution.operationName : c.trigger.source)).toContain("Microsoft.Authorization/roleAssignments/write");

    world.access.unassign(grant.id);
    await handleResourceEvent(world.deps(), settings, roleAssignmentEvent(grant.id, "delete"));
    expect(world.findings.of("broad-access", specialized.id)?.status).toBe("resolved");
  });

  it("an assignment on one version counts for its definition; one on another gallery or a storage account judges nothing here", async () => {
    const onVersion = world.access.assign(`${specialized.id.display}/versions/1.0.0`, "00000004-aaaa-4bbb-8ccc-dddddddddddd", PIPELINE, READER_ROLE_ID);
    await handleResourceEvent(world.deps(), settings, roleAssignmentEvent(onVersion.id, "write"));
    expect(world.findings.of("broad-access", specialized.id)?.status).toBe("open");

    const reads = world.access.reads;
    const other = `${BASE}/galleries/otherGallery`;
    await handleResourceEvent(world.deps(), settings, roleAssignmentEvent(`${other}/providers/Microsoft.Authorization/roleAssignments/00000005-aaaa-4bbb-8ccc-dddddddddddd`, "write"));
    await handleResourceEvent(world.deps(), settings, roleAssignmentEvent(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/providers/Microsoft.Authorization/roleAssignments/00000006-aaaa-4bbb-8ccc-dddddddddddd`, "write"));
    expect(world.access.reads).toBe(reads);
  });

  it("an Owner on the subscription for a tenant-wide group is high even with no approved list", async () => {
    const everyone = world.access.assign(`/subscriptions/${SUB}`, "00000007-aaaa-4bbb-8ccc-dddddddddddd", world.access.tenantId, OWNER_ROLE_ID, "Group");
    await handleResourceEvent(world.deps(), { ...settings, policy: policy() }, roleAssignmentEvent(everyone.id, "write"));
    expect(world.findings.of("broad-access", specialized.id)).toMatchObject({ status: "open", severity: "high", facts: { tenantWideGroups: [world.access.tenantId] } });
  });

  it("role assignments gallery-watch may not read: a read-access blind spot on the definition, and broad-access keeps its verdict", async () => {
    const grant = world.access.assign(GALLERY, "00000008-aaaa-4bbb-8ccc-dddddddddddd", PIPELINE, READER_ROLE_ID);
    await handleResourceEvent(world.deps(), settings, roleAssignmentEvent(grant.id, "write"));
    world.access.fault = "noAccess";
    world.access.unassign(grant.id);
    await handleResourceEvent(world.deps(), settings, roleAssignmentEvent(grant.id, "delete"));
    expect(world.findings.of("broad-access", specialized.id)?.status).toBe("open");
    expect(world.findings.of("read-access", specialized.id)).toMatchObject({ status: "open", facts: { unreadable: `${specialized.id.display}/providers/Microsoft.Authorization/roleAssignments` } });
    world.access.fault = "throttled";
    await expect(handleResourceEvent(world.deps(), settings, roleAssignmentEvent(grant.id, "delete"))).rejects.toThrow(/throttled/);
  });

  it("the nightly sweep finds an assignment whose event was lost: broad-access opens on the definition it reaches, with no caller to name", async () => {
    world.access.assign(`/subscriptions/${SUB}/resourceGroups/rg`, "0000000b-aaaa-4bbb-8ccc-dddddddddddd", PIPELINE, READER_ROLE_ID);
    await sweepSubscription(world.deps(), settings, SUB, "run-1");
    const finding = world.findings.of("broad-access", specialized.id)!;
    expect(finding).toMatchObject({ status: "open", severity: "high", facts: { unapprovedPrincipals: [PIPELINE] } });
    expect(finding.raisedBy ?? []).toEqual([]);
    expect(world.findings.of("broad-access", generalized.id)).toBeUndefined();
  });

  it("classifies role-assignment events by their scope; one outside a subscription is refused", async () => {
    const accepted = await classifyEvent(roleAssignmentEvent(`${GALLERY}/providers/Microsoft.Authorization/roleAssignments/00000009-aaaa-4bbb-8ccc-dddddddddddd`, "write"), 1 << 20);
    expect(accepted).toMatchObject({ kind: "accepted", event: { action: "scopeChange", scope: GALLERY, subscriptionId: SUB, resourceGroup: "rg" } });
    // A subscription-wide assignment names no resource group: every stored image of the subscription is reached.
    const subscriptionWide = await classifyEvent(roleAssignmentEvent(`/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/0000000b-aaaa-4bbb-8ccc-dddddddddddd`, "write"), 1 << 20);
    expect(subscriptionWide).toMatchObject({ kind: "accepted", event: { action: "scopeChange", scope: `/subscriptions/${SUB}`, subscriptionId: SUB } });
    expect(subscriptionWide.kind === "accepted" && subscriptionWide.event.action === "scopeChange" ? subscriptionWide.event.resourceGroup : "unexpected").toBeUndefined();
    const root = await classifyEvent(roleAssignmentEvent("/providers/Microsoft.Management/managementGroups/contoso/providers/Microsoft.Authorization/roleAssignments/0000000a-aaaa-4bbb-8ccc-dddddddddddd", "write"), 1 << 20);
    expect(root.kind).toBe("invalid");
  });
});
