/**
 * The "before" estate of the design brief's three case studies, as ARM request bodies. On its
 * own it produces no finding except what time brings: one forensics version's end of life
 * passed yesterday, which only the nightly sweep can notice (no event announces a date passing).
 */
import type { SimulatedResource } from "../armSimulator/index.js";
import { LOCAL_SUBSCRIPTION } from "../subscription.js";

/**
 * Who may use the specialized images in the local stack (GW_APPROVED_IMAGE_USERS, local/stack.ts):
 * the SaaS team's on-call group. The deployment pipeline's identity is not among them: the SaaS
 * team "restricted gallery permissions so deployment pipelines could not reference it".
 */
export const IMAGE_USERS = {
  saasOnCall: "4d5e6f70-8192-4a3b-9c4d-5e6f708192a3",
  saasPipeline: "2b3c4d5e-6f70-4182-9a3b-4c5d6e7f8091",
} as const;

const DAY = 86_400_000;

export function caseStudySeed(subscriptionId = LOCAL_SUBSCRIPTION, today = new Date()): SimulatedResource[] {
  const date = (days: number) => new Date(today.getTime() + days * DAY).toISOString().slice(0, 10) + "T00:00:00Z";
  const rg = (name: string) => `/subscriptions/${subscriptionId}/resourceGroups/${name}/providers/Microsoft.Compute`;
  // Community sharing needs the publisher's community info on the gallery first (Gallery_EnableCommunityGallery / communityGalleryInfo in GalleryRP.json).
  const gallery = (id: string, description: string, community?: Record<string, string>): SimulatedResource => ({
    id,
    body: { location: "westeurope", tags: { owner: "platform-images" }, properties: { description, sharingProfile: { permissions: "Private", ...(community ? { communityGalleryInfo: community } : {}) } } },
  });
  const definition = (id: string, osState: "Specialized" | "Generalized", sku: string, tags: Record<string, string>): SimulatedResource => ({
    id,
    body: { location: "westeurope", tags, properties: { osType: "Linux", osState, hyperVGeneration: "V2", identifier: { publisher: "contoso", offer: id.split("/").pop(), sku } } },
  });
  const version = (id: string, regions: string[], opts: { excludeFromLatest: boolean; endOfLife: string; tags: Record<string, string> }): SimulatedResource => ({
    id,
    body: {
      location: "westeurope",
      tags: opts.tags,
      properties: {
        publishingProfile: { targetRegions: regions.map((name) => ({ name, regionalReplicaCount: 1, storageAccountType: "Standard_ZRS" })), excludeFromLatest: opts.excludeFromLatest, endOfLifeDate: opts.endOfLife },
        storageProfile: { source: { virtualMachineId: `${id.split("/providers/")[0]}/providers/Microsoft.Compute/virtualMachines/capture-vm` } },
      },
    },
  });
  const approved = { owner: "ot-platform", approver: "ciso-office" };

  const plant = `${rg("rg-plant")}/galleries/plantGallery`;
  const forensics = `${rg("rg-forensics")}/galleries/forensicsGallery`;
  const saas = `${rg("rg-saas")}/galleries/saasGallery`;
  return [
    // 1. Plant gateway: primary + DR only, excluded from latest, retirement date set, private.
    gallery(plant, "Plant gateway recovery images"),
    definition(`${plant}/images/gateway-os`, "Specialized", "gateway-2026", approved),
    version(`${plant}/images/gateway-os/versions/1.0.0`, ["West Europe", "North Europe"], { excludeFromLatest: true, endOfLife: date(180), tags: approved }),
    // 2. Forensics lab: three specialized definitions, approved and retiring; older versions excluded from latest.
    gallery(forensics, "Forensics lab workstation images", { publisherUri: "https://contoso.example", publisherContact: "forensics@contoso.example", eula: "https://contoso.example/eula", publicNamePrefix: "contosoforensics" }),
    ...["triage-ws", "memory-lab", "disk-lab"].flatMap((name, i) => [
      definition(`${forensics}/images/${name}`, "Specialized", `${name}-2026`, approved),
      version(`${forensics}/images/${name}/versions/1.0.0`, ["West Europe"], { excludeFromLatest: true, endOfLife: i === 1 ? date(-1) : date(120), tags: approved }),
      version(`${forensics}/images/${name}/versions/1.1.0`, ["West Europe"], { excludeFromLatest: true, endOfLife: date(200), tags: approved }),
    ]),
    // 3. SaaS: a generalized web image in use, an empty specialized definition for emergencies.
    gallery(saas, "SaaS fleet images"),
    definition(`${saas}/images/web-generalized`, "Generalized", "web-2026", approved),
    version(`${saas}/images/web-generalized/versions/2.0.0`, ["West Europe", "North Europe", "East US"], { excludeFromLatest: false, endOfLife: date(365), tags: approved }),
    definition(`${saas}/images/emergency-specialized`, "Specialized", "emergency", { owner: "saas-sre", approver: "jo.lindqvist" }),
  ];
}
