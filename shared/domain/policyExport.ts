/**
 * A companion Azure Policy generated from what gallery-watch knows: pure, snapshots and settings
 * in, a `Microsoft.Authorization/policyDefinitions` body and its assignment examples out.
 *
 * Why it exists: Azure Policy evaluates a request on its own. At the PUT of an image version or a
 * scale set it cannot read the parent image definition, so it cannot know that the definition is
 * Specialized. gallery-watch has read every definition; the generated rule lists the ones it knows
 * to be Specialized, and so denies at PUT time what gallery-watch would otherwise alert on after
 * the fact (the `scale-set-use` rule, and the region-count part of `replication-breadth`).
 *
 * It lives in the domain (and so under the `domain-is-pure` rule of .dependency-cruiser.cjs)
 * because it needs nothing else: snapshot types and resource ids in, plain JSON out; the clock's
 * reading comes in as `generatedAt`.
 *
 * Policy rule semantics relied on (https://learn.microsoft.com/azure/governance/policy/concepts/definition-structure-policy-rule#conditions):
 * every condition but match/notMatch compares strings case-insensitively, so `in` and `like`
 * match an image id typed in any case; `like` takes at most one `*`.
 */
import { enclosingOf, tryParseResourceId, type ResourceId } from "./resourceId.js";
import { isMachine, type MachineSnapshot, type Snapshot } from "./snapshots.js";
import { UnsupportedExceptionTagError, NoSpecializedDefinitionsError } from "./errors.js";
/** The error family lives in domain/errors.ts; re-exported where callers (functions/, the CLI) already look. */
export { UnsupportedExceptionTagError, NoSpecializedDefinitionsError } from "./errors.js";

export type PolicyEffect = "Deny" | "Audit" | "Disabled";

export const POLICY_DEFINITION_NAME = "gallery-watch-specialized-images";
/** ≤ 24 characters, so the same name also works at management-group scope. */
export const POLICY_ASSIGNMENT_NAME = "gw-specialized-images";
export const SCALE_SET_TYPE = "Microsoft.Compute/virtualMachineScaleSets";
export const IMAGE_VERSION_TYPE = "Microsoft.Compute/galleries/images/versions";
export const SCALE_SET_IMAGE_ALIAS = "Microsoft.Compute/virtualMachineScaleSets/virtualMachineProfile.storageProfile.imageReference.id";
export const VIRTUAL_MACHINE_TYPE = "Microsoft.Compute/virtualMachines";
export const VIRTUAL_MACHINE_IMAGE_ALIAS = "Microsoft.Compute/virtualMachines/storageProfile.imageReference.id";
export const GALLERY_TYPE = "Microsoft.Compute/galleries";
/** Learn's own example for denying Community sharing (Share images using a community gallery: "Azure Policy"). */
export const GALLERY_SHARING_ALIAS = "Microsoft.Compute/galleries/sharingProfile.permissions";
export const VERSION_TARGET_REGIONS_ALIAS = "Microsoft.Compute/galleries/images/versions/publishingProfile.targetRegions[*]";
/** Bumped when the shape of the generated rule changes (not when the listed definitions do: see `generatedAt`). */
export const GENERATED_POLICY_VERSION = "1.1.0";

export interface PolicyExportSettings {
  /** GW_WATCHED_SUBSCRIPTIONS: one assignment example per subscription. */
  readonly subscriptions: readonly string[];
  /** GW_MAX_REGIONS: the default of the `maxRegions` parameter. */
  readonly maxRegions: number;
  /** GW_EXCEPTION_TAG. */
  readonly exceptionTag: string;
  /** The default of the `effect` parameter and the assignments' value. */
  readonly effect: Exclude<PolicyEffect, "Disabled">;
  /** ISO time of generation (the caller's clock). */
  readonly generatedAt: string;
}

/** Why a definition is listed: what gallery-watch stored that says it is Specialized (a machine: the image it resolved). */
export type SpecializedEvidence = "definition" | "version" | MachineSnapshot["kind"];

export interface SpecializedDefinition {
  /** Canonical display id. */
  readonly id: string;
  readonly key: string;
  readonly evidence: readonly SpecializedEvidence[];
}

export interface PolicyCondition {
  readonly [key: string]: unknown;
}

export interface PolicyParameterDefinition {
  readonly type: "String" | "Integer";
  readonly metadata: { readonly displayName: string; readonly description: string };
  readonly allowedValues?: readonly (string | number)[];
  readonly defaultValue: string | number;
}

export interface PolicyDefinitionResource {
  readonly type: "Microsoft.Authorization/policyDefinitions";
  readonly name: string;
  readonly properties: {
    readonly displayName: string;
    readonly policyType: "Custom";
    readonly mode: "Indexed";
    readonly description: string;
    readonly metadata: {
      readonly category: "Compute";
      readonly version: string;
      readonly generatedBy: "gallery-watch";
      readonly generatedAt: string;
      readonly specializedImageDefinitions: number;
    };
    readonly parameters: { readonly effect: PolicyParameterDefinition; readonly maxRegions: PolicyParameterDefinition };
    readonly policyRule: { readonly if: PolicyCondition; readonly then: { readonly effect: "[parameters('effect')]" } };
  };
}

