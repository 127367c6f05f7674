/**
 * Resource-group template deployments in the simulated ARM (local/armSimulator/deployments.ts,
 * template.ts, network.ts) over HTTPS, as `az vm create` sends them: the template az 2.45 builds for
 * `az vm create --specialized --subnet <id>` (an NSG, a public IP, a NIC depending on both, the VM
 * depending on the NIC), evaluated and written in `dependsOn` order as the deployer, each write's
 * event attributed to them and classified by gallery-watch (the VM judged, the rest ignored); the
 * template functions az and hand-written templates use; ARM's refusals for what is not evaluated
 * and for a resource that fails. test/az/ drives the same through az itself.
 */
import type http from "node:http";
import https from "node:https";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { LOCAL_SUBSCRIPTION } from "../../local/subscription.js";
import { localDevCredential } from "../../local/localCredential.js";
import { classifyEvent } from "../../shared/app/resourceEvent.js";
import { startEventReceiver, type EventReceiver } from "../support/eventReceiver.js";

const SUB = LOCAL_SUBSCRIPTION;
const GROUP = `/subscriptions/${SUB}/resourceGroups/rg-deploy`;
const NET = `${GROUP}/providers/Microsoft.Network`;
const GALLERY = `${GROUP}/providers/Microsoft.Compute/galleries/plant`;
const VERSION = `${GALLERY}/images/gateway-os/versions/1.0.0`;
const SUBNET = `${NET}/virtualNetworks/plant-vnet/subnets/default`;
const deploymentUrl = (name: string) => `${GROUP}/providers/Microsoft.Resources/deployments/${name}?api-version=2021-04-01`;

/** The deployer. */
const PRIYA = { name: "Priya Patel", upn: "priya.patel@contoso.example", oid: "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9" };

let now = Date.now();
let sim: RunningArmSimulator;
let receiver: EventReceiver;
let token: string;

beforeAll(async () => {
  token = (await localDevCredential(PRIYA).getToken([]))!.token;
  receiver = await startEventReceiver();
  // Writes settle after 1 s of the test's clock: a dependent resource may start only once its dependencies have.
  sim = await startArmSimulator({ settleMs: 1000, clock: () => now, throttle: false, eventSink: receiver.sink });
  sim.estate.put({ id: GALLERY, body: { location: "westeurope", properties: {} } });
  sim.estate.put({ id: `${GALLERY}/images/gateway-os`, body: { location: "westeurope", properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "contoso", offer: "gateway", sku: "os" } } } });
  sim.estate.put({ id: VERSION, body: { location: "westeurope", properties: { storageProfile: { source: { id: `${GROUP}/providers/Microsoft.Compute/images/capture` } } } } });
});
afterAll(async () => {
  await sim?.close();
  await receiver?.close();
});
beforeEach(() => receiver.clear());

function request(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const req = https.request(new URL(path, sim.url), { method: init.method ?? "GET", ca: sim.caCertPem, headers }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on("error", reject);
    req.end(init.body === undefined ? undefined : JSON.stringify(init.body));
  });
}

/** Poll the deployment's Azure-AsyncOperation, moving the clock 1 s before each poll, until it ends. */
async function settle(operationUrl: string): Promise<any> {
  for (let i = 0; i < 10; i++) {
    now += 1000;
    const status = (await request(operationUrl)).body;
    if (status.status !== "Running") return status;
  }
  throw new Error("the deployment never ended");
}

async function eventsFor(count: number): Promise<any[]> {
  for (let i = 0; i < 100 && receiver.events.length < count; i++) await new Promise((r) => setTimeout(r, 20));
  return receiver.events;
}

