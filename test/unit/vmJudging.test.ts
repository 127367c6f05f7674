/**
 * VMs on the judging path through in-memory adapters: a VM's write judges it (`vm-use`) and the
 * version it runs (`clones`, from the reference index), its deletion resolves both; a VM attached
 * from an OS disk is followed through the disk; the sweep lists VMs and counts them on their version.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import { checkResource } from "../../shared/app/checkResource.js";
import { sweepSubscription } from "../../shared/app/sweepSubscription.js";
import type { EventSettings } from "../../shared/app/handleResourceEvent.js";
import { aWorld, type World } from "../support/inMemoryPorts.js";
import { BASE, SUB, aDefinition, aGallery, aScaleSet, aVersion, aVm, policy } from "../support/snapshotBuilders.js";

const settings: EventSettings = {
  policy: policy(),
  portalUrl: "https://portal.example.test",
  recheckDelaySeconds: 60,
  recheckMaxAttempts: 3,
  maxEventBytes: 1024 * 1024,
  watchedSubscriptions: new Set([SUB]),
};
const write = (id: string, n = 1) =>
  ({ source: "event", attribution: { eventId: `e-${n}`, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-24T12:00:00Z", operationName: "Microsoft.Compute/virtualMachines/write", callerUpn: "dana@plant.example" } }) as const;
const remove = (n = 1) =>
  ({ source: "event", attribution: { eventId: `d-${n}`, eventType: "Microsoft.Resources.ResourceDeleteSuccess", eventTime: "2026-11-24T12:05:00Z", operationName: "Microsoft.Compute/virtualMachines/delete", callerUpn: "dana@plant.example" } }) as const;

const version = aVersion({ version: "1.0.0" });
let world: World;
beforeEach(async () => {
  world = aWorld();
  world.azure.put(aGallery(), aDefinition(), version);
  // The version is recorded (events or a sweep did it before any VM came).
  await checkResource(world.deps(), settings, version.id, write(version.id.display, 0));
});

describe("a VM from a specialized version", () => {
  it("opens vm-use on the VM; a second VM from the same version opens clones on the version; deleting one resolves clones, deleting the other resolves vm-use", async () => {
    const drill = aVm({ name: "drill-01" });
    const copy = aVm({ name: "copy-01" });
    world.azure.put(drill);
    await checkResource(world.deps(), settings, drill.id, write(drill.id.display, 1));
    expect(world.findings.of("vm-use", drill.id)).toMatchObject({ status: "open", severity: "high" });
    expect(world.findings.of("clones", version.id)).toBeUndefined();

    world.azure.put(copy);
    await checkResource(world.deps(), settings, copy.id, write(copy.id.display, 2));
    expect(world.findings.of("clones", version.id)).toMatchObject({ status: "open", severity: "high", facts: { machineCount: 2 } });

    world.azure.remove(copy.id);
    await checkResource(world.deps(), settings, copy.id, remove(2));
    expect(world.findings.of("vm-use", copy.id)?.status).toBe("resolved");
    expect(world.findings.of("clones", version.id)?.status).toBe("resolved");
    expect(world.findings.of("clones", version.id)?.summary).toContain("now runs on 1 machine");

    world.azure.remove(drill.id);
    await checkResource(world.deps(), settings, drill.id, remove(1));
    expect(world.findings.of("vm-use", drill.id)?.status).toBe("resolved");
  });

  it("a VM attached from an OS disk made from the version is judged as running it (one disk read), and counts on the version", async () => {
    const diskId = `${BASE}/disks/recovered-os`;
    world.azure.disks.set(diskId.toLowerCase(), { kind: "version", versionId: version.id });
    const recovered = aVm({ name: "recovered", imageReference: { kind: "osDisk", diskId }, image: { outcome: "pending" } });
    world.azure.put(recovered, aVm({ name: "drill-01" }));
    await checkResource(world.deps(), settings, parseResourceId(`${BASE}/virtualMachines/drill-01`), write("", 1));
    await checkResource(world.deps(), settings, recovered.id, write(recovered.id.display, 2));
    expect(world.findings.of("vm-use", recovered.id)).toMatchObject({ status: "open", facts: { follows: "OS disk", resolvedVersion: "1.0.0" } });
    expect(world.findings.of("clones", version.id)?.facts.machineCount).toBe(2);
  });

  it("VMs written at the same moment all count: a recount of the version that loses its conditional write is judged again from the store, not failed back to Event Grid", async () => {
    const vms = ["a", "b", "c"].map((name) => aVm({ name }));
    world.azure.put(...vms);
    const outcomes = await Promise.allSettled(vms.map((vm, i) => checkResource(world.deps(), settings, vm.id, write(vm.id.display, 10 + i))));
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
    expect(world.findings.of("clones", version.id)).toMatchObject({ status: "open", facts: { machineCount: 3 } });
  });

  it("the sweep lists VMs and, with a scale set on the same version, counts its instances too", async () => {
    const scaleSet = aScaleSet({ capacity: 2, imageReference: { kind: "version", versionId: version.id }, image: { outcome: "pending" } });
    world.azure.put(aVm({ name: "drill-01", image: { outcome: "pending" } }), scaleSet);
    const run = await sweepSubscription(world.deps(), settings, SUB, "run-1");
    expect(run.seen.virtualMachines).toBe(1);
    expect(world.findings.of("vm-use", parseResourceId(`${BASE}/virtualMachines/drill-01`))?.status).toBe("open");
    expect(world.findings.of("clones", version.id)).toMatchObject({ status: "open", facts: { machineCount: 3 } });
  });
});

describe("az group delete of a group holding a specialized version and the VMs running it", () => {
  const groupDelete = { source: "event", attribution: { eventId: "g-1", eventType: "Microsoft.Resources.ResourceDeleteSuccess", eventTime: "2026-11-24T12:10:00Z", operationName: "Microsoft.Resources/subscriptions/resourceGroups/delete", callerUpn: "dana@plant.example" } } as const;

  it("a VM's deletion does not judge the version again (the group's walk records it gone): no transition on it until its own deletion resolves it", async () => {
    const drill = aVm({ name: "drill-01" });
    const copy = aVm({ name: "copy-01" });
    world.azure.put(drill, copy);
    await checkResource(world.deps(), settings, drill.id, write(drill.id.display, 1));
    await checkResource(world.deps(), settings, copy.id, write(copy.id.display, 2));
    expect(world.findings.of("clones", version.id)?.status).toBe("open");

    // ARM has deleted the VMs; the version answers still (the walk reaches it later).
    world.azure.remove(drill.id);
    world.azure.remove(copy.id);
    const vmDeleted = await checkResource(world.deps(), settings, drill.id, groupDelete);

    // Recounted meanwhile, the version raced with its own deletion: `az group delete` drew a false 'Opened: clones' card.
    expect(vmDeleted.transitions.filter((t) => t.after.resourceKey === version.id.key)).toEqual([]);
    world.azure.remove(version.id);
    await checkResource(world.deps(), settings, copy.id, groupDelete);
    await checkResource(world.deps(), settings, version.id, groupDelete);
    expect(world.findings.of("clones", version.id)?.status).toBe("resolved");
  });
});
