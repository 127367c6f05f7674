/**
 * Plays the design brief's three case studies (and, after them, the machines of issue 20: the
 * plant's recovery drill VM and the forensics lab's workstation) against a running local stack, step by step,
 * through the simulated ARM's HTTP API (as people with `az` would), and waits after each step
 * for the product to react. Used by `npm start` and the end-to-end tests.
 */
import type { LocalStack } from "../stack.js";
import { armWrite, type Caller } from "../armWrite.js";
import { waitUntilQuiet } from "../quiet.js";
import { READER_ROLE_ID } from "../armSimulator/builtInRoles.js";
import { IMAGE_USERS } from "./caseStudies.js";

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
  plantDrillVm: `${rg(stack, "rg-plant")}/virtualMachines/gw-drill-q4`,
  forensicsTriageVersion: `${rg(stack, "rg-forensics")}/galleries/forensicsGallery/images/triage-ws/versions/1.1.0`,
  forensicsWorkstation: `${rg(stack, FORENSICS_LAB_GROUP)}/virtualMachines/triage-ws-01`,
});

/**
 * The forensics lab's locked-down scope, where workstations may run specialized images: the local
 * stack has one subscription, so the lab's "locked-down subscription" is this resource group, named
 * in GW_ALLOWED_RESOURCE_GROUPS_FOR_SPECIALIZED (local/stack.ts).
 */
export const FORENSICS_LAB_GROUP = "rg-forensics-lab";

/** A VM as `az vm create --image <gallery image id> [--specialized]` asks for it: no osProfile from a specialized image. */
export function vmBody(imageId: string, tags: Record<string, string> = {}): Record<string, unknown> {
  return {
    location: "westeurope",
    tags,
    properties: {
      hardwareProfile: { vmSize: "Standard_D2s_v3" },
      storageProfile: { imageReference: { id: imageId }, osDisk: { osType: "Linux", createOption: "FromImage", caching: "ReadWrite", managedDisk: { storageAccountType: "Premium_LRS" }, deleteOption: "Delete" } },
      networkProfile: { networkInterfaces: [] },
    },
  };
}

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
      expect: "scale-set-use opened, critical, within seconds; clones opened on the emergency version (180 machines share its identity)",
      run: async (stack) => {
        await armWrite(stack.arm, CALLERS.jo, "PUT", ids(stack).saasScaleSet, scaleSetBody(ids(stack).saasEmergency, 180));
      },
    },
    {
      study: 3,
      title: "SaaS: the version is excluded from latest and the scale set moved to the generalized image",
      expect: "selectable-as-latest, scale-set-use and clones resolved",
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
    {
      study: 1,
      title: "Plant gateway: Priya runs the quarterly recovery drill, a VM pinned to the gateway image; Sam approves it as recovery (Tags API)",
      expect: "vm-use opened, then excepted by Sam's tag (an approved recovery drill; Priya's own tag would be refused: separation of duties); no clones (one machine)",
      run: async (stack) => {
        await armWrite(stack.arm, CALLERS.priya, "PUT", ids(stack).plantDrillVm, vmBody(ids(stack).plantVersion));
        await waitUntilQuiet(stack);
        const exception = { "gallery-watch-exception": `reason=quarterly recovery drill, CAB-5120;expires=${days(7)};rules=vm-use` };
        await armWrite(stack.arm, CALLERS.sam, "PATCH", `${ids(stack).plantDrillVm}/providers/Microsoft.Resources/tags/default`, { operation: "Merge", properties: { tags: exception } });
      },
    },
    {
      study: 2,
      title: "Forensics lab: Sam builds a triage workstation from triage-ws 1.1.0 inside the lab's locked-down scope",
      expect: "no vm-use finding (specialized, pinned, inside the scope allowed for specialized images)",
      run: async (stack) => {
        // The lab's group exists already (made by its owners, not part of this story).
        stack.arm.estate.putResourceGroup(stack.subscriptionId, FORENSICS_LAB_GROUP);
        await armWrite(stack.arm, CALLERS.sam, "PUT", ids(stack).forensicsWorkstation, vmBody(ids(stack).forensicsTriageVersion));
      },
    },
    {
      study: 3,
      title: "SaaS emergency image: Jo grants the deployment pipeline's identity Reader on the emergency image (a role assignment)",
      expect: "broad-access opened (high) on emergency-specialized: the pipeline identity is not among the approved image users; the card names it and the az role assignment delete that removes it",
      run: async (stack) => {
        await armWrite(stack.arm, CALLERS.jo, "PUT", `${ids(stack).saasEmergency}/providers/Microsoft.Authorization/roleAssignments/6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e`, {
          properties: { roleDefinitionId: `/subscriptions/${stack.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE_ID}`, principalId: IMAGE_USERS.saasPipeline, principalType: "ServicePrincipal" },
        });
      },
    },
  ];
}