/** What Debian's azure-cli 2.45 sends for `az vm create -g rg-deploy -n drill-01 --image <version> --specialized --subnet <id> --generate-ssh-keys` (captured with --debug; nulls as az sends them). */
function azVmCreateTemplate(vm: string, image = VERSION, subnet = SUBNET): any {
  const nic = `${NET}/networkInterfaces/${vm}VMNic`;
  return {
    properties: {
      mode: "incremental",
      parameters: {},
      template: {
        $schema: "https://schema.management.azure.com/schemas/2015-01-01/deploymentTemplate.json#",
        contentVersion: "1.0.0.0",
        parameters: {},
        variables: {},
        outputs: {},
        resources: [
          { type: "Microsoft.Network/networkSecurityGroups", name: `${vm}NSG`, apiVersion: "2015-06-15", location: "westeurope", tags: {}, dependsOn: [], properties: { securityRules: [{ name: "default-allow-ssh", properties: { protocol: "Tcp", sourcePortRange: "*", destinationPortRange: "22", sourceAddressPrefix: "*", destinationAddressPrefix: "*", access: "Allow", priority: 1000, direction: "Inbound" } }] } },
          { apiVersion: "2022-01-01", type: "Microsoft.Network/publicIPAddresses", name: `${vm}PublicIP`, location: "westeurope", tags: {}, dependsOn: [], properties: { publicIPAllocationMethod: null } },
          {
            apiVersion: "2015-06-15",
            type: "Microsoft.Network/networkInterfaces",
            name: `${vm}VMNic`,
            location: "westeurope",
            tags: {},
            dependsOn: [`Microsoft.Network/networkSecurityGroups/${vm}NSG`, `Microsoft.Network/publicIpAddresses/${vm}PublicIP`],
            properties: {
              ipConfigurations: [{ name: `ipconfig${vm}`, properties: { privateIPAllocationMethod: "Dynamic", subnet: { id: subnet }, publicIPAddress: { id: `${NET}/publicIPAddresses/${vm}PublicIP` } } }],
              networkSecurityGroup: { id: `${NET}/networkSecurityGroups/${vm}NSG` },
            },
          },
          {
            apiVersion: "2022-11-01",
            type: "Microsoft.Compute/virtualMachines",
            name: vm,
            location: "westeurope",
            tags: {},
            dependsOn: [`Microsoft.Network/networkInterfaces/${vm}VMNic`],
            properties: {
              hardwareProfile: { vmSize: "Standard_DS1_v2" },
              networkProfile: { networkInterfaces: [{ id: nic, properties: { deleteOption: null } }] },
              storageProfile: { osDisk: { createOption: "fromImage", name: null, caching: "ReadWrite", managedDisk: { storageAccountType: null } }, imageReference: { id: image } },
            },
          },
        ],
      },
    },
  };
}

