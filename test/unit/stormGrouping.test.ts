/**
 * Storms become one card (shared/domain/alertGroups.ts, groupedCard.ts): the grouping decision
 * table-driven, the group key, the cards one claim becomes, and the grouped card itself — a valid
 * Adaptive Card 1.5 under the size limit that counts every transition it carries.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_GROUP_INTERVAL_MS, DEFAULT_GROUP_THRESHOLD, groupKeyOf, planGroups, wakeCovers, type GroupPlan } from "../../shared/domain/alertGroups.js";
import { groupedAlertsMessage } from "../../shared/views/groupedCard.js";
import { cardsFor, deliverAlerts } from "../../shared/app/deliverAlerts.js";
import { pino } from "pino";
import { AlertDeliveryError } from "../../shared/domain/errors.js";
import { MAX_CARD_BYTES } from "../../shared/views/adaptiveCard.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { RULE_IDS, type FindingTransition } from "../../shared/domain/findings.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { AlertOutbox, Attribution, FindingStore, OutboxAlert } from "../../shared/app/ports.js";
import { aVersion, NOW, policy, regions } from "../support/snapshotBuilders.js";
import { complaints } from "../support/adaptiveCards.js";

const settings = { threshold: DEFAULT_GROUP_THRESHOLD, intervalMs: DEFAULT_GROUP_INTERVAL_MS };
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

describe("planGroups: Alertmanager's group_by / group_interval with no wait for a lone change", () => {
  const cases: Array<{ name: string; due: number; lastGroupMsAgo?: number; plan: GroupPlan }> = [
    { name: "a lone change is sent on its own at once", due: 1, plan: { mode: "single" } },
    { name: "a few below the threshold go one by one", due: DEFAULT_GROUP_THRESHOLD - 1, plan: { mode: "single" } },
    { name: "a backlog at the threshold becomes one grouped card", due: DEFAULT_GROUP_THRESHOLD, plan: { mode: "group" } },
    { name: "a storm's backlog becomes one grouped card", due: 1000, plan: { mode: "group" } },
    { name: "stragglers within the interval after a grouped card wait for the next group", due: 1, lastGroupMsAgo: 1_000, plan: { mode: "hold", until: at(DEFAULT_GROUP_INTERVAL_MS - 1_000) } },
    { name: "a large backlog within the interval waits too: one grouped card per interval", due: 500, lastGroupMsAgo: 0, plan: { mode: "hold", until: at(DEFAULT_GROUP_INTERVAL_MS) } },
    { name: "once the interval is over, two stragglers join the next group", due: 2, lastGroupMsAgo: DEFAULT_GROUP_INTERVAL_MS, plan: { mode: "group" } },
    { name: "once the interval is over, one straggler gets its own card", due: 1, lastGroupMsAgo: DEFAULT_GROUP_INTERVAL_MS + 1, plan: { mode: "single" } },
    { name: "long after the storm, a few changes go one by one again", due: 2, lastGroupMsAgo: 2 * DEFAULT_GROUP_INTERVAL_MS, plan: { mode: "single" } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const last = c.lastGroupMsAgo === undefined ? new Map<string, string>() : new Map([["k", at(-c.lastGroupMsAgo)]]);
      expect(planGroups(new Map([["k", c.due]]), last, NOW.toISOString(), settings).get("k")).toEqual(c.plan);
    });
  }

  it("decides each key on its own", () => {
    const plans = planGroups(new Map([["storm", 50], ["lone", 1]]), new Map(), NOW.toISOString(), settings);
    expect(plans.get("storm")).toEqual({ mode: "group" });
    expect(plans.get("lone")).toEqual({ mode: "single" });
  });
});

describe("wakeCovers: a storm's alerts need no wake each while a wake for their held group is queued", () => {
  const now = NOW.getTime();
  const holds = new Map([["storm", at(5_000)], ["earlier", at(2_000)]]);
  const cases: Array<{ name: string; keys: string[]; wakeAt: string | undefined; covered: boolean }> = [
    { name: "alerts of a key held until the queued wake (or later) are covered by it", keys: ["storm", "storm"], wakeAt: at(5_000), covered: true },
    { name: "a key held past the queued wake is covered: that wake's sender queues the next", keys: ["storm"], wakeAt: at(3_000), covered: true },
    { name: "a lone change (a key not held) wakes a sender at once", keys: ["storm", "lone"], wakeAt: at(5_000), covered: false },
    { name: "a key whose hold ends before the queued wake would wait too long: it wakes one", keys: ["earlier"], wakeAt: at(3_000), covered: false },
    { name: "no wake queued: every stored alert wakes a sender", keys: ["storm"], wakeAt: undefined, covered: false },
    { name: "a queued wake due within the margin may be taken already: not counted on", keys: ["storm"], wakeAt: at(500), covered: false },
    { name: "no alert stored: nothing to cover", keys: [], wakeAt: at(5_000), covered: false },
  ];
  for (const c of cases) it(c.name, () => expect(wakeCovers(c.keys, holds, c.wakeAt, now)).toBe(c.covered));
});

const event = (caller: Partial<Attribution>, eventId = "e"): Attribution => ({ eventId, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: NOW.toISOString(), ...caller });

function versionAlert(n: number, opts: { group?: string; attribution?: Attribution; at?: Date } = {}): OutboxAlert {
  const id = parseResourceId(`/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/${opts.group ?? "rg-x"}/providers/Microsoft.Compute/galleries/gal/images/def/versions/1.0.${n}`);
  const subject = { ...aVersion({ excludeFromLatest: true, targetRegions: regions("West Europe", "North Europe", "East US") }), id };
  const time = opts.at ?? NOW;
  const transitions = computeTransitions([], { subjects: [id.key], rules: [...RULE_IDS], results: evaluateSubject(subject, { definitions: [], versions: [] }, policy(), time), evaluatedAt: time.toISOString() });
  const t = transitions.find((x) => x.after.ruleId === "replication-breadth") as FindingTransition;
  return { alertId: `${t.fingerprint}:1`, transition: t, state: "pending", attempts: 0, nextAttemptAt: time.toISOString(), createdAt: time.toISOString(), ...(opts.attribution ? { attribution: opts.attribution } : {}) };
}

describe("groupKeyOf: same rule, severity, kind and caller (or resource group when no caller is recorded)", () => {
  it("one caller across resource groups is one key; another caller is another", () => {
    const priya = event({ callerName: "Priya Patel", callerUpn: "priya@contoso.example" });
    expect(groupKeyOf(versionAlert(1, { group: "rg-a", attribution: priya }))).toBe(groupKeyOf(versionAlert(2, { group: "rg-b", attribution: priya })));
    expect(groupKeyOf(versionAlert(1, { attribution: priya }))).not.toBe(groupKeyOf(versionAlert(1, { attribution: event({ callerUpn: "sam@contoso.example" }) })));
  });
  it("with no caller (the sweep), the resource group decides", () => {
    expect(groupKeyOf(versionAlert(1, { group: "rg-a" }))).toBe(groupKeyOf(versionAlert(2, { group: "RG-A" })));
    expect(groupKeyOf(versionAlert(1, { group: "rg-a" }))).not.toBe(groupKeyOf(versionAlert(2, { group: "rg-b" })));
  });
  it("another rule or transition kind is another key", () => {
    const a = versionAlert(1);
    const resolved = { ...a, transition: { ...a.transition, kind: "resolved" as const } };
    expect(groupKeyOf(resolved)).not.toBe(groupKeyOf(a));
    const otherRule = { ...a, transition: { ...a.transition, after: { ...a.transition.after, ruleId: "lifecycle" as const } } };
    expect(groupKeyOf(otherRule)).not.toBe(groupKeyOf(a));
  });
});

describe("cardsFor: what one claim becomes", () => {
  it("the alerts claimed under one group key are one card; the others one card per change", () => {
    const storm = Array.from({ length: 30 }, (_, i) => ({ ...versionAlert(i, { attribution: event({ callerUpn: "bench@contoso.example" }, `e-${i}`) }), groupKey: "k" }));
    const lone = versionAlert(99, { attribution: event({ callerUpn: "priya@contoso.example" }, "e-99") });
    const cards = cardsFor([lone, ...storm]);
    expect(cards.map((c) => c.length).sort((a, b) => a - b)).toEqual([1, 30]);
  });
  it("a group key that raced down to one change is that change's ordinary card", () => {
    const one = { ...versionAlert(1, { attribution: event({ callerUpn: "bench@contoso.example" }, "e-1") }), groupKey: "k" };
    expect(cardsFor([one])).toEqual([[one]]);
  });
});

describe("the grouped card", () => {
  const caller = event({ callerName: "Bench [click](https://evil.example)", callerUpn: "bench@contoso.example" });
  const alerts = Array.from({ length: 500 }, (_, i) => versionAlert(i, { group: i % 2 ? "rg-x" : "rg-y", attribution: { ...caller, eventId: `e-${i}` }, at: new Date(NOW.getTime() + i * 10) }));
  const content = (payload: { attachments: unknown[] }) => (payload.attachments[0] as { content: { body: unknown[]; actions: Array<{ type: string }>; version: string } }).content;

  it("is a valid Adaptive Card 1.5 under the size limit with Action.OpenUrl only, however many it carries", () => {
    const payload = groupedAlertsMessage(alerts);
    const card = content(payload);
    expect(card.version).toBe("1.5");
    expect(complaints(card)).toEqual([]);
    expect(Buffer.byteLength(JSON.stringify(payload))).toBeLessThan(MAX_CARD_BYTES);
    expect(card.actions.map((a) => a.type)).toEqual(["Action.OpenUrl"]);
  });

  it("says how many, which kind, where, who, the first resources and the command that lists them all", () => {
    const json = JSON.stringify(groupedAlertsMessage(alerts));
    expect(json).toContain("Opened: replication-breadth (high) on 500 resources");
    expect(json).toContain("500 image versions");
    expect(json).toContain("rg-x");
    expect(json).toContain("rg-y");
    expect(json).toContain("gal/def/1.0.0");
    expect(json).toContain("gal/def/1.0.9");
    expect(json).not.toContain("gal/def/1.0.10,");
    expect(json).toContain("… and 490 more");
    expect(json).toContain("bench@contoso.example");
    expect(json).toContain(`gallery-watch findings --state all --rule replication-breadth --severity high --since ${NOW.toISOString().slice(0, 19)}Z`);
    // The caller's display name is someone else's text: no link of theirs on our card.
    expect(json).not.toContain("[click](https://evil.example)");
  });

  it("uses the single card's words: exceptions refused (separation of duties) are said to be refused, not 'Changed'", () => {
    const refused = alerts.slice(0, 5).map((a) => ({ ...a, transition: { ...a.transition, kind: "changed" as const, after: { ...a.transition.after, exception: { status: "refused" as const, reason: "drill", expires: "2027-01-31", why: "set by bench@contoso.example, who raised the finding" } } } }));
    const json = JSON.stringify(groupedAlertsMessage(refused as never));
    expect(json).toContain("Exception refused: replication-breadth (high) on 5 resources");
    expect(json).not.toContain("Changed:");
    expect(json).toContain("Exception refused on the first: set by bench@contoso.example, who raised the finding");
    const deescalated = alerts.slice(0, 5).map((a) => ({ ...a, transition: { ...a.transition, kind: "deescalated" as const } }));
    expect(JSON.stringify(groupedAlertsMessage(deescalated))).toContain("De-escalated: replication-breadth (high) on 5 resources");
  });

  it("a resent grouped card says it may repeat one", () => {
    expect(JSON.stringify(groupedAlertsMessage(alerts.slice(0, 5), { note: "Sent again by hand" }))).toContain("Sent again by hand");
  });
});

describe("deliverAlerts with a grouped claim: exactly once per transition, outcomes shared by the card", () => {
  /** An outbox that hands out its due alerts once per claim, as claimed under one group key. */
  function groupedOutbox(alerts: OutboxAlert[]) {
    const rows = new Map(alerts.map((a) => [a.alertId, { ...a }]));
    const log: string[] = [];
    const outbox: AlertOutbox = {
      enqueue: async () => {},
      release: async () => {},
      discard: async () => {},
      staged: async () => [],
      async claimDue(now) {
        const due = [...rows.values()].filter((r) => r.state === "pending" && r.nextAttemptAt <= now);
        return due.map((r) => ({ ...r, groupKey: "k" }));
      },
      async markDelivered(id, at) {
        log.push(`delivered ${id}`);
        rows.set(id, { ...rows.get(id)!, state: "delivered", deliveredAt: at });
      },
      async markRetry(id, nextAttemptAt) {
        log.push(`retry ${id} ${nextAttemptAt}`);
        rows.set(id, { ...rows.get(id)!, attempts: rows.get(id)!.attempts + 1, nextAttemptAt });
      },
      async markOwed(id, owed) {
        log.push(`owed ${id} ${owed.reason}`);
        rows.set(id, { ...rows.get(id)!, state: "owed", owedReason: owed.reason });
      },
      unclaim: async () => {},
      resend: async () => false,
      list: async () => [...rows.values()],
    };
    return { outbox, rows, log };
  }
  const noFindings: FindingStore = { forResource: async () => [], apply: async () => {}, open: async () => [], asOf: async () => [], query: async () => ({ items: [] }) };
  const storm = () => Array.from({ length: 30 }, (_, i) => versionAlert(i, { attribution: event({ callerUpn: "bench@contoso.example" }, `e-${i}`) }));

  it("sends one card for the group and marks every alert it carries delivered", async () => {
    const { outbox, rows } = groupedOutbox(storm());
    const sent: unknown[] = [];
    const figures = await deliverAlerts({ outbox, findings: noFindings, teams: { send: async (p) => void sent.push(p) }, clock: { now: () => new Date(NOW.getTime() + 1_000) }, log: pino({ level: "silent" }) });
    expect(sent).toHaveLength(1);
    expect(JSON.stringify(sent[0])).toContain("this card carries 30 alerts");
    expect(figures).toMatchObject({ delivered: 30, cards: 1, groupedCards: 1 });
    expect([...rows.values()].every((r) => r.state === "delivered")).toBe(true);
  });

  it("a throttled grouped card is retried as one: every alert it carries gets the same next attempt, and goes out once", async () => {
    const { outbox, rows } = groupedOutbox(storm());
    let now = new Date(NOW.getTime() + 1_000);
    let fail = true;
    const sent: unknown[] = [];
    const teams = {
      async send(payload: unknown, alertId: string) {
        if (fail) throw new AlertDeliveryError(alertId, 429, "receiver asked to retry", 10_000);
        sent.push(payload);
      },
    };
    const deps = { outbox, findings: noFindings, teams, clock: { now: () => now }, log: pino({ level: "silent" }) };
    expect(await deliverAlerts(deps)).toMatchObject({ delivered: 0, retried: 30 });
    expect(new Set([...rows.values()].map((r) => r.nextAttemptAt)).size).toBe(1);
    fail = false;
    now = new Date(NOW.getTime() + 3_600_000);
    expect(await deliverAlerts(deps)).toMatchObject({ delivered: 30, groupedCards: 1 });
    expect(sent).toHaveLength(1);
  });

  it("a grouped card with no answer parks every alert it carries owed (ambiguous), never sent again by itself", async () => {
    const { outbox, rows } = groupedOutbox(storm());
    const teams = { send: async (_p: unknown, alertId: string) => Promise.reject(new AlertDeliveryError(alertId, undefined, "no answer", undefined, { ambiguous: true })) };
    expect(await deliverAlerts({ outbox, findings: noFindings, teams, clock: { now: () => new Date(NOW.getTime() + 1_000) }, log: pino({ level: "silent" }) })).toMatchObject({ owed: 30, ambiguous: 30, delivered: 0 });
    expect([...rows.values()].every((r) => r.state === "owed" && r.owedReason === "ambiguous")).toBe(true);
  });
});
