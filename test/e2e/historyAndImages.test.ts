/**
 * `gallery-watch history` and `gallery-watch images`, and the API routes behind the same
 * questions (`/api/resources/history`, `/api/images`), against one local stack with the design
 * brief's case studies replayed up to the scale set picking up the emergency image (step 6).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { CALLERS, caseStudySteps, ids } from "../../local/scenarios/replay.js";
import { waitUntilQuiet } from "../../local/quiet.js";
import { armWrite } from "../../local/armWrite.js";
import { runCli } from "../support/processes.js";
import { parseCsv } from "../support/csv.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "gallery-watch-history-"));
const today = new Date();
let stack: LocalStack;

function cli(args: readonly string[]) {
  return runCli(args, { cwd: dir, settings: stack.settings });
}

async function api(route: string): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${stack.host.url}/api/${route}`, { headers: { "x-functions-key": stack.keys.function } });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}
const historyUrl = (id: string, extra = "") => `resources/history?id=${encodeURIComponent(id)}${extra}`;


beforeAll(async () => {
  stack = await startLocalStack({ seed: caseStudySeed(undefined, today), log: pino({ level: "silent" }) });
  for (const step of caseStudySteps(today).slice(0, 6)) {
    await step.run(stack);
    await waitUntilQuiet(stack);
  }
}, 240_000);
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("gallery-watch history", () => {
  it("shows the gateway version's timeline with Priya's change, her UPN and the regions she added", async () => {
    const result = await cli(["history", ids(stack).plantVersion]);
    expect(result.stderr).not.toContain("ERROR");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Resource: ${ids(stack).plantVersion}`);
    expect(result.stdout).toContain("State:    present");
    expect(result.stdout).toContain("Timeline (");
    const priyaLines = result.stdout.split("\n").filter((l) => l.includes("Priya Patel (priya.patel@contoso.example)"));
    // The replay's first write is the first gallery-watch stored of this version: it says what it was then.
    expect(priyaLines.some((l) => l.includes("first stored") && l.includes("targetRegions: westeurope, northeurope, eastus, uksouth, southeastasia"))).toBe(true);
    expect(priyaLines.some((l) => l.includes("targetRegions: westeurope, northeurope, eastus, uksouth, southeastasia → -eastus, -uksouth, -southeastasia"))).toBe(true);
    // The findings as of now: the replication-breadth finding Priya's change opened, resolved since.
    expect(result.stdout).toMatch(/replication-breadth\s+high\s+resolved/);
  });

  it("answers as of a time in json (snapshot, facts, timeline) and csv (the timeline, parsed back)", async () => {
    const json = await cli(["history", ids(stack).plantVersion, "--output", "json"]);
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout) as Record<string, any>;
    expect(view.deleted).toBe(false);
    expect(view.facts).toMatchObject({ kind: "imageVersion", osState: "Specialized", targetRegions: ["westeurope", "northeurope"] });
    const written = view.timeline.filter((e: any) => e.action === "written" && e.actor.upn === CALLERS.priya.upn);
    expect(written.length).toBeGreaterThanOrEqual(2);
    const narrowed = written.find((e: any) => e.whatChanged.some((w: string) => w.startsWith("targetRegions:") && w.includes("-uksouth")));
    expect(narrowed?.actor).toMatchObject({ name: "Priya Patel", upn: CALLERS.priya.upn, operationName: "Microsoft.Compute/galleries/images/versions/write" });

    // Before the first write gallery-watch stored, it has nothing "in force" yet; still the same id, not a 404.
    const early = await cli(["history", ids(stack).plantVersion, "--as-of", "2000-01-01T00:00:00Z", "--output", "json"]);
    expect(early.code).toBe(0);
    expect(JSON.parse(early.stdout)).toMatchObject({ state: "notYetObserved", changes: [], timeline: [] });

    const csv = await cli(["history", ids(stack).plantVersion, "--output", "csv"]);
    expect(csv.code).toBe(0);
    const rows = parseCsv(csv.stdout);
    expect(rows.length).toBe(view.timeline.length);
    expect(rows.some((r) => r.Who === "Priya Patel (priya.patel@contoso.example)" && r.WhatChanged!.includes("-uksouth"))).toBe(true);
  });

  it("exits 3 naming the id for one gallery-watch never stored", async () => {
    const typo = ids(stack).plantVersion.replace("gateway-os", "gateway-oss");
    const result = await cli(["history", typo]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`never stored ${typo}`);
    expect(result.stdout).toBe("");
  });
});

describe("gallery-watch images and GET /api/images", () => {
  it("lists the specialized definitions with their regions, and the scale set that uses emergency-specialized", async () => {
    const result = await cli(["images", "--output", "json"]);
    expect(result.stderr).not.toContain("ERROR");
    expect(result.code).toBe(0);
    const definitions = JSON.parse(result.stdout) as Array<Record<string, any>>;
    expect(definitions.map((d) => d.name).sort()).toEqual(["disk-lab", "emergency-specialized", "gateway-os", "memory-lab", "triage-ws"]);
    expect(definitions.every((d) => d.osState === "Specialized")).toBe(true);
    const gateway = definitions.find((d) => d.name === "gateway-os")!;
    expect(gateway.versions.find((v: any) => v.version === "1.0.0").regions.map((r: any) => r.region)).toEqual(["westeurope", "northeurope"]);
    const emergency = definitions.find((d) => d.name === "emergency-specialized")!;
    expect(emergency.scaleSets).toEqual([expect.objectContaining({ id: ids(stack).saasScaleSet, capacity: 180, follows: "latest", runsVersion: "1.0.0" })]);
    expect(emergency.versions).toEqual([expect.objectContaining({ version: "1.0.0", excludeFromLatest: false, regions: [expect.objectContaining({ region: "westeurope", replicas: 1 })] })]);
    // Lineage: the SaaS scale set, recorded running the emergency version since it followed latest there, and still running it.
    expect(emergency.versions[0].lineage).toEqual([{ machineId: ids(stack).saasScaleSet, kind: "scaleSet", firstSeen: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
    const forensics = definitions.find((d) => d.name === "memory-lab")!;
    expect(forensics.sharing.permissions).toBe("Community");
    expect(forensics.galleryOpenFindings).toBeGreaterThanOrEqual(1);

    const all = JSON.parse((await cli(["images", "--os-state", "all", "--output", "json"])).stdout) as Array<Record<string, any>>;
    expect(all.map((d) => d.name)).toContain("web-generalized");

    const csv = parseCsv((await cli(["images", "--output", "csv"])).stdout);
    expect(csv.find((r) => r.Definition === "saasGallery/emergency-specialized")?.ScaleSets).toContain("vmss-saas-web (180, latest = 1.0.0)");
    expect(csv.find((r) => r.Definition === "saasGallery/emergency-specialized")?.Machines).toBe("1 now, 1 ever");
  });

  it("serves the same inventory over HTTP, paged by definition", async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const { status, body } = await api(`images?limit=2${token ? `&continuationToken=${encodeURIComponent(token)}` : ""}`);
      expect(status).toBe(200);
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((d: any) => d.name));
      token = body.continuationToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(["disk-lab", "emergency-specialized", "gateway-os", "memory-lab", "triage-ws"]);
    expect((await api("images?osState=nonsense")).status).toBe(400);
    expect((await api("images?continuationToken=garbage")).status).toBe(400);
  });
});

describe("GET /api/resources/history", () => {
  it("answers 404 for a typo'd id instead of an empty, clean-looking 200", async () => {
    const typo = ids(stack).plantVersion.replace("gateway-os", "gateway-oss");
    const { status, body } = await api(historyUrl(typo));
    expect(status).toBe(404);
    expect(body.error).toContain("never stored");
  });

  it("pages the changes with a stated limit, every change reachable", async () => {
    const first = await api(historyUrl(ids(stack).plantVersion));
    expect(first.status).toBe(200);
    const total = first.body.changes.length;
    expect(total).toBeGreaterThanOrEqual(3);
    const seen: unknown[] = [];
    let token: string | undefined;
    do {
      const { body } = await api(historyUrl(ids(stack).plantVersion, `&limit=1${token ? `&continuationToken=${encodeURIComponent(token)}` : ""}`));
      expect(body.changesLimit).toBe(1);
      seen.push(...body.changes);
      token = body.continuationToken;
    } while (token);
    expect(seen).toEqual(first.body.changes);
  });

  it("marks the resource deleted after a DELETE, with when and who, and not before it", async () => {
    const beforeDelete = new Date().toISOString();
    await armWrite(stack.arm, CALLERS.sam, "DELETE", ids(stack).plantVersion, undefined, { wait: true });
    await waitUntilQuiet(stack);
    const { status, body } = await api(historyUrl(ids(stack).plantVersion));
    expect(status).toBe(200);
    expect(body).toMatchObject({ state: "deleted", deleted: true, deletedBy: { upn: CALLERS.sam.upn } });
    expect(Date.parse(body.deletedAt)).toBeGreaterThanOrEqual(Date.parse(beforeDelete) - 5_000);
    expect(body.snapshot.snapshot.targetRegions.map((t: any) => t.region)).toEqual(["westeurope", "northeurope"]);
    expect((await api(historyUrl(ids(stack).plantVersion, `&asOf=${encodeURIComponent(beforeDelete)}`))).body).toMatchObject({ deleted: false, state: "present" });

    const result = await cli(["history", ids(stack).plantVersion]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("State:    DELETED at");
    expect(result.stdout).toContain("Sam Okafor (sam.okafor@contoso.example)");
  });
});

describe("gallery-watch usage", () => {
  it("names the machines running a version now, since when and who made them run it; none for an unused version; exit 3 for one never stored", async () => {
    const result = await cli(["usage", ids(stack).saasEmergencyVersion, "--output", "json"]);
    expect(result.code, result.stderr).toBe(0);
    const users = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(users).toEqual([expect.objectContaining({ id: ids(stack).saasScaleSet, kind: "scaleSet", machines: 180, follows: "latest", sinceBy: CALLERS.jo.upn })]);
    expect(Date.parse(String(users[0]!.since))).toBeGreaterThan(today.getTime() - 3_600_000);

    const unused = await cli(["usage", ids(stack).plantVersion, "--output", "json"]);
    expect(unused.code, unused.stderr).toBe(0);
    expect(JSON.parse(unused.stdout)).toEqual([]);

    const never = await cli(["usage", ids(stack).plantVersion.replace(/1\.0\.0$/, "9.9.9")]);
    expect(never.code).toBe(3);
    expect(never.stderr).toContain("never stored");
  });
});
