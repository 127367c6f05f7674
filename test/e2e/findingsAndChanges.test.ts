/**
 * `gallery-watch findings` / `changes` and `GET /api/findings` / `/api/changes` as the security
 * team uses them, against one local stack with the design brief's case studies replayed through
 * the simulated ARM: the listings come from the index rows written with the data, and agree with
 * the findings table itself.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { caseStudySteps, CALLERS, ids } from "../../local/scenarios/replay.js";
import { waitUntilQuiet } from "../../local/quiet.js";
import { loadConfig } from "../../shared/wiring/config.js";
import { createTableFindingStore } from "../../shared/adapters/tables/tableFindingStore.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { Finding } from "../../shared/domain/findings.js";
import { runCli } from "../support/processes.js";
import { parseCsv } from "../support/csv.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "gallery-watch-listings-"));
const today = new Date();
let stack: LocalStack;

function cli(args: readonly string[]) {
  return runCli(args, { cwd: dir, settings: stack.settings });
}


async function api(pathAndQuery: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.host.url}/api/${pathAndQuery}`, { headers: { "x-functions-key": stack.keys.function } });
  return { status: response.status, body: await response.json() };
}

/** The findings table itself (not the index): what every listing must agree with. */
async function storedNotResolved(): Promise<Finding[]> {
  const config = loadConfig(stack.settings);
  return createTableFindingStore(config.storage as { connectionString: string }, config.tablePrefix).open();
}

