/**
 * The image inventory from the in-memory store: definitions grouped with their versions (regions,
 * replicas, latest, end of life), their gallery's sharing, the scale sets that use them, open
 * findings; Specialized by default (with those whose osState is unknown); paged by definition.
 */
import { describe, expect, it } from "vitest";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { Finding } from "../../shared/domain/findings.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import { imageInventory, type InventoryDefinition } from "../../shared/app/inventory.js";
import { MemoryFindingStore, MemoryResourceStore } from "../support/inMemoryPorts.js";
import { aDefinition, aGallery, aScaleSet, aVersion, aVm, BASE, regions, SUB } from "../support/snapshotBuilders.js";

const OTHER_SUB = "99999999-8888-7777-6666-555555555555";

async function storeOf(...snapshots: Snapshot[]): Promise<MemoryResourceStore> {
  const store = new MemoryResourceStore();
  for (const [i, snapshot] of snapshots.entries()) {
    await store.recordSnapshot({ snapshot, contentHash: `h${i}`, observedAt: "2026-11-20T10:00:00Z", trigger: { source: "sweep", runId: "r1" } });
  }
  return store;
}

function finding(resourceKey: string, ruleId: Finding["ruleId"], status: Finding["status"]): Finding {
  return { fingerprint: `${ruleId}:${resourceKey}`, ruleId, resourceKey, resourceId: resourceKey, resourceKind: "imageVersion", status, severity: "high", summary: "", facts: {}, magnitude: 1, remediation: { commands: [], portalUrl: "", advice: "" }, firstSeenAt: "2026-11-20T10:00:00Z", updatedAt: "2026-11-20T10:00:00Z", revision: 1 };
}

const estate = (): Snapshot[] => [
  aGallery({ sharing: { permissions: "Groups", groups: [{ type: "Subscriptions", ids: [OTHER_SUB] }] } }),
  aDefinition({ name: "gateway-os" }),
  aVersion({ definition: "gateway-os", version: "1.10.0", targetRegions: regions(["West Europe", 2], "North Europe", "East US"), replicaCount: 1, excludeFromLatest: false }),
  aVersion({ definition: "gateway-os", version: "1.2.0" }),
  aDefinition({ name: "web", osState: "Generalized" }),
  aVersion({ definition: "web", version: "2.0.0", osState: "Generalized" }),
  aDefinition({ name: "mystery", osState: "Unknown" }),
  aScaleSet({ definition: "gateway-os", capacity: 180, image: { outcome: "resolved", definitionId: `${BASE}/galleries/gal/images/gateway-os`, osState: "Specialized", versionId: `${BASE}/galleries/gal/images/gateway-os/versions/1.10.0` } }),
];

const names = (items: readonly InventoryDefinition[]) => items.map((d) => d.name);

