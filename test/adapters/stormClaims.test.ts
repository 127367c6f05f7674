/**
 * Claiming a storm from the table outbox (against the real Azurite the test run starts): a key
 * with a storm's backlog is claimed whole by exactly one of two concurrent senders, every alert
 * once; what arrives within the interval is held (with the time it comes due) and then claimed
 * as the next group; a lone change is never held.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { createTableAlertOutbox } from "../../shared/adapters/tables/tableAlertOutbox.js";
import { groupKeyOf } from "../../shared/domain/alertGroups.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { RULE_IDS } from "../../shared/domain/findings.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { Attribution } from "../../shared/app/ports.js";
import { aVersion, NOW, policy, regions } from "../support/snapshotBuilders.js";

const conn = () => ({ connectionString: inject("azuriteConnectionString") });
const prefix = () => `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const grouping = { threshold: 4, intervalMs: 5_000, maxAlerts: 500 };
const LEASE = 60_000;

function alertFor(n: number, upn: string, atMs: number) {
  const id = parseResourceId(`/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-x/providers/Microsoft.Compute/galleries/gal/images/def/versions/1.0.${n}`);
  const subject = { ...aVersion({ excludeFromLatest: true, targetRegions: regions("West Europe", "North Europe", "East US") }), id };
  const time = new Date(NOW.getTime() + atMs);
  const [t] = computeTransitions([], { subjects: [id.key], rules: [...RULE_IDS], results: evaluateSubject(subject, { definitions: [], versions: [] }, policy(), time), evaluatedAt: time.toISOString() }).filter((x) => x.after.ruleId === "replication-breadth");
  const attribution: Attribution = { eventId: `e-${n}`, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: time.toISOString(), callerUpn: upn };
  return { alertId: `${t!.fingerprint}:1`, transition: t!, attribution };
}

async function store(outbox: ReturnType<typeof createTableAlertOutbox>, alerts: Array<ReturnType<typeof alertFor>>, now: string) {
  await outbox.enqueue(alerts, now);
  await outbox.release(alerts, now);
}

describe("claiming a storm", () => {
  it("claims a storm's key whole, once, under two concurrent senders; a lone change by another caller on its own", async () => {
    const outbox = createTableAlertOutbox(conn(), prefix());
    const storm = Array.from({ length: 30 }, (_, i) => alertFor(i, "bench@contoso.example", 0));
    const lone = alertFor(99, "priya@contoso.example", 0);
    await store(outbox, [...storm, lone], at(0));
    const claims = await Promise.all([outbox.claimDue(at(100), 5, LEASE, grouping), outbox.claimDue(at(100), 5, LEASE, grouping)]);
    const all = claims.flat();
    // Every alert once across both senders.
    expect(all.map((a) => a.alertId).sort()).toEqual([...storm, lone].map((a) => a.alertId).sort());
    // The storm went to one sender, beyond its limit of 5, every alert marked with its group key.
    const grouped = claims.filter((c) => c.some((a) => a.groupKey));
    expect(grouped).toHaveLength(1);
    expect(grouped[0]!.filter((a) => a.groupKey)).toHaveLength(30);
    expect(new Set(grouped[0]!.filter((a) => a.groupKey).map((a) => a.groupKey)).size).toBe(1);
    expect(all.find((a) => a.alertId === lone.alertId)!.groupKey).toBeUndefined();
  });

  it("holds stragglers within the interval, says until when, then claims them as the next group; later a lone change goes at once", async () => {
    const outbox = createTableAlertOutbox(conn(), prefix());
    await store(outbox, Array.from({ length: 10 }, (_, i) => alertFor(i, "bench@contoso.example", 0)), at(0));
    const first = await outbox.claimDue(at(100), 20, LEASE, grouping);
    expect(first.filter((a) => a.groupKey)).toHaveLength(10);
    // The key just grouped is held for an interval from the claim.
    expect([...(first.holds ?? [])]).toEqual([[first[0]!.groupKey, at(5_100)]]);
    const stragglers = [10, 11, 12].map((n) => alertFor(n, "bench@contoso.example", 1_000));
    await store(outbox, stragglers, at(1_000));
    const held = await outbox.claimDue(at(1_500), 20, LEASE, grouping);
    expect([...held]).toEqual([]);
    expect(held.heldUntil).toBe(at(5_100));
    // Which key, and until when: a sender's process knows its storm's later alerts need no wake each.
    expect([...(held.holds ?? [])]).toEqual([[groupKeyOf(stragglers[0]!), at(5_100)]]);
    const next = await outbox.claimDue(at(5_100), 20, LEASE, grouping);
    expect(next.map((a) => a.alertId).sort()).toEqual(stragglers.map((a) => a.alertId).sort());
    expect(next.every((a) => a.groupKey !== undefined)).toBe(true);
    // Long after the storm: one change of the same kind by the same caller goes at once, on its own card.
    const single = alertFor(50, "bench@contoso.example", 60_000);
    await store(outbox, [single], at(60_000));
    const alone = await outbox.claimDue(at(60_000), 20, LEASE, grouping);
    expect(alone.map((a) => [a.alertId, a.groupKey])).toEqual([[single.alertId, undefined]]);
    expect(alone.heldUntil).toBeUndefined();
    expect(alone.holds).toBeUndefined();
  });
});