describe("template deployments in the simulated ARM", () => {
  it("a virtual network made with a PUT (az resource create) serves its subnet, which az vm create --subnet reads", async () => {
    const vnet = { location: "westeurope", properties: { addressSpace: { addressPrefixes: ["10.0.0.0/16"] }, subnets: [{ name: "default", properties: { addressPrefix: "10.0.0.0/24" } }] } };
    const put = await request(`${NET}/virtualNetworks/plant-vnet?api-version=2024-05-01`, { method: "PUT", body: vnet });
    expect(put.status).toBe(201);
    // The Network RP's ProvisioningState has no `Creating` (network.json 2022-01-01: Succeeded, Updating, Deleting, Failed).
    expect(put.body.properties.provisioningState).toBe("Updating");
    expect((await request(`${NET}/virtualNetworks/plant-vnet?api-version=2024-05-01`)).body.properties.provisioningState).toBe("Updating");
    expect(put.headers["azure-asyncoperation"]).toMatch(/\/providers\/Microsoft\.Network\/locations\/westeurope\/operations\//);
    now += 1000;
    const subnet = await request(`${SUBNET}?api-version=2024-05-01`);
    expect(subnet.status).toBe(200);
    expect(subnet.body).toMatchObject({ id: SUBNET, name: "default", type: "Microsoft.Network/virtualNetworks/subnets", properties: { addressPrefix: "10.0.0.0/24", provisioningState: "Succeeded" } });
    const [event] = await eventsFor(1);
    expect(event.data.operationName).toBe("Microsoft.Network/virtualNetworks/write");
    expect(await classifyEvent(event, 1_000_000)).toMatchObject({ kind: "ignored", reason: expect.stringMatching(/not a gallery, scale set or virtual machine operation/) });
  });

  it("az vm create's template: 201 Accepted, each resource written once its dependencies have settled, as the deployer; the VM event is judged, the rest ignored", async () => {
    // The VM first in the array: only dependsOn puts it last.
    const body = azVmCreateTemplate("drill-01");
    body.properties.template.resources.reverse();
    const put = await request(deploymentUrl("vm_deploy_drill01"), { method: "PUT", body });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ name: "vm_deploy_drill01", type: "Microsoft.Resources/deployments", properties: { provisioningState: "Accepted", mode: "Incremental" } });
    const operation = String(put.headers["azure-asyncoperation"]);
    expect(operation).toMatch(/\/providers\/Microsoft\.Resources\/deployments\/vm_deploy_drill01\/operationStatuses\/[\w-]+\?api-version=2021-04-01$/);
    // At once: the NSG and the public IP; the NIC waits for them, the VM for the NIC.
    expect((await request(`${NET}/networkSecurityGroups/drill-01NSG?api-version=2022-01-01`)).status).toBe(200);
    expect((await request(`${NET}/networkInterfaces/drill-01VMNic?api-version=2022-01-01`)).status).toBe(404);
    expect((await request(new URL(operation).pathname + new URL(operation).search)).body).toEqual({ status: "Running" });

    const status = await settle(new URL(operation).pathname + new URL(operation).search);
    expect(status).toEqual({ status: "Succeeded" });
    const vm = await request(`${GROUP}/providers/Microsoft.Compute/virtualMachines/drill-01?api-version=2022-11-01`);
    expect(vm.body.properties).toMatchObject({ provisioningState: "Succeeded", storageProfile: { imageReference: { id: VERSION }, osDisk: { managedDisk: { storageAccountType: "Premium_LRS" } } } });
    const nic = await request(`${NET}/networkInterfaces/drill-01VMNic?api-version=2022-01-01`);
    expect(nic.body.properties.ipConfigurations[0]).toMatchObject({ id: `${NET}/networkInterfaces/drill-01VMNic/ipConfigurations/ipconfigdrill-01`, properties: { privateIPAddress: "10.0.0.4", provisioningState: "Succeeded" } });
    const deployment = (await request(deploymentUrl("vm_deploy_drill01"))).body;
    expect(deployment.properties.provisioningState).toBe("Succeeded");
    // ARM does not promise an order of outputResources.
    expect(deployment.properties.outputResources.map((r: { id: string }) => r.id.split("/").slice(-2).join("/")).sort()).toEqual(["networkInterfaces/drill-01VMNic", "networkSecurityGroups/drill-01NSG", "publicIPAddresses/drill-01PublicIP", "virtualMachines/drill-01"]);
    expect((await request(`${GROUP}/providers/Microsoft.Resources/deployments?api-version=2021-04-01`)).body.value.map((d: { name: string }) => d.name)).toContain("vm_deploy_drill01");

    // deployment, NSG, public IP, NIC, OS disk, VM: every write the deployer's, under one correlation id.
    const events = await eventsFor(6);
    expect(events.map((e) => e.data.operationName)).toEqual([
      "Microsoft.Resources/deployments/write",
      "Microsoft.Network/publicIPAddresses/write",
      "Microsoft.Network/networkSecurityGroups/write",
      "Microsoft.Network/networkInterfaces/write",
      "Microsoft.Compute/disks/write",
      "Microsoft.Compute/virtualMachines/write",
    ]);
    expect(new Set(events.map((e) => e.data.claims.name))).toEqual(new Set([PRIYA.name]));
    expect(new Set(events.map((e) => e.data.correlationId)).size).toBe(1);
    const judged = await Promise.all(events.map((e) => classifyEvent(e, 1_000_000)));
    expect(judged.map((j) => j.kind)).toEqual(["ignored", "ignored", "ignored", "ignored", "ignored", "accepted"]);
    expect(judged[5]).toMatchObject({ event: { action: "write", attribution: { callerName: PRIYA.name, callerUpn: PRIYA.upn } } });
  });

  it("parameters, variables, concat and resourceId are evaluated; the resources are named and linked by them", async () => {
    const template = {
      parameters: { vmName: { type: "string" }, location: { type: "string", defaultValue: "westeurope" } },
      variables: { nicName: "[concat(parameters('vmName'), '-nic')]", ipConfig: [{ name: "primary", properties: { subnet: { id: SUBNET } } }] },
      resources: [
        { type: "Microsoft.Network/networkInterfaces", apiVersion: "2022-01-01", name: "[variables('nicName')]", location: "[parameters('location')]", properties: { ipConfigurations: "[variables('ipConfig')]" } },
        {
          type: "Microsoft.Compute/virtualMachines",
          apiVersion: "2022-11-01",
          name: "[parameters('vmName')]",
          location: "[parameters('location')]",
          dependsOn: ["[resourceId('Microsoft.Network/networkInterfaces', variables('nicName'))]"],
          properties: { storageProfile: { imageReference: { id: VERSION } }, networkProfile: { networkInterfaces: [{ id: "[resourceId('Microsoft.Network/networkInterfaces', variables('nicName'))]" }] }, userData: "[[not an expression]" },
        },
      ],
    };
    const put = await request(deploymentUrl("by-hand"), { method: "PUT", body: { properties: { mode: "Incremental", template, parameters: { vmName: { value: "forensics-ws" } } } } });
    expect(put.status).toBe(201);
    expect(put.body.properties.parameters).toEqual({ vmName: { type: "String", value: "forensics-ws" }, location: { type: "String", value: "westeurope" } });
    expect(await settle(new URL(String(put.headers["azure-asyncoperation"])).pathname + "?api-version=2021-04-01")).toEqual({ status: "Succeeded" });
    const vm = (await request(`${GROUP}/providers/Microsoft.Compute/virtualMachines/forensics-ws?api-version=2022-11-01`)).body;
    expect(vm.properties.networkProfile.networkInterfaces[0].id).toBe(`${NET}/networkInterfaces/forensics-ws-nic`);
    expect(vm.properties.userData).toBe("[not an expression]");
  });

  it("a parameter's defaultValue is an expression, which may use resourceGroup() and other parameters", async () => {
    const template = {
      parameters: {
        prefix: { type: "string" },
        location: { type: "string", defaultValue: "[resourceGroup().location]" },
        nsgName: { type: "string", defaultValue: "[concat(parameters('prefix'), '-nsg')]" },
      },
      resources: [{ type: "Microsoft.Network/networkSecurityGroups", apiVersion: "2022-01-01", name: "[parameters('nsgName')]", location: "[parameters('location')]", properties: {} }],
    };
    const group = (await request(`${GROUP}?api-version=2021-04-01`)).body;
    const put = await request(deploymentUrl("defaults"), { method: "PUT", body: { properties: { mode: "Incremental", template, parameters: { prefix: { value: "edge" } } } } });
    expect(put.status).toBe(201);
    expect(put.body.properties.parameters).toEqual({ prefix: { type: "String", value: "edge" }, location: { type: "String", value: group.location }, nsgName: { type: "String", value: "edge-nsg" } });
    expect((await request(`${NET}/networkSecurityGroups/edge-nsg?api-version=2022-01-01`)).body.location).toBe(group.location);
  });

  const nsg = (more: object = {}) => ({ type: "Microsoft.Network/networkSecurityGroups", apiVersion: "2022-01-01", name: "nsg", location: "westeurope", properties: {}, ...more });
  it.each([
    ["an unsupported function in a parameter's defaultValue", { parameters: { suffix: { type: "string", defaultValue: "[uniqueString(resourceGroup().id)]" } }, resources: [nsg({ name: "[concat('nsg', parameters('suffix'))]" })] }, /The template function 'uniqueString' is not evaluated/],
    ["a copy array in a resource's properties", { resources: [nsg({ properties: { copy: [{ name: "securityRules", count: 2, input: { name: "rule" } }] } })] }, /'copy' array \(a property iteration\)/],
    ["a copy loop in variables", { variables: { copy: [{ name: "names", count: 2, input: "x" }] }, resources: [nsg()] }, /variables use 'copy' \(a variable iteration\)/],
    ["an existing resource", { resources: [nsg({ existing: true })] }, /'nsg' uses 'existing'/],
    ["languageVersion 2.0", { languageVersion: "2.0", resources: { nsg: nsg() } }, /languageVersion '2.0' is not evaluated/],
    ["a copy loop in outputs", { resources: [nsg()], outputs: { ids: { type: "array", copy: { count: 2, input: "x" } } } }, /output 'ids' uses 'copy'/],
    ["concat of an object", { resources: [nsg({ tags: "[concat('a', resourceGroup())]" })] }, /'concat' are invalid/],
    ["concat of an array and a string", { variables: { list: ["a"] }, resources: [nsg({ name: "[concat(variables('list'), 'nsg')]" })] }, /'concat' are invalid/],
    ["a string for an int parameter", { parameters: { count: { type: "int" } }, resources: [nsg()] }, /parameter 'count' is not valid\. Template parameter JToken type is not valid\. Expected 'Integer'\. Actual 'String'/, { parameters: { count: { value: "2" } } }],
    ["a value outside allowedValues", { parameters: { sku: { type: "string", allowedValues: ["Basic", "Standard"] } }, resources: [nsg()] }, /parameter 'sku' is not valid\. The parameter value is not part of the allowed value\(s\): 'Basic,Standard'/, { parameters: { sku: { value: "Premium" } } }],
    ["an int below minValue (a default too)", { parameters: { count: { type: "int", minValue: 1, defaultValue: 0 } }, resources: [nsg()] }, /parameter 'count' is not valid\. The parameter value must be greater than or equal to the minimum value '1'/],
    ["a parametersLink", { resources: [nsg()] }, /A parametersLink is not fetched/, { parametersLink: { uri: "https://example.invalid/parameters.json" } }],
    ["a Key Vault reference parameter", { parameters: { secret: { type: "securestring" } }, resources: [nsg()] }, /'secret' is a Key Vault reference/, { parameters: { secret: { reference: { keyVault: { id: `${GROUP}/providers/Microsoft.KeyVault/vaults/kv` }, secretName: "s" } } } }],
    ["a function the simulator does not evaluate", { resources: [{ type: "Microsoft.Network/networkSecurityGroups", apiVersion: "2022-01-01", name: "nsg", location: "[reference('somewhere').location]", properties: {} }] }, /The template function 'reference' is not evaluated by the local ARM simulator/],
    ["a copy loop", { resources: [{ type: "Microsoft.Network/networkSecurityGroups", apiVersion: "2022-01-01", name: "nsg", location: "westeurope", copy: { name: "n", count: 2 }, properties: {} }] }, /'nsg' uses 'copy'/],
    ["a dependency the template does not define", { resources: [{ type: "Microsoft.Network/networkSecurityGroups", apiVersion: "2022-01-01", name: "nsg", location: "westeurope", dependsOn: ["Microsoft.Network/virtualNetworks/elsewhere"], properties: {} }] }, /The resource 'Microsoft.Network\/virtualNetworks\/elsewhere' is not defined in the template/],
    ["a resource type the simulator does not serve", { resources: [{ type: "Microsoft.Storage/storageAccounts", apiVersion: "2022-09-01", name: "vhds", location: "westeurope", properties: {} }] }, /'Microsoft.Storage\/storageAccounts' of 'vhds' is not served/],
  ])("%s: 400 InvalidTemplate naming it, and nothing written", async (what, template, message, properties: object = {}) => {
    const name = `refused-${what.replace(/\W+/g, "-")}`;
    const put = await request(deploymentUrl(name), { method: "PUT", body: { properties: { mode: "Incremental", template, ...properties } } });
    expect(put.status).toBe(400);
    expect(put.body.error.code).toBe("InvalidTemplate");
    expect(put.body.error.message).toMatch(message);
    expect((await request(`${NET}/networkSecurityGroups/nsg?api-version=2022-01-01`)).status).toBe(404);
    expect((await request(deploymentUrl(name))).status).toBe(404);
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.events.filter((e) => /\/(nsg|refused-[\w-]+|vhds)$/.test(e.data.resourceUri))).toEqual([]);
  });

  it("a resource the resource provider refuses fails the deployment with DeploymentFailed and its error; nothing after it starts", async () => {
    // The NIC names a subnet that does not exist: the Network RP refuses it, so the VM that depends on it is never written.
    const put = await request(deploymentUrl("vm_deploy_nosubnet"), { method: "PUT", body: azVmCreateTemplate("ghost-01", VERSION, `${NET}/virtualNetworks/plant-vnet/subnets/nowhere`) });
    expect(put.status).toBe(201);
    const status = await settle(new URL(String(put.headers["azure-asyncoperation"])).pathname + "?api-version=2021-04-01");
    expect(status).toMatchObject({ status: "Failed", error: { code: "DeploymentFailed", details: [{ code: "InvalidResourceReference", message: expect.stringMatching(/subnets\/nowhere referenced by resource .*networkInterfaces\/ghost-01VMNic was not found/) }] } });
    expect((await request(`${NET}/networkInterfaces/ghost-01VMNic?api-version=2022-01-01`)).status).toBe(404);
    expect((await request(`${GROUP}/providers/Microsoft.Compute/virtualMachines/ghost-01?api-version=2022-11-01`)).status).toBe(404);
    expect((await request(deploymentUrl("vm_deploy_nosubnet"))).body.properties).toMatchObject({ provisioningState: "Failed", error: { code: "DeploymentFailed" } });
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.events.map((e) => e.data.operationName)).not.toContain("Microsoft.Compute/virtualMachines/write");
  });

  it("a resource deleted before its creation finished fails the deployment (terminal state Canceled); nothing after it starts", async () => {
    const put = await request(deploymentUrl("vm_deploy_deleted"), { method: "PUT", body: azVmCreateTemplate("gone-01") });
    expect(put.status).toBe(201);
    const nsgId = `${NET}/networkSecurityGroups/gone-01NSG`;
    expect((await request(`${nsgId}?api-version=2022-01-01`, { method: "DELETE" })).status).toBe(202);
    const status = await settle(new URL(String(put.headers["azure-asyncoperation"])).pathname + "?api-version=2021-04-01");
    expect(status).toMatchObject({ status: "Failed", error: { code: "DeploymentFailed", details: [{ code: "ResourceDeploymentFailure", message: expect.stringMatching(/terminal provisioning state 'Canceled'/), target: nsgId }] } });
    expect((await request(`${NET}/networkInterfaces/gone-01VMNic?api-version=2022-01-01`)).status).toBe(404);
    expect((await request(`${GROUP}/providers/Microsoft.Compute/virtualMachines/gone-01?api-version=2022-11-01`)).status).toBe(404);
  });

  it("a resource deleted after it succeeded leaves the deployment to succeed", async () => {
    const late = (name: string, dependsOn: string[] = []) => ({ type: "Microsoft.Network/networkSecurityGroups", apiVersion: "2022-01-01", name, location: "westeurope", dependsOn, properties: {} });
    const template = { resources: [late("early"), late("late-a"), late("late-b", ["late-a"])] };
    const put = await request(deploymentUrl("delete-after"), { method: "PUT", body: { properties: { mode: "Incremental", template } } });
    const operation = new URL(String(put.headers["azure-asyncoperation"])).pathname + "?api-version=2021-04-01";
    now += 1000;
    expect((await request(operation)).body).toEqual({ status: "Running" }); // early and late-a succeeded; late-b started
    expect((await request(`${NET}/networkSecurityGroups/early?api-version=2022-01-01`, { method: "DELETE" })).status).toBe(202);
    expect(await settle(operation)).toEqual({ status: "Succeeded" });
    expect((await request(`${NET}/networkSecurityGroups/early?api-version=2022-01-01`)).status).toBe(404);
  });

  it("deleting the resource group deletes its deployments: the group made again takes the same deployment name afresh", async () => {
    const group = `/subscriptions/${SUB}/resourceGroups/rg-again`;
    const url = `${group}/providers/Microsoft.Resources/deployments/again?api-version=2021-04-01`;
    const body = { properties: { mode: "Incremental", template: { resources: [{ type: "Microsoft.Network/networkSecurityGroups", apiVersion: "2022-01-01", name: "nsg", location: "westeurope", properties: {} }] } } };
    expect((await request(`${group}?api-version=2021-04-01`, { method: "PUT", body: { location: "westeurope" } })).status).toBe(201);
    expect((await request(url, { method: "PUT", body })).status).toBe(201);
    expect((await request(`${group}?api-version=2021-04-01`, { method: "DELETE" })).status).toBe(202);
    now += 1000;
    expect((await request(`${group}?api-version=2021-04-01`, { method: "PUT", body: { location: "westeurope" } })).status).toBe(201);
    expect((await request(url)).status).toBe(404);
    expect((await request(`${group}/providers/Microsoft.Resources/deployments?api-version=2021-04-01`)).body.value).toEqual([]);
    expect((await request(url, { method: "PUT", body })).status).toBe(201);
  });
});
