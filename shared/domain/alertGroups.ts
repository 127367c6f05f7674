/**
 * Storms become one card, after Prometheus Alertmanager's grouping
 * (https://prometheus.io/docs/alerting/latest/configuration/#route: `group_by`, `group_wait`,
 * `group_interval`). Pure: the outbox counts what is due, this decides.
 *
 * - group_by: rule, severity, transition kind, and who — the caller when the event named one,
 *   otherwise the resource group (the sweep and re-checks have no caller).
 * - group_wait is 0: a change is never held back on its own. A key is grouped only when at least
 *   `threshold` of its alerts are due at once (default 4: more than Teams accepts in a second, so
 *   they could not all arrive together anyway). One change at a time — the trickle — always gets
 *   its own card at once; a burst gets a few single cards while its backlog builds, then one
 *   grouped card.
 * - group_interval: after a grouped card, the key is held for `intervalMs`: what arrives meanwhile
 *   (the storm's stragglers) joins the next grouped card, sent when the hold ends. For one more
 *   interval after that, two or more due alerts of the key are still a group (the storm's tail).
 */
import type { AlertGrouping, OutboxAlert } from "./records.js";
import { tryParseResourceId } from "./resourceId.js";


export const DEFAULT_GROUP_THRESHOLD = 4;
export const DEFAULT_GROUP_INTERVAL_MS = 5_000;
export const MAX_GROUP_ALERTS = 500;

/** What a key's due alerts do in this claim. */
export type GroupPlan = { readonly mode: "single" } | { readonly mode: "group" } | { readonly mode: "hold"; readonly until: string };

/** The group_by key of an alert: rule, severity, kind and the caller (or, with none recorded, the resource group). */
export function groupKeyOf(alert: Pick<OutboxAlert, "transition" | "attribution">): string {
  const t = alert.transition;
  const a = alert.attribution;
  const caller = a?.callerUpn || a?.callerAppId || a?.callerName;
  const parsed = caller ? undefined : tryParseResourceId(t.after.resourceId);
  const who = caller ? `caller:${caller.toLowerCase()}` : parsed?.ok ? `rg:${parsed.id.subscriptionId}/${parsed.id.resourceGroup.toLowerCase()}` : `resource:${t.after.resourceKey}`;
  return JSON.stringify([t.after.ruleId, t.after.severity, t.kind, who]);
}

/** A queued wake must still be this far off to be counted on: the queue's clock and ours differ a little. */
export const WAKE_MARGIN_MS = 1_000;

/**
 * Alerts just stored need no wake of their own when a sender is already woken later (`wakeAt`, a
 * delayed queue message this process queued for a held group) and every one of them belongs to a
 * key held at least until then (`holds`, from this process's last claims): they could not go
 * sooner, and that sender's pass reads the outbox after they were stored (it claims them, or finds
 * their key held again and queues the next wake). A storm then costs a wake per hold, not one per
 * alert, each of which would list every alert held in the outbox again.
 */
export function wakeCovers(keys: readonly string[], holds: ReadonlyMap<string, string>, wakeAt: string | undefined, now: number): boolean {
  if (keys.length === 0 || wakeAt === undefined || Date.parse(wakeAt) <= now + WAKE_MARGIN_MS) return false;
  return keys.every((key) => {
    const until = holds.get(key);
    return until !== undefined && until >= wakeAt;
  });
}

/**
 * Per key: `backlog` due (claimable) alerts, `lastGroupAt` when its last grouped card was
 * claimed (absent: none recently). Keys absent from the answer are `single`.
 */
export function planGroups(backlog: ReadonlyMap<string, number>, lastGroupAt: ReadonlyMap<string, string>, now: string, settings: Pick<AlertGrouping, "threshold" | "intervalMs">): Map<string, GroupPlan> {
  const plans = new Map<string, GroupPlan>();
  const at = Date.parse(now);
  for (const [key, due] of backlog) {
    if (due <= 0) continue;
    const last = lastGroupAt.get(key);
    const since = last === undefined ? Number.POSITIVE_INFINITY : at - Date.parse(last);
    if (since < settings.intervalMs) plans.set(key, { mode: "hold", until: new Date(Date.parse(last!) + settings.intervalMs).toISOString() });
    else if (due >= settings.threshold || (since < 2 * settings.intervalMs && due >= 2)) plans.set(key, { mode: "group" });
    else plans.set(key, { mode: "single" });
  }
  return plans;
}
