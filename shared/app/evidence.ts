/**
 * Gathering the audit evidence pack (the page itself is views/report/): findings open now and
 * those that changed in the period, the change log of every stored resource of the watched
 * subscriptions (and of every resource a finding names, so deleted ones are not missed), each
 * stored version's lineage (the machines recorded running it), and the sweep runs, with notes
 * saying what the page leaves out. `gallery-watch report` runs it.
 */
import type { Finding } from "../domain/findings.js";
import { tryParseResourceId, type ResourceId } from "../domain/resourceId.js";
import { isPipelineInternal } from "../domain/records.js";
import { changeEntry, isAuditableChange, type EvidenceData } from "../views/report/evidence.js";
import type { ChangeRecord, Dependencies, FindingActivity, ResourceStore } from "./ports.js";

/**
 * Every change of one resource at or after `since`. The store answers newest first with a
 * limit; ask again with a larger one until the oldest row is before `since` or the store has no
 * more, so nothing is cut off by a page size.
 */
export async function changesSince(resources: Pick<ResourceStore, "changes">, key: string, since: string): Promise<ChangeRecord[]> {
  for (let limit = 200; ; limit *= 4) {
    const rows = await resources.changes(key, { limit });
    const oldest = rows[rows.length - 1];
    if (rows.length < limit || (oldest && changeEntry(oldest).at < since)) return rows.filter((c) => changeEntry(c).at >= since);
  }
}

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>, progress: (done: number) => void): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
    progress(Math.min(items.length, i + size));
  }
  return out;
}

function subscriptionOf(resourceId: string): string | undefined {
  const parsed = tryParseResourceId(resourceId);
  return parsed.ok ? parsed.id.subscriptionId.toLowerCase() : undefined;
}

/** Progress for a terminal: resources whose changes are read out of how many, and what is happening. */
export type EvidenceProgress = (done: number, total: number, line: string) => void;

export async function gatherEvidence(
  deps: Pick<Dependencies, "findings" | "resources" | "sweepRuns">,
  activity: FindingActivity,
  input: { readonly generatedAt: string; readonly since: string; readonly subscriptions: readonly string[] },
  onProgress: EvidenceProgress = () => undefined,
): Promise<EvidenceData> {
  const { generatedAt, since } = input;
  const subscriptions = input.subscriptions.map((s) => s.toLowerCase());
  const watched = new Set(subscriptions);
  let resourcesDone = 0;
  let resourcesTotal = 0;
  const progress = (line: string) => onProgress(resourcesDone, resourcesTotal, line);

  progress(`report: reading findings since ${since} …`);
  const [open, changed] = await Promise.all([deps.findings.open(), activity.changedSince(since)]);
  const byFingerprint = new Map<string, Finding>();
  for (const f of [...open, ...changed]) {
    const seen = byFingerprint.get(f.fingerprint);
    if (!seen || f.revision > seen.revision) byFingerprint.set(f.fingerprint, f);
  }
  const all = [...byFingerprint.values()];
  const findings = all.filter((f) => watched.has(subscriptionOf(f.resourceId) ?? ""));
  progress(`report: ${findings.length} findings; listing stored resources of ${subscriptions.length} subscription(s) …`);

  const keys = new Set<string>();
  /** Stored versions, as ARM spells them: their lineage goes in the pack. */
  const versionIds: ResourceId[] = [];
  for (const subscriptionId of subscriptions) {
    for await (const id of deps.resources.currentIn(subscriptionId)) {
      keys.add(id.key);
      if (id.version !== undefined) versionIds.push(id);
    }
  }
  // Resources named by a finding may be deleted now (currentIn lists only current ones); their changes belong in the pack too.
  for (const f of findings) keys.add(f.resourceKey);
  const resourceKeys = [...keys].sort();
  resourcesTotal = resourceKeys.length;
  const perResource = await inBatches(resourceKeys, 8, (key) => changesSince(deps.resources, key, since), (done) => {
    resourcesDone = done;
    progress(`report: reading changes: ${done}/${resourceKeys.length} resources`);
  });
  const everyChange = perResource.flat();
  const changes = everyChange.filter(isAuditableChange);

  // Lineage of every stored version: the machines recorded running it (one partition query each).
  progress("report: reading lineage …");
  const lineage = (await inBatches(versionIds, 8, async (id) => ({ versionId: id.display, machines: await deps.resources.lineage(id.key) }), () => undefined)).filter((l) => l.machines.length > 0);

  progress("report: reading sweep runs …");
  const sweepRuns = (await deps.sweepRuns.list({ since })).filter((r) => watched.has(r.subscriptionId.toLowerCase()));

  const notes: string[] = [];
  const internal = everyChange.filter(isPipelineInternal).length;
  const omitted = everyChange.length - changes.length - internal;
  if (internal > 0) notes.push(`${internal} pipeline-internal row(s) (provisioning, coalesced) are kept in history but not listed as changes; gallery-watch changes --all shows them.`);
  if (omitted > 0) notes.push(`${omitted} sweep or re-check re-read(s) that found nothing new are not listed as changes; the sweep runs below account for them.`);
  if (all.length > findings.length) notes.push(`${all.length - findings.length} finding(s) of subscriptions no longer watched (GW_WATCHED_SUBSCRIPTIONS) are not included.`);

  return { generatedAt, since, subscriptions, findings, changes, sweepRuns, lineage, notes };
}
