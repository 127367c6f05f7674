/**
 * ARM resource ids for the five resource types gallery-watch watches.
 *
 * ARM ids are case-insensitive (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules),
 * and the ids Azure itself returns are messy: mixed-case segment names (`Galleries`, `Images`),
 * an extra `locations/{region}` segment, doubled slashes. We accept those and produce one
 * canonical form; we refuse what cannot be an id we watch (no subscription, `..`, percent
 * escapes, control characters, absurd length) with an error that says why.
 */
import { InvalidResourceIdError } from "./errors.js";

export type ResourceKind = "gallery" | "imageDefinition" | "imageVersion" | "scaleSet" | "virtualMachine";

export interface ResourceId {
  readonly kind: ResourceKind;
  /** Lower-case subscription GUID. */
  readonly subscriptionId: string;
  /** Names keep the case they were given in, for display and for ARM calls. */
  readonly resourceGroup: string;
  readonly gallery?: string;
  readonly image?: string;
  readonly version?: string;
  readonly scaleSet?: string;
  readonly virtualMachine?: string;
  /** Canonical id with canonical segment names and the names' original case: show this to people. */
  readonly display: string;
  /** `display` lower-cased: compare and key on this. */
  readonly key: string;
}

/** Longest id we accept. Real ids of these types stay far below 1 KB. */
export const MAX_RESOURCE_ID_LENGTH = 1024;

/** A GUID (subscription, tenant, client and object ids), any case: the one pattern every input check uses. */
export const GUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const GUID = new RegExp(`^${GUID_PATTERN}$`, "i");

export function isGuid(value: string): boolean {
  return GUID.test(value);
}
// Azure naming rules: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftcompute
// Resource groups allow Unicode letters and digits (`rg-zürich`), underscores, hyphens, periods and parentheses, not ending in a period.
const RESOURCE_GROUP = /^[-\p{L}\p{N}_.()]{0,89}[-\p{L}\p{N}_()]$/u;
const GALLERY = /^[A-Za-z0-9][A-Za-z0-9._]{0,79}$/;
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
const VERSION = /^\d{1,10}\.\d{1,10}\.\d{1,10}$/;
const SCALE_SET = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
// Windows VMs take 15 characters, Linux VMs 64: the id accepts either.
const VIRTUAL_MACHINE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

