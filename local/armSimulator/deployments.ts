/**
 * Resource-group template deployments (Microsoft.Resources/deployments, api-version 2021-04-01 and
 * later: specification/resources/resource-manager/Microsoft.Resources/stable/2021-04-01/deployments.json,
 * examples/PutDeploymentResourceGroup.json), which is how `az vm create` creates a VM: it PUTs a
 * template of the VM and its network resources, follows the deployment's `Azure-AsyncOperation`,
 * and reads the VM back.
 *
 * The template is evaluated at the PUT (template.ts: a template ARM would refuse, or one using what
 * the simulator does not evaluate, is a synchronous 400 `InvalidTemplate`). The PUT answers 201
 * `Accepted`; the resources are then written one by one through the simulator's own write path
 * (index.ts), each once the resources it `dependsOn` have settled `Succeeded`, as the deployer:
 * Azure attributes what a deployment creates to the principal who deployed it, and every write
 * carries the deployment's correlation id. A refused write or a resource ending `Failed` fails the
 * deployment with ARM's `DeploymentFailed` (the resource's error in `details`) and starts nothing
 * after it. So does a resource deleted before its creation finished (it reads `Deleting`, or is
 * gone): its write was superseded (the Network RP's error for it is
 * `CanceledAndSupersededDueToAnotherOperation`), the resource operation ends `Canceled`, and the deployment —
 * which nobody canceled — ends `Failed` (deployments.json: `Canceled` is the state of a deployment
 * canceled with Deployments_Cancel, `POST …/cancel`). A resource counts as done the first time it
 * reads `Succeeded`: deleting it afterwards changes nothing for the deployment, as in ARM, whose
 * deployment operation for it has completed. The operation status
 * (`…/deployments/{name}/operationStatuses/{id}`) answers `{ status: Running | Succeeded | Failed, error? }`.
 * Deleting the resource group deletes its deployments (they are the group's child resources).
 */
import { randomUUID } from "node:crypto";
import type { ArmErrorDetail } from "./errors.js";
import type { Json } from "./estate.js";
import type { DeploymentPlan, DeploymentScope, PlannedResource } from "./template.js";

/** Writes one resource of the deployment (a PUT as the deployer); ARM's refusal, or undefined once accepted. */
export type ResourceWriter = (resource: PlannedResource) => ArmErrorDetail | undefined;
/** A resource's provisioning state now; undefined when it is not there. */
export type ProvisioningState = (id: string) => string | undefined;

type DeploymentState = "Running" | "Succeeded" | "Failed";

interface Deployment {
  readonly id: string;
  readonly name: string;
  readonly groupKey: string;
  readonly operationId: string;
  readonly correlationId: string;
  readonly startedAt: number;
  readonly plan: DeploymentPlan;
  readonly write: ResourceWriter;
  /** Lower-cased ids of the resources written so far. */
  readonly started: Set<string>;
  /** Lower-cased ids of the resources that have read `Succeeded` since they were written. */
  readonly succeeded: Set<string>;
  state: DeploymentState;
  endedAt?: number;
  error?: ArmErrorDetail;
}

/** How often a running deployment looks whether its next resources may start (their dependencies settle with time). */
const STEP_MS = 100;

export class Deployments {
  private readonly deployments = new Map<string, Deployment>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly stateOf: ProvisioningState,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a deployment of this id is still running (ARM refuses a second PUT of it with 409 `DeploymentActive`). */
  running(id: string): boolean {
    return this.deployments.get(id.toLowerCase())?.state === "Running";
  }

  /** Start a deployment; returns what the PUT answers (201, provisioningState `Accepted`) and its operation id. */
  begin(scope: DeploymentScope, name: string, plan: DeploymentPlan, correlationId: string, write: ResourceWriter): { body: Json; operationId: string; created: boolean } {
    const id = `/subscriptions/${scope.subscriptionId}/resourceGroups/${scope.resourceGroup}/providers/Microsoft.Resources/deployments/${name}`;
    const deployment: Deployment = { id, name, groupKey: groupKey(id), operationId: randomUUID(), correlationId, startedAt: this.now(), plan, write, started: new Set(), succeeded: new Set(), state: "Running" };
    const created = !this.deployments.has(id.toLowerCase());
    this.deployments.set(id.toLowerCase(), deployment);
    this.advance(deployment);
    return { body: view(deployment, "Accepted"), operationId: deployment.operationId, created };
  }

  get(id: string): Json | undefined {
    const deployment = this.deployments.get(id.toLowerCase());
    if (!deployment) return undefined;
    this.advance(deployment);
    return view(deployment);
  }

  /** The deployments of a resource group, as `az deployment group list` reads them. */
  list(groupId: string): Json[] {
    return [...this.deployments.values()].filter((d) => d.groupKey === groupId.toLowerCase()).map((d) => {
      this.advance(d);
      return view(d);
    });
  }

