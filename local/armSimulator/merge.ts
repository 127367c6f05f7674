/**
 * PATCH as the swagger's Update operations do it (GalleryRP.json `Galleries_Update`,
 * `GalleryImages_Update`, `GalleryImageVersions_Update`; virtualMachineScaleSet.json
 * `VirtualMachineScaleSets_Update`): the body is a partial resource; tags, when present, replace
 * the resource's tags; objects merge key by key, deeply; arrays and scalars replace; `null`
 * clears (JSON merge patch, RFC 7386, which ARM's PATCH follows).
 */
type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

export function deepMerge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Json = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = deepMerge(out[key], value);
  }
  return out;
}

/** The resource after a PATCH: `current` is its stored request shape (location, tags, sku, properties, ...). */
export function applyPatch(current: Json, patch: Json): Json {
  const { tags, location: _location, id: _id, name: _name, type: _type, ...rest } = patch;
  const merged = deepMerge(current, rest) as Json;
  // Tags are one value: a PATCH that names them replaces the whole set (GalleryUpdate / UpdateResource "tags").
  if (tags !== undefined) {
    if (tags === null) delete merged.tags;
    else merged.tags = structuredClone(tags);
  }
  return merged;
}
