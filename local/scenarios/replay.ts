/**
 * Plays the design brief's three case studies against a running local stack, step by step,
 * through the simulated ARM's HTTP API (as people with `az` would), and waits after each step
 * for the product to react. Used by `npm start` and the end-to-end tests.
 */
import type { LocalStack } from "../stack.js";
import { armWrite, type Caller } from "../armWrite.js";
import { waitUntilQuiet } from "../quiet.js";

export const CALLERS = {
  priya: { name: "Priya Patel", upn: "priya.patel@contoso.example", oid: "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", ipaddr: "203.0.113.24" },
  sam: { name: "Sam Okafor", upn: "sam.okafor@contoso.example", oid: "7b2e1d3f-4c5e-4f6a-9b0c-1d2e3f4a5b6c", ipaddr: "198.51.100.7" },
  jo: { name: "Jo Lindqvist", upn: "jo.lindqvist@contoso.example", oid: "8c3f2e4a-5d6f-4a7b-8c1d-2e3f4a5b6c7d", ipaddr: "192.0.2.41" },
} satisfies Record<string, Caller>;

export interface ReplayStep {
  readonly study: 1 | 2 | 3;
  readonly title: string;
  /** What gallery-watch should do in response. */
  readonly expect: string;
  run(stack: LocalStack): Promise<void>;
}

export function rg(stack: LocalStack, resourceGroup: string): string {
  return `/subscriptions/${stack.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute`;
}

export const ids = (stack: LocalStack) => ({
  plantVersion: `${rg(stack, "rg-plant")}/galleries/plantGallery/images/gateway-os/versions/1.0.0`,
  forensicsGallery: `${rg(stack, "rg-forensics")}/galleries/forensicsGallery`,
  saasGeneralized: `${rg(stack, "rg-saas")}/galleries/saasGallery/images/web-generalized`,
  saasEmergency: `${rg(stack, "rg-saas")}/galleries/saasGallery/images/emergency-specialized`,
  saasEmergencyVersion: `${rg(stack, "rg-saas")}/galleries/saasGallery/images/emergency-specialized/versions/1.0.0`,
  saasScaleSet: `${rg(stack, "rg-saas")}/virtualMachineScaleSets/vmss-saas-web`,
});

function current(stack: LocalStack, id: string): Record<string, any> {
  const body = stack.arm.estate.get(id);
  if (!body) throw new Error(`the simulated estate has no ${id}; was it seeded with the case studies?`);
  return structuredClone(body) as Record<string, any>;
}

function withRegions(body: Record<string, any>, regions: readonly string[]): Record<string, any> {
  const targetRegions = regions.map((name) => ({ name, regionalReplicaCount: 1, storageAccountType: "Standard_ZRS" }));
  return { location: body.location, tags: body.tags, properties: { ...body.properties, publishingProfile: { ...body.properties.publishingProfile, targetRegions } } };
}

export function scaleSetBody(imageId: string, capacity: number, tags: Record<string, string> = {}): Record<string, unknown> {
  return {
    location: "westeurope",
    tags,
    sku: { name: "Standard_D2s_v5", tier: "Standard", capacity },
    properties: {
      orchestrationMode: "Uniform",
      upgradePolicy: { mode: "Manual" },
      virtualMachineProfile: {
        storageProfile: { imageReference: { id: imageId }, osDisk: { createOption: "FromImage", caching: "ReadWrite", managedDisk: { storageAccountType: "Premium_LRS" } } },
        networkProfile: { networkInterfaceConfigurations: [] },
      },
    },
  };
}

