/**
 * JSON Schemas (draft-07, plain data: no validator is imported here) of an Azure Policy definition
 * and a policy assignment, written from Microsoft's documentation because no copy of Microsoft's
 * own schema is available offline:
 * - https://learn.microsoft.com/azure/governance/policy/concepts/definition-structure-basics
 * - https://learn.microsoft.com/azure/governance/policy/concepts/definition-structure-parameters
 * - https://learn.microsoft.com/azure/governance/policy/concepts/definition-structure-policy-rule
 *   (conditions with field / value / count, allOf / anyOf / not, the operators, then.effect)
 * - https://learn.microsoft.com/azure/governance/policy/concepts/assignment-structure
 * - naming limits: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftauthorization
 *
 * It is stricter than ARM where the docs leave room (unknown keys are refused), since it checks
 * gallery-watch's own output: `gallery-watch policy` validates what it writes with it, and so do
 * the tests. What a schema cannot check (a defaultValue outside allowedValues, an alias that does
 * not exist) the tests check against the generator's own constants.
 */

/** ajv options the schemas are written for: strict (no unknown keyword slips by), with `type: [..]` unions. */
export const POLICY_SCHEMA_AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true } as const;

/** A template-language expression: `[...]`, but not `[[...`, which escapes a literal `[`. */
const EXPRESSION = "^\\[(?!\\[)[\\s\\S]*\\]$";
const expression = { type: "string", pattern: EXPRESSION } as const;

