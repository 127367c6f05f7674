/**
 * The rest of a real subscription topic's traffic. A system topic for a subscription
 * (https://learn.microsoft.com/azure/event-grid/event-schema-subscriptions) carries every ARM
 * write, delete and action in it, not only the galleries gallery-watch cares about: autoscale
 * changing a scale set's capacity (a real write of the scale set), instance and extension writes
 * under a scale set, restart / start actions, gallery applications and their versions. The
 * product must classify and ignore most of it cheaply; this produces it on demand or at a rate.
 *
 * Operation names follow the Microsoft.Compute operations list
 * (https://learn.microsoft.com/azure/role-based-access-control/permissions/compute):
 * `Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write`,
 * `Microsoft.Compute/virtualMachineScaleSets/extensions/write`,
 * `Microsoft.Compute/virtualMachineScaleSets/restart/action`, `.../start/action`,
 * `Microsoft.Compute/galleries/applications/write`, `Microsoft.Compute/galleries/applications/versions/write`,
 * `Microsoft.Compute/virtualMachines/extensions/write`, `Microsoft.Compute/virtualMachines/{restart|start|deallocate}/action`.
 */
import { armEvent, type ArmEvent, type Caller } from "./eventShape.js";
import { ARM_TYPE, type Estate, type Json } from "./estate.js";

export const NOISE_KINDS = ["scaleSetCapacity", "scaleSetInstance", "scaleSetExtension", "scaleSetRestart", "scaleSetStart", "galleryApplication", "galleryApplicationVersion", "vmExtension", "vmRestart", "vmStart", "vmDeallocate"] as const;
export type NoiseKind = (typeof NOISE_KINDS)[number];

export interface NoiseControl {
  /** Emit `count` events of one kind now; returns the subjects written. Throws when the estate has nothing of that kind to act on. */
  emit(kind: NoiseKind, count?: number): string[];
  /** Emit events continuously, cycling through `kinds` (default: all that have a target). */
  start(options: { perSecond: number; kinds?: readonly NoiseKind[] }): void;
  stop(): void;
  readonly running: boolean;
}

/** Autoscale acts as the Azure Monitor autoscale service; the other traffic comes from fleet automation. */
export const AUTOSCALE_CALLER: Caller = { name: "Azure Monitor Autoscale", upn: "autoscale@azure.example", oid: "6ee3b4f0-9a40-4d0e-8c3e-0a4b4c2d1e01", appid: "ca9e7a4a-5a4a-4d4e-9a1b-1f4f8d2c7a10", ipaddr: "20.50.0.10" };
export const AUTOMATION_CALLER: Caller = { name: "fleet-automation", upn: "fleet-automation@contoso.example", oid: "3f1c2b7e-5d4a-4c3b-9e2f-7a6b5c4d3e21", appid: "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e42", ipaddr: "10.20.30.40" };

export interface NoiseDeps {
  readonly estate: Estate;
  readonly publish: (event: ArmEvent) => void;
  /** A real write of the scale set (estate, operation, event) with a new `sku.capacity`. */
  readonly writeCapacity: (scaleSet: Json, capacity: number, caller: Caller) => void;
}

const EXTENSIONS = ["AzureMonitorLinuxAgent", "HealthExtension", "CustomScript"] as const;

