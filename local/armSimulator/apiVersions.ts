/**
 * The api-versions ARM accepts per resource type. A request with another version is refused by
 * ARM before it reaches the resource provider, with `400 InvalidApiVersionParameter`.
 *
 * - Microsoft.Compute galleries / images / versions (GalleryRP): the stable versions of
 *   specification/compute/resource-manager/Microsoft.Compute/GalleryRP/stable/ (2021-07-01 …
 *   2025-03-03; the newest is /work/shared/fixtures/azure-rest-api-specs/GalleryRP-2025-03-03).
 * - Microsoft.Compute virtualMachineScaleSets (ComputeRP): the stable ComputeRP versions since
 *   2023-09-01 (…/ComputeRP-2025-04-01/virtualMachineScaleSet.json is 2025-04-01), plus
 *   2026-03-01, the version @azure/arm-compute 24.1.0 hard-codes for scale-set operations
 *   (node_modules/@azure/arm-compute/dist/esm/api/virtualMachineScaleSets/operations.js): the
 *   real SDK the product uses must not be refused.
 * - Microsoft.Resources resourceGroups and tags: 2021-04-01 … 2025-04-01
 *   (https://learn.microsoft.com/rest/api/resources/resource-groups,
 *   https://learn.microsoft.com/rest/api/resources/tags).
 */
import { armError, type ArmFailure } from "./errors.js";

export type ApiFamily = "gallery" | "scaleSet" | "resources" | "computeOperations";

const GALLERY = ["2025-03-03", "2024-03-03", "2023-07-03", "2022-08-03", "2022-03-03", "2022-01-03", "2021-10-01", "2021-07-01"] as const;
const COMPUTE = ["2026-03-01", "2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-09-01"] as const;
const RESOURCES = ["2025-04-01", "2025-03-01", "2025-01-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01", "2022-09-01", "2021-04-01"] as const;

export const API_VERSIONS: Readonly<Record<ApiFamily, readonly string[]>> = {
  gallery: GALLERY,
  scaleSet: COMPUTE,
  resources: RESOURCES,
  // Microsoft.Compute/locations/operations serves the polls of both the gallery and the scale-set operations.
  computeOperations: [...GALLERY, ...COMPUTE],
};

/** `undefined` when ARM would accept `version` for this family; otherwise the refusal ARM answers. */
export function checkApiVersion(family: ApiFamily, version: string): ArmFailure | undefined {
  const supported = API_VERSIONS[family];
  if (supported.includes(version)) return undefined;
  return armError(400, "InvalidApiVersionParameter", `The api-version '${version}' is invalid. The supported versions are '${supported.join(",")}'.`);
}
