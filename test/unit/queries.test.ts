/** The cross-resource query use cases over the in-memory adapters: parameters, filters, paging. */
import { describe, expect, it } from "vitest";
import { MemoryFindingStore, MemoryResourceStore } from "../support/inMemoryPorts.js";
import type { Finding, FindingStatus, Severity } from "../../shared/domain/findings.js";
import type { ChangeRecord, FindingQuery, FindingStore, Page, Trigger } from "../../shared/app/ports.js";
import {
  changeQueryFrom,
  findingQueryFrom,
  InvalidQueryError,
  listChanges,
  listFindings,
  parseDuration,
  parseLimit,
  parseOptionalLimit,
  parseTimeOrDuration,
  type ChangeView,
  type FindingView,
} from "../../shared/app/queries.js";
import { parseDuration as cliParseDuration, timeArgument } from "../../cli/time.js";
import { BASE, SUB } from "../support/snapshotBuilders.js";
import { aFinding as storedFinding } from "../support/snapshotBuilders.js";

const NOW = new Date("2026-11-24T12:00:00.000Z");
const OTHER_SUB = "99999999-8888-7777-6666-555555555555";

function aFinding(n: number, overrides: Partial<Finding> & { sub?: string; rg?: string } = {}): Finding {
  const { sub = SUB, rg = "rg", ...rest } = overrides;
  const updatedAt = rest.updatedAt ?? new Date(Date.UTC(2026, 10, 20) + n * 3_600_000).toISOString();
  return storedFinding(`/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/galleries/g/images/d${n}/versions/1.0.0`, { summary: `finding ${n}`, updatedAt, ...rest });
}

async function storeOf(...findings: Finding[]): Promise<MemoryFindingStore> {
  const store = new MemoryFindingStore();
  await store.apply(findings.map((f) => ({ kind: "opened" as const, fingerprint: f.fingerprint, after: f, alert: true, at: f.updatedAt })));
  return store;
}

async function everyPage<T>(first: (token: string | undefined) => Promise<Page<T>>): Promise<{ sizes: number[]; items: T[] }> {
  const sizes: number[] = [];
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await first(token);
    sizes.push(page.items.length);
    items.push(...page.items);
    token = page.continuationToken;
  } while (token);
  return { sizes, items };
}

