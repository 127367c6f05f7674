/**
 * `gallery-watch report` as an auditor gets it: one local stack with the three case studies
 * replayed (plus a write by a caller whose name is markup), the command run as a person runs it,
 * then the page opened from a file:// URL in headless Chromium: the sections and the chart are
 * in the rendered DOM, stored text stayed text, and the page made no network request.
 *
 * The page and a screenshot are kept in <tmp>/gallery-watch-report-e2e/ (overwritten by each run)
 * so a person can look at what the test saw.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { caseStudySteps, CALLERS, ids } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";
import { SECTION_IDS } from "../../shared/views/report/renderEvidence.js";
import { ensureChromium, openPage, screenshot, type PageRun } from "../support/chromium.js";
import { runCli, type ProcessResult } from "../support/processes.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "gallery-watch-report-"));
const keep = path.join(os.tmpdir(), "gallery-watch-report-e2e");
const XSS_CALLER = { name: "<script>alert(1)</script>", upn: "mallory@contoso.example", ipaddr: "203.0.113.66" };
const today = new Date();
let stack: LocalStack;

// Installs Debian's chromium when missing and running as root; elsewhere the browser checks are skipped, saying why.
const browser = await ensureChromium();
if (!browser.ok) console.warn(`SKIPPED the evidence report's browser checks: ${browser.reason}`);

function cli(args: readonly string[]) {
  return runCli(args, { cwd: dir, settings: stack.settings, timeoutMs: 120_000 });
}

interface Summary {
  file: string;
  since: string;
  subscriptions: string[];
  openFindings: number;
  exceptions: number;
  expiringExceptions: number;
  changes: number;
  sweepRuns: number;
  days: number;
}
let result: ProcessResult;
let summary: Summary;
let html: string;

beforeAll(async () => {
  stack = await startLocalStack({ seed: caseStudySeed(undefined, today), log: pino({ level: "silent" }) });
  for (const step of caseStudySteps(today)) {
    await step.run(stack);
    await waitUntilQuiet(stack);
  }
  // A caller whose name is markup (the name travels unverified in the token's claims, as any claim could).
  const id = ids(stack).plantVersion;
  const body = structuredClone(stack.arm.estate.get(id)) as { location: string; tags: Record<string, string>; properties: unknown };
  await armWrite(stack.arm, XSS_CALLER, "PUT", id, { location: body.location, tags: { ...body.tags, reviewed: "yes" }, properties: body.properties });
  await waitUntilQuiet(stack);

  result = await cli(["report", "--out", "pack/evidence.html", "--output", "json"]);
  if (result.code === 0) {
    summary = JSON.parse(result.stdout) as Summary;
    html = readFileSync(summary.file, "utf8");
  }
}, 240_000);
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("gallery-watch report", () => {
  it("writes the page, prints its path and the counts, and shows progress on stderr", () => {
    expect(result.stderr).not.toContain("ERROR");
    expect(result.code).toBe(0);
    expect(summary.file).toBe(path.join(dir, "pack/evidence.html"));
    expect(summary.subscriptions).toEqual([stack.subscriptionId.toLowerCase()]);
    // After the replay: the forensics gallery shared to the public, the retired memory-lab version, the
    // emergency scale set under its exception and the plant's drill VM under its recovery exception (expiring in
    // 7 days); the plant gateway's and the SaaS version's findings were resolved.
    expect(summary.openFindings).toBeGreaterThanOrEqual(2);
    expect(summary.exceptions).toBe(2);
    expect(summary.expiringExceptions).toBe(2);
    expect(summary.sweepRuns).toBeGreaterThanOrEqual(1);
    expect(summary.changes).toBeGreaterThanOrEqual(8);
    expect(summary.days).toBe(31); // the default period, 30 days back, is 31 UTC days
    expect(result.stderr).toContain("report: reading changes:");
    expect(result.stderr).toContain(`Wrote ${summary.file}`);
  });

  it("prints the path and counts as a table by default", async () => {
    const table = await cli(["report", "--out", "pack/table.html", "--since", "7d"]);
    expect(table.code).toBe(0);
    const [header, , row] = table.stdout.split("\n");
    expect(header).toMatch(/^File\s+Since\s+OpenFindings\s+Exceptions\s+ExpiringSoon\s+Changes\s+SweepRuns\s+Days$/);
    expect(row).toContain(path.join(dir, "pack/table.html"));
    expect(existsSync(path.join(dir, "pack/table.html"))).toBe(true);
  });

  it("refuses a --since it cannot read as a usage error (exit 2, as az), naming the forms it takes", async () => {
    const bad = await cli(["report", "--out", "pack/bad.html", "--since", "last tuesday"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("30d");
    expect(existsSync(path.join(dir, "pack/bad.html"))).toBe(false);
  });

  it("holds the case studies: who changed what, the exception's reason, the sweep run", () => {
    expect(html).toContain(CALLERS.priya.name);
    expect(html).toContain(CALLERS.priya.upn);
    expect(html).toContain(`IP ${CALLERS.priya.ipaddr}`);
    expect(html).toContain(CALLERS.sam.upn);
    expect(html).toContain("CAB-4711 emergency rollback");
    expect(html).toContain("expiring soon");
    expect(html).toContain("shared-outside");
    expect(html).toContain("az sig");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toMatch(/<script/i);
  });

  it("holds the lineage: the drill VM still on the plant's version; the SaaS scale set on the emergency version until the rollback moved it off", () => {
    const rows = (/<section id="lineage">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? "").split("<tr>");
    const drill = rows.find((r) => r.includes("virtualMachines/gw-drill-q4"));
    expect(drill).toContain("gateway-os/versions/1.0.0");
    expect(drill).toContain("runs it now");
    const saas = rows.find((r) => r.includes("emergency-specialized/versions/1.0.0") && r.includes("vmss-saas-web"));
    expect(saas).toBeDefined();
    expect(saas).not.toContain("runs it now");
    expect(saas!.match(/<time datetime=/g)).toHaveLength(2);
  });
});

describe.skipIf(!browser.ok)("the evidence page in headless Chromium", () => {
  const chromium = browser.ok ? browser.path : "";
  let page: PageRun;
  beforeAll(async () => {
    page = await openPage(chromium, summary.file, path.join(dir, "chromium"));
  }, 90_000);

  it("renders every section and the chart's SVG with one point per day", () => {
    for (const id of SECTION_IDS) expect(page.dom, id).toContain(`<section id="${id}">`);
    expect(page.dom).toMatch(/<svg id="findings-chart"[^>]*>/);
    expect(page.dom.match(/<circle class="point" data-day="/g)).toHaveLength(summary.days);
    expect(page.dom).toContain(">Open findings</text>");
    expect(page.dom).toContain("gallery-watch audit evidence");
  });

  it("shows the markup caller's name as text: the DOM has no script element", () => {
    expect(page.dom).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page.dom).not.toMatch(/<script/i);
    expect(page.dom).toContain(XSS_CALLER.upn);
  });

  it("made no network request; its only outside links are the findings' portal anchors", () => {
    expect(page.pageRequests).toEqual([]);
    expect(page.dom).not.toMatch(/\bsrc="/i);
    const external = [...page.dom.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!).filter((h) => !h.startsWith("#"));
    expect(external.length).toBeGreaterThan(0);
    for (const href of external) expect(href).toMatch(/^https:\/\/portal\.azure\.com\//);
    expect(page.dom).not.toMatch(/<(link|img|iframe|object|embed)\b/i);
  });

  it("would have seen a request: a page with a remote image is caught by the same check", async () => {
    const leaky = path.join(dir, "leaky.html");
    writeFileSync(leaky, '<!doctype html><title>leaky</title><img src="http://127.0.0.1:9/pixel.png">');
    const run = await openPage(chromium, leaky, path.join(dir, "chromium-leaky"));
    expect(run.pageRequests).toEqual(["http://127.0.0.1:9/pixel.png"]);
  }, 60_000);

  it("takes a 1280×2000 screenshot of the page", async () => {
    mkdirSync(keep, { recursive: true });
    const png = path.join(keep, "evidence.png");
    rmSync(png, { force: true });
    writeFileSync(path.join(keep, "evidence.html"), html);
    await screenshot(chromium, path.join(keep, "evidence.html"), png, path.join(dir, "chromium-shot"));
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
    // IHDR: width and height, big-endian, at bytes 16 and 20.
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([1280, 2000]);
    console.info(`evidence page and screenshot: ${path.join(keep, "evidence.html")}, ${png}`);
  }, 60_000);
});
