/**
 * The resource kinds gallery-watch watches, declared once, as data (Cloud Custodian's way: each
 * resource type says its parent, its list and get operations and the operations that change it,
 * and the rest is derived). The event filter (the Event Grid subscription's `data.operationName`
 * values and `classifyEvent`), the sweep's listings and reconciliation, the policy export and the
 * reader role (infra/watch/readerActions.json, checked by test/unit/infraRole.test.ts) read this
 * table. A new kind is one row here, plus its id syntax (resourceId.ts), its snapshot, its rules
 * and its reader.
 *
 * `kind ===` branches outside this file and the rules are counted by
 * test/unit/resourceTypes.test.ts: a new one fails there (derive it from this table instead).
 */
import type { ResourceKind } from "./resourceId.js";

export interface ResourceType {
  readonly kind: ResourceKind;
  /** The ARM resource type (Microsoft.Compute REST API). */
  readonly armType: string;
  /** The kind this one is nested under (its id extends the parent's); absent: a subscription-level resource. */
  readonly parent?: ResourceKind;
  /** @azure/arm-compute operations: `list` reads every one under the parent (or the subscription), `get` one by id. */
  readonly arm: { readonly list: string; readonly get: string };
  /** ARM operations (Event Grid `data.operationName`) after which gallery-watch re-reads the resource. */
  readonly watchedOperations: readonly string[];
  /** What its verdict depends on, read beside it when it is judged. */
  readonly dependsOn: readonly ResourceKind[];
  /** What is judged again when it changes (`judgeDependents`). */
  readonly dependents: readonly ResourceKind[];
  /**
   * Operations on something else (no resource of a watched kind) after which the stored resources
   * of this kind that the operation's scope reaches — at, above or below them — are judged again:
   * a role assignment written or deleted changes who can use an image definition (`broad-access`).
   */
  readonly judgedAgainAfter?: readonly string[];
  /**
   * In a burst, read through its parent's listing, shared with its siblings
   * (shared/adapters/arm/versionBatches.ts): a put-off re-check of one under a recorded parent goes
   * ahead to share it (shared/app/admission.ts).
   */
  readonly listedWithSiblings?: true;
}

/**
 * Role assignments written or deleted (Microsoft.Authorization): the event's resource is the
 * assignment, `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
 */
export const ROLE_ASSIGNMENT_OPERATIONS: readonly string[] = ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete"];

/** Parents before children: a listing walks the table in this order. */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  {
    kind: "gallery",
    armType: "Microsoft.Compute/galleries",
    arm: { list: "galleries.list", get: "galleries.get" },
    // share/action: `az sig share add|remove|enable-community` change who can see the gallery.
    watchedOperations: ["Microsoft.Compute/galleries/write", "Microsoft.Compute/galleries/delete", "Microsoft.Compute/galleries/share/action"],
    // Sharing is judged by what the gallery holds: a Specialized definition shared outside.
    dependsOn: ["imageDefinition"],
    dependents: [],
  },
  {
    kind: "imageDefinition",
    armType: "Microsoft.Compute/galleries/images",
    parent: "gallery",
    arm: { list: "galleryImages.listByGallery", get: "galleryImages.get" },
    watchedOperations: ["Microsoft.Compute/galleries/images/write", "Microsoft.Compute/galleries/images/delete"],
    // Who can use it (`broad-access`) is read beside it, from role assignments, not a watched kind.
    dependsOn: [],
    judgedAgainAfter: ROLE_ASSIGNMENT_OPERATIONS,
    // Its versions (an exception tag on it excepts them), the scale sets and VMs following it
    // (their `latest`), and its gallery's sharing verdict.
    dependents: ["imageVersion", "scaleSet", "virtualMachine", "gallery"],
  },
  {
    kind: "imageVersion",
    armType: "Microsoft.Compute/galleries/images/versions",
    parent: "imageDefinition",
    arm: { list: "galleryImageVersions.listByGalleryImage", get: "galleryImageVersions.get" },
    watchedOperations: ["Microsoft.Compute/galleries/images/versions/write", "Microsoft.Compute/galleries/images/versions/delete"],
    listedWithSiblings: true,
    // A version carries its definition's osState; `clones` counts the machines running it.
    dependsOn: ["imageDefinition", "scaleSet", "virtualMachine"],
    // A new or removed version can change which one a scale set or VM following `latest` runs.
    dependents: ["scaleSet", "virtualMachine"],
  },
  {
    kind: "scaleSet",
    armType: "Microsoft.Compute/virtualMachineScaleSets",
    arm: { list: "virtualMachineScaleSets.listAll", get: "virtualMachineScaleSets.get" },
    // Not instances, extensions or actions (restart, reimage): they change no image reference.
    watchedOperations: ["Microsoft.Compute/virtualMachineScaleSets/write", "Microsoft.Compute/virtualMachineScaleSets/delete"],
    // The image it runs, resolved to its definition (possibly in another subscription).
    dependsOn: ["imageDefinition"],
    // `clones` on the version it runs (and the one it ran before) counts its capacity.
    dependents: ["imageVersion"],
  },
  {
    kind: "virtualMachine",
    armType: "Microsoft.Compute/virtualMachines",
    arm: { list: "virtualMachines.listAll", get: "virtualMachines.get" },
    // Not extensions, run commands, instance view or power actions (start, restart, deallocate):
    // they change no image reference.
    watchedOperations: ["Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines/delete"],
    // The image it was built from: its image reference resolved like a scale set's, or, for a
    // specialized VM attached from an OS disk, the gallery version the disk was created from.
    dependsOn: ["imageDefinition"],
    dependents: ["imageVersion"],
  },
];