/** Parse and normalise an ARM id; throws {@link InvalidResourceIdError} naming what is wrong. */
export function parseResourceId(raw: unknown): ResourceId {
  const refuse = (why: string): never => {
    throw new InvalidResourceIdError(preview(raw), why);
  };
  if (typeof raw !== "string") return refuse(`expected a string, got ${raw === null ? "null" : typeof raw}`);
  if (raw.length === 0) return refuse("it is empty");
  if (raw.length > MAX_RESOURCE_ID_LENGTH) return refuse(`it is ${raw.length} characters long; at most ${MAX_RESOURCE_ID_LENGTH} are accepted`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) return refuse("it contains control characters");
  if (raw.includes("%")) return refuse("it contains percent-encoded characters; pass the decoded id");
  if (raw.includes("\\")) return refuse("it contains a backslash");
  if (/[?#]/.test(raw)) return refuse("it contains a query string or fragment");
  if (!raw.startsWith("/")) return refuse("it does not start with '/'");

  const segments = raw.split("/").filter((s) => s.length > 0);
  if (segments.some((s) => s === "." || s === "..")) return refuse("it contains '.' or '..' path segments");

  const lower = segments.map((s) => s.toLowerCase());
  if (lower[0] !== "subscriptions" || segments[1] === undefined) return refuse("it has no /subscriptions/{id} segment");
  const subscriptionId = segments[1];
  if (!GUID.test(subscriptionId)) return refuse(`subscription '${subscriptionId}' is not a GUID`);
  if (lower[2] !== "resourcegroups" || segments[3] === undefined) return refuse("it has no /resourceGroups/{name} segment");
  const resourceGroup = segments[3];
  if (!RESOURCE_GROUP.test(resourceGroup)) return refuse(`resource group '${resourceGroup}' is not a valid name`);
  if (lower[4] !== "providers" || lower[5] !== "microsoft.compute") return refuse("it is not a Microsoft.Compute resource");

  let rest = segments.slice(6);
  // Some Azure responses carry /locations/{region}/ before the resource type; it is not part of the identity.
  if (rest[0]?.toLowerCase() === "locations" && rest.length >= 4) rest = rest.slice(2);

  const type = rest[0]?.toLowerCase();
  const sub = subscriptionId.toLowerCase();
  const base = `/subscriptions/${sub}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute`;

  if (type === "virtualmachinescalesets") {
    if (rest.length !== 2) return refuse("a scale set id must end at /virtualMachineScaleSets/{name}");
    const scaleSet = rest[1]!;
    if (!SCALE_SET.test(scaleSet)) return refuse(`scale set name '${scaleSet}' is not valid`);
    return make({ kind: "scaleSet", subscriptionId: sub, resourceGroup, scaleSet }, `${base}/virtualMachineScaleSets/${scaleSet}`);
  }
  if (type === "virtualmachines") {
    if (rest.length !== 2) return refuse("a virtual machine id must end at /virtualMachines/{name}");
    const virtualMachine = rest[1]!;
    if (!VIRTUAL_MACHINE.test(virtualMachine)) return refuse(`virtual machine name '${virtualMachine}' is not valid`);
    return make({ kind: "virtualMachine", subscriptionId: sub, resourceGroup, virtualMachine }, `${base}/virtualMachines/${virtualMachine}`);
  }
  if (type !== "galleries") return refuse(`resource type '${rest[0] ?? ""}' is not one gallery-watch watches`);
  const [, gallery, imagesSeg, image, versionsSeg, version, ...extra] = rest;
  if (gallery === undefined) return refuse("a gallery id needs a gallery name");
  if (!GALLERY.test(gallery)) return refuse(`gallery name '${gallery}' is not valid`);
  const galleryDisplay = `${base}/galleries/${gallery}`;
  if (imagesSeg === undefined) return make({ kind: "gallery", subscriptionId: sub, resourceGroup, gallery }, galleryDisplay);
  if (imagesSeg.toLowerCase() !== "images" || image === undefined) return refuse("expected /images/{name} after the gallery");
  if (!IMAGE.test(image)) return refuse(`image definition name '${image}' is not valid`);
  const imageDisplay = `${galleryDisplay}/images/${image}`;
  if (versionsSeg === undefined) return make({ kind: "imageDefinition", subscriptionId: sub, resourceGroup, gallery, image }, imageDisplay);
  if (versionsSeg.toLowerCase() !== "versions" || version === undefined) return refuse("expected /versions/{name} after the image definition");
  if (!VERSION.test(version)) return refuse(`version '${version}' is not Major.Minor.Patch`);
  if (extra.length > 0) return refuse("it has segments after the version");
  return make({ kind: "imageVersion", subscriptionId: sub, resourceGroup, gallery, image, version }, `${imageDisplay}/versions/${version}`);
}

/** A resource group, as a `ResourceDeleteSuccess` for the group names it. */
export interface ResourceGroupRef {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
}

/** `/subscriptions/{guid}/resourceGroups/{name}`, or the reason it is not one. */
export function tryParseResourceGroupId(raw: string): { ok: true; group: ResourceGroupRef } | { ok: false; reason: string } {
  const m = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/?$/i.exec(raw);
  if (!m) return { ok: false, reason: "it is not /subscriptions/{id}/resourceGroups/{name}" };
  if (!GUID.test(m[1]!)) return { ok: false, reason: `subscription '${m[1]!.slice(0, 60)}' is not a GUID` };
  if (!RESOURCE_GROUP.test(m[2]!)) return { ok: false, reason: `resource group '${m[2]!.slice(0, 100)}' is not a valid name` };
  return { ok: true, group: { subscriptionId: m[1]!.toLowerCase(), resourceGroup: m[2]! } };
}

export type ResourceIdParse = { ok: true; id: ResourceId } | { ok: false; error: InvalidResourceIdError };

/** Like {@link parseResourceId} but returns the refusal instead of throwing. */
export function tryParseResourceId(raw: unknown): ResourceIdParse {
  try {
    return { ok: true, id: parseResourceId(raw) };
  } catch (error) {
    if (error instanceof InvalidResourceIdError) return { ok: false, error };
    throw error;
  }
}

/** The id of the parent: version → definition → gallery. Scale sets, virtual machines and galleries have none we watch. */
export function parentOf(id: ResourceId): ResourceId | undefined {
  if (id.kind === "imageVersion") return parseResourceId(id.display.slice(0, id.display.lastIndexOf("/versions/")));
  if (id.kind === "imageDefinition") return parseResourceId(id.display.slice(0, id.display.lastIndexOf("/images/")));
  return undefined;
}

/** `id` itself when it is of `kind`, else its nearest ancestor of that kind (parents per resourceTypes.ts); undefined when none. */
export function enclosingOf(id: ResourceId, kind: ResourceKind): ResourceId | undefined {
  for (let at: ResourceId | undefined = id; at; at = parentOf(at)) if (at.kind === kind) return at;
  return undefined;
}

/** The gallery an image definition or version lives in. */
export function galleryOf(id: ResourceId): ResourceId | undefined {
  if (id.kind === "gallery") return id;
  if (id.gallery === undefined) return undefined; // a scale set or a virtual machine
  return parseResourceId(`/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}/providers/Microsoft.Compute/galleries/${id.gallery}`);
}

export function sameResource(a: ResourceId, b: ResourceId): boolean {
  return a.key === b.key;
}

function make(parts: Omit<ResourceId, "display" | "key">, display: string): ResourceId {
  return Object.freeze({ ...parts, display, key: display.toLowerCase() });
}

function preview(raw: unknown): string {
  if (typeof raw !== "string") return String(raw);
  // Never echo a huge or control-laden id back into a log line.
  // eslint-disable-next-line no-control-regex
  const clean = raw.replace(/[\u0000-\u001f\u007f]/g, "?");
  return clean.length > 200 ? `${clean.slice(0, 200)}…(${raw.length} chars)` : clean;
}
