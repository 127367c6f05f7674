/**
 * When judging wakes the alert senders (shared/app/senderWakes.ts): every stored alert wakes them,
 * except a storm's alerts while a wake this process queued for their held group is still to come
 * — each wake is an outbox claim that lists every alert the group holds back. A lone change, an
 * alert of another key, or one stored after that wake, still wakes them at once; the findings
 * feed (not grouped) is woken for covered alerts alone.
 */
import { describe, expect, it } from "vitest";
import { senderWakes } from "../../shared/app/senderWakes.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { RULE_IDS, type FindingTransition } from "../../shared/domain/findings.js";
import { groupKeyOf } from "../../shared/domain/alertGroups.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { Attribution, DeliveryQueue } from "../../shared/app/ports.js";
import { aVersion, NOW, policy, regions } from "../support/snapshotBuilders.js";

const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const storm: Attribution = { eventId: "e", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: NOW.toISOString(), callerUpn: "pipeline@contoso.example" };
const someoneElse: Attribution = { ...storm, callerUpn: "priya@contoso.example" };

function opened(n: number): FindingTransition {
  const id = parseResourceId(`/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-x/providers/Microsoft.Compute/galleries/gal/images/def/versions/1.0.${n}`);
  const subject = { ...aVersion({ excludeFromLatest: true, targetRegions: regions("West Europe", "North Europe", "East US") }), id };
  return computeTransitions([], { subjects: [id.key], rules: [...RULE_IDS], results: evaluateSubject(subject, { definitions: [], versions: [] }, policy(), NOW), evaluatedAt: NOW.toISOString() }).find((t) => t.after.ruleId === "replication-breadth")!;
}

function aQueue() {
  const wakes: Array<{ delaySeconds: number; feedOnly: boolean }> = [];
  const queue: DeliveryQueue = { wake: async (delaySeconds = 0, options = {}) => void wakes.push({ delaySeconds, feedOnly: options.feedOnly === true }) };
  return { queue, wakes };
}

/** The storm's key held until +5 s by a grouped card, and a later pass that found it held (so a wake is queued for +5 s). */
async function duringAHold(feed = false) {
  let now = NOW.getTime();
  const { queue, wakes } = aQueue();
  const senders = senderWakes(queue, { now: () => new Date(now) }, { feed });
  const key = groupKeyOf({ transition: opened(0), attribution: storm });
  await senders.passed({ holds: new Map([[key, at(5_000)]]) });
  now += 500;
  await senders.passed({ heldUntil: at(5_000), holds: new Map([[key, at(5_000)]]) });
  return { senders, wakes, later: (ms: number) => (now = NOW.getTime() + ms) };
}

describe("waking the alert senders", () => {
  it("with no storm held, every invocation that stored an alert wakes them at once; one that stored none does not", async () => {
    const { queue, wakes } = aQueue();
    const senders = senderWakes(queue, { now: () => NOW }, { feed: false });
    await senders.alertsStored([opened(1)], storm);
    await senders.alertsStored([{ ...opened(2), alert: false }], storm);
    expect(wakes).toEqual([{ delaySeconds: 0, feedOnly: false }]);
  });

  it("a pass that holds a storm back queues one wake for the hold's end, however many passes find it held", async () => {
    const { wakes, senders, later } = await duringAHold();
    later(1_000);
    await senders.passed({ heldUntil: at(5_000) });
    expect(wakes).toEqual([{ delaySeconds: 5, feedOnly: false }]);
  });

  it("while that wake is to come, the storm's alerts queue none of their own: they could not go sooner", async () => {
    const { wakes, senders, later } = await duringAHold();
    later(1_000);
    for (let n = 1; n <= 50; n++) await senders.alertsStored([opened(n)], storm);
    expect(wakes).toEqual([{ delaySeconds: 5, feedOnly: false }]);
  });

  it("a lone change by someone else during the storm wakes them at once", async () => {
    const { wakes, senders, later } = await duringAHold();
    later(1_000);
    await senders.alertsStored([opened(7)], someoneElse);
    expect(wakes.at(-1)).toEqual({ delaySeconds: 0, feedOnly: false });
  });

  it("an alert stored once the queued wake is due (or about to be) wakes them itself", async () => {
    const { wakes, senders, later } = await duringAHold();
    later(4_500);
    await senders.alertsStored([opened(8)], storm);
    expect(wakes.at(-1)).toEqual({ delaySeconds: 0, feedOnly: false });
  });

  it("with the findings feed on, a covered alert still wakes the feed's sender, and only it", async () => {
    const { wakes, senders, later } = await duringAHold(true);
    later(1_000);
    await senders.alertsStored([opened(9)], storm);
    expect(wakes.at(-1)).toEqual({ delaySeconds: 0, feedOnly: true });
  });
});
