/**
 * Asynchronous operations as ARM and the Compute RP expose them. A long-running PUT / PATCH /
 * DELETE / POST (`x-ms-long-running-operation` in GalleryRP.json and virtualMachineScaleSet.json)
 * is accepted with two headers:
 *
 * - `Azure-AsyncOperation`: the operation-status resource, whose body is
 *   `{ name, status: InProgress | Succeeded | Failed, startTime, endTime?, error? }`
 *   (https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations). The
 *   Gallery RP serves it at `/subscriptions/{s}/providers/Microsoft.Compute/locations/{region}/capsOperations/{id}`
 *   (every gallery, image and version operation in Microsoft's azure-cli recordings,
 *   ../shared/fixtures/azure-cli-recordings/), the Compute RP (scale sets) at `…/locations/{region}/operations/{id}`,
 *   the Network RP at `/subscriptions/{s}/providers/Microsoft.Network/locations/{region}/operations/{id}`;
 * - `Location`: the same operation with `monitor=true` — only on DELETE and on the share action
 *   (POST); a PUT / PATCH answer carries `Azure-AsyncOperation` alone (test_gallery_e2e.json,
 *   test_community_gallery_operations.json: creates 201 and updates 200 with no Location). The
 *   monitor poll answers 202 while it runs, then the final result: 204 for DELETE, 200 with an
 *   empty body for the share action (test_community_gallery_operations.json #5, #26).
 *
 * A resource-group delete answers with ARM's own `Location` poll,
 * `/subscriptions/{s}/operationresults/{id}`: 202 while running, 200 when done
 * (https://learn.microsoft.com/rest/api/resources/resource-groups/delete).
 */
import { randomUUID } from "node:crypto";
import type { ArmErrorDetail } from "./errors.js";

export type OperationOutcome = "Succeeded" | "Failed";
export type OperationKind = "gallery" | "compute" | "network" | "resources";

export interface FinalResult {
  readonly status: number;
  readonly body?: unknown;
}

export interface AsyncOperation {
  readonly id: string;
  readonly subscriptionId: string;
  /** Region segment of the status URL (normalised: lower case, no spaces). */
  readonly region: string;
  readonly startedAt: number;
  readonly settlesAt: number;
  readonly outcome: OperationOutcome;
  readonly error?: ArmErrorDetail;
  /** `gallery`: the Gallery RP's capsOperations; `compute`: the Compute RP's operations (scale sets); `network`: the Network RP's; `resources`: ARM's resource-group operations. */
  readonly kind: OperationKind;
  /** Whether the accepted answer carries a `Location` (monitor) header besides `Azure-AsyncOperation`. */
  readonly monitor: boolean;
  /** What the `Location` (monitor) poll answers once the operation has ended. */
  readonly result: () => FinalResult;
}

export interface OperationStatus {
  readonly name: string;
  readonly status: "InProgress" | "Succeeded" | "Failed";
  readonly startTime: string;
  readonly endTime?: string;
  readonly error?: ArmErrorDetail;
}

export class Operations {
  private readonly operations = new Map<string, AsyncOperation>();

  constructor(private readonly now: () => number = Date.now) {}

  begin(init: Omit<AsyncOperation, "id" | "startedAt" | "region"> & { readonly region: string; readonly startedAt?: number }): AsyncOperation {
    const operation: AsyncOperation = { ...init, id: randomUUID(), startedAt: init.startedAt ?? this.now(), region: normaliseRegion(init.region) };
    this.operations.set(operation.id, operation);
    return operation;
  }

  get(id: string): AsyncOperation | undefined {
    return this.operations.get(id.toLowerCase()) ?? this.operations.get(id);
  }

  done(operation: AsyncOperation): boolean {
    return this.now() >= operation.settlesAt;
  }

  status(operation: AsyncOperation): OperationStatus {
    const done = this.done(operation);
    return {
      name: operation.id,
      status: !done ? "InProgress" : operation.outcome,
      startTime: new Date(operation.startedAt).toISOString(),
      ...(done ? { endTime: new Date(operation.settlesAt).toISOString() } : {}),
      ...(done && operation.outcome === "Failed" && operation.error ? { error: operation.error } : {}),
    };
  }

  /** The two headers of an accepted long-running request. */
  headers(baseUrl: string, operation: AsyncOperation, apiVersion: string): Record<string, string> {
    if (operation.kind === "resources") {
      return { location: `${baseUrl}/subscriptions/${operation.subscriptionId}/operationresults/${operation.id}?api-version=${apiVersion}`, "retry-after": "1" };
    }
    const provider = operation.kind === "network" ? "Microsoft.Network" : "Microsoft.Compute";
    const status = `${baseUrl}/subscriptions/${operation.subscriptionId}/providers/${provider}/locations/${operation.region}/${operation.kind === "gallery" ? "capsOperations" : "operations"}/${operation.id}`;
    return { "azure-asyncoperation": `${status}?api-version=${apiVersion}`, ...(operation.monitor ? { location: `${status}?monitor=true&api-version=${apiVersion}` } : {}) };
  }
}

export function normaliseRegion(region: string): string {
  return region.toLowerCase().replace(/\s+/g, "");
}