/**
 * Operations that are not a watched kind's own but make gallery-watch re-read one: tag edits
 * through the Tags API or the portal (the fixes and exception tags cards ask for), and a resource
 * group's deletion (Azure sends this one event for a group, none for what it held).
 */
export const INDIRECT_OPERATIONS: readonly string[] = ["Microsoft.Resources/tags/write", "Microsoft.Resources/subscriptions/resourceGroups/delete"];

/** Every `data.operationName` gallery-watch acts on: the Event Grid subscription's filter and `classifyEvent`'s. */
export const WATCHED_OPERATIONS: readonly string[] = [...RESOURCE_TYPES.flatMap((t) => t.watchedOperations), ...INDIRECT_OPERATIONS, ...new Set(RESOURCE_TYPES.flatMap((t) => t.judgedAgainAfter ?? []))];

/** The kinds whose stored resources an operation on something else judges again (`judgedAgainAfter`). */
export function kindsJudgedAgainAfter(operationName: string): ResourceKind[] {
  const lower = operationName.toLowerCase();
  return RESOURCE_TYPES.filter((t) => (t.judgedAgainAfter ?? []).some((o) => o.toLowerCase() === lower)).map((t) => t.kind);
}

const BY_KIND = new Map<ResourceKind, ResourceType>(RESOURCE_TYPES.map((t) => [t.kind, t]));

export function resourceType(kind: ResourceKind): ResourceType {
  const type = BY_KIND.get(kind);
  if (!type) throw new TypeError(`no resource type declared for kind '${kind}'`);
  return type;
}

/** The subscription-level kind a kind is nested under (itself when it has no parent): the listing that returns it. */
export function rootKindOf(kind: ResourceKind): ResourceKind {
  let type = resourceType(kind);
  while (type.parent) type = resourceType(type.parent);
  return type.kind;
}

/** The kinds nested under `kind`, directly or not. */
export function descendantKindsOf(kind: ResourceKind): ResourceKind[] {
  const children = RESOURCE_TYPES.filter((t) => t.parent === kind).map((t) => t.kind);
  return [...children, ...children.flatMap(descendantKindsOf)];
}

/**
 * Kinds that run image versions (scale sets, VMs): versions depend on them (`clones`) without
 * being their children, so a change to one judges again the version it runs and the one it ran.
 */
export function runsVersions(kind: ResourceKind): boolean {
  return resourceType(kind).dependents.includes("imageVersion") && resourceType("imageVersion").parent !== kind;
}
