/**
 * The index rows behind the cross-resource listings, against the real Azurite the test run starts
 * (a fresh table prefix per test): findings by status (`<prefix>FindingIndex`) and changes by day
 * (`<prefix>ChangeLog`). Paging across more rows than a page loses and repeats nothing; a finding
 * that changes status leaves its old status's partition.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { createTableFindingStore } from "../../shared/adapters/tables/tableFindingStore.js";
import { createTableResourceStore } from "../../shared/adapters/tables/tableResourceStore.js";
import { openTable } from "../../shared/adapters/tables/tableClients.js";
import type { Finding, FindingStatus, Severity } from "../../shared/domain/findings.js";
import type { ChangeRecord, FindingQuery, FindingStore, Page, Trigger } from "../../shared/app/ports.js";
import { InvalidContinuationTokenError } from "../../shared/app/ports.js";
import { BASE, SUB } from "../support/snapshotBuilders.js";
import { aFinding as storedFinding } from "../support/snapshotBuilders.js";

const conn = () => ({ connectionString: inject("azuriteConnectionString") });
const prefix = () => `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
const OTHER_SUB = "99999999-8888-7777-6666-555555555555";

function aFinding(n: number, overrides: Partial<Finding> = {}): Finding {
  const updatedAt = overrides.updatedAt ?? new Date(Date.UTC(2026, 10, 1) + n * 60_000).toISOString();
  return storedFinding(overrides.resourceId ?? `${BASE}/galleries/g/images/def${n}/versions/1.0.${n}`, { summary: `finding ${n}`, updatedAt, ...overrides });
}

const opened = (f: Finding) => ({ kind: "opened" as const, fingerprint: f.fingerprint, after: f, alert: true, at: f.updatedAt });

async function all(store: FindingStore, query: Omit<FindingQuery, "continuationToken">): Promise<{ pages: Array<Page<Finding>>; items: Finding[] }> {
  const pages: Array<Page<Finding>> = [];
  let token: string | undefined;
  do {
    const page = await store.query({ ...query, ...(token ? { continuationToken: token } : {}) });
    pages.push(page);
    token = page.continuationToken;
  } while (token);
  return { pages, items: pages.flatMap((p) => [...p.items]) };
}

describe("the findings index (status partitions)", () => {
  it("pages 250 open findings 100 at a time: 3 pages, newest first, none lost or repeated", async () => {
    const store = createTableFindingStore(conn(), prefix());
    const findings = Array.from({ length: 250 }, (_, n) => aFinding(n));
    for (let i = 0; i < findings.length; i += 25) await Promise.all(findings.slice(i, i + 25).map((f) => store.apply([opened(f)])));

    const { pages, items } = await all(store, { states: ["open"], limit: 100 });
    expect(pages.map((p) => p.items.length)).toEqual([100, 100, 50]);
    expect(pages.at(-1)!.continuationToken).toBeUndefined();
    expect(new Set(items.map((f) => f.fingerprint)).size).toBe(250);
    expect(items.map((f) => f.summary)).toEqual([...findings].reverse().map((f) => f.summary));
  });

  it("moves a finding from open to resolved: the open partition no longer lists it", async () => {
    const p = prefix();
    const store = createTableFindingStore(conn(), p);
    const open = aFinding(1);
    const other = aFinding(2);
    await store.apply([opened(open), opened(other)]);
    const resolved: Finding = { ...open, status: "resolved", updatedAt: "2026-11-02T00:00:00.000Z", resolvedAt: "2026-11-02T00:00:00.000Z", revision: 2 };
    await store.apply([{ kind: "resolved", fingerprint: open.fingerprint, before: open, after: resolved, alert: true, at: resolved.updatedAt }]);

    expect((await store.query({ states: ["open"], limit: 100 })).items.map((f) => f.summary)).toEqual(["finding 2"]);
    expect((await store.query({ states: ["resolved"], limit: 100 })).items).toEqual([resolved]);
    const index = await openTable(conn(), `${p}FindingIndex`);
    const openRows: string[] = [];
    for await (const row of index.listEntities({ queryOptions: { filter: "PartitionKey eq 'status~open'" } })) openRows.push(String(row.fingerprint));
    expect(openRows).toEqual([other.fingerprint]);
  });

  it("a retried transition that already landed writes the index once and leaves nothing under the old status", async () => {
    const store = createTableFindingStore(conn(), prefix());
    const f = aFinding(1);
    await store.apply([opened(f)]);
    const escalated: Finding = { ...f, status: "escalated", severity: "critical", updatedAt: "2026-11-03T00:00:00.000Z", revision: 2 };
    const t = { kind: "escalated" as const, fingerprint: f.fingerprint, before: f, after: escalated, alert: true, at: escalated.updatedAt };
    await store.apply([t]);
    await store.apply([t]); // the platform's retry of the same invocation
    const { items } = await all(store, { states: ["open", "escalated", "excepted", "resolved"], limit: 10 });
    expect(items).toEqual([escalated]);
  });

  it("filters by rule, severity, subscription and since on the server, and merges several states newest first", async () => {
    const store = createTableFindingStore(conn(), prefix());
    const a = aFinding(1, { ruleId: "lifecycle", severity: "medium" });
    const b = aFinding(2, { status: "excepted", severity: "critical" as Severity });
    const c = aFinding(3, { resourceId: `/subscriptions/${OTHER_SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/d/versions/1.0.0` });
    const d = aFinding(4, { status: "escalated" as FindingStatus });
    for (const f of [a, b, c, d]) await store.apply([opened(f)]);
    const summaries = async (q: Omit<FindingQuery, "limit">) => (await store.query({ ...q, limit: 100 })).items.map((f) => f.summary);

    expect(await summaries({ states: ["open", "escalated", "excepted"] })).toEqual(["finding 4", "finding 3", "finding 2", "finding 1"]);
    expect(await summaries({ states: ["open"], ruleId: "lifecycle" })).toEqual(["finding 1"]);
    expect(await summaries({ states: ["open", "excepted"], severity: "critical" })).toEqual(["finding 2"]);
    expect(await summaries({ states: ["open"], subscriptionId: OTHER_SUB.toUpperCase() })).toEqual(["finding 3"]);
    expect(await summaries({ states: ["open"], subscriptionId: SUB })).toEqual(["finding 1"]);
    expect(await summaries({ states: ["open", "escalated", "excepted"], since: c.updatedAt })).toEqual(["finding 4", "finding 3"]);
    // 1970, what the parser makes of any earlier since: everything (it found nothing).
    expect(await summaries({ states: ["open", "escalated", "excepted"], since: "1970-01-01T00:00:00.000Z" })).toEqual(["finding 4", "finding 3", "finding 2", "finding 1"]);
  });

  it("pages across several status partitions without losing or repeating a finding", async () => {
    const store = createTableFindingStore(conn(), prefix());
    const statuses: FindingStatus[] = ["open", "escalated", "excepted"];
    const findings = Array.from({ length: 30 }, (_, n) => aFinding(n, { status: statuses[n % 3]! }));
    for (const f of findings) await store.apply([opened(f)]);
    const { pages, items } = await all(store, { states: statuses, limit: 7 });
    expect(pages.map((p) => p.items.length)).toEqual([7, 7, 7, 7, 2]);
    expect(items.map((f) => f.summary)).toEqual([...findings].reverse().map((f) => f.summary));
  });

  it("refuses a continuation token it did not issue", async () => {
    const store = createTableFindingStore(conn(), prefix());
    await expect(store.query({ states: ["open"], limit: 10, continuationToken: "not-a-token" })).rejects.toBeInstanceOf(InvalidContinuationTokenError);
  });
});

describe("the change log (day partitions)", () => {
  const version = `${BASE}/galleries/g/images/d/versions/1.0.0`;
  const inOtherGroup = `/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.Compute/galleries/g2`;
  const byEvent = (eventId: string, eventTime: string, who: { callerUpn?: string; callerName?: string; callerAppId?: string } = {}): Trigger => ({
    source: "event",
    attribution: { eventId, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime, correlationId: `corr-${eventId}`, ...who },
  });
  const change = (resourceId: string, trigger: Trigger, observedAt: string): ChangeRecord => ({ resourceKey: resourceId.toLowerCase(), resourceId, action: "written", observedAt, trigger });

  it("lists changes since a time across days, newest first, paging without loss or repetition", async () => {
    const store = createTableResourceStore(conn(), prefix());
    // 60 changes, one every 2 hours over five days.
    const start = Date.UTC(2026, 10, 20, 1);
    const times = Array.from({ length: 60 }, (_, n) => new Date(start + n * 2 * 3_600_000).toISOString());
    for (const [n, t] of times.entries()) await store.recordChange(change(n % 2 ? version : inOtherGroup, byEvent(`e${n}`, t), t));
    await store.recordChange(change(version, byEvent("e59", times[59]!), times[59]!)); // the same event delivered again

    const since = times[10]!;
    const seen: string[] = [];
    const sizes: number[] = [];
    let token: string | undefined;
    do {
      const page = await store.changesSince({ since, until: "2026-12-01T00:00:00Z", limit: 20, ...(token ? { continuationToken: token } : {}) });
      sizes.push(page.items.length);
      seen.push(...page.items.map((c) => (c.trigger.source === "event" ? c.trigger.attribution.eventId : "?")));
      token = page.continuationToken;
    } while (token);
    expect(sizes).toEqual([20, 20, 10]);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => `e${59 - i}`));
  });

  it("without until, finds today's changes; until is exclusive", async () => {
    const store = createTableResourceStore(conn(), prefix());
    const now = new Date().toISOString();
    await store.recordChange(change(version, byEvent("today", now), now));
    expect((await store.changesSince({ since: new Date(Date.now() - 3_600_000).toISOString(), limit: 10 })).items).toHaveLength(1);
    expect((await store.changesSince({ since: new Date(Date.now() - 3_600_000).toISOString(), until: now, limit: 10 })).items).toHaveLength(0);
  });

  it("a since or until centuries away reads only the stored days: every change found, in well under a second", async () => {
    const store = createTableResourceStore(conn(), prefix());
    const t = (day: number) => new Date(Date.UTC(2026, 10, 20 + day, 9)).toISOString();
    for (const day of [0, 1, 3]) await store.recordChange(change(version, byEvent(`d${day}`, t(day)), t(day)));
    const ids = async (q: { since: string; until?: string; caller?: string }) => {
      const started = performance.now();
      const page = await store.changesSince({ limit: 10, ...q });
      return { ids: page.items.map((c) => (c.trigger.source === "event" ? c.trigger.attribution.eventId : "?")), ms: performance.now() - started };
    };
    // 1970 (what the parser clamps 99999d and 1900-01-01 to) walked ~20,000 day partitions one at a time.
    const everything = await ids({ since: "1970-01-01T00:00:00.000Z" });
    expect(everything.ids).toEqual(["d3", "d1", "d0"]);
    expect(everything.ms).toBeLessThan(1_000);
    // An until far ahead starts at the day after now, not at that day.
    const ahead = await ids({ since: "1970-01-01T00:00:00.000Z", until: "2286-01-01T00:00:00.000Z", caller: "nobody@contoso.example" });
    expect(ahead.ids).toEqual([]);
    expect(ahead.ms).toBeLessThan(1_000);
    expect((await ids({ since: t(1), until: t(3) })).ids).toEqual(["d1"]);
  });

  it("an empty change log answers empty at once", async () => {
    const store = createTableResourceStore(conn(), prefix());
    expect((await store.changesSince({ since: "1970-01-01T00:00:00.000Z", limit: 10 })).items).toEqual([]);
  });

  it("filters by caller (UPN, app id or name, any case) and resource group on the server", async () => {
    const store = createTableResourceStore(conn(), prefix());
    const t = (m: number) => new Date(Date.UTC(2026, 10, 24, 9, m)).toISOString();
    await store.recordChange(change(version, byEvent("priya", t(1), { callerUpn: "priya.patel@contoso.example", callerName: "Priya Patel" }), t(1)));
    await store.recordChange(change(inOtherGroup, byEvent("app", t(2), { callerAppId: "04B07795-8DDB-461A-BBEE-02F9E1BF7B46" }), t(2)));
    await store.recordChange(change(version, { source: "sweep", runId: "run-1" }, t(3)));
    const ids = async (q: { caller?: string; resourceGroup?: string }) =>
      (await store.changesSince({ since: t(0), until: t(10), limit: 10, ...q })).items.map((c) => (c.trigger.source === "event" ? c.trigger.attribution.eventId : c.trigger.source));

    expect(await ids({})).toEqual(["sweep", "app", "priya"]);
    expect(await ids({ caller: "Priya.Patel@contoso.example" })).toEqual(["priya"]);
    expect(await ids({ caller: "priya patel" })).toEqual(["priya"]);
    expect(await ids({ caller: "04b07795-8ddb-461a-bbee-02f9e1bf7b46" })).toEqual(["app"]);
    expect(await ids({ caller: "nobody@contoso.example" })).toEqual([]);
    expect(await ids({ resourceGroup: "RG-OTHER" })).toEqual(["app"]);
    expect(await ids({ resourceGroup: "rg" })).toEqual(["sweep", "priya"]);
  });
});