/** The steps, in order. `today` fixes dates relative to the run (end of life, exception expiry). */
export function caseStudySteps(today: Date): ReplayStep[] {
  const days = (n: number) => new Date(today.getTime() + n * 86_400_000).toISOString().slice(0, 10);
  return [
    {
      study: 1,
      title: "Plant gateway: Priya adds three more regions to the specialized gateway image",
      expect: "replication-breadth opened, naming Priya",
      run: async (stack) => {
        const id = ids(stack).plantVersion;
        await armWrite(stack.arm, CALLERS.priya, "PUT", id, withRegions(current(stack, id), ["West Europe", "North Europe", "East US", "UK South", "Southeast Asia"]));
      },
    },
    {
      study: 1,
      title: "Plant gateway: Priya removes the extra regions again",
      expect: "replication-breadth resolved",
      run: async (stack) => {
        const id = ids(stack).plantVersion;
        await armWrite(stack.arm, CALLERS.priya, "PUT", id, withRegions(current(stack, id), ["West Europe", "North Europe"]));
      },
    },
    {
      study: 2,
      title: "Forensics lab: the nightly sweep runs after one version's end-of-life date has passed",
      expect: "lifecycle opened for the retired-but-replicated version",
      run: async (stack) => {
        await stack.host.invoke("nightlySweep");
      },
    },
    {
      study: 2,
      title: "Forensics lab: Sam switches the gallery to Community (public)",
      expect: "shared-outside opened, critical",
      run: async (stack) => {
        await armWrite(stack.arm, CALLERS.sam, "POST", `${ids(stack).forensicsGallery}/share`, { operationType: "EnableCommunity" });
      },
    },
    {
      study: 3,
      title: "SaaS: Jo captures an emergency specialized version",
      expect: "selectable-as-latest opened (the version is not excluded from latest)",
      run: async (stack) => {
        const definition = ids(stack).saasEmergency;
        await armWrite(stack.arm, CALLERS.jo, "PUT", `${definition}/versions/1.0.0`, {
          location: "westeurope",
          tags: { owner: "saas-sre", approver: "jo.lindqvist" },
          properties: {
            publishingProfile: { targetRegions: [{ name: "West Europe", regionalReplicaCount: 1 }], excludeFromLatest: false, endOfLifeDate: `${days(30)}T00:00:00Z` },
            storageProfile: { source: { virtualMachineId: `${rg(stack, "rg-saas")}/virtualMachines/web-07` } },
          },
        });
      },
    },
    {
      study: 3,
      title: "SaaS: a scale-set template follows the emergency definition as latest (180 instances)",
      expect: "scale-set-use opened, critical, within seconds",
      run: async (stack) => {
        await armWrite(stack.arm, CALLERS.jo, "PUT", ids(stack).saasScaleSet, scaleSetBody(ids(stack).saasEmergency, 180));
      },
    },
    {
      study: 3,
      title: "SaaS: the version is excluded from latest and the scale set moved to the generalized image",
      expect: "selectable-as-latest and scale-set-use resolved",
      run: async (stack) => {
        const id = ids(stack).saasEmergencyVersion;
        const version = current(stack, id);
        version.properties.publishingProfile.excludeFromLatest = true;
        await armWrite(stack.arm, CALLERS.jo, "PUT", id, { location: version.location, tags: version.tags, properties: version.properties });
        await armWrite(stack.arm, CALLERS.jo, "PUT", ids(stack).saasScaleSet, scaleSetBody(ids(stack).saasGeneralized, 180));
      },
    },
    {
      study: 3,
      title: "SaaS: Sam approves an exception on the scale set (Tags API), then Jo moves it back to the emergency image until tomorrow",
      expect: "scale-set-use excepted, the card naming Sam as the exception's setter (Jo raised it: separation of duties)",
      run: async (stack) => {
        const exception = { "gallery-watch-exception": `reason=CAB-4711 emergency rollback;expires=${days(1)}` };
        // The approver sets the tag, not the person whose change needs it: an exception Jo set on
        // Jo's own change would be refused. Recorded before Jo's write, so its history names Sam.
        await armWrite(stack.arm, CALLERS.sam, "PATCH", `${ids(stack).saasScaleSet}/providers/Microsoft.Resources/tags/default`, { operation: "Merge", properties: { tags: exception } });
        await waitUntilQuiet(stack);
        await armWrite(stack.arm, CALLERS.jo, "PUT", ids(stack).saasScaleSet, scaleSetBody(ids(stack).saasEmergency, 180, exception));
      },
    },
  ];
}
