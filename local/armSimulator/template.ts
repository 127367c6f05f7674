/**
 * An ARM template, evaluated as Azure Resource Manager does before a resource-group deployment
 * runs (https://learn.microsoft.com/azure/azure-resource-manager/templates/syntax): its parameters
 * (the values sent, else `defaultValue`, itself an expression; each checked against its `type`,
 * `allowedValues`, `minValue` and `maxValue`), variables, the template expressions in `[…]` strings
 * (`[[` escapes a literal `[`), each resource's id from its type and name, and the order its
 * `dependsOn` imposes. The result is a plan deployments.ts carries out, one resource write at a time.
 *
 * Only what `az vm create` (azure-cli 2.45, `_template_builder.py`) and hand-written templates of the
 * same kind use is evaluated: the functions `parameters`, `variables`, `concat`, `resourceId` and
 * `resourceGroup`, string and number literals, and property and index access. Everything else —
 * other functions (`reference`, `copyIndex`, `uniqueString`, …), `copy` loops (of resources, of
 * properties, of variables, of outputs), `condition`, `existing`, nested child resources, a
 * `templateLink` or `parametersLink`, Key Vault `reference` parameters, `languageVersion` 2.0
 * (symbolic names), `Complete` mode — is refused with ARM's `InvalidTemplate` naming what is not
 * evaluated, never deployed half-understood.
 */
import { createHash } from "node:crypto";
import { armError, type ArmFailure } from "./errors.js";
import type { Json } from "./estate.js";

export interface PlannedResource {
  readonly id: string;
  /** `Microsoft.Network/networkInterfaces` */
  readonly type: string;
  /** As the template names it: `vnet/subnet` for a nested resource. */
  readonly name: string;
  readonly apiVersion: string;
  /** The resource's PUT body: everything but the template's own keys, evaluated. */
  readonly body: Json;
  /** Ids of the resources this one waits for. */
  readonly dependsOn: readonly string[];
}

export interface DeploymentPlan {
  /** In the template's order; `dependsOn` says which may start when. */
  readonly resources: readonly PlannedResource[];
  /** The parameters as the deployment echoes them (`{ name: { type, value } }`, secure ones without value). */
  readonly parameters: Json;
  readonly outputs: Json;
  readonly templateHash: string;
}

export interface DeploymentScope {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** The group's location, which `resourceGroup().location` reads. */
  readonly location: string;
}

/** ARM's answer for a template it cannot evaluate (a synchronous 400 on the deployment PUT). */
export function invalidTemplate(message: string): ArmFailure {
  return armError(400, "InvalidTemplate", `Deployment template validation failed: '${message}'.`);
}

class TemplateError extends Error {}

/** Keys of a template resource that are not part of the resource's body. */
const TEMPLATE_KEYS = new Set(["type", "apiversion", "name", "dependson", "comments"]);
/** Keys with a meaning the simulator does not evaluate: refused rather than ignored. */
const UNSUPPORTED_KEYS = new Set(["copy", "condition", "resources", "scope", "existing"]);
const FUNCTIONS = ["parameters", "variables", "concat", "resourceId", "resourceGroup"] as const;

/** Plan a resource-group deployment from its request body (`properties.template`, `properties.parameters`, `properties.mode`). */
export function planDeployment(request: Json, scope: DeploymentScope): DeploymentPlan | ArmFailure {
  const properties = (request.properties ?? {}) as Json;
  for (const [link, inline] of [["templateLink", "template"], ["parametersLink", "parameters"]]) {
    if (properties[link!] !== undefined) return invalidTemplate(`A ${link} is not fetched by the local ARM simulator: send the ${inline} inline in properties.${inline}`);
  }
  const template = properties.template as Json | undefined;
  // languageVersion 2.0 (symbolic names, `existing`, user-defined types) changes what a template means.
  if (template?.languageVersion !== undefined) return invalidTemplate(`The template languageVersion '${String(template.languageVersion)}' is not evaluated by the local ARM simulator: only the original template language (no languageVersion) is`);
  if (!template || typeof template !== "object" || !Array.isArray(template.resources)) return armError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: 'properties.template' with a 'resources' array is required.");
  if (String(properties.mode ?? "").toLowerCase() !== "incremental") return invalidTemplate(`The deployment mode '${String(properties.mode ?? "")}' is not evaluated by the local ARM simulator: only Incremental is`);
  try {
    return plan(template, (properties.parameters ?? {}) as Json, scope);
  } catch (error) {
    if (error instanceof TemplateError) return invalidTemplate(error.message);
    throw error;
  }
}