export function createNoise(deps: NoiseDeps): NoiseControl {
  let timer: NodeJS.Timeout | undefined;
  let tick = 0;

  const scaleSets = () => deps.estate.list().filter((r) => r.body.type === ARM_TYPE.scaleSet && (r.body.properties as Json)?.provisioningState !== "Deleting");
  const galleries = () => deps.estate.list().filter((r) => r.body.type === ARM_TYPE.gallery && (r.body.properties as Json)?.provisioningState !== "Deleting");
  const vms = () => deps.estate.list().filter((r) => r.body.type === ARM_TYPE.virtualMachine && (r.body.properties as Json)?.provisioningState !== "Deleting");
  const targetsOf = (kind: NoiseKind) => (kind.startsWith("scaleSet") ? scaleSets() : kind.startsWith("vm") ? vms() : galleries());
  const subscriptionOf = (id: string) => id.split("/")[2]!;

  const event = (eventType: Parameters<typeof armEvent>[0]["eventType"], operationName: string, resourceUri: string, method: string, caller: Caller) =>
    armEvent({ eventType, operationName, resourceUri, subscriptionId: subscriptionOf(resourceUri), resourceProvider: "Microsoft.Compute", caller, method, requestUrl: `${resourceUri}?api-version=2025-04-01` });

  function one(kind: NoiseKind, n: number): string {
    const targets = targetsOf(kind);
    if (targets.length === 0) throw new Error(`noise '${kind}': the simulated estate has no ${kind.startsWith("scaleSet") ? "scale set" : kind.startsWith("vm") ? "virtual machine" : "gallery"} to act on`);
    const target = targets[n % targets.length]!;
    const id = target.id;
    const body = target.body as Json;
    switch (kind) {
      case "scaleSetCapacity": {
        const capacity = Number(body.sku?.capacity ?? 2);
        // Autoscale breathes: out by one, then in by one.
        deps.writeCapacity(body, n % 2 === 0 ? capacity + 1 : Math.max(1, capacity - 1), AUTOSCALE_CALLER);
        return id;
      }
      case "scaleSetInstance": {
        const instances = Math.max(1, Number(body.sku?.capacity ?? 1));
        const uri = `${id}/virtualMachines/${n % instances}`;
        deps.publish(event("Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write", uri, "PUT", AUTOMATION_CALLER));
        return uri;
      }
      case "scaleSetExtension": {
        const uri = `${id}/extensions/${EXTENSIONS[n % EXTENSIONS.length]}`;
        deps.publish(event("Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/virtualMachineScaleSets/extensions/write", uri, "PUT", AUTOMATION_CALLER));
        return uri;
      }
      case "scaleSetRestart":
      case "scaleSetStart": {
        const action = kind === "scaleSetRestart" ? "restart" : "start";
        deps.publish(event("Microsoft.Resources.ResourceActionSuccess", `Microsoft.Compute/virtualMachineScaleSets/${action}/action`, id, "POST", AUTOMATION_CALLER));
        return id;
      }
      case "vmExtension": {
        const uri = `${id}/extensions/${EXTENSIONS[n % EXTENSIONS.length]}`;
        deps.publish(event("Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/virtualMachines/extensions/write", uri, "PUT", AUTOMATION_CALLER));
        return uri;
      }
      case "vmRestart":
      case "vmStart":
      case "vmDeallocate": {
        const action = kind === "vmRestart" ? "restart" : kind === "vmStart" ? "start" : "deallocate";
        deps.publish(event("Microsoft.Resources.ResourceActionSuccess", `Microsoft.Compute/virtualMachines/${action}/action`, id, "POST", AUTOMATION_CALLER));
        return id;
      }
      case "galleryApplication": {
        const uri = `${id}/applications/app-${n % 5}`;
        deps.publish(event("Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/galleries/applications/write", uri, "PUT", AUTOMATION_CALLER));
        return uri;
      }
      case "galleryApplicationVersion": {
        const uri = `${id}/applications/app-${n % 5}/versions/1.0.${n}`;
        deps.publish(event("Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/galleries/applications/versions/write", uri, "PUT", AUTOMATION_CALLER));
        return uri;
      }
    }
  }

  const hasTarget = (kind: NoiseKind) => targetsOf(kind).length > 0;
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  return {
    emit(kind, count = 1) {
      if (!NOISE_KINDS.includes(kind)) throw new Error(`unknown noise kind '${String(kind)}'; one of ${NOISE_KINDS.join(", ")}`);
      return Array.from({ length: count }, () => one(kind, tick++));
    },
    start({ perSecond, kinds }) {
      if (!(perSecond > 0)) throw new Error("noise.start: perSecond must be > 0");
      stop();
      const intervalMs = Math.max(10, 1000 / perSecond);
      const perTick = Math.max(1, Math.round((perSecond * intervalMs) / 1000));
      const chosen = kinds ?? NOISE_KINDS;
      timer = setInterval(() => {
        const available = chosen.filter(hasTarget);
        for (let i = 0; i < perTick && available.length > 0; i++) one(available[tick % available.length]!, tick++);
      }, intervalMs);
      timer.unref();
    },
    stop,
    get running() {
      return timer !== undefined;
    },
  };
}
