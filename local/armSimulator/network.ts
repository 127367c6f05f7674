/**
 * The few Microsoft.Network resources a VM stands on — virtual networks (with their subnets),
 * network security groups, public IP addresses and network interfaces — as plain ARM resources:
 * PUT (long-running, polled at the Network RP's `…/providers/Microsoft.Network/locations/{region}/operations/{id}`),
 * GET, DELETE, and a subnet read at `…/virtualNetworks/{vnet}/subnets/{subnet}`. They exist so that
 * `az vm create` (a template deployment of an NSG, a public IP, a NIC and the VM: deployments.ts)
 * and `az resource create` of a virtual network work against the simulator; gallery-watch judges
 * none of them (their events are ordinary subscription traffic it ignores).
 *
 * What the Network RP fills in is kept to what a reader of these resources needs: ids of the
 * subnets and IP configurations, their provisioning state, the resource's `resourceGuid`, and a
 * private IP address per IP configuration (Network swagger: Subnet, NetworkInterfaceIPConfiguration,
 * VirtualNetworkPropertiesFormat.resourceGuid, read-only). Not modelled: default security rules,
 * address allocation beyond the subnet's first free addresses, public IP addresses themselves, MACs.
 */
import { randomUUID } from "node:crypto";
import { armError, type ArmFailure } from "./errors.js";
import { parseResourcePath, type Estate, type Json, type ParsedPath } from "./estate.js";

const SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets";

/** The request body with what the Network RP fills in on a PUT (ids of nested objects, resourceGuid, private addresses). */
export function networkBody(target: ParsedPath, request: Json, existing: Json | undefined): Json {
  const body = structuredClone(request);
  const properties = (body.properties ??= {}) as Json;
  properties.resourceGuid = existing?.properties?.resourceGuid ?? randomUUID();
  const nested = (list: unknown, segment: string, fill: (item: Json, index: number) => Json): Json[] | undefined =>
    Array.isArray(list)
      ? (list as Json[]).map((item, index) => {
          const filled = fill(item, index);
          return { ...filled, id: `${target.id}/${segment}/${String(item.name)}`, properties: { ...(filled.properties ?? {}), provisioningState: "Succeeded" } };
        })
      : undefined;
  if (target.type === "virtualNetwork") {
    const subnets = nested(properties.subnets, "subnets", (subnet) => ({ ...subnet, type: SUBNET_TYPE }));
    if (subnets) properties.subnets = subnets;
  }
  if (target.type === "networkInterface") {
    // Dynamic allocation hands out the subnet's addresses from .4 on (Azure reserves .0 to .3).
    const configurations = nested(properties.ipConfigurations, "ipConfigurations", (configuration, index) => ({
      ...configuration,
      properties: { privateIPAllocationMethod: "Dynamic", privateIPAddress: `10.0.0.${4 + index}`, primary: index === 0, ...(configuration.properties ?? {}) },
    }));
    if (configurations) properties.ipConfigurations = configurations;
  }
  return body;
}

/**
 * A network interface's subnet, security group and public IP address must exist: the Network RP
 * refuses a NIC naming one that does not with 400 `InvalidResourceReference` ("Resource … referenced
 * by resource … was not found. Please make sure that the referenced resource exists, and that both
 * resources are in the same region."). This is what makes a template's `dependsOn` matter.
 */
export function validateNetworkWrite(target: ParsedPath, body: Json, estate: Estate): ArmFailure | undefined {
  if (target.type !== "networkInterface") return undefined;
  const properties = (body.properties ?? {}) as Json;
  const references: string[] = [];
  if (typeof properties.networkSecurityGroup?.id === "string") references.push(properties.networkSecurityGroup.id);
  for (const configuration of (properties.ipConfigurations ?? []) as Json[]) {
    if (typeof configuration.properties?.subnet?.id === "string") references.push(configuration.properties.subnet.id);
    if (typeof configuration.properties?.publicIPAddress?.id === "string") references.push(configuration.properties.publicIPAddress.id);
  }
  const missing = references.find((id) => !readNetwork(estate, id));
  if (missing === undefined) return undefined;
  return armError(400, "InvalidResourceReference", `Resource ${missing} referenced by resource ${target.id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`);
}

/** A network resource or a subnet by id; undefined when absent. */
export function readNetwork(estate: Estate, id: string): Json | undefined {
  const subnet = /^(.+\/providers\/microsoft\.network\/virtualnetworks\/[^/]+)\/subnets\/([^/]+)$/i.exec(id);
  if (!subnet) {
    const target = parseResourcePath(id);
    return target ? estate.get(target.id) : undefined;
  }
  const vnet = estate.get(subnet[1]!);
  return ((vnet?.properties?.subnets ?? []) as Json[]).find((s) => String(s.name).toLowerCase() === subnet[2]!.toLowerCase());
}

/** `…/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}`: the path of a subnet, which is read through its virtual network. */
export function isSubnetPath(path: string): boolean {
  return /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.network\/virtualnetworks\/[^/]+\/subnets\/[^/]+$/i.test(path);
}