beforeAll(async () => {
  stack = await startLocalStack({ seed: caseStudySeed(undefined, today), log: pino({ level: "silent" }) });
  for (const step of caseStudySteps(today)) {
    await step.run(stack);
    await waitUntilQuiet(stack);
  }
}, 240_000);
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("gallery-watch findings", () => {
  it("--state open --output csv lists the case-study findings that are open, as the findings table holds them", async () => {
    const result = await cli(["findings", "--state", "open", "--output", "csv"]);
    expect(result.stderr).not.toContain("ERROR");
    expect(result.code).toBe(0);
    const rows = parseCsv(result.stdout);
    const open = (await storedNotResolved()).filter((f) => f.status === "open");
    expect(open.length).toBeGreaterThan(0);
    expect(rows.map((r) => r.ResourceId + "|" + r.Rule).sort()).toEqual(open.map((f) => f.resourceId + "|" + f.ruleId).sort());
    expect(rows.every((r) => r.Status === "open")).toBe(true);
    // Case study 2: the forensics gallery went public, and the version past its end of life is still replicated.
    const forensics = rows.find((r) => r.Rule === "shared-outside");
    expect(forensics).toMatchObject({ Severity: "critical", Resource: "forensicsGallery", Subscription: stack.subscriptionId, ResourceId: ids(stack).forensicsGallery });
    expect(rows.find((r) => r.Rule === "lifecycle")?.Resource).toMatch(/^forensicsGallery\/memory-lab\//);
    // csv keeps the whole summary (table output truncates it), commas and all.
    expect(forensics!.Summary).toBe(open.find((f) => f.ruleId === "shared-outside")!.summary);
    // One timestamp form in every table, csv and tsv: ISO 8601 UTC to the second.
    expect(forensics!.FirstSeen).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(forensics!.Updated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  it("by default lists every finding not resolved, the excepted scale set included, and --state resolved the resolved ones", async () => {
    const all = await cli(["findings", "--output", "json"]);
    expect(all.code).toBe(0);
    // A list, as az's list commands print; nothing more to page through, so no next token.
    const listed = JSON.parse(all.stdout) as Finding[];
    expect(all.stderr).not.toContain("Next token");
    expect(listed.map((f) => f.fingerprint).sort()).toEqual((await storedNotResolved()).map((f) => f.fingerprint).sort());
    expect(listed.find((f) => f.ruleId === "scale-set-use")).toMatchObject({ status: "excepted", resourceId: ids(stack).saasScaleSet });

    const resolved = JSON.parse((await cli(["findings", "--state", "resolved", "--output", "json"])).stdout) as Finding[];
    // Case study 1: Priya's extra regions were removed again; case study 3: the emergency version excluded from latest.
    expect(resolved.map((f) => `${f.ruleId} ${parseResourceId(f.resourceId).image}`)).toEqual(expect.arrayContaining(["replication-breadth gateway-os", "selectable-as-latest emergency-specialized"]));
  });

  it("table output is for people: short names, a truncated summary, and the next token on stderr when --max-items cuts the list", async () => {
    const result = await cli(["findings", "--max-items", "1"]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^Severity\s+Rule\s+Status\s+Resource\s+Subscription\s+FirstSeen\s+Updated\s+Summary\s+Exception$/);
    expect(lines).toHaveLength(3);
    expect(result.stderr).toContain("Showing the first 1 findings (--max-items 1); more match.");

    // As az's paged commands: the list on stdout, the token of the next page on stderr.
    const first = await cli(["findings", "--max-items", "1", "--output", "json"]);
    const page1 = JSON.parse(first.stdout) as Finding[];
    expect(page1).toHaveLength(1);
    const token = /^WARNING: Next token: (\S+)$/m.exec(first.stderr)?.[1];
    expect(token).toBeDefined();
    const next = JSON.parse((await cli(["findings", "--max-items", "1", "--output", "json", "--next-token", token!])).stdout) as Finding[];
    expect(next).toHaveLength(1);
    expect(next[0]!.fingerprint).not.toBe(page1[0]!.fingerprint);
  });

  it("refuses a malformed --since, naming what it accepts", async () => {
    const result = await cli(["findings", "--since", "last tuesday"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--since: 'last tuesday' is neither an ISO 8601 time");
  });
});

describe("gallery-watch changes", () => {
  it("--caller priya.patel@contoso.example shows Priya's change to the gateway version, with her UPN and the correlation id", async () => {
    const result = await cli(["changes", "--caller", CALLERS.priya.upn, "--output", "json"]);
    expect(result.stderr).not.toContain("ERROR");
    expect(result.code).toBe(0);
    const listed = JSON.parse(result.stdout) as Array<Record<string, string>>;
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((c) => c.callerUpn === CALLERS.priya.upn && c.callerName === CALLERS.priya.name)).toBe(true);
    expect(listed).toContainEqual(
      expect.objectContaining({ resourceId: ids(stack).plantVersion, resourceGroup: "rg-plant", operation: "Microsoft.Compute/galleries/images/versions/write", correlationId: expect.any(String) }),
    );
    // Newest first.
    expect([...listed.map((c) => c.time)].sort().reverse()).toEqual(listed.map((c) => c.time));

    const table = await cli(["changes", "--caller", "Priya Patel"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^Time\s+Caller\s+CallerUpn\s+CallerAppId\s+Action\s+Operation\s+Resource\s+ResourceGroup\s+CorrelationId$/m);
    expect(table.stdout).toContain("plantGallery/gateway-os/1.0.0");
    expect(table.stdout).toContain(CALLERS.priya.upn);
    expect(table.stdout).not.toContain(CALLERS.sam.upn);
  });

  it("--resource-group narrows to one group, and csv parses back", async () => {
    const result = await cli(["changes", "--resource-group", "rg-forensics", "--output", "csv"]);
    expect(result.code).toBe(0);
    const rows = parseCsv(result.stdout);
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.ResourceGroup))).toEqual(new Set(["rg-forensics"]));
    expect(rows).toContainEqual(expect.objectContaining({ CallerUpn: CALLERS.sam.upn, Resource: "forensicsGallery" }));
  });
});

describe("GET /api/findings and /api/changes", () => {
  it("pages findings two at a time with a continuation token, losing and repeating nothing", async () => {
    const everything = await api("findings?limit=1000");
    expect(everything.status).toBe(200);
    expect(everything.body.continuationToken).toBeNull();
    const total = (everything.body.items as Finding[]).map((f) => f.fingerprint);
    expect(total.length).toBeGreaterThan(2);

    const first = await api("findings?limit=2");
    expect(first.body.items).toHaveLength(2);
    expect(typeof first.body.continuationToken).toBe("string");
    const seen: string[] = [];
    let page = first;
    for (;;) {
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...(page.body.items as Finding[]).map((f) => f.fingerprint));
      if (page.body.continuationToken === null) break;
      page = await api(`findings?limit=2&continuationToken=${encodeURIComponent(page.body.continuationToken)}`);
    }
    expect(seen).toEqual(total);
  });

  it("answers 400 naming the parameter for a bad limit, state or token", async () => {
    expect(await api("findings?limit=1001")).toEqual({ status: 400, body: { error: expect.stringContaining("limit:") } });
    expect(await api("findings?state=closed")).toEqual({ status: 400, body: { error: expect.stringContaining("state: 'closed' is not one of") } });
    expect(await api("changes?continuationToken=garbage")).toEqual({ status: 400, body: { error: expect.stringContaining("continuationToken") } });
  });

  it("bounds every time range: absurd ones 400 naming the parameter, ranges beyond what is stored clamped to it, each answered within a second", async () => {
    const timed = async (query: string) => {
      const started = performance.now();
      const answer = await api(query);
      return { ...answer, ms: performance.now() - started };
    };
    const week = await timed("changes?limit=1000");
    expect(week.status).toBe(200);
    expect(week.body.items.length).toBeGreaterThan(0);
    // Before 1970 found nothing; 99999d took 107 s, one empty day partition at a time.
    for (const since of ["1900-01-01", "99999d", "0001-01-01T00:00:00Z"]) {
      const all = await timed(`changes?since=${since}&until=9999-12-31&limit=1000`);
      expect(all.status, since).toBe(200);
      expect(all.body.items, since).toEqual(week.body.items);
      expect(all.ms, since).toBeLessThan(1_000);
    }
    const nobody = await timed("changes?since=99999d&caller=nobody%40contoso.example");
    expect(nobody).toMatchObject({ status: 200, body: { items: [] } });
    expect(nobody.ms).toBeLessThan(1_000);
    // Was a 500 (RangeError: Invalid time value).
    expect(await api("changes?since=1000000000000000000000d")).toEqual({ status: 400, body: { error: expect.stringMatching(/^since: /) } });
    expect(await api("changes?until=1000000000000000000000d")).toEqual({ status: 400, body: { error: expect.stringMatching(/^until: /) } });
    expect(await api("findings?since=1000000000000000000000d")).toEqual({ status: 400, body: { error: expect.stringMatching(/^since: /) } });
    const findings = await timed("findings?since=1900-01-01&state=all&limit=1000");
    expect(findings.status).toBe(200);
    expect(findings.body.items).toEqual((await api("findings?state=all&limit=1000")).body.items);
    expect(findings.ms).toBeLessThan(1_000);

    const cliAbsurd = await cli(["changes", "--since", "1000000000000000000000d"]);
    expect(cliAbsurd.code).toBe(2);
    expect(cliAbsurd.stderr).toContain("--since: '1000000000000000000000d' reaches back more than 10,000 years");
  });

  it("lists changes by caller and resource group", async () => {
    const sam = await api(`changes?caller=${encodeURIComponent(CALLERS.sam.upn)}&resourceGroup=rg-forensics`);
    expect(sam.status).toBe(200);
    expect(sam.body.items.length).toBeGreaterThan(0);
    expect(sam.body.items.every((c: Record<string, string>) => c.callerUpn === CALLERS.sam.upn && c.resourceGroup === "rg-forensics")).toBe(true);
    // Jo works on the SaaS estate only (Sam now also approves exceptions in rg-plant and rg-saas).
    expect((await api(`changes?caller=${encodeURIComponent(CALLERS.jo.upn)}&resourceGroup=rg-forensics`)).body.items).toEqual([]);
  });
});
