/**
 * A small evaluator of the Azure Policy rule subset gallery-watch generates, for tests only:
 * allOf / anyOf / not; field conditions on type, id, name, location, kind, tags, `tags['x']` and
 * property aliases; `count` of a `[*]` alias; the operators equals, notEquals, like, notLike, in,
 * notIn, contains, notContains, exists, less(OrEquals), greater(OrEquals); and the expression
 * `[parameters('x')]`. Anything else throws, so a generator change that leaves the subset is
 * noticed rather than mis-evaluated.
 *
 * Semantics followed (https://learn.microsoft.com/azure/governance/policy/concepts/definition-structure-policy-rule):
 * string comparisons are case-insensitive for every operator but match/notMatch; `like` has one
 * `*` wildcard; a field the resource does not have has no value (equals/like/in are false,
 * notEquals/notIn true, exists false); a `count` of a missing array is 0. A property alias
 * `Namespace/type/path` reads `properties.path` of a resource of that type and nothing of another type.
 */

export interface PolicyResource {
  readonly type: string;
  readonly id: string;
  readonly name?: string;
  readonly location?: string;
  readonly kind?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly properties?: unknown;
}

interface Definition {
  readonly properties: {
    readonly parameters?: Readonly<Record<string, { readonly defaultValue?: unknown }>>;
    readonly policyRule: { readonly if: unknown; readonly then: { readonly effect: string } };
  };
}

export type Outcome = { readonly matched: false } | { readonly matched: true; readonly effect: string };

type Value = unknown;
const ABSENT = undefined;

class Unsupported extends Error {
  constructor(what: string) {
    super(`policyEvaluator does not support ${what}`);
  }
}

function lookup(object: unknown, key: string): unknown {
  if (object === null || typeof object !== "object" || Array.isArray(object)) return ABSENT;
  const entry = Object.entries(object).find(([k]) => k.toLowerCase() === key.toLowerCase());
  return entry?.[1];
}

/** `a.b.c` under `properties`; a trailing `[*]` yields the array itself (count's collection). */
function propertyPath(resource: PolicyResource, path: string): { value: Value; collection: boolean } {
  const collection = path.endsWith("[*]");
  const segments = (collection ? path.slice(0, -3) : path).split(".");
  if (segments.some((s) => s.includes("[")) ) throw new Unsupported(`alias path '${path}' (only a trailing [*])`);
  let value: Value = resource.properties;
  for (const s of segments) value = lookup(value, s);
  return { value, collection };
}

function field(resource: PolicyResource, name: string): { value: Value; collection: boolean } {
  const plain = (value: Value) => ({ value, collection: false });
  switch (name.toLowerCase()) {
    case "type":
      return plain(resource.type);
    case "id":
      return plain(resource.id);
    case "name":
      return plain(resource.name ?? resource.id.split("/").pop());
    case "location":
      return plain(resource.location);
    case "kind":
      return plain(resource.kind);
    case "tags":
      return plain(resource.tags);
  }
  const tag = /^tags\['((?:[^']|'')+)'\]$/.exec(name) ?? /^tags\.([^.[\]]+)$/.exec(name);
  if (tag) return plain(lookup(resource.tags ?? {}, tag[1]!.replace(/''/g, "'")));
  if (name.startsWith("[")) throw new Unsupported(`field expressions (${name})`);
  // An alias: the resource type, then one path segment.
  const slash = name.lastIndexOf("/");
  const aliasType = name.slice(0, slash);
  if (aliasType.toLowerCase() !== resource.type.toLowerCase()) return { value: ABSENT, collection: name.endsWith("[*]") };
  return propertyPath(resource, name.slice(slash + 1));
}

function expression(raw: Value, parameters: Readonly<Record<string, Value>>): Value {
  if (typeof raw !== "string" || !raw.startsWith("[") || raw.startsWith("[[")) return typeof raw === "string" && raw.startsWith("[[") ? raw.slice(1) : raw;
  const m = /^\[parameters\('([^']+)'\)\]$/.exec(raw);
  if (!m) throw new Unsupported(`the expression ${raw}`);
  if (!(m[1]! in parameters)) throw new Error(`parameter '${m[1]}' has no value and no default`);
  return parameters[m[1]!];
}

const lower = (v: Value) => (typeof v === "string" ? v.toLowerCase() : v);

