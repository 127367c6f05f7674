/**
 * Loads Microsoft's swagger 2.0 documents from `../shared/fixtures` into one ajv instance so a
 * response body can be checked against what the operation itself declares (the schema of the
 * status code it returned, or its `default` error schema), the way `oav` checks live traffic.
 *
 * Cross-file `$ref`s are resolved to the documents given (e.g. the scale-set swagger's
 * `./computeRPCommon.json#/...` and `../../../common-types/v1/common.json#/...`); a `$ref` into a
 * document that is not in the fixtures goes to an explicit stub, and every stub actually used is
 * reported, so a summary can say what was not checked.
 */
import { Ajv, type AnySchema, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { readFixture } from "../support/fixtures.js";

export interface SwaggerDocument {
  /** Fixture path under `../shared/fixtures`. */
  readonly fixture: string;
  /** How other documents' `$ref`s name this file: the ref's file part ends with this (e.g. `common-types/v1/common.json`). */
  readonly refSuffix: string;
}

export interface SwaggerSetOptions {
  /** The document whose `paths` and `definitions` are validated against; others are only `$ref` targets. */
  readonly main: SwaggerDocument;
  readonly others?: readonly SwaggerDocument[];
  /** Definitions standing in for files not in the fixtures, keyed `<ref file suffix>#<definition name>`. */
  readonly stubs?: Readonly<Record<string, AnySchema>>;
}

export interface ResponseCheck {
  /** `operationId` of the swagger operation the request matched. */
  readonly operationId: string;
  /** The response key used: the status code, or `default` for an undeclared (error) status. */
  readonly response: string;
  /** Whether the status is one the operation declares explicitly (2xx must be). */
  readonly declared: boolean;
  /** The operation is `x-ms-long-running-operation`: a 201 / 202 must say where to poll. */
  readonly longRunning: boolean;
  readonly errors: string[];
}

export interface SwaggerSet {
  /** Validate a body against a definition of the main document. */
  validate(definition: string, body: unknown): string[];
  /** Validate a response against the operation matching method + path (no query). */
  validateResponse(method: string, path: string, status: number, body: unknown): ResponseCheck;
  /** Every stub a compiled schema reached so far (`file#Definition`), for the summary. */
  stubsUsed(): string[];
  /** Every stub declared for a file the fixtures do not hold (reached or not). */
  readonly stubsDeclared: readonly string[];
}

const HTTP_METHODS = new Set(["get", "put", "post", "patch", "delete", "head"]);
/** Autorest formats that ajv-formats lacks: accepted unchecked (none occurs in the scale-set swagger). */
const AUTOREST_FORMATS = ["arm-id", "unixtime", "base64url", "date-time-rfc1123", "uuid-or-empty"] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function loadSwaggerSet(options: SwaggerSetOptions): SwaggerSet {
  const documents = [options.main, ...(options.others ?? [])];
  const idOf = (doc: SwaggerDocument) => `swagger:${doc.refSuffix}`;
  const stubsUsed = new Set<string>();
  const stubKeys = Object.keys(options.stubs ?? {});
  const stubDefinitions: Record<string, AnySchema> = {};
  for (const key of stubKeys) stubDefinitions[stubName(key)] = options.stubs![key]!;

  /** A `$ref` as written in a document → an ajv ref. Local refs stay local to their document. */
  const resolveRef = (ref: string): string => {
    if (ref.startsWith("#")) return ref;
    const [file = "", pointer = ""] = ref.split("#");
    const target = documents.find((d) => file.endsWith(d.refSuffix));
    if (target) return `${idOf(target)}#${pointer}`;
    const name = pointer.split("/").pop() ?? "";
    const key = stubKeys.find((k) => file.endsWith(k.split("#")[0]!) && k.split("#")[1] === name);
    if (!key) throw new Error(`swagger $ref '${ref}' points into a file the fixtures do not hold and no stub is declared for it`);
    return `swagger:stubs#/definitions/${stubName(key)}`;
  };

  /** Swagger 2.0 schema → JSON Schema draft-07 that ajv accepts; `base` makes local refs absolute. */
  const convert = (node: Json, base?: string): Json => {
    if (Array.isArray(node)) return node.map((n) => convert(n, base));
    if (!node || typeof node !== "object") return node;
    const out: Record<string, Json> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") out[key] = base && value.startsWith("#") ? `${base}${value}` : resolveRef(value);
      // Swagger's discriminator is a property name, not JSON Schema; `x-nullable: true` widens the type.
      else if (key === "discriminator" && typeof value === "string") continue;
      else if (key === "example" || key === "x-ms-examples") continue;
      else out[key] = convert(value, base);
    }
    if (node["x-nullable"] === true && typeof out.type === "string") out.type = [out.type, "null"];
    return out;
  };

  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  for (const f of AUTOREST_FORMATS) ajv.addFormat(f, true);
  const raw = new Map<SwaggerDocument, Record<string, any>>();
  /** Converted definitions per document id, with refs made absolute (for walking, not for ajv). */
  const absolute = new Map<string, Record<string, Json>>();
  for (const doc of documents) {
    const swagger = readFixture<Record<string, any>>(doc.fixture);
    raw.set(doc, swagger);
    ajv.addSchema({ $id: idOf(doc), definitions: convert(swagger.definitions ?? {}) } as AnySchema);
    absolute.set(idOf(doc), convert(swagger.definitions ?? {}, idOf(doc)) as Record<string, Json>);
  }
  ajv.addSchema({ $id: "swagger:stubs", definitions: stubDefinitions } as AnySchema);

  const cache = new Map<string, ValidateFunction>();
  const compiled = (key: string, schema: () => AnySchema): ValidateFunction => {
    let fn = cache.get(key);
    if (!fn) {
      fn = ajv.compile(schema());
      cache.set(key, fn);
      // Which stubs can this schema reach? Follow its refs through the converted documents.
      markStubs(schema(), new Set());
    }
    return fn;
  };
  const markStubs = (schema: unknown, seen: Set<string>): void => {
    if (Array.isArray(schema)) return schema.forEach((s) => markStubs(s, seen));
    if (!schema || typeof schema !== "object") return;
    for (const [k, v] of Object.entries(schema)) {
      if (k === "$ref" && typeof v === "string") {
        if (seen.has(v)) continue;
        seen.add(v);
        if (v.startsWith("swagger:stubs#")) stubsUsed.add(stubKeys.find((key) => stubName(key) === v.split("/").pop())!);
        else markStubs(lookup(v), seen);
      } else markStubs(v, seen);
    }
  };
  /** The converted sub-schema behind an absolute ref (only `#/definitions/X` pointers occur in these swaggers). */
  const lookup = (ref: string): unknown => {
    const [base = "", pointer = ""] = ref.split("#");
    return absolute.get(base)?.[pointer.split("/").pop()!];
  };

  const main = raw.get(options.main)!;
  const mainId = idOf(options.main);
  const operations = Object.entries(main.paths as Record<string, Record<string, any>>).flatMap(([template, ops]) =>
    Object.entries(ops)
      .filter(([method]) => HTTP_METHODS.has(method))
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`, "i"),
        operationId: String(op.operationId),
        longRunning: op["x-ms-long-running-operation"] === true,
        responses: op.responses as Record<string, { schema?: Json }>,
      })),
  );

  const errorsOf = (fn: ValidateFunction, body: unknown): string[] => (fn(body) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params && "allowedValues" in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : ""}`));

  return {
    stubsDeclared: stubKeys,
    stubsUsed: () => [...stubsUsed].sort(),
    validate(definition, body) {
      const fn = compiled(`def:${definition}`, () => ({ $ref: `${mainId}#/definitions/${definition}` }));
      return errorsOf(fn, body);
    },
    validateResponse(method, path, status, body) {
      const candidates = operations.filter((o) => o.method === method.toUpperCase() && o.pattern.test(path));
      // A literal segment beats a parameter (`.../locations/{location}/...` vs a resource name): prefer the fewest parameters.
      const op = candidates.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0))[0];
      if (!op) throw new Error(`no operation in ${options.main.fixture} for ${method} ${path}`);
      const declared = String(status) in op.responses;
      const key = declared ? String(status) : "default";
      const response = op.responses[key];
      const base = { operationId: op.operationId, response: key, declared, longRunning: op.longRunning };
      if (!response) return { ...base, errors: [`${op.operationId} declares neither ${status} nor default`] };
      if (!response.schema) return { ...base, errors: body === undefined || body === null || body === "" ? [] : [`${op.operationId} ${key} declares no body, got one`] };
      // The operation's schema refs are relative to the main document: resolve them there.
      const fn = compiled(`op:${op.operationId}:${key}`, () => convert(response.schema!, mainId) as AnySchema);
      return { ...base, errors: errorsOf(fn, body) };
    },
  };
}

function stubName(key: string): string {
  return key.replace(/[^A-Za-z0-9]+/g, "_");
}
