/**
 * The VM reader over the real @azure/arm-compute client against the simulated control plane over
 * HTTPS: VMs written as a person would (PUT, long-running, with the OS disk the Compute RP makes),
 * read back with their image resolved — a definition (`latest`), a pinned version, a specialized VM
 * attached from an OS disk made from a version (read through the disk) — listed by the sweep's
 * listing, and the outcomes of a missing or forbidden VM or disk.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { localDevCredential } from "../../local/localCredential.js";
import { armWrite } from "../../local/armWrite.js";
import { computeArmInventoryFactory } from "../../shared/adapters/arm/computeArmInventory.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { VirtualMachineSnapshot } from "../../shared/domain/snapshots.js";

const SUB = "5f1d2c3b-4a59-4e7d-8c6b-9a0b1c2d3e4f";
const base = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute`;
const def = `${base}/galleries/gal/images/plant`;
const CALLER = { name: "Dana Operator", upn: "dana@plant.example" };
const definition = { location: "westeurope", properties: { osType: "Windows", osState: "Specialized", identifier: { publisher: "p", offer: "o", sku: "s" } } };
const version = (v: string, excludeFromLatest = false) => ({
  id: `${def}/versions/${v}`,
  body: { location: "westeurope", properties: { publishingProfile: { targetRegions: [{ name: "West Europe" }], excludeFromLatest }, storageProfile: { source: { virtualMachineId: `${base}/virtualMachines/golden` } } } },
});
const vm = (imageReference: Record<string, unknown> | undefined, osDisk: Record<string, unknown> = {}) => ({
  location: "westeurope",
  properties: { hardwareProfile: { vmSize: "Standard_D2s_v5" }, storageProfile: { ...(imageReference ? { imageReference } : {}), osDisk: { osType: "Windows", createOption: "FromImage", ...osDisk } }, networkProfile: { networkInterfaces: [] } },
});

let sim: RunningArmSimulator;
let receiver: http.Server;
/** The operations of the events the simulated subscription topic delivered, in order. */
const delivered: string[] = [];
const reader = () => computeArmInventoryFactory({ credential: localDevCredential(), endpoint: sim.url, caCertPem: sim.caCertPem, timeoutMs: 2000, maxRetries: 1 })();
const read = async (name: string): Promise<VirtualMachineSnapshot> => {
  const outcome = await reader().readVirtualMachine(parseResourceId(`${base}/virtualMachines/${name}`));
  if (outcome.status !== "found") throw new Error(`${name}: ${outcome.status}`);
  return outcome.snapshot;
};

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      for (const event of JSON.parse(text) as Array<{ data: { operationName: string } }>) delivered.push(event.data.operationName);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  sim = await startArmSimulator({
    eventSink: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, schema: "EventGridSchema" },
    seed: [{ id: `${base}/galleries/gal`, body: { location: "westeurope", properties: {} } }, { id: def, body: definition }, version("1.0.0"), version("1.1.0"), version("2.0.0", true)],
  });
  await armWrite(sim, CALLER, "PUT", `${base}/virtualMachines/follows-latest`, vm({ id: def }), { wait: true, pollMs: 10 });
  await armWrite(sim, CALLER, "PUT", `${base}/virtualMachines/drill-01`, vm({ id: `${def}/versions/1.0.0` }), { wait: true, pollMs: 10 });
  // `az disk create --gallery-image-reference <version>` then `az vm create --attach-os-disk`: a specialized VM with no image reference.
  await armWrite(sim, CALLER, "PUT", `${base}/disks/recovered-os`, { location: "westeurope", sku: { name: "Premium_LRS" }, properties: { osType: "Windows", creationData: { createOption: "FromImage", galleryImageReference: { id: `${def}/versions/1.1.0` } } } }, { wait: true, pollMs: 10 });
  await armWrite(sim, CALLER, "PUT", `${base}/virtualMachines/from-disk`, vm(undefined, { createOption: "Attach", managedDisk: { id: `${base}/disks/recovered-os` } }), { wait: true, pollMs: 10 });
  await armWrite(sim, CALLER, "PUT", `${base}/virtualMachines/marketplace`, vm({ publisher: "MicrosoftWindowsServer", offer: "WindowsServer", sku: "2022-datacenter", version: "latest" }), { wait: true, pollMs: 10 });
});
afterAll(async () => {
  await sim?.close();
  receiver?.close();
});
beforeEach(() => sim.faults.clear());