function plan(template: Json, given: Json, scope: DeploymentScope): DeploymentPlan {
  const declared = (template.parameters ?? {}) as Json;
  const extra = Object.keys(given).filter((name) => !(name in declared));
  if (extra.length > 0) throw new TemplateError(`The template parameters '${extra.join(", ")}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '${Object.keys(declared).join(", ")}'`);
  const keyVault = Object.keys(given).find((name) => (given[name] as Json)?.reference !== undefined);
  if (keyVault) throw new TemplateError(`The template parameter '${keyVault}' is a Key Vault reference, which the local ARM simulator does not resolve: send its value`);
  const evaluator = new Evaluator(declared, given, (template.variables ?? {}) as Json, scope);
  const parameters: Json = Object.fromEntries(Object.keys(declared).map((name) => [name, evaluator.parameter(name)]));

  const resources = (template.resources as Json[]).map((resource) => {
    const label = typeof resource.name === "string" ? resource.name : JSON.stringify(resource.name);
    const unsupported = Object.keys(resource).find((key) => UNSUPPORTED_KEYS.has(key.toLowerCase()));
    if (unsupported) throw new TemplateError(`The template resource '${label}' uses '${unsupported}', which the local ARM simulator does not evaluate`);
    const type = String(evaluator.value(resource.type));
    const name = String(evaluator.value(resource.name));
    const apiVersion = String(evaluator.value(resource.apiVersion ?? ""));
    if (!apiVersion) throw new TemplateError(`The template resource '${name}' of type '${type}' has no apiVersion`);
    const body: Json = {};
    for (const [key, value] of Object.entries(resource)) if (!TEMPLATE_KEYS.has(key.toLowerCase())) body[key] = evaluator.value(value);
    const dependsOn = ((resource.dependsOn ?? []) as unknown[]).map((d) => String(evaluator.value(d)));
    return { id: resourceIdOf(scope, type, name), type, name, apiVersion, body, dependsOn };
  });

  const byId = new Map<string, PlannedResource>();
  for (const resource of resources) {
    if (byId.has(resource.id.toLowerCase())) throw new TemplateError(`The resource '${resource.id}' is defined multiple times in a template. Please see https://aka.ms/arm-syntax-resources for usage details`);
    byId.set(resource.id.toLowerCase(), resource);
  }
  // A dependency names a resource by id, by `type/name`, or by name alone (ARM accepts each when it is unambiguous).
  const resolve = (reference: string): string => {
    const lower = reference.toLowerCase();
    const found = resources.filter((r) => r.id.toLowerCase() === lower || r.id.toLowerCase().endsWith(`/providers/${lower}`) || r.name.toLowerCase() === lower);
    if (found.length !== 1) throw new TemplateError(`The resource '${reference}' is not defined in the template. Please see https://aka.ms/arm-syntax for usage details`);
    return found[0]!.id;
  };
  const planned = resources.map((r) => ({ ...r, dependsOn: r.dependsOn.map(resolve) }));
  assertAcyclic(planned);

  const outputs: Json = {};
  for (const [name, output] of Object.entries((template.outputs ?? {}) as Json) as Array<[string, Json]>) {
    if (output.copy !== undefined) throw new TemplateError(`The template output '${name}' uses 'copy', which the local ARM simulator does not evaluate`);
    outputs[name] = { type: output.type, value: evaluator.value(output.value) };
  }
  const echoed = Object.fromEntries(
    Object.entries(declared).map(([name, declaration]) => {
      const type = String((declaration as Json).type ?? "string");
      const secure = type.toLowerCase().startsWith("secure");
      return [name, secure ? { type: capitalised(type) } : { type: capitalised(type), value: parameters[name] }];
    }),
  );
  return { resources: planned, parameters: echoed, outputs, templateHash: templateHash(template) };
}