/** Case-insensitive match of a word list, for JSON Schema regexes that take no flags. */
function anyCase(words: readonly string[]): string {
  const word = (w: string) => [...w].map((c) => (/[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c)).join("");
  return `^(${words.map(word).join("|")})$`;
}

/** The effects a policy rule's `then` may name (case-insensitive), from the effect basics page. */
export const POLICY_EFFECTS = [
  "addToNetworkGroup",
  "append",
  "audit",
  "auditIfNotExists",
  "deny",
  "denyAction",
  "deployIfNotExists",
  "disabled",
  "manual",
  "modify",
  "mutate",
] as const;

/** Condition operators (definition-structure-policy-rule#conditions). */
export const CONDITION_OPERATORS = [
  "equals",
  "notEquals",
  "like",
  "notLike",
  "match",
  "matchInsensitively",
  "notMatch",
  "notMatchInsensitively",
  "contains",
  "notContains",
  "in",
  "notIn",
  "containsKey",
  "notContainsKey",
  "less",
  "lessOrEquals",
  "greater",
  "greaterOrEquals",
  "exists",
] as const;

const scalar = { type: ["string", "number", "boolean"] } as const;
const comparable = { type: ["string", "number"] } as const;
/** `like` takes a wildcard `*`, and at most one. */
const likePattern = { anyOf: [expression, { type: "string", pattern: "^[^*]*\\*?[^*]*$" }] } as const;
const list = { anyOf: [expression, { type: "array", items: scalar }] } as const;
const bool = { anyOf: [{ type: "boolean" }, { type: "string", pattern: anyCase(["true", "false"]) }] } as const;

const operatorSchemas: Record<(typeof CONDITION_OPERATORS)[number], unknown> = {
  equals: scalar,
  notEquals: scalar,
  like: likePattern,
  notLike: likePattern,
  match: { type: "string" },
  matchInsensitively: { type: "string" },
  notMatch: { type: "string" },
  notMatchInsensitively: { type: "string" },
  contains: scalar,
  notContains: scalar,
  in: list,
  notIn: list,
  containsKey: { type: "string" },
  notContainsKey: { type: "string" },
  less: comparable,
  lessOrEquals: comparable,
  greater: comparable,
  greaterOrEquals: comparable,
  exists: bool,
};

/** A count is compared as a number. */
const countOperators = ["equals", "notEquals", "less", "lessOrEquals", "greater", "greaterOrEquals", "in", "notIn"] as const;
const countComparand = { anyOf: [expression, { type: "integer" }] } as const;

/**
 * What `field` may name: the documented fields, a tag in bracket syntax (`tags['a-b']`, with `''`
 * escaping an apostrophe) or dot syntax, a property alias (`Namespace.Provider/type/path`), or an expression.
 */
const FIELD =
  "^(name|fullName|kind|type|location|id|identity\\.type|identity\\.userAssignedIdentities|tags|" +
  "tags\\['([^']|'')+'\\]|tags\\.[^.\\s\\[\\]]+|" +
  "[A-Za-z0-9]+(\\.[A-Za-z0-9]+)+/[A-Za-z0-9]+(/[A-Za-z0-9]+)*(/[A-Za-z0-9.\\[\\]*@'-]+)?|" +
  "\\[(?!\\[)[\\s\\S]*\\])$";

const operatorProperties = Object.fromEntries(CONDITION_OPERATORS.map((op) => [op, operatorSchemas[op]]));

/** draft-07 schema of a `Microsoft.Authorization/policyDefinitions` resource body. */
export const POLICY_DEFINITION_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://gallery-watch.local/schemas/policyDefinition.json",
  title: "Azure Policy definition (from the documented definition structure)",
  type: "object",
  required: ["properties"],
  additionalProperties: false,
  properties: {
    id: { type: "string", pattern: "^/.+/providers/Microsoft\\.Authorization/policyDefinitions/[^/]+$" },
    type: { const: "Microsoft.Authorization/policyDefinitions" },
    // Resource name: 1–128 characters, none of <>*%&:\?+/ or control characters, not ending in a period or space.
    name: { type: "string", minLength: 1, maxLength: 128, pattern: "^[^<>*%&:\\\\?+/\\u0000-\\u001f]*[^<>*%&:\\\\?+/\\u0000-\\u001f. ]$" },
    properties: {
      type: "object",
      required: ["policyRule"],
      additionalProperties: false,
      properties: {
        displayName: { type: "string", maxLength: 128 },
        description: { type: "string", maxLength: 512 },
        policyType: { enum: ["NotSpecified", "BuiltIn", "Custom", "Static"] },
        // Resource Manager modes and the resource provider modes.
        mode: {
          enum: [
            "All",
            "Indexed",
            "Microsoft.Kubernetes.Data",
            "Microsoft.KeyVault.Data",
            "Microsoft.Network.Data",
            "Microsoft.ManagedHSM.Data",
            "Microsoft.DataFactory.Data",
            "Microsoft.MachineLearningServices.v2.Data",
            "Microsoft.LoadTestService.Data",
          ],
        },
        version: { type: "string", pattern: "^\\d+\\.\\d+\\.\\d+(-[A-Za-z]+)?$" },
        metadata: {
          type: "object",
          properties: {
            version: { type: "string", pattern: "^\\d+\\.\\d+\\.\\d+(-[A-Za-z]+)?$" },
            category: { type: "string", minLength: 1 },
            preview: { type: "boolean" },
            deprecated: { type: "boolean" },
          },
        },
        parameters: {
          type: "object",
          additionalProperties: { $ref: "#/definitions/parameter" },
        },
        policyRule: {
          type: "object",
          required: ["if", "then"],
          additionalProperties: false,
          properties: {
            if: { $ref: "#/definitions/condition" },
            then: {
              type: "object",
              required: ["effect"],
              additionalProperties: false,
              properties: {
                effect: { anyOf: [expression, { type: "string", pattern: anyCase(POLICY_EFFECTS) }] },
                details: { type: ["object", "array"] },
              },
            },
          },
        },
      },
    },
  },
  definitions: {
    parameter: {
      type: "object",
      required: ["type"],
      additionalProperties: false,
      properties: {
        type: { enum: ["String", "Array", "Object", "Boolean", "Integer", "Float", "DateTime"] },
        metadata: {
          type: "object",
          properties: {
            displayName: { type: "string" },
            description: { type: "string" },
            strongType: { type: "string" },
            assignPermissions: { type: "boolean" },
            deprecated: { type: "boolean" },
          },
        },
        defaultValue: {},
        allowedValues: { type: "array", minItems: 1 },
        schema: { type: "object" },
      },
    },
    condition: {
      oneOf: [
        { $ref: "#/definitions/allOf" },
        { $ref: "#/definitions/anyOf" },
        { $ref: "#/definitions/not" },
        { $ref: "#/definitions/fieldCondition" },
        { $ref: "#/definitions/valueCondition" },
        { $ref: "#/definitions/countCondition" },
      ],
    },
    allOf: {
      type: "object",
      required: ["allOf"],
      additionalProperties: false,
      properties: { allOf: { type: "array", minItems: 1, items: { $ref: "#/definitions/condition" } } },
    },
    anyOf: {
      type: "object",
      required: ["anyOf"],
      additionalProperties: false,
      properties: { anyOf: { type: "array", minItems: 1, items: { $ref: "#/definitions/condition" } } },
    },
    not: {
      type: "object",
      required: ["not"],
      additionalProperties: false,
      properties: { not: { $ref: "#/definitions/condition" } },
    },
    /** `{ field, <one operator> }`. */
    fieldCondition: {
      type: "object",
      required: ["field"],
      minProperties: 2,
      maxProperties: 2,
      additionalProperties: false,
      properties: { field: { type: "string", pattern: FIELD }, ...operatorProperties },
    },
    /** `{ value, <one operator> }`: value is a literal or an expression. */
    valueCondition: {
      type: "object",
      required: ["value"],
      minProperties: 2,
      maxProperties: 2,
      additionalProperties: false,
      properties: { value: {}, ...operatorProperties },
    },
    /** `{ count: { field | value, name?, where? }, <one numeric operator> }`. */
    countCondition: {
      type: "object",
      required: ["count"],
      minProperties: 2,
      maxProperties: 2,
      additionalProperties: false,
      properties: {
        count: {
          oneOf: [
            {
              type: "object",
              required: ["field"],
              additionalProperties: false,
              // Field count counts the members of an array alias: it names one with [*].
              properties: { field: { type: "string", pattern: "\\[\\*\\]" }, where: { $ref: "#/definitions/condition" } },
            },
            {
              type: "object",
              required: ["value"],
              additionalProperties: false,
              properties: {
                value: { anyOf: [expression, { type: "array" }] },
                name: { type: "string", pattern: "^[A-Za-z0-9_-]+$" },
                where: { $ref: "#/definitions/condition" },
              },
            },
          ],
        },
        ...Object.fromEntries(countOperators.map((op) => [op, op === "in" || op === "notIn" ? { anyOf: [expression, { type: "array", items: { type: "integer" } }] } : countComparand])),
      },
    },
  },
} as const;

