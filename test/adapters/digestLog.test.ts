/** The digest claim table and the finding-activity query against Azurite; a fresh table prefix per test. */
import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { createTableDigestLog } from "../../shared/adapters/tables/tableDigestLog.js";
import { createTableFindingActivity } from "../../shared/adapters/tables/tableFindingActivity.js";
import { createTableFindingStore } from "../../shared/adapters/tables/tableFindingStore.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { RULE_IDS } from "../../shared/domain/findings.js";
import { aVersion, NOW, policy, regions } from "../support/snapshotBuilders.js";

const conn = () => ({ connectionString: inject("azuriteConnectionString") });
const prefix = () => `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
const today = { digestId: "digest:2026-11-24", period: "2026-11-24", claimedAt: "2026-11-24T07:00:00.000Z" };
const staleBefore = "2026-11-24T06:55:00.000Z";

describe("tableDigestLog", () => {
  it("of two concurrent claims exactly one wins; once sent, later claims see it sent", async () => {
    const log = createTableDigestLog(conn(), prefix());
    const results = await Promise.all([log.claim(today, { staleBefore }), log.claim(today, { staleBefore })]);
    expect(results.map((r) => r.outcome).sort()).toEqual(["claimed", "inProgress"]);
    const won = results.find((r) => r.outcome === "claimed") as { claim: string };
    expect(await log.markSent(today.digestId, won.claim, { sentAt: "2026-11-24T07:00:01.000Z", until: today.claimedAt })).toBe(true);
    expect(await log.claim({ ...today, claimedAt: "2026-11-24T09:00:00.000Z" }, { staleBefore: "2026-11-24T08:55:00.000Z" })).toEqual({
      outcome: "sent",
      record: { ...today, sentAt: "2026-11-24T07:00:01.000Z", until: today.claimedAt },
    });
  });

  it("a stale unsent claim is taken over by exactly one of two takers, and the old owner can no longer mark it sent", async () => {
    const log = createTableDigestLog(conn(), prefix());
    const first = (await log.claim(today, { staleBefore })) as { claim: string };
    const later = { ...today, claimedAt: "2026-11-24T07:10:00.000Z" };
    const takers = await Promise.all([log.claim(later, { staleBefore: "2026-11-24T07:05:00.000Z" }), log.claim(later, { staleBefore: "2026-11-24T07:05:00.000Z" })]);
    expect(takers.map((r) => r.outcome).sort()).toEqual(["claimed", "inProgress"]);
    expect(await log.markSent(today.digestId, first.claim, { sentAt: later.claimedAt, until: later.claimedAt })).toBe(false);
  });

  it("a released claim can be claimed again at once; force takes even a sent digest", async () => {
    const log = createTableDigestLog(conn(), prefix());
    const first = (await log.claim(today, { staleBefore })) as { claim: string };
    await log.release(today.digestId, first.claim);
    const second = await log.claim(today, { staleBefore });
    expect(second.outcome).toBe("claimed");
    await log.markSent(today.digestId, (second as { claim: string }).claim, { sentAt: today.claimedAt, until: today.claimedAt });
    expect((await log.claim(today, { staleBefore })).outcome).toBe("sent");
    expect((await log.claim(today, { staleBefore, force: true })).outcome).toBe("claimed");
  });

  it("finds the newest earlier digest that was sent, skipping a day whose claim was never sent", async () => {
    const log = createTableDigestLog(conn(), prefix());
    const send = async (period: string) => {
      const c = (await log.claim({ digestId: `digest:${period}`, period, claimedAt: `${period}T07:00:00.000Z` }, { staleBefore: "2000-01-01T00:00:00.000Z" })) as { claim: string };
      await log.markSent(`digest:${period}`, c.claim, { sentAt: `${period}T07:00:02.000Z`, until: `${period}T07:00:00.000Z` });
    };
    await send("2026-11-21");
    await send("2026-11-22");
    await log.claim({ digestId: "digest:2026-11-23", period: "2026-11-23", claimedAt: "2026-11-23T07:00:00.000Z" }, { staleBefore });
    await send("2026-11-24");
    expect((await log.previousSent("2026-11-24"))?.period).toBe("2026-11-22");
    expect((await log.previousSent("2026-11-25"))?.until).toBe("2026-11-24T07:00:00.000Z");
    expect(await log.previousSent("2026-11-21")).toBeUndefined();
  });
});

describe("tableFindingActivity", () => {
  it("returns findings changed since a time, resolved ones included", async () => {
    const p = prefix();
    const store = createTableFindingStore(conn(), p);
    const bad = aVersion({ excludeFromLatest: false, endOfLifeDate: undefined, tags: {}, targetRegions: regions("West Europe", "North Europe", "East US") });
    const opened = computeTransitions([], { subjects: [bad.id.key], rules: [...RULE_IDS], results: evaluateSubject(bad, { definitions: [], versions: [] }, policy(), NOW), evaluatedAt: NOW.toISOString() });
    await store.apply(opened);
    const later = new Date(NOW.getTime() + 3_600_000).toISOString();
    const resolved = computeTransitions(opened.map((t) => t.after), { subjects: [bad.id.key], rules: [...RULE_IDS], results: [], evaluatedAt: later });
    await store.apply(resolved.slice(0, 1));
    const activity = createTableFindingActivity(conn(), p);
    const since = await activity.changedSince(new Date(NOW.getTime() + 1).toISOString());
    expect(since.map((f) => [f.fingerprint, f.status])).toEqual([[resolved[0]!.fingerprint, "resolved"]]);
    expect(await store.open()).toHaveLength(opened.length - 1);
    expect(await activity.changedSince(NOW.toISOString())).toHaveLength(opened.length);
  });
});
