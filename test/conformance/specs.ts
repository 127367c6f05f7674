/**
 * The swagger sets the conformance suite validates against, and ARM's error-response contract.
 * Everything here reads `../shared/fixtures` (see its README); callers skip when it is absent.
 */
import { Ajv, type AnySchema } from "ajv";
import { loadSwaggerSet, type SwaggerDocument, type SwaggerSet } from "./swagger.js";

const COMPUTE_COMMON: SwaggerDocument = {
  // specification/compute/resource-manager/Microsoft.Compute/common-types/v1/common.json (commit 08272fcc)
  fixture: "azure-rest-api-specs/compute-common-types-v1/common.json",
  refSuffix: "common-types/v1/common.json",
};

/**
 * `./virtualMachine.json` (ComputeRP 2025-04-01) is NOT in the fixtures. The scale-set swagger
 * references these definitions from it (VM-extension, instance-view and reimage models) and
 * computeRPCommon.json references one. They are stubbed as "any object": whatever a body holds at
 * those places is not checked. None of them is reachable from `VirtualMachineScaleSet` or the
 * list results (the scale set's own extension profile and identity are defined in
 * virtualMachineScaleSet.json), so GET / list / PUT bodies are checked in full; the summary
 * prints which stubs a check reached all the same.
 */
const VIRTUAL_MACHINE_STUBS: Record<string, AnySchema> = Object.fromEntries(
  [
    "RetrieveBootDiagnosticsDataResult",
    "VirtualMachineAgentInstanceView",
    "VirtualMachineExtension",
    "VirtualMachineExtensionInstanceView",
    "VirtualMachineExtensionProperties",
    "VirtualMachineExtensionUpdateProperties",
    "VirtualMachineHealthStatus",
    "VirtualMachineIdentity",
    "VirtualMachineReimageParameters",
    "VirtualMachineNetworkInterfaceConfiguration",
  ].map((name) => [`virtualMachine.json#${name}`, { type: "object", description: `stub: ./virtualMachine.json#/definitions/${name} is not in the fixtures` }]),
);

/** virtualMachineScaleSet.json (ComputeRP 2025-04-01, commit 0fe8b6f9) + computeRPCommon.json + compute common types. */
export function scaleSetSwagger(): SwaggerSet {
  return loadSwaggerSet({
    main: { fixture: "azure-rest-api-specs/ComputeRP-2025-04-01/virtualMachineScaleSet.json", refSuffix: "virtualMachineScaleSet.json" },
    others: [{ fixture: "azure-rest-api-specs/ComputeRP-2025-04-01/computeRPCommon.json", refSuffix: "computeRPCommon.json" }, COMPUTE_COMMON],
    stubs: VIRTUAL_MACHINE_STUBS,
  });
}

/**
 * computeRPCommon.json (ComputeRP 2025-04-01) as the main document: the profiles a VM shares with a
 * scale set's VM profile (`StorageProfile` with `ImageReference` and `OSDisk`, `HardwareProfile`,
 * `OSProfile`). virtualMachine.json (the `VirtualMachine` envelope and its operations) and
 * disk.json are not in the fixtures: a VM body is checked at these profiles only.
 */
export function computeCommonSwagger(): SwaggerSet {
  return loadSwaggerSet({
    main: { fixture: "azure-rest-api-specs/ComputeRP-2025-04-01/computeRPCommon.json", refSuffix: "computeRPCommon.json" },
    others: [COMPUTE_COMMON],
    stubs: VIRTUAL_MACHINE_STUBS,
  });
}

/**
 * GalleryRP.json (2025-03-03). Its `common-types/v1/common.json` refs (CloudError) resolve to the
 * compute common types in the fixtures; `common-types/resource-management/v3/types.json` is not
 * there, so its `TrackedResource` is stubbed with the ARM tracked-resource envelope
 * (https://github.com/Azure/azure-rest-api-specs/blob/main/specification/common-types/resource-management/v3/types.json).
 */
export function galleryRpSwagger(): SwaggerSet {
  return loadSwaggerSet({
    main: { fixture: "azure-rest-api-specs/GalleryRP-2025-03-03/GalleryRP.json", refSuffix: "GalleryRP.json" },
    others: [COMPUTE_COMMON],
    stubs: {
      "resource-management/v3/types.json#TrackedResource": {
        type: "object",
        properties: {
          id: { type: "string" },
          name: { type: "string" },
          type: { type: "string" },
          location: { type: "string" },
          tags: { type: "object", additionalProperties: { type: "string" } },
          systemData: { type: "object" },
        },
        required: ["location"],
      },
    },
  });
}

/**
 * ARM's error response, stricter than the swaggers' `CloudError` (which requires nothing):
 * `{ error: { code, message, target?, details?, additionalInfo? } }` with `code` and `message`
 * required, per the ARM resource-provider contract ("Error Response Content",
 * https://github.com/cloud-and-ai-microsoft/resource-provider-contract/blob/master/v1.0/common-api-details.md#error-response-content)
 * and `ErrorResponse` / `ErrorDetail` / `ErrorAdditionalInfo` in
 * specification/common-types/resource-management/v5/types.json. Compute's `ApiError`
 * (common-types/v1/common.json) adds `innererror`, so that is allowed too; nothing else is.
 */
const ARM_ERROR_RESPONSE = {
  $id: "arm:ErrorResponse",
  type: "object",
  required: ["error"],
  additionalProperties: false,
  properties: { error: { $ref: "#/definitions/ErrorDetail" } },
  definitions: {
    ErrorDetail: {
      type: "object",
      required: ["code", "message"],
      additionalProperties: false,
      properties: {
        code: { type: "string", minLength: 1 },
        message: { type: "string", minLength: 1 },
        target: { type: "string" },
        details: { type: "array", items: { $ref: "#/definitions/ErrorDetail" } },
        additionalInfo: {
          type: "array",
          items: { type: "object", properties: { type: { type: "string" }, info: { type: "object" } }, additionalProperties: false },
        },
        innererror: { type: "object", properties: { exceptiontype: { type: "string" }, errordetail: { type: "string" } } },
      },
    },
  },
} as const;

const armAjv = new Ajv({ strict: false, allErrors: true });
const armError = armAjv.compile(ARM_ERROR_RESPONSE);

/** Problems with a body as an ARM error response ([] when it conforms). */
export function armErrorProblems(body: unknown): string[] {
  return armError(body) ? [] : (armError.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params && "additionalProperty" in e.params ? ` '${String(e.params.additionalProperty)}'` : ""}`);
}