function equals(a: Value, b: Value): boolean {
  if (a === ABSENT || a === null) return false;
  if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

function like(value: Value, pattern: Value): boolean {
  if (typeof value !== "string" || typeof pattern !== "string") return false;
  if ((pattern.match(/\*/g) ?? []).length > 1) throw new Error(`like '${pattern}' has more than one wildcard`);
  const escaped = pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`, "is").test(value);
}

function compare(a: Value, b: Value): number | undefined {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return lower(a)! < lower(b)! ? -1 : lower(a) === lower(b) ? 0 : 1;
  return undefined;
}

function operate(operator: string, value: Value, operand: Value): boolean {
  switch (operator) {
    case "equals":
      return equals(value, operand);
    case "notEquals":
      return !equals(value, operand);
    case "like":
      return like(value, operand);
    case "notLike":
      return !like(value, operand);
    case "in":
    case "notIn": {
      if (!Array.isArray(operand)) throw new Error(`${operator} needs an array`);
      const found = operand.some((o) => equals(value, o));
      return operator === "in" ? found : !found;
    }
    case "contains":
    case "notContains": {
      const found = typeof value === "string" && typeof operand === "string" && value.toLowerCase().includes(operand.toLowerCase());
      return operator === "contains" ? found : !found;
    }
    case "exists": {
      const wanted = operand === true || (typeof operand === "string" && operand.toLowerCase() === "true");
      return (value !== ABSENT && value !== null) === wanted;
    }
    case "less":
    case "lessOrEquals":
    case "greater":
    case "greaterOrEquals": {
      const c = compare(value, operand);
      if (c === undefined) return false;
      return operator === "less" ? c < 0 : operator === "lessOrEquals" ? c <= 0 : operator === "greater" ? c > 0 : c >= 0;
    }
    default:
      throw new Unsupported(`the operator ${operator}`);
  }
}

function operatorOf(condition: Record<string, unknown>, besides: string): [string, unknown] {
  const rest = Object.entries(condition).filter(([k]) => k !== besides);
  if (rest.length !== 1) throw new Error(`a condition needs exactly one operator besides '${besides}': ${JSON.stringify(condition)}`);
  return rest[0]!;
}

function holds(condition: unknown, resource: PolicyResource, parameters: Readonly<Record<string, Value>>): boolean {
  if (condition === null || typeof condition !== "object" || Array.isArray(condition)) throw new Error(`not a condition: ${JSON.stringify(condition)}`);
  const c = condition as Record<string, unknown>;
  if ("allOf" in c) return (c.allOf as unknown[]).every((x) => holds(x, resource, parameters));
  if ("anyOf" in c) return (c.anyOf as unknown[]).some((x) => holds(x, resource, parameters));
  if ("not" in c) return !holds(c.not, resource, parameters);
  if ("field" in c) {
    const { value, collection } = field(resource, String(c.field));
    if (collection) throw new Unsupported(`a [*] alias outside count (${String(c.field)})`);
    const [operator, operand] = operatorOf(c, "field");
    return operate(operator, value, expression(operand, parameters));
  }
  if ("value" in c) {
    const [operator, operand] = operatorOf(c, "value");
    return operate(operator, expression(c.value, parameters), expression(operand, parameters));
  }
  if ("count" in c) {
    const count = c.count as Record<string, unknown>;
    if (!("field" in count) || "where" in count) throw new Unsupported("value count or count with where");
    const { value, collection } = field(resource, String(count.field));
    if (!collection) throw new Error(`count needs a [*] alias: ${String(count.field)}`);
    const n = Array.isArray(value) ? value.length : 0;
    const [operator, operand] = operatorOf(c, "count");
    return operate(operator, n, expression(operand, parameters));
  }
  throw new Unsupported(`the condition ${JSON.stringify(condition)}`);
}

/**
 * Evaluates a definition's rule against a resource (as in a PUT request body, with `type` and `id`),
 * with an assignment's parameter values over the definition's defaults. `Disabled` counts as not matched.
 */
export function evaluatePolicy(definition: Definition, resource: PolicyResource, assigned: Readonly<Record<string, { readonly value: Value }>> = {}): Outcome {
  const parameters: Record<string, Value> = {};
  for (const [name, p] of Object.entries(definition.properties.parameters ?? {})) if ("defaultValue" in p) parameters[name] = p.defaultValue;
  for (const [name, p] of Object.entries(assigned)) parameters[name] = p.value;
  if (!holds(definition.properties.policyRule.if, resource, parameters)) return { matched: false };
  const effect = String(expression(definition.properties.policyRule.then.effect, parameters));
  return effect.toLowerCase() === "disabled" ? { matched: false } : { matched: true, effect };
}

/** `Deny`, `Audit`, or `allowed` when the rule does not apply: what a test asserts. */
export function verdict(definition: Definition, resource: PolicyResource, assigned?: Readonly<Record<string, { readonly value: Value }>>): string {
  const outcome = evaluatePolicy(definition, resource, assigned);
  return outcome.matched ? outcome.effect : "allowed";
}

/** A scale set request body whose image reference is `imageId`. */
export function scaleSetRequest(id: string, imageId: string | undefined, tags: Readonly<Record<string, string>> = {}): PolicyResource {
  return {
    type: "Microsoft.Compute/virtualMachineScaleSets",
    id,
    location: "westeurope",
    tags,
    properties: { virtualMachineProfile: { storageProfile: { imageReference: imageId === undefined ? { publisher: "Canonical", offer: "ubuntu-24_04-lts", sku: "server", version: "latest" } : { id: imageId } } } },
  };
}

/** An image version request body with these target regions. */
export function versionRequest(id: string, regions: readonly string[], tags: Readonly<Record<string, string>> = {}): PolicyResource {
  return {
    type: "Microsoft.Compute/galleries/images/versions",
    id,
    location: "westeurope",
    tags,
    properties: { publishingProfile: { targetRegions: regions.map((name) => ({ name })) }, storageProfile: { source: { virtualMachineId: `${id.split("/providers/")[0]}/providers/Microsoft.Compute/virtualMachines/capture-vm` } } },
  };
}

/** A virtual machine request body whose image reference is `imageId` (`az vm create --image <id> --specialized`). */
export function vmRequest(id: string, imageId: string, tags: Readonly<Record<string, string>> = {}): PolicyResource {
  return { type: "Microsoft.Compute/virtualMachines", id, location: "westeurope", tags, properties: { hardwareProfile: { vmSize: "Standard_D2s_v3" }, storageProfile: { imageReference: { id: imageId } } } };
}

/** A gallery request body shared as `permissions` (`az sig create --permissions Community`). */
export function galleryRequest(id: string, permissions: "Private" | "Groups" | "Community", tags: Readonly<Record<string, string>> = {}): PolicyResource {
  return { type: "Microsoft.Compute/galleries", id, location: "westeurope", tags, properties: { sharingProfile: { permissions } } };
}