describe("times and parameters", () => {
  it("bounds every time to what can be stored, and refuses absurd ones naming the parameter (no 500, no silent 0 items)", () => {
    // Beyond any date: a 400 naming the parameter, not a RangeError (a 500).
    for (const [value, parameter] of [["1000000000000000000000d", "since"], ["9".repeat(400) + "d", "until"], ["3652501d", "asOf"]] as const) {
      expect(() => parseTimeOrDuration(value, NOW, parameter)).toThrow(InvalidQueryError);
      expect(() => parseTimeOrDuration(value, NOW, parameter)).toThrow(new RegExp(`^${parameter}: `));
    }
    // Before anything stored: clamped to 1970 (keys count from it), so the query still finds everything.
    expect(parseTimeOrDuration("99999d", NOW)).toBe("1970-01-01T00:00:00.000Z");
    expect(parseTimeOrDuration("1900-01-01", NOW)).toBe("1970-01-01T00:00:00.000Z");
    expect(parseTimeOrDuration("0001-01-01T00:00:00Z", NOW)).toBe("1970-01-01T00:00:00.000Z");
    // After anything ARM's clock could stamp: a day from now.
    expect(parseTimeOrDuration("9999-12-31", NOW, "until")).toBe("2026-11-25T12:00:00.000Z");
    expect(changeQueryFrom({ since: "99999d", until: "9999-12-31" }, NOW)).toMatchObject({ since: "1970-01-01T00:00:00.000Z", until: "2026-11-25T12:00:00.000Z" });
    expect(() => changeQueryFrom({ since: "1000000000000000000000d" }, NOW)).toThrow(/^since: /);
    // A space for the T, as people type it (and as `report --since` took it).
    expect(parseTimeOrDuration("2026-11-01 08:30", NOW)).toBe("2026-11-01T08:30:00.000Z");
  });

  it("reads durations back from now and ISO times (a date alone, or no offset, is UTC)", () => {
    expect(parseDuration("7d")).toBe(7 * 86_400_000);
    expect(parseDuration("1d12h")).toBe(36 * 3_600_000);
    expect(cliParseDuration("2W")).toBe(14 * 86_400_000);
    expect(parseDuration("7")).toBeUndefined();
    expect(parseTimeOrDuration("12h", NOW)).toBe("2026-11-24T00:00:00.000Z");
    expect(parseTimeOrDuration("30m", NOW)).toBe("2026-11-24T11:30:00.000Z");
    expect(parseTimeOrDuration("2026-11-01", NOW)).toBe("2026-11-01T00:00:00.000Z");
    expect(parseTimeOrDuration("2026-11-01T08:30", NOW)).toBe("2026-11-01T08:30:00.000Z");
    expect(parseTimeOrDuration("2026-11-01T08:30:00+02:00", NOW)).toBe("2026-11-01T06:30:00.000Z");
    for (const bad of ["yesterday", "2026-13-45", "11/01/2026", ""]) expect(() => parseTimeOrDuration(bad, NOW)).toThrow(InvalidQueryError);
    expect(() => timeArgument(() => NOW)("soon")).toThrow(/neither an ISO 8601 time/);
  });

  it("validates states, rule, severity, subscription and limit, naming the parameter", () => {
    expect(findingQueryFrom({}, NOW).states).toEqual(["open", "escalated", "excepted"]);
    expect(findingQueryFrom({ state: "all" }, NOW).states).toEqual(["open", "escalated", "excepted", "resolved"]);
    expect(findingQueryFrom({ state: "Open, resolved" }, NOW).states).toEqual(["open", "resolved"]);
    expect(findingQueryFrom({ subscription: SUB.toUpperCase(), severity: "CRITICAL", since: "7d" }, NOW)).toMatchObject({ subscriptionId: SUB, severity: "critical", since: "2026-11-17T12:00:00.000Z" });
    const reasons = (raw: Record<string, string>) => {
      try {
        findingQueryFrom(raw, NOW);
        return "accepted";
      } catch (error) {
        return (error as InvalidQueryError).parameter;
      }
    };
    expect(reasons({ state: "closed" })).toBe("state");
    expect(reasons({ rule: "no-such-rule" })).toBe("rule");
    expect(reasons({ severity: "severe" })).toBe("severity");
    expect(reasons({ subscription: "prod" })).toBe("subscription");
    expect(parseLimit(undefined)).toBe(100);
    expect(parseLimit("1000")).toBe(1000);
    for (const bad of ["0", "1001", "ten", "-5", "2.5"]) expect(() => parseLimit(bad)).toThrow(/limit/);
    expect(changeQueryFrom({}, NOW).since).toBe("2026-11-17T12:00:00.000Z");
    expect(() => changeQueryFrom({ since: "1d", until: "2d" }, NOW)).toThrow(/until/);
  });
});

