/**
 * The api-versions ARM accepts per resource type. A request with another version is refused by
 * ARM before it reaches the resource provider, with `400 InvalidApiVersionParameter`.
 *
 * The lists are the stable versions Microsoft publishes in Azure/azure-rest-api-specs, not the ones
 * our own code sends — Azure keeps serving old versions, and real clients use them (Microsoft's
 * azure-cli recordings in ../shared/fixtures/azure-cli-recordings/ send 2020-09-30 for image
 * definitions, 2021-07-01 and 2022-01-03 for galleries, versions and the share action, 2021-07-01
 * for scale sets; Debian's azure-cli 2.45 sends 2022-11-01 for scale sets):
 *
 * - Microsoft.Compute galleries / images / versions, shared and community galleries (GalleryRP):
 *   the folders of specification/compute/resource-manager/Microsoft.Compute/GalleryRP/stable/
 *   (2018-06-01 … 2025-03-03; the newest is /work/shared/fixtures/azure-rest-api-specs/GalleryRP-2025-03-03).
 * - Microsoft.Compute virtualMachineScaleSets and virtualMachines (ComputeRP; the `scaleSet` family serves both): the stable Compute versions that carry
 *   scale sets, specification/compute/resource-manager/Microsoft.Compute/stable/{2015-06-15 …
 *   2021-11-01}/compute.json and …/Microsoft.Compute/ComputeRP/stable/{2022-03-01 … 2025-04-01}/
 *   virtualMachineScaleSet.json, plus 2026-03-01, the version @azure/arm-compute 24.1.0 hard-codes
 *   for scale-set operations (node_modules/@azure/arm-compute/dist/esm/api/virtualMachineScaleSets/operations.js):
 *   the real SDK the product uses must not be refused.
 * - Microsoft.Authorization roleAssignments and roleDefinitions: the stable folders of
 *   specification/authorization/resource-manager/Microsoft.Authorization/stable/ that carry them
 *   (2015-07-01, 2022-04-01, the version @azure/arm-authorization 9.0.0 sends) and the previews the
 *   Azure CLI sends (2018-01-01-preview … 2022-05-01-preview).
 * - Microsoft.Resources resourceGroups, tags and deployments: 2021-04-01 … 2025-04-01
 *   (https://learn.microsoft.com/rest/api/resources/resource-groups,
 *   https://learn.microsoft.com/rest/api/resources/tags,
 *   specification/resources/resource-manager/Microsoft.Resources/stable/2021-04-01/deployments.json).
 * - Microsoft.Network virtualNetworks, networkSecurityGroups, publicIPAddresses, networkInterfaces
 *   and their operation polls: the stable folders of specification/network/resource-manager/Microsoft.Network/stable/
 *   (2015-06-15 … 2024-05-01, one folder each; 2022-01-01 is what az 2.45 writes into the template
 *   of `az vm create`, its profile's network version).
 */
import { armError, type ArmFailure } from "./errors.js";

export type ApiFamily = "gallery" | "scaleSet" | "disk" | "network" | "resources" | "computeOperations" | "authorization";

const GALLERY = ["2025-03-03", "2024-03-03", "2023-07-03", "2022-08-03", "2022-03-03", "2022-01-03", "2021-10-01", "2021-07-01", "2020-09-30", "2019-12-01", "2019-07-01", "2019-03-01", "2018-06-01"] as const;
const COMPUTE = [
  "2026-03-01", "2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-09-01", "2023-07-01", "2023-03-01", "2022-11-01", "2022-08-01", "2022-03-01",
  "2021-11-01", "2021-07-01", "2021-04-01", "2021-03-01", "2020-12-01", "2020-06-01", "2019-12-01", "2019-07-01", "2019-03-01", "2018-10-01", "2018-06-01",
  "2018-04-01", "2017-12-01", "2017-03-30", "2016-04-30-preview", "2016-03-30", "2015-06-15",
] as const;
/**
 * Managed disks (DiskRP): the stable folders of specification/compute/resource-manager/Microsoft.Compute/DiskRP/stable/
 * and, before it, the disk api-versions of compute.json; 2025-01-02 is what @azure/arm-compute 24.1.0
 * hard-codes for disk operations (node_modules/@azure/arm-compute/dist/esm/api/disks/operations.js).
 * Not in ../shared/fixtures: the list is Microsoft's published one, not checked against a swagger here.
 */