function assertAcyclic(resources: readonly PlannedResource[]): void {
  const byId = new Map(resources.map((r) => [r.id.toLowerCase(), r]));
  const state = new Map<string, "visiting" | "done">();
  const visit = (resource: PlannedResource): void => {
    const key = resource.id.toLowerCase();
    if (state.get(key) === "done") return;
    if (state.get(key) === "visiting") throw new TemplateError(`Circular dependency detected on resource: '${resource.id}'. Please see https://aka.ms/arm-syntax-resources for usage details`);
    state.set(key, "visiting");
    for (const dependency of resource.dependsOn) visit(byId.get(dependency.toLowerCase())!);
    state.set(key, "done");
  };
  resources.forEach(visit);
}

/**
 * `/subscriptions/{s}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}[/{child type}/{child name}…]`:
 * a type of n segments after the namespace takes a name of n segments (ARM's rule for nested resources).
 */
function resourceIdOf(scope: DeploymentScope, type: string, name: string, subscriptionId = scope.subscriptionId, resourceGroup = scope.resourceGroup): string {
  const [namespace, ...types] = type.split("/");
  const names = name.split("/");
  if (!namespace || types.length === 0 || types.length !== names.length) {
    throw new TemplateError(`The template resource '${name}' for type '${type}' has incorrect segment lengths. A nested resource type must have identical number of segments as its resource name. A root resource type must have segment length one greater than its resource name. Please see https://aka.ms/arm-syntax-resources for usage details`);
  }
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${namespace}/${types.map((t, i) => `${t}/${names[i]}`).join("/")}`;
}

// ---- expressions -------------------------------------------------------------------------

type Value = unknown;

class Evaluator {
  private readonly evaluating = new Set<string>();
  private readonly parameterValues = new Map<string, Value>();

  constructor(
    private readonly declared: Json,
    private readonly given: Json,
    private readonly variables: Json,
    private readonly scope: DeploymentScope,
  ) {
    const iteration = Object.keys(variables).find((key) => key.toLowerCase() === "copy");
    if (iteration) throw new TemplateError(`The template variables use '${iteration}' (a variable iteration), which the local ARM simulator does not evaluate`);
  }

  /**
   * A parameter's value: the one sent, else its `defaultValue` evaluated as an expression, which may
   * use other parameters (https://learn.microsoft.com/azure/azure-resource-manager/templates/parameters#default-value);
   * then checked against its declaration.
   */
  parameter(name: string): Value {
    if (!(name in this.declared)) throw new TemplateError(`The template parameter '${name}' is not found`);
    if (this.parameterValues.has(name)) return this.parameterValues.get(name);
    const declaration = this.declared[name] as Json;
    const value = this.once("parameter", name, () => (this.given[name] as Json | undefined)?.value ?? this.value(declaration.defaultValue));
    if (value === undefined) throw new TemplateError(`The value for the template parameter '${name}' is not provided. Please see https://aka.ms/resource-manager-parameter-files for usage details`);
    checkParameter(name, declaration, value);
    this.parameterValues.set(name, value);
    return value;
  }

  /** A JSON value with every expression string in it evaluated. */
  value(node: unknown): Value {
    if (typeof node === "string") return this.string(node);
    if (Array.isArray(node)) return node.map((item) => this.value(item));
    if (node && typeof node === "object") {
      // `copy` as an array inside an object is a property iteration (https://learn.microsoft.com/azure/azure-resource-manager/templates/copy-properties).
      const iteration = Object.entries(node).find(([key, value]) => key.toLowerCase() === "copy" && Array.isArray(value));
      if (iteration) throw new TemplateError(`The template uses a '${iteration[0]}' array (a property iteration), which the local ARM simulator does not evaluate`);
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, this.value(v)]));
    }
    return node;
  }

  /** Evaluate a parameter or variable once at a time: one that needs itself is refused. */
  private once(what: "parameter" | "variable", name: string, evaluate: () => Value): Value {
    const key = `${what}:${name}`;
    if (this.evaluating.has(key)) throw new TemplateError(`The template ${what} '${name}' refers to itself`);
    this.evaluating.add(key);
    try {
      return evaluate();
    } finally {
      this.evaluating.delete(key);
    }
  }

  private string(text: string): Value {
    if (!text.startsWith("[") || !text.endsWith("]")) return text;
    if (text.startsWith("[[")) return text.slice(1);
    const parser = new Parser(text.slice(1, -1));
    const expression = parser.expression();
    parser.end();
    return this.evaluate(expression);
  }

  private evaluate(expression: Expression): Value {
    switch (expression.kind) {
      case "literal":
        return expression.value;
      case "property": {
        const target = this.evaluate(expression.target);
        const key = expression.key.kind === "literal" ? expression.key.value : this.evaluate(expression.key);
        if (target === null || typeof target !== "object" || !(String(key) in (target as Json))) throw new TemplateError(`The language expression property '${String(key)}' doesn't exist`);
        return (target as Json)[String(key)];
      }
      case "call":
        return this.call(expression.name, expression.args.map((arg) => this.evaluate(arg)));
    }
  }

  private call(name: string, args: Value[]): Value {
    switch (name.toLowerCase()) {
      case "parameters":
        return this.parameter(String(args[0]));
      case "variables": {
        const key = String(args[0]);
        if (!(key in this.variables)) throw new TemplateError(`The template variable '${key}' is not found`);
        return this.once("variable", key, () => this.value(this.variables[key]));
      }
      case "concat":
        // Arrays into one array, or strings and integers into one string; never a mix, never objects
        // (https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-array#concat, …-string#concat).
        if (args.every(Array.isArray)) return (args as unknown[][]).flat();
        if (args.every((a) => typeof a === "string" || Number.isInteger(a))) return args.join("");
        throw new TemplateError("The provided parameters for language function 'concat' are invalid. Either all or none of the parameters must be an array, and the others strings or integers. Please see https://aka.ms/arm-template-expressions/#concat for usage details");
      case "resourcegroup":
        // https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-scope#resourcegroup
        return { id: `/subscriptions/${this.scope.subscriptionId}/resourceGroups/${this.scope.resourceGroup}`, name: this.scope.resourceGroup, type: "Microsoft.Resources/resourceGroups", location: this.scope.location, properties: { provisioningState: "Succeeded" } };
      case "resourceid": {
        // resourceId([subscriptionId], [resourceGroupName], resourceType, name1, [name2, …]): the type is the first argument with a '/'.
        const strings = args.map(String);
        const typeAt = strings.findIndex((a) => a.includes("/"));
        if (typeAt < 0 || typeAt > 2) throw new TemplateError("The template function 'resourceId' expects a resource type of the form 'Namespace/type' among its first three arguments");
        const [subscriptionId, resourceGroup] = typeAt === 2 ? strings : typeAt === 1 ? [this.scope.subscriptionId, strings[0]] : [this.scope.subscriptionId, this.scope.resourceGroup];
        return resourceIdOf(this.scope, strings[typeAt]!, strings.slice(typeAt + 1).join("/"), subscriptionId, resourceGroup);
      }
      default:
        throw new TemplateError(`The template function '${name}' is not evaluated by the local ARM simulator (it evaluates ${FUNCTIONS.join(", ")}). Please see https://aka.ms/arm-functions for usage details`);
    }
  }
}

