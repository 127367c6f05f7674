/**
 * What each conformance test validated, carried to the summary reporter on the test's `meta`
 * (the one channel from a test worker to a reporter): the reporter adds the counts per kind over
 * every file and prints them as the run's last conformance line.
 */
import type { TaskMeta } from "vitest";

export type ConformanceKind = "gallery responses" | "scale-set responses" | "VM profiles" | "error bodies" | "gallery examples" | "scale-set examples" | "recorded interactions";

/** Print order of the final line. */
export const KINDS: readonly ConformanceKind[] = ["gallery responses", "scale-set responses", "VM profiles", "error bodies", "gallery examples", "scale-set examples", "recorded interactions"];

export interface ConformanceRecord {
  readonly kind: ConformanceKind;
  readonly count: number;
  /** Printed once above the final line: what the check could not cover (stubs), and against what. */
  readonly note?: string;
}

declare module "vitest" {
  interface TaskMeta {
    conformance?: ConformanceRecord[];
  }
}

/** Record `count` items of `kind` as validated by the running test. Call after its assertions passed. */
export function recordValidated(task: { meta: TaskMeta }, kind: ConformanceKind, count: number, note?: string): void {
  (task.meta.conformance ??= []).push({ kind, count, ...(note ? { note } : {}) });
}