describe("the VM reader against the simulated Compute RP", () => {
  it("resolves a VM following the definition to the latest version not excluded, and a pinned one to its version", async () => {
    const latest = await read("follows-latest");
    expect(latest).toMatchObject({ kind: "virtualMachine", vmSize: "Standard_D2s_v5", provisioningState: "Succeeded", imageReference: { kind: "definition" } });
    expect(latest.image).toEqual({ outcome: "resolved", definitionId: def, osState: "Specialized", versionId: `${def}/versions/1.1.0` });
    expect((await read("drill-01")).image).toEqual({ outcome: "resolved", definitionId: def, osState: "Specialized", versionId: `${def}/versions/1.0.0` });
  });

  it("gives a VM created from an image the OS disk the Compute RP makes, whose creation names the version it came from", async () => {
    const body = sim.estate.get(`${base}/virtualMachines/drill-01`) as { properties: { storageProfile: { osDisk: { managedDisk: { id: string }; name: string } } } };
    const diskId = body.properties.storageProfile.osDisk.managedDisk.id;
    expect(diskId).toMatch(/\/disks\/drill-01_OsDisk_1_[0-9a-f]{32}$/);
    expect(sim.estate.get(diskId)).toMatchObject({ type: "Microsoft.Compute/disks", managedBy: `${base}/virtualMachines/drill-01`, properties: { creationData: { createOption: "FromImage", galleryImageReference: { id: `${def}/versions/1.0.0` } } } });
  });

  it("resolves a specialized VM attached from an OS disk through the disk's galleryImageReference (one disk read)", async () => {
    const before = sim.requestCounts()["GET disk"] ?? 0;
    const snapshot = await read("from-disk");
    expect(snapshot.imageReference).toEqual({ kind: "osDisk", diskId: `${base}/disks/recovered-os` });
    expect(snapshot.image).toEqual({ outcome: "resolved", definitionId: def, osState: "Specialized", versionId: `${def}/versions/1.1.0` });
    expect((sim.requestCounts()["GET disk"] ?? 0) - before).toBe(1);
  });

  it("says a marketplace VM runs no gallery image", async () => {
    const snapshot = await read("marketplace");
    expect(snapshot.image).toEqual({ outcome: "notGalleryImage" });
    expect(snapshot.imageReference).toMatchObject({ kind: "other", description: expect.stringMatching(/^marketplace MicrosoftWindowsServer:WindowsServer/) });
  });

  it("an OS disk gallery-watch may not read is a blind spot, not a verdict; a missing VM is gone", async () => {
    sim.faults.add({ method: "GET", path: "/disks/recovered-os", kind: "error", status: 403 });
    expect((await read("from-disk")).image).toMatchObject({ outcome: "noAccess", definitionId: `${base}/disks/recovered-os` });
    expect((await reader().readVirtualMachine(parseResourceId(`${base}/virtualMachines/nope`))).status).toBe("gone");
  });

  it("lists every VM of the subscription (image pending until resolved), as the sweep does", async () => {
    const names: string[] = [];
    for await (const listed of reader().listVirtualMachines(SUB)) {
      expect(listed.image).toEqual({ outcome: "pending" });
      names.push(listed.id.virtualMachine!);
    }
    expect(names.sort()).toEqual(["drill-01", "follows-latest", "from-disk", "marketplace"]);
  });

  it("emits the VM's write and delete events as a subscription topic does, and deleting a VM with deleteOption Delete removes its disk", async () => {
    const sent = delivered.length;
    await armWrite(sim, CALLER, "PUT", `${base}/virtualMachines/short-lived`, vm({ id: `${def}/versions/1.0.0` }, { deleteOption: "Delete" }), { wait: true, pollMs: 10 });
    const diskId = (sim.estate.get(`${base}/virtualMachines/short-lived`) as { properties: { storageProfile: { osDisk: { managedDisk: { id: string } } } } }).properties.storageProfile.osDisk.managedDisk.id;
    await armWrite(sim, CALLER, "DELETE", `${base}/virtualMachines/short-lived`, undefined, { wait: true, pollMs: 10 });
    await expect.poll(() => delivered.length - sent).toBe(4);
    expect(delivered.slice(sent)).toEqual(["Microsoft.Compute/disks/write", "Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines/delete", "Microsoft.Compute/disks/delete"]);
    expect(sim.estate.get(diskId)).toBeUndefined();
  });

  it("refuses, as the Compute RP does, an osProfile on a specialized image and an image that does not exist", async () => {
    await expect(armWrite(sim, CALLER, "PUT", `${base}/virtualMachines/bad`, { ...vm({ id: def }), properties: { ...vm({ id: def }).properties, osProfile: { adminUsername: "x", computerName: "bad" } } })).rejects.toThrow(/osProfile' is not allowed/);
    await expect(armWrite(sim, CALLER, "PUT", `${base}/virtualMachines/bad`, vm({ id: `${def}/versions/9.9.9` }))).rejects.toThrow(/GalleryImageNotFound/);
    await expect(armWrite(sim, CALLER, "PUT", `${base}/virtualMachines/bad`, vm(undefined, { createOption: "Attach", managedDisk: { id: `${base}/disks/none` } }))).rejects.toThrow(/404/);
  });
});