describe("listFindings", () => {
  const summaries = (page: Page<FindingView>) => page.items.map((f) => f.summary);

  it("by default lists what is not resolved, newest update first, with where it is", async () => {
    const store = await storeOf(aFinding(1), aFinding(2, { status: "resolved" }), aFinding(3, { status: "excepted" }), aFinding(4, { status: "escalated", severity: "critical" }));
    const page = await listFindings({ findings: store }, findingQueryFrom({}, NOW), { limit: 100 });
    expect(summaries(page)).toEqual(["finding 4", "finding 3", "finding 1"]);
    expect(page.continuationToken).toBeUndefined();
    expect(page.items[0]).toMatchObject({ subscriptionId: SUB, resourceGroup: "rg", resourceName: "g/d4/1.0.0" });
  });

  it("filters by state, rule, severity, subscription and since", async () => {
    const store = await storeOf(
      aFinding(1, { ruleId: "lifecycle" }),
      aFinding(2, { severity: "low" as Severity }),
      aFinding(3, { sub: OTHER_SUB }),
      aFinding(4, { status: "resolved" as FindingStatus }),
      aFinding(5),
    );
    const list = async (raw: Record<string, string>) => summaries(await listFindings({ findings: store }, findingQueryFrom(raw, NOW), { limit: 100 }));
    expect(await list({ state: "resolved" })).toEqual(["finding 4"]);
    expect(await list({ rule: "lifecycle" })).toEqual(["finding 1"]);
    expect(await list({ severity: "low" })).toEqual(["finding 2"]);
    expect(await list({ subscription: OTHER_SUB })).toEqual(["finding 3"]);
    expect(await list({ state: "all", since: "2026-11-20T03:00:00Z" })).toEqual(["finding 5", "finding 4", "finding 3"]);
  });

  it("pages 250 findings 100 at a time: 3 pages, none lost or repeated", async () => {
    const store = await storeOf(...Array.from({ length: 250 }, (_, n) => aFinding(n)));
    const query = findingQueryFrom({}, NOW);
    const { sizes, items } = await everyPage((token) => listFindings({ findings: store }, query, { limit: 100, ...(token ? { continuationToken: token } : {}) }));
    expect(sizes).toEqual([100, 100, 50]);
    expect(new Set(items.map((f) => f.fingerprint)).size).toBe(250);
  });

  it("drops a row the index still holds under its old status, and still fills the page", async () => {
    const stale = aFinding(9, { status: "resolved" });
    const real = [aFinding(1), aFinding(2), aFinding(3)];
    // An index that, between two writes, still lists a resolved finding under `open`.
    const rows = [stale, ...real];
    const findings: Pick<FindingStore, "query"> = {
      async query(q: FindingQuery) {
        const start = q.continuationToken ? Number(q.continuationToken) : 0;
        const items = rows.slice(start, start + q.limit);
        return start + q.limit < rows.length ? { items, continuationToken: String(start + q.limit) } : { items };
      },
    };
    const page = await listFindings({ findings }, findingQueryFrom({ state: "open" }, NOW), { limit: 2 });
    expect(summaries(page)).toEqual(["finding 1", "finding 2"]);
    expect(page.continuationToken).toBeDefined();
    const rest = await listFindings({ findings }, findingQueryFrom({ state: "open" }, NOW), { limit: 2, continuationToken: page.continuationToken! });
    expect(summaries(rest)).toEqual(["finding 3"]);
    expect(rest.continuationToken).toBeUndefined();
  });
});