type Expression =
  | { readonly kind: "literal"; readonly value: string | number }
  | { readonly kind: "call"; readonly name: string; readonly args: readonly Expression[] }
  | { readonly kind: "property"; readonly target: Expression; readonly key: Expression };

/** ARM's expression grammar, as far as the functions above need: calls, 'strings' ('' escapes a quote), integers, `.property` and `[index]`. */
class Parser {
  private at = 0;

  constructor(private readonly text: string) {}

  expression(): Expression {
    this.space();
    let expression = this.primary();
    for (;;) {
      this.space();
      if (this.peek(".")) {
        this.at++;
        expression = { kind: "property", target: expression, key: { kind: "literal", value: this.identifier(false) } };
      } else if (this.peek("[")) {
        this.at++;
        const key = this.expression();
        this.expect("]");
        expression = { kind: "property", target: expression, key };
      } else return expression;
    }
  }

  end(): void {
    this.space();
    if (this.at < this.text.length) this.fail(`unexpected '${this.text.slice(this.at, this.at + 10)}'`);
  }

  private primary(): Expression {
    if (this.peek("'")) return { kind: "literal", value: this.quoted() };
    const number = /^-?\d+/.exec(this.text.slice(this.at));
    if (number) {
      this.at += number[0].length;
      return { kind: "literal", value: Number(number[0]) };
    }
    const name = this.identifier(true);
    this.space();
    this.expect("(");
    const args: Expression[] = [];
    this.space();
    if (!this.peek(")")) {
      for (;;) {
        args.push(this.expression());
        this.space();
        if (!this.peek(",")) break;
        this.at++;
      }
    }
    this.expect(")");
    return { kind: "call", name, args };
  }