describe("imageInventory", () => {
  it("groups each specialized definition with its versions, regions and replicas, sharing, scale sets and open findings", async () => {
    const resources = await storeOf(...estate());
    const findings = new MemoryFindingStore();
    const v110 = `${BASE}/galleries/gal/images/gateway-os/versions/1.10.0`.toLowerCase();
    for (const f of [finding(v110, "replication-breadth", "open"), finding(v110, "selectable-as-latest", "escalated"), finding(v110, "lifecycle", "resolved"), finding(`${BASE}/galleries/gal`.toLowerCase(), "shared-outside", "open")]) {
      findings.findings.set(f.fingerprint, f);
    }
    const page = await imageInventory({ resources, findings }, { subscriptions: [SUB], osState: "Specialized" });
    // Specialized, and the one whose osState gallery-watch could not read; never the Generalized one.
    expect(names(page.items)).toEqual(["gateway-os", "mystery"]);
    expect(page.continuationToken).toBeUndefined();
    const gateway = page.items[0]!;
    expect(gateway).toMatchObject({
      osState: "Specialized",
      gallery: "gal",
      resourceGroup: "rg",
      sharing: { permissions: "Groups", sharedWith: [`Subscriptions:${OTHER_SUB}`] },
      openFindings: 0,
      galleryOpenFindings: 1,
    });
    expect(gateway.versions.map((v) => v.version)).toEqual(["1.2.0", "1.10.0"]);
    expect(gateway.versions[1]).toMatchObject({
      regions: [
        { region: "westeurope", name: "West Europe", replicas: 2 },
        { region: "northeurope", name: "North Europe", replicas: 1 },
        { region: "eastus", name: "East US", replicas: 1 },
      ],
      totalReplicas: 4,
      excludeFromLatest: false,
      openFindings: 2,
    });
    expect(gateway.scaleSets).toEqual([{ id: `${BASE}/virtualMachineScaleSets/vmss`, capacity: 180, follows: "latest", runsVersion: "1.10.0", openFindings: 0 }]);
    expect(page.items[1]).toMatchObject({ name: "mystery", osState: "Unknown", versions: [], scaleSets: [] });
  });

  it("shows each version's lineage: the machines that ran it, first seen, and last seen once they no longer do", async () => {
    const resources = await storeOf(...estate());
    const v110 = `${BASE}/galleries/gal/images/gateway-os/versions/1.10.0`;
    const drill = aVm({ name: "drill", definition: "gateway-os", version: "1.10.0" });
    await resources.recordSnapshot({ snapshot: drill, contentHash: "vm", observedAt: "2026-11-21T08:00:00Z", trigger: { source: "sweep", runId: "r2" } });
    await resources.recordDeletion(drill.id, "2026-11-22T08:00:00Z", { source: "sweep", runId: "r3" });
    const gateway = (await imageInventory({ resources, findings: new MemoryFindingStore() }, { subscriptions: [SUB], osState: "Specialized" })).items[0]!;
    expect(gateway.versions.find((v) => v.id === v110)?.lineage).toEqual([
      { machineId: drill.id.display, kind: "virtualMachine", firstSeen: "2026-11-21T08:00:00Z", lastSeen: "2026-11-22T08:00:00Z" },
      { machineId: `${BASE}/virtualMachineScaleSets/vmss`, kind: "scaleSet", firstSeen: "2026-11-20T10:00:00Z" },
    ]);
    expect(gateway.versions.find((v) => v.version === "1.2.0")?.lineage).toEqual([]);
  });

  it("lists Generalized ones, or all, when asked", async () => {
    const resources = await storeOf(...estate());
    const deps = { resources, findings: new MemoryFindingStore() };
    expect(names((await imageInventory(deps, { subscriptions: [SUB], osState: "Generalized" })).items)).toEqual(["web"]);
    expect(names((await imageInventory(deps, { subscriptions: [SUB], osState: "all" })).items)).toEqual(["gateway-os", "mystery", "web"]);
  });

  it("leaves out deleted definitions and subscriptions not asked for", async () => {
    const elsewhere = aDefinition({ id: parseResourceId(`/subscriptions/${OTHER_SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal/images/far`) });
    const resources = await storeOf(...estate(), elsewhere);
    await resources.recordDeletion(parseResourceId(`${BASE}/galleries/gal/images/mystery`), "2026-11-21T00:00:00Z", { source: "sweep", runId: "r2" });
    const deps = { resources, findings: new MemoryFindingStore() };
    expect(names((await imageInventory(deps, { subscriptions: [SUB], osState: "Specialized" })).items)).toEqual(["gateway-os"]);
    expect(names((await imageInventory(deps, { subscriptions: [SUB, OTHER_SUB], osState: "Specialized" })).items)).toEqual(["gateway-os", "far"]); // by id: subscription first
  });

  it("pages by definition: every definition once, no token after the last", async () => {
    const many = Array.from({ length: 7 }, (_, i) => aDefinition({ name: `img-${i}` }));
    const resources = await storeOf(aGallery(), ...many, aDefinition({ name: "img-gen", osState: "Generalized" }));
    const deps = { resources, findings: new MemoryFindingStore() };
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await imageInventory(deps, { subscriptions: [SUB], osState: "Specialized", limit: 3, ...(token ? { continuationToken: token } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...names(page.items));
      token = page.continuationToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(many.map((d) => d.id.image));
  });
});
