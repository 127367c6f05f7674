/**
 * The nightly sweep of one subscription: catches whatever events missed and re-judges the
 * time-based rules (end of life, exception expiry). List calls only, no per-item GETs
 * (ARM's read budget is a token bucket of 250, refilled 25/s per subscription and principal:
 * https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
 * Memory is bounded by one gallery's definitions and one definition's versions at a time.
 */
import type { FindingTransition, TransitionKind } from "./domain/findings.js";
import type { ImageVersionSnapshot, Snapshot } from "./domain/snapshots.js";
import { contentHashOf } from "./storage/contentHash.js";
import { evaluateAndSettle, type CheckSettings, type Judged } from "./checkResource.js";
import type { Dependencies, Trigger } from "./ports.js";

export interface SweepFigures {
  readonly subscriptionId: string;
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly galleries: number;
  readonly definitions: number;
  readonly versions: number;
  readonly scaleSets: number;
  /** History snapshots written because content changed since the last look. */
  readonly snapshotsWritten: number;
  readonly transitions: Readonly<Partial<Record<TransitionKind, number>>>;
}

export async function sweepSubscription(deps: Dependencies, settings: CheckSettings, subscriptionId: string, runId: string): Promise<SweepFigures> {
  const startedAt = deps.clock.now();
  const trigger: Trigger = { source: "sweep", runId };
  const counts = { galleries: 0, definitions: 0, versions: 0, scaleSets: 0, snapshotsWritten: 0 };
  const transitions: FindingTransition[] = [];

  const record = async (snapshot: Snapshot): Promise<void> => {
    const { changed } = await deps.resources.recordSnapshot({ snapshot, contentHash: contentHashOf(snapshot), observedAt: deps.clock.now().toISOString(), trigger });
    if (changed) counts.snapshotsWritten++;
  };
  const judge = async (judged: readonly Judged[]): Promise<void> => {
    transitions.push(...(await evaluateAndSettle(deps, settings, judged, deps.clock.now(), undefined)));
  };

  for await (const gallery of deps.arm.listGalleries(subscriptionId)) {
    counts.galleries++;
    await record(gallery);
    const definitions = [];
    for await (const definition of deps.arm.listImageDefinitions(gallery.id)) {
      counts.definitions++;
      await record(definition);
      definitions.push(definition);
    }
    await judge([{ subject: gallery, related: { definitions, versions: [] } }]);
    for (const definition of definitions) {
      const versions: ImageVersionSnapshot[] = [];
      for await (const version of deps.arm.listImageVersions(definition.id)) {
        counts.versions++;
        await record(version);
        versions.push(version);
      }
      await judge([
        { subject: definition, related: { gallery, definitions: [], versions } },
        ...versions.map((subject) => ({ subject, related: { gallery, definition, definitions: [], versions: [] } })),
      ]);
    }
  }

  // Scale sets last: their definitions and versions were just refreshed in the store above.
  for await (const scaleSet of deps.arm.listScaleSets(subscriptionId)) {
    counts.scaleSets++;
    await record(scaleSet);
    const ref = scaleSet.imageReference;
    const definitionKey = ref.kind === "definition" ? ref.definitionId.key : ref.kind === "version" ? ref.versionId.key.replace(/\/versions\/[^/]+$/, "") : undefined;
    const stored = definitionKey ? await deps.resources.current(definitionKey) : undefined;
    const definition = stored?.kind === "imageDefinition" ? stored : undefined;
    const versions = definitionKey && ref.kind === "definition" ? await deps.resources.versionsOf(definitionKey) : [];
    await judge([{ subject: scaleSet, related: { definitions: [], versions, ...(definition ? { definition } : {}) } }]);
  }

  const byKind: Partial<Record<TransitionKind, number>> = {};
  for (const t of transitions) byKind[t.kind] = (byKind[t.kind] ?? 0) + 1;
  const figures: SweepFigures = {
    subscriptionId,
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: deps.clock.now().toISOString(),
    ...counts,
    transitions: byKind,
  };
  deps.log.info({ sweep: figures }, `sweep of ${subscriptionId} done`);
  return figures;
}