export interface PolicyAssignmentResource {
  readonly type: "Microsoft.Authorization/policyAssignments";
  readonly id: string;
  readonly name: string;
  readonly properties: {
    readonly displayName: string;
    readonly description: string;
    readonly policyDefinitionId: string;
    readonly parameters: { readonly effect: { readonly value: string }; readonly maxRegions: { readonly value: number } };
    readonly enforcementMode: "Default";
    readonly nonComplianceMessages: ReadonlyArray<{ readonly message: string }>;
    readonly metadata: { readonly generatedBy: "gallery-watch"; readonly generatedAt: string };
  };
}

export interface PolicyExport {
  readonly definition: PolicyDefinitionResource;
  /** One per watched subscription, each assigning the definition created in that subscription. */
  readonly assignments: readonly PolicyAssignmentResource[];
  /** Listed in the rule, sorted by key. */
  readonly specialized: readonly SpecializedDefinition[];
  /** Definitions whose osState gallery-watch could not read: not listed (a guess would deny generalized images), reported. */
  readonly unknown: readonly string[];
}

/** The image definition an id names or lies under (a version's parent); undefined for anything else. */
function definitionOf(raw: string): ResourceId | undefined {
  const parsed = tryParseResourceId(raw);
  return parsed.ok ? enclosingOf(parsed.id, "imageDefinition") : undefined;
}

/**
 * The image definitions the snapshots say are Specialized, from any of three sources: the
 * definition itself, a version (which carries its definition's osState), or a scale set whose
 * image gallery-watch resolved (possibly in a subscription it does not watch). osState cannot
 * change once a definition exists (the Compute RP refuses it), so sources can only disagree
 * through stale data: any Specialized evidence lists the definition, the side that denies.
 */
export function specializedDefinitionsOf(snapshots: Iterable<Snapshot>): { specialized: SpecializedDefinition[]; unknown: string[] } {
  const specialized = new Map<string, { id: string; evidence: Set<SpecializedEvidence> }>();
  const unknown = new Map<string, string>();
  const add = (id: ResourceId | undefined, evidence: SpecializedEvidence) => {
    if (!id) return;
    const entry = specialized.get(id.key) ?? { id: id.display, evidence: new Set<SpecializedEvidence>() };
    // The definition's own snapshot carries the casing ARM gave it: prefer it for display.
    if (evidence === "definition") entry.id = id.display;
    entry.evidence.add(evidence);
    specialized.set(id.key, entry);
  };
  for (const s of snapshots) {
    if (s.kind === "imageDefinition") {
      if (s.osState === "Specialized") add(s.id, "definition");
      else if (s.osState === "Unknown") unknown.set(s.id.key, s.id.display);
    } else if (s.kind === "imageVersion") {
      if (s.osState === "Specialized") add(definitionOf(s.id.display), "version");
    } else if (isMachine(s)) {
      if (s.image.outcome === "resolved" && s.image.osState === "Specialized") add(definitionOf(s.image.definitionId), s.kind);
    }
  }
  const order: readonly SpecializedEvidence[] = ["definition", "version", "scaleSet", "virtualMachine"];
  return {
    specialized: [...specialized.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, e]) => ({ id: e.id, key, evidence: order.filter((o) => e.evidence.has(o)) })),
    unknown: [...unknown.entries()].filter(([key]) => !specialized.has(key)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, display]) => display),
  };
}

