/**
 * The security team's question in one call: what did this resource look like at time X, who
 * changed it (the changes up to X), and which findings were open then.
 */
import type { ResourceId } from "./domain/resourceId.js";
import type { Finding } from "./domain/findings.js";
import type { ChangeRecord, Dependencies, SnapshotRecord } from "./ports.js";

export interface PointInTimeView {
  readonly resourceId: string;
  readonly asOf: string;
  /** The snapshot in force at `asOf` (undefined: not yet observed then). */
  readonly snapshot?: SnapshotRecord;
  /** Changes up to `asOf`, newest first. */
  readonly changes: readonly ChangeRecord[];
  /** Findings as they stood at `asOf` (resolved ones included, with their status). */
  readonly findings: readonly Finding[];
}

export async function pointInTime(deps: Pick<Dependencies, "resources" | "findings">, id: ResourceId, asOf: string, changeLimit = 20): Promise<PointInTimeView> {
  const [history, changes, findings] = await Promise.all([
    deps.resources.history(id.key, { asOf, limit: 1 }),
    deps.resources.changes(id.key, { asOf, limit: changeLimit }),
    deps.findings.asOf(id.key, asOf),
  ]);
  const snapshot = history[0];
  return { resourceId: id.display, asOf, ...(snapshot ? { snapshot } : {}), changes, findings };
}
