/** Small builders for snapshots in tests: sensible approved defaults, override what the case is about. */
import { parseResourceId } from "../../shared/domain/resourceId.js";
import {
  normalizeRegion,
  type GallerySnapshot,
  type ImageDefinitionSnapshot,
  type ImageVersionSnapshot,
  type ScaleSetSnapshot,
  type TargetRegionSnapshot,
  type VirtualMachineSnapshot,
} from "../../shared/domain/snapshots.js";
import { DEFAULT_POLICY, type Policy } from "../../shared/domain/policy.js";
import { RULE_IDS, type Evaluation, type Finding, type FindingRuleId } from "../../shared/domain/findings.js";
import { fingerprintOf } from "../../shared/domain/transitions.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import type { RelatedResources } from "../../shared/domain/rules/related.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";

export const SUB = "00000000-1111-2222-3333-444444444444";
export const BASE = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute`;
export const NOW = new Date("2026-11-24T12:00:00Z");
export const APPROVED = { owner: "platform", approver: "ciso" } as const;

export function regions(...names: Array<string | [string, number]>): TargetRegionSnapshot[] {
  return names.map((n) => {
    const [name, count] = Array.isArray(n) ? n : [n, undefined];
    return { name, region: normalizeRegion(name), ...(count !== undefined ? { regionalReplicaCount: count } : {}), encrypted: false };
  });
}

export function aGallery(overrides: Partial<GallerySnapshot> = {}): GallerySnapshot {
  return { kind: "gallery", id: parseResourceId(`${BASE}/galleries/gal`), location: "westeurope", tags: {}, provisioningState: "Succeeded", sharing: { permissions: "Private", groups: [] }, ...overrides };
}

export function aDefinition(overrides: Partial<ImageDefinitionSnapshot> & { name?: string } = {}): ImageDefinitionSnapshot {
  const { name = "def", ...rest } = overrides;
  return {
    kind: "imageDefinition",
    id: parseResourceId(`${BASE}/galleries/gal/images/${name}`),
    location: "westeurope",
    tags: { ...APPROVED },
    provisioningState: "Succeeded",
    osState: "Specialized",
    osType: "Linux",
    identifier: { publisher: "contoso", offer: name, sku: "1" },
    ...rest,
  };
}

export function aVersion(overrides: Partial<ImageVersionSnapshot> & { definition?: string } = {}): ImageVersionSnapshot {
  const { definition = "def", version = "1.0.0", ...rest } = overrides;
  return {
    kind: "imageVersion",
    id: parseResourceId(`${BASE}/galleries/gal/images/${definition}/versions/${version}`),
    location: "westeurope",
    tags: { ...APPROVED },
    provisioningState: "Succeeded",
    version,
    osState: "Specialized",
    targetRegions: regions("West Europe", "North Europe"),
    excludeFromLatest: true,
    endOfLifeDate: "2027-06-30T00:00:00Z",
    publishedDate: "2026-10-01T00:00:00Z",
    ...rest,
  };
}

export function aScaleSet(overrides: Partial<ScaleSetSnapshot> & { definition?: string } = {}): ScaleSetSnapshot {
  const { definition = "def", ...rest } = overrides;
  const definitionId = parseResourceId(`${BASE}/galleries/gal/images/${definition}`);
  return {
    kind: "scaleSet",
    id: parseResourceId(`${BASE}/virtualMachineScaleSets/vmss`),
    location: "westeurope",
    tags: {},
    provisioningState: "Succeeded",
    capacity: 3,
    orchestrationMode: "Uniform",
    imageReference: { kind: "definition", definitionId },
    image: { outcome: "resolved", definitionId: definitionId.display, osState: "Specialized" },
    ...rest,
  };
}

/** A VM pinned to version `version` of `definition` (resolved, specialized) unless overridden. */
export function aVm(overrides: Partial<VirtualMachineSnapshot> & { name?: string; definition?: string; version?: string; subscriptionId?: string; resourceGroup?: string } = {}): VirtualMachineSnapshot {
  const { name = "vm1", definition = "def", version = "1.0.0", subscriptionId = SUB, resourceGroup = "rg", ...rest } = overrides;
  const versionId = parseResourceId(`${BASE}/galleries/gal/images/${definition}/versions/${version}`);
  return {
    kind: "virtualMachine",
    id: parseResourceId(`/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${name}`),
    location: "westeurope",
    tags: {},
    provisioningState: "Succeeded",
    vmSize: "Standard_D2s_v5",
    imageReference: { kind: "version", versionId },
    image: { outcome: "resolved", definitionId: `${BASE}/galleries/gal/images/${definition}`, osState: "Specialized", versionId: versionId.display },
    ...rest,
  };
}

export function policy(overrides: Partial<Policy> = {}): Policy {
  return { ...DEFAULT_POLICY, ...overrides };
}

/** An evaluation of `subjects` (each with its related resources) by every rule, as the judging use case builds one. */
export function evaluation(subjects: Array<[Snapshot, RelatedResources?]>, now = NOW): Evaluation {
  return {
    subjects: subjects.map(([s]) => s.id.key),
    rules: [...RULE_IDS, "read-access"] satisfies FindingRuleId[],
    results: subjects.flatMap(([s, related]) => evaluateSubject(s, related ?? { definitions: [], versions: [] }, policy(), now)),
    evaluatedAt: now.toISOString(),
  };
}

/** A stored finding on `resourceId` (an open, high replication-breadth finding unless overridden). */
export function aFinding(resourceId: string, overrides: Partial<Finding> = {}): Finding {
  const ruleId: FindingRuleId = overrides.ruleId ?? "replication-breadth";
  const updatedAt = overrides.updatedAt ?? NOW.toISOString();
  return {
    fingerprint: fingerprintOf(ruleId, resourceId.toLowerCase()),
    ruleId,
    resourceKey: resourceId.toLowerCase(),
    resourceId,
    resourceKind: "imageVersion",
    status: "open",
    severity: "high",
    summary: "finding",
    facts: {},
    magnitude: 1,
    remediation: { commands: [], portalUrl: "https://portal.azure.com", advice: "fix it" },
    firstSeenAt: updatedAt,
    updatedAt,
    revision: 1,
    ...overrides,
  };
}