/** The `tags['<name>']` field (bracket syntax: tag names with hyphens and periods). */
export function exceptionTagField(tag: string): string {
  if (/['[\]]/.test(tag)) throw new UnsupportedExceptionTagError(tag);
  return `tags['${tag}']`;
}

/** The galleries holding the definitions (each once, in the definitions' order). */
function galleriesOf(ids: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const id of ids) {
    const parsed = tryParseResourceId(id);
    const gallery = parsed.ok ? enclosingOf(parsed.id, "gallery") : undefined;
    if (gallery && !byKey.has(gallery.key)) byKey.set(gallery.key, gallery.display);
  }
  return [...byKey.values()];
}

/** The `if` of the rule: every branch, with the exception tag checked once for all. */
export function policyRuleCondition(specialized: readonly Pick<SpecializedDefinition, "id">[], exceptionTag: string): PolicyCondition {
  const ids = specialized.map((d) => d.id);
  const versionsOf = (field: string) => ids.map((id) => ({ field, like: `${id}/versions/*` }));
  // A machine follows `latest` through the definition id, or pins one of its versions.
  const runsOne = (type: string, alias: string) => ({ allOf: [{ field: "type", equals: type }, { anyOf: [{ field: alias, in: ids }, ...versionsOf(alias)] }] });
  return {
    allOf: [
      // Azure Policy cannot parse the tag's value (reason, expiry, rules): presence is all it checks.
      { field: exceptionTagField(exceptionTag), exists: "false" },
      {
        anyOf: [
          runsOne(SCALE_SET_TYPE, SCALE_SET_IMAGE_ALIAS),
          // `az vm create --image <version> --specialized`: the seed's recovery path, outside it denied.
          runsOne(VIRTUAL_MACHINE_TYPE, VIRTUAL_MACHINE_IMAGE_ALIAS),
          {
            // A gallery holding a Specialized definition made public: anyone in Azure could deploy it.
            allOf: [{ field: "type", equals: GALLERY_TYPE }, { field: "id", in: galleriesOf(ids) }, { field: GALLERY_SHARING_ALIAS, equals: "Community" }],
          },
          {
            allOf: [
              { field: "type", equals: IMAGE_VERSION_TYPE },
              { anyOf: versionsOf("id") },
              // https://learn.microsoft.com/azure/governance/policy/concepts/definition-structure-policy-rule#count
              { count: { field: VERSION_TARGET_REGIONS_ALIAS }, greater: "[parameters('maxRegions')]" },
            ],
          },
        ],
      },
    ],
  };
}

const DESCRIPTION_LIMIT = 512;

function definitionDescription(count: number, settings: PolicyExportSettings): string {
  const tag = settings.exceptionTag.length <= 64 ? `'${settings.exceptionTag}'` : "GW_EXCEPTION_TAG";
  const text =
    `Generated by gallery-watch at ${settings.generatedAt} from the ${count} image definition(s) it knows to be Specialized, which Azure Policy cannot see. ` +
    `Applies the effect to a scale set or VM using one of them or a version of it, to their versions with more target regions than maxRegions, and to Community sharing of a gallery holding one. ` +
    `Exempt: resources tagged ${tag}; Azure Policy only checks that the tag exists, not its reason or expiry. Regenerate after a sweep finds new definitions.`;
  return text.length <= DESCRIPTION_LIMIT ? text : `${text.slice(0, DESCRIPTION_LIMIT - 1)}…`;
}

export function policyDefinitionId(subscriptionId: string, name = POLICY_DEFINITION_NAME): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/policyDefinitions/${name}`;
}

/**
 * Generates the definition and one assignment example per watched subscription. Throws
 * {@link NoSpecializedDefinitionsError} when nothing is known to be Specialized and
 * {@link UnsupportedExceptionTagError} for a tag name policy syntax cannot carry.
 */
export function generatePolicy(snapshots: Iterable<Snapshot>, settings: PolicyExportSettings): PolicyExport {
  const { specialized, unknown } = specializedDefinitionsOf(snapshots);
  if (specialized.length === 0) throw new NoSpecializedDefinitionsError(unknown);
  const definition: PolicyDefinitionResource = {
    type: "Microsoft.Authorization/policyDefinitions",
    name: POLICY_DEFINITION_NAME,
    properties: {
      displayName: "gallery-watch: keep Specialized gallery images off scale sets and VMs, within the region limit, and out of Community galleries",
      policyType: "Custom",
      // Indexed: scale sets, VMs, galleries and image versions all carry tags and location, and the exception is a tag.
      mode: "Indexed",
      description: definitionDescription(specialized.length, settings),
      metadata: {
        category: "Compute",
        version: GENERATED_POLICY_VERSION,
        generatedBy: "gallery-watch",
        generatedAt: settings.generatedAt,
        specializedImageDefinitions: specialized.length,
      },
      parameters: {
        effect: {
          type: "String",
          metadata: { displayName: "Effect", description: "Deny the request, audit it, or switch the policy off." },
          allowedValues: ["Deny", "Audit", "Disabled"],
          defaultValue: settings.effect,
        },
        maxRegions: {
          type: "Integer",
          metadata: { displayName: "Most target regions", description: "Most target regions an image version of a Specialized definition may have (GW_MAX_REGIONS)." },
          defaultValue: settings.maxRegions,
        },
      },
      policyRule: { if: policyRuleCondition(specialized, settings.exceptionTag), then: { effect: "[parameters('effect')]" } },
    },
  };
  const assignments = settings.subscriptions.map((subscriptionId): PolicyAssignmentResource => ({
    type: "Microsoft.Authorization/policyAssignments",
    id: `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/policyAssignments/${POLICY_ASSIGNMENT_NAME}`,
    name: POLICY_ASSIGNMENT_NAME,
    properties: {
      displayName: "gallery-watch: Specialized gallery images",
      description: `Assigns ${POLICY_DEFINITION_NAME} (generated by gallery-watch at ${settings.generatedAt}) to subscription ${subscriptionId}.`,
      policyDefinitionId: policyDefinitionId(subscriptionId),
      parameters: { effect: { value: settings.effect }, maxRegions: { value: settings.maxRegions } },
      enforcementMode: "Default",
      nonComplianceMessages: [
        {
          message:
            `This uses a Specialized gallery image (it keeps machine identity and secrets) on a scale set or VM, replicates one to more than ${settings.maxRegions} region(s), or shares its gallery with the Community. ` +
            `Use a Generalized image, or tag the resource '${settings.exceptionTag}' with reason=…;expires=YYYY-MM-DD after approval.`,
        },
      ],
      metadata: { generatedBy: "gallery-watch", generatedAt: settings.generatedAt },
    },
  }));
  return { definition, assignments, specialized, unknown };
}