  private quoted(): string {
    let out = "";
    this.at++;
    while (this.at < this.text.length) {
      const c = this.text[this.at++]!;
      if (c !== "'") out += c;
      else if (this.peek("'")) {
        out += "'";
        this.at++;
      } else return out;
    }
    return this.fail("unterminated string");
  }

  /** A property name, or a function name: `name`, or `namespace.name` for a user-defined function (which the simulator refuses when called). */
  private identifier(functionName: boolean): string {
    const match = (functionName ? /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?/ : /^[A-Za-z_]\w*/).exec(this.text.slice(this.at));
    if (!match) return this.fail(functionName ? "expected a function name" : "expected a property name");
    this.at += match[0].length;
    return match[0];
  }

  private space(): void {
    while (this.text[this.at] === " ") this.at++;
  }

  private peek(c: string): boolean {
    return this.text[this.at] === c;
  }

  private expect(c: string): void {
    this.space();
    if (!this.peek(c)) this.fail(`expected '${c}'`);
    this.at++;
  }

  private fail(what: string): never {
    throw new TemplateError(`The language expression '${this.text}' is not valid: ${what} at position ${this.at}. Please see https://aka.ms/arm-template-expressions for usage details`);
  }
}

/** ARM's JSON type names for each parameter type, as its refusals spell them. */
const PARAMETER_TYPES: Readonly<Record<string, string>> = { string: "String", securestring: "String", int: "Integer", bool: "Boolean", object: "Object", secureobject: "Object", array: "Array" };

/**
 * A parameter's value against its declaration: its `type`, `allowedValues` (each element, for an
 * array), `minValue` and `maxValue` (https://learn.microsoft.com/azure/azure-resource-manager/templates/parameters,
 * data-types). ARM refuses a mismatch before the deployment starts, with `InvalidTemplate`
 * ("The provided value for the template parameter '…' is not valid. …").
 */
function checkParameter(name: string, declaration: Json, value: Value): void {
  const expected = PARAMETER_TYPES[String(declaration.type).toLowerCase()];
  if (!expected) throw new TemplateError(`The template parameter '${name}' has type '${String(declaration.type)}'; a parameter's type is one of ${Object.keys(PARAMETER_TYPES).join(", ")}. Please see https://aka.ms/arm-syntax-parameters for usage details`);
  const actual = Array.isArray(value) ? "Array" : value === null ? "Null" : typeof value === "object" ? "Object" : typeof value === "number" ? (Number.isInteger(value) ? "Integer" : "Float") : typeof value === "boolean" ? "Boolean" : "String";
  const invalid = (why: string) => new TemplateError(`The provided value for the template parameter '${name}' is not valid. ${why}. Please see https://aka.ms/resource-manager-parameter-files for usage details`);
  if (actual !== expected) throw invalid(`Template parameter JToken type is not valid. Expected '${expected}'. Actual '${actual}'`);
  if (Array.isArray(declaration.allowedValues)) {
    const allowed = new Set(declaration.allowedValues.map((v: unknown) => JSON.stringify(v)));
    if (!(Array.isArray(value) ? value : [value]).every((v) => allowed.has(JSON.stringify(v)))) throw invalid(`The parameter value is not part of the allowed value(s): '${declaration.allowedValues.map(String).join(",")}'`);
  }
  if (typeof declaration.minValue === "number" && (value as number) < declaration.minValue) throw invalid(`The parameter value must be greater than or equal to the minimum value '${declaration.minValue}'`);
  if (typeof declaration.maxValue === "number" && (value as number) > declaration.maxValue) throw invalid(`The parameter value must be less than or equal to the maximum value '${declaration.maxValue}'`);
}

function capitalised(type: string): string {
  const known: Record<string, string> = { string: "String", securestring: "SecureString", int: "Int", bool: "Bool", object: "Object", secureobject: "SecureObject", array: "Array" };
  return known[type.toLowerCase()] ?? type;
}

/** ARM reports a decimal hash of the template; this one is stable for the same template. */
function templateHash(template: Json): string {
  return BigInt(`0x${createHash("sha256").update(JSON.stringify(template)).digest("hex").slice(0, 16)}`).toString();
}