const DISK = ["2025-01-02", "2024-03-02", "2023-10-02", "2023-04-02", "2023-01-02", "2022-07-02", "2022-03-02", "2021-12-01", "2021-08-01", "2021-04-01", "2020-12-01", "2020-09-30", "2020-06-30", "2020-05-01", "2019-11-01", "2019-07-01", "2019-03-01", "2018-09-30", "2018-06-01", "2018-04-01", "2017-03-30"] as const;
const AUTHORIZATION = ["2022-04-01", "2015-07-01", "2022-05-01-preview", "2022-01-01-preview", "2020-10-01-preview", "2020-08-01-preview", "2020-04-01-preview", "2018-09-01-preview", "2018-01-01-preview"] as const;
const NETWORK = [
  "2024-05-01", "2024-03-01", "2024-01-01", "2023-11-01", "2023-09-01", "2023-06-01", "2023-05-01", "2023-04-01", "2023-02-01", "2022-11-01", "2022-09-01", "2022-07-01",
  "2022-05-01", "2022-01-01", "2021-08-01", "2021-05-01", "2021-03-01", "2021-02-01", "2020-11-01", "2020-08-01", "2020-07-01", "2020-06-01", "2020-05-01", "2020-04-01",
  "2020-03-01", "2019-12-01", "2019-11-01", "2019-09-01", "2019-08-01", "2019-07-01", "2019-06-01", "2019-04-01", "2019-02-01", "2018-12-01", "2018-11-01", "2018-10-01",
  "2018-08-01", "2018-07-01", "2018-06-01", "2018-04-01", "2018-02-01", "2018-01-01", "2017-11-01", "2017-10-01", "2017-09-01", "2017-08-01", "2017-06-01", "2017-03-01",
  "2016-12-01", "2016-09-01", "2016-06-01", "2016-03-30", "2015-06-15",
] as const;
const RESOURCES = ["2025-04-01", "2025-03-01", "2025-01-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01", "2022-09-01", "2021-04-01"] as const;

export const API_VERSIONS: Readonly<Record<ApiFamily, readonly string[]>> = {
  gallery: GALLERY,
  scaleSet: COMPUTE,
  disk: DISK,
  network: NETWORK,
  resources: RESOURCES,
  authorization: AUTHORIZATION,
  // Microsoft.Compute/locations/{capsOperations|operations} serves the polls of the gallery, scale-set, VM and disk operations.
  computeOperations: [...new Set([...GALLERY, ...COMPUTE, ...DISK])],
};

const ACCEPTED: Readonly<Record<ApiFamily, ReadonlySet<string>>> = {
  gallery: new Set(API_VERSIONS.gallery),
  scaleSet: new Set(API_VERSIONS.scaleSet),
  disk: new Set(API_VERSIONS.disk),
  network: new Set(API_VERSIONS.network),
  resources: new Set(API_VERSIONS.resources),
  authorization: new Set(API_VERSIONS.authorization),
  computeOperations: new Set(API_VERSIONS.computeOperations),
};

/** `undefined` when ARM would accept `version` for this family; otherwise the refusal ARM answers. */
export function checkApiVersion(family: ApiFamily, version: string): ArmFailure | undefined {
  if (ACCEPTED[family].has(version)) return undefined;
  return armError(400, "InvalidApiVersionParameter", `The api-version '${version}' is invalid. The supported versions are '${API_VERSIONS[family].join(",")}'.`);
}

/** Whether `version` is at least `since` (api-versions are ISO dates, optionally with a suffix). */
export function atLeast(version: string, since: string): boolean {
  return version.slice(0, 10) >= since;
}
