/**
 * The one place that recognises an Azure SDK error: `isRestError` from core-rest-pipeline (every
 * SDK this app uses — arm-compute, data-tables, storage-queue, storage-blob, eventgrid — throws its
 * `RestError`), instead of each adapter guessing at `statusCode` on an unknown value. Our own
 * errors keep the SDK's as their `cause`, so `statusOf` looks there too.
 */
import { isRestError, type RestError } from "@azure/core-rest-pipeline";

export { isRestError, type RestError };

/** The HTTP status of an SDK error; undefined for anything else (no answer, our own errors). */
export function statusOf(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}

/** The HTTP status of the SDK error an error of ours (StorageError, …) wraps as its `cause`. */
export function causeStatusOf(error: unknown): number | undefined {
  return error instanceof Error ? statusOf((error as { cause?: unknown }).cause) : undefined;
}