/** draft-07 schema of a `Microsoft.Authorization/policyAssignments` resource body (assignment-structure). */
export const POLICY_ASSIGNMENT_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://gallery-watch.local/schemas/policyAssignment.json",
  title: "Azure Policy assignment (from the documented assignment structure)",
  type: "object",
  required: ["properties"],
  additionalProperties: false,
  properties: {
    id: { type: "string", pattern: "^/.*/providers/Microsoft\\.Authorization/policyAssignments/[^/]+$" },
    type: { const: "Microsoft.Authorization/policyAssignments" },
    // 1–64 characters at subscription and resource group scope (24 at management group scope).
    name: { type: "string", minLength: 1, maxLength: 64, pattern: "^[^<>*%&:\\\\?+/\\u0000-\\u001f]*[^<>*%&:\\\\?+/\\u0000-\\u001f. ]$" },
    location: { type: "string" },
    identity: { type: "object" },
    properties: {
      type: "object",
      required: ["policyDefinitionId"],
      additionalProperties: false,
      properties: {
        displayName: { type: "string", maxLength: 128 },
        description: { type: "string", maxLength: 512 },
        policyDefinitionId: { type: "string", pattern: "^(/.+)?/providers/Microsoft\\.Authorization/(policyDefinitions|policySetDefinitions)/[^/]+$" },
        definitionVersion: { type: "string" },
        parameters: { type: "object", additionalProperties: { type: "object", required: ["value"], additionalProperties: false, properties: { value: {} } } },
        enforcementMode: { enum: ["Default", "DoNotEnforce"] },
        notScopes: { type: "array", items: { type: "string", pattern: "^/" } },
        nonComplianceMessages: {
          type: "array",
          items: {
            type: "object",
            required: ["message"],
            additionalProperties: false,
            properties: { message: { type: "string", minLength: 1, maxLength: 1024 }, policyDefinitionReferenceId: { type: "string" } },
          },
        },
        metadata: { type: "object" },
        overrides: { type: "array" },
        resourceSelectors: { type: "array" },
      },
    },
  },
} as const;