describe("listChanges", () => {
  const priya = { callerName: "Priya Patel", callerUpn: "priya.patel@contoso.example" };
  const app = { callerAppId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46" };
  const trigger = (eventId: string, eventTime: string, who: object): Trigger => ({
    source: "event",
    attribution: { eventId, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime, operationName: "Microsoft.Compute/galleries/images/versions/write", correlationId: `c-${eventId}`, ...who },
  });
  const change = (resourceId: string, t: Trigger, observedAt: string): ChangeRecord => ({ resourceKey: resourceId.toLowerCase(), resourceId, action: "written", observedAt, trigger: t });
  const version = `${BASE}/galleries/g/images/d/versions/1.0.0`;
  const elsewhere = `/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.Compute/virtualMachineScaleSets/vmss`;

  async function aLog(): Promise<MemoryResourceStore> {
    const store = new MemoryResourceStore();
    await store.recordChange(change(version, trigger("old", "2026-11-10T00:00:00Z", priya), "2026-11-10T00:00:01Z"));
    await store.recordChange(change(version, trigger("p1", "2026-11-23T09:00:00Z", priya), "2026-11-23T09:00:02Z"));
    await store.recordChange(change(elsewhere, trigger("a1", "2026-11-23T10:00:00Z", app), "2026-11-23T10:00:02Z"));
    await store.recordChange(change(version, { source: "sweep", runId: "run-7" }, "2026-11-24T02:00:00Z"));
    await store.recordChange(change(version, trigger("p1", "2026-11-23T09:00:00Z", priya), "2026-11-23T09:00:05Z")); // delivered twice
    return store;
  }
  const list = async (store: MemoryResourceStore, raw: Record<string, string>) =>
    (await listChanges({ resources: store }, changeQueryFrom(raw, NOW), { limit: 100 })).items.map((c: ChangeView) => c.eventId ?? c.sweepRunId);

  it("lists the last 7 days by default, newest first, each change once, with who and the correlation id", async () => {
    const store = await aLog();
    const page = await listChanges({ resources: store }, changeQueryFrom({}, NOW), { limit: 100 });
    expect(page.items.map((c) => c.eventId ?? c.sweepRunId)).toEqual(["run-7", "a1", "p1"]);
    expect(page.items[2]).toMatchObject({ time: "2026-11-23T09:00:00.000Z", callerUpn: priya.callerUpn, callerName: "Priya Patel", correlationId: "c-p1", resourceGroup: "rg", resourceName: "g/d/1.0.0", source: "event" });
    expect(page.items[0]).toMatchObject({ source: "sweep", action: "written" });
    expect(page.items[0]!.callerUpn).toBeUndefined();
  });

  it("filters by caller (UPN, app id or name, any case), resource group, since and until", async () => {
    const store = await aLog();
    expect(await list(store, { caller: "PRIYA.PATEL@contoso.example", since: "30d" })).toEqual(["p1", "old"]);
    expect(await list(store, { caller: "priya patel" })).toEqual(["p1"]);
    expect(await list(store, { caller: app.callerAppId.toUpperCase() })).toEqual(["a1"]);
    expect(await list(store, { caller: "sam.okafor@contoso.example" })).toEqual([]);
    expect(await list(store, { resourceGroup: "RG-OTHER" })).toEqual(["a1"]);
    expect(await list(store, { since: "2026-11-23T09:30:00Z", until: "2026-11-24" })).toEqual(["a1"]);
  });

  it("leaves the pipeline's own rows (provisioning, coalesced) out of changes unless all=true; history keeps them", async () => {
    const store = await aLog();
    await store.recordChange({ ...change(version, trigger("prov", "2026-11-23T11:00:00Z", priya), "2026-11-23T11:00:01Z"), action: "provisioning" });
    await store.recordChange({ ...change(version, trigger("coal", "2026-11-23T11:30:00Z", priya), "2026-11-23T11:30:01Z"), action: "coalesced" });
    expect(await list(store, {})).toEqual(["run-7", "a1", "p1"]);
    expect(await list(store, { all: "true" })).toEqual(["run-7", "coal", "prov", "a1", "p1"]);
    expect(await list(store, { all: "false" })).toEqual(["run-7", "a1", "p1"]);
    expect(() => changeQueryFrom({ all: "yes" }, NOW)).toThrow(/all/);
  });

  it("pages across the log without losing or repeating a change", async () => {
    const store = new MemoryResourceStore();
    for (let n = 0; n < 45; n++) {
      const t = new Date(Date.UTC(2026, 10, 20) + n * 600_000).toISOString();
      await store.recordChange(change(version, trigger(`e${n}`, t, priya), t));
    }
    const query = changeQueryFrom({ since: "2026-11-19" }, NOW);
    const { sizes, items } = await everyPage((token) => listChanges({ resources: store }, query, { limit: 20, ...(token ? { continuationToken: token } : {}) }));
    expect(sizes).toEqual([20, 20, 5]);
    expect(items.map((c) => c.eventId)).toEqual(Array.from({ length: 45 }, (_, i) => `e${44 - i}`));
  });
});

describe("one limit parser for every query", () => {
  it("an optional limit: absent stays absent, else a whole number from 1 to the endpoint's most", () => {
    expect(parseOptionalLimit(null, 500)).toBeUndefined();
    expect(parseOptionalLimit(undefined, 500)).toBeUndefined();
    expect(parseOptionalLimit("25", 500)).toBe(25);
    for (const bad of ["", "0", "501", "2.5", "-1", "ten", "1e3"]) expect(() => parseOptionalLimit(bad, 500), bad).toThrow(/^limit: /);
  });
});