  /** The operation status a client polls; undefined when there is no such operation on that deployment. */
  status(id: string, operationId: string): Json | undefined {
    const deployment = this.deployments.get(id.toLowerCase());
    if (!deployment || deployment.operationId.toLowerCase() !== operationId.toLowerCase()) return undefined;
    this.advance(deployment);
    return { status: deployment.state, ...(deployment.error ? { error: deployment.error } : {}) };
  }

  /** The group is being deleted: its deployments go with it, and a running one writes nothing more. */
  dropGroup(groupId: string): void {
    for (const [key, deployment] of this.deployments) {
      if (deployment.groupKey !== groupId.toLowerCase()) continue;
      this.deployments.delete(key);
      // No longer readable; ended so that its pending step starts nothing more.
      deployment.state = "Failed";
    }
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /**
   * Record what the started resources read now (Succeeded once and for all; Failed, or deleted
   * before it succeeded, ends the deployment), start every resource whose dependencies have
   * succeeded, and settle the deployment when all have.
   */
  private advance(deployment: Deployment): void {
    if (deployment.state !== "Running") return;
    const { started, succeeded } = deployment;
    for (let progressed = true; progressed; ) {
      progressed = false;
      for (const resource of deployment.plan.resources) {
        const key = resource.id.toLowerCase();
        if (succeeded.has(key)) continue;
        if (started.has(key)) {
          const state = this.stateOf(resource.id);
          if (state === "Failed") return this.fail(deployment, terminal(resource, "Failed"));
          if (state === undefined || state === "Deleting") return this.fail(deployment, terminal(resource, "Canceled"));
          if (state === "Succeeded") {
            succeeded.add(key);
            progressed = true;
          }
          continue;
        }
        if (!resource.dependsOn.every((id) => succeeded.has(id.toLowerCase()))) continue;
        started.add(key);
        const refused = deployment.write(resource);
        if (refused) return this.fail(deployment, refused);
        progressed = true;
      }
    }
    if (succeeded.size === deployment.plan.resources.length) {
      deployment.state = "Succeeded";
      deployment.endedAt = this.now();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.advance(deployment);
    }, STEP_MS);
    timer.unref();
    this.timers.add(timer);
  }

  private fail(deployment: Deployment, detail: ArmErrorDetail): void {
    deployment.state = "Failed";
    deployment.endedAt = this.now();
    deployment.error = {
      code: "DeploymentFailed",
      message: "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
      details: [detail],
    };
  }
}

/** ARM's words for a resource whose own operation ended in a terminal state other than Succeeded. */
function terminal(resource: PlannedResource, state: "Failed" | "Canceled"): ArmErrorDetail {
  return { code: "ResourceDeploymentFailure", message: `The resource operation completed with terminal provisioning state '${state}'.`, target: resource.id };
}

function groupKey(id: string): string {
  return id.replace(/\/providers\/Microsoft\.Resources\/deployments\/[^/]+$/i, "").toLowerCase();
}

/** The deployment as ARM answers it (DeploymentExtended): outputs and output resources once it succeeded, its error once it failed. */
function view(deployment: Deployment, state: DeploymentState | "Accepted" = deployment.state): Json {
  const { plan } = deployment;
  const typeOf = (id: string) => plan.resources.find((r) => r.id.toLowerCase() === id.toLowerCase())!;
  const providers = new Map<string, Map<string, Set<string>>>();
  for (const resource of plan.resources) {
    const [namespace, ...rest] = resource.type.split("/");
    const types = providers.get(namespace!) ?? new Map<string, Set<string>>();
    const locations = types.get(rest.join("/")) ?? new Set<string>();
    if (typeof resource.body.location === "string") locations.add(resource.body.location);
    types.set(rest.join("/"), locations);
    providers.set(namespace!, types);
  }
  const ended = deployment.endedAt ?? deployment.startedAt;
  return {
    id: deployment.id,
    name: deployment.name,
    type: "Microsoft.Resources/deployments",
    properties: {
      templateHash: plan.templateHash,
      parameters: plan.parameters,
      mode: "Incremental",
      provisioningState: state,
      timestamp: new Date(ended).toISOString(),
      duration: `PT${((ended - deployment.startedAt) / 1000).toFixed(3)}S`,
      correlationId: deployment.correlationId,
      providers: [...providers].map(([namespace, types]) => ({ namespace, resourceTypes: [...types].map(([resourceType, locations]) => ({ resourceType, locations: [...locations] })) })),
      dependencies: plan.resources
        .filter((r) => r.dependsOn.length > 0)
        .map((r) => ({ id: r.id, resourceType: r.type, resourceName: r.name, dependsOn: r.dependsOn.map((d) => ({ id: typeOf(d).id, resourceType: typeOf(d).type, resourceName: typeOf(d).name })) })),
      ...(state === "Succeeded" ? { outputs: plan.outputs, outputResources: plan.resources.map((r) => ({ id: r.id })) } : {}),
      ...(state === "Failed" && deployment.error ? { error: deployment.error } : {}),
    },
  };
}
