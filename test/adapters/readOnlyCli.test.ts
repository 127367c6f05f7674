/**
 * The CLI's read commands make no create or write request, so Storage Table Data Reader is
 * enough for `--storage-account` (it may not create tables or write entities). Azurite does not
 * enforce roles, so the commands run against the real Azurite through a recording proxy, and every
 * request they make is checked: only reads (GET) may pass. Settings come from the environment with
 * a connection string; `--storage-account` builds the same read-only runtime over an identity.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { main } from "../../cli/main.js";
import type { CliIo } from "../../cli/context.js";
import { openTable } from "../../shared/adapters/tables/tableClients.js";
import { createTableFindingStore } from "../../shared/adapters/tables/tableFindingStore.js";
import { STACK_FILE_VARIABLE } from "../../local/stackState.js";
import { aFinding, BASE, SUB } from "../support/snapshotBuilders.js";

interface Recorded { method: string; path: string }

/** An HTTP proxy in front of one Azurite endpoint that records each request's method and path. */
async function recordingProxy(target: URL): Promise<{ url: string; requests: Recorded[]; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? "", path: decodeURIComponent(req.url ?? "") });
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}${target.pathname}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const endpoint = (connectionString: string, service: string) => new URL(new RegExp(`${service}Endpoint=([^;]+)`).exec(connectionString)![1]!);
const dir = mkdtempSync(path.join(os.tmpdir(), "gallery-watch-read-only-"));
let proxies: Array<Awaited<ReturnType<typeof recordingProxy>>> = [];
let connectionString = "";

beforeAll(async () => {
  const azurite = inject("azuriteConnectionString");
  proxies = await Promise.all(["Table", "Queue", "Blob"].map((s) => recordingProxy(endpoint(azurite, s))));
  const [table, queue, blob] = proxies.map((p) => p.url);
  connectionString = azurite.replace(/TableEndpoint=[^;]+/, `TableEndpoint=${table}`).replace(/QueueEndpoint=[^;]+/, `QueueEndpoint=${queue}`).replace(/BlobEndpoint=[^;]+/, `BlobEndpoint=${blob}`);
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: readonly string[], prefix: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    env: {
      AzureWebJobsStorage: connectionString,
      GW_WATCHED_SUBSCRIPTIONS: SUB,
      GW_TEAMS_WEBHOOK_URL: "http://127.0.0.1:9/webhook?sig=x",
      GW_TABLE_PREFIX: prefix,
      [STACK_FILE_VARIABLE]: path.join(dir, "no-such-stack.json"),
    },
    cwd: dir,
    stdout: (chunk) => void (stdout += chunk),
    stderr: (chunk) => void (stderr += chunk),
    interactive: false,
    clock: { now: () => new Date() },
    sleep: async () => undefined,
  };
  return main(args, io).then((code) => ({ code, stdout, stderr }));
}

const requests = () => proxies.flatMap((p) => p.requests);
const writes = () => requests().filter((r) => r.method !== "GET");

describe("read-only CLI commands", () => {
  it("findings, changes, history, images, report and policy make only GET requests on a store the app has written", async () => {
    const prefix = `ro${randomUUID().replace(/-/g, "").slice(0, 10)}`;
    // The store as the app leaves it: its tables exist and hold a finding.
    const writable = { connectionString: inject("azuriteConnectionString") };
    const finding = aFinding(`${BASE}/galleries/gal/images/def/versions/1.0.0`, { summary: "seeded" });
    await createTableFindingStore(writable, prefix).apply([{ kind: "opened", fingerprint: finding.fingerprint, after: finding, alert: true, at: finding.updatedAt }]);
    for (const name of ["Alerts", "ChangeLog", "Changes", "Checks", "Digests", "Pacing", "Resources", "Snapshots", "SweepRuns"]) await openTable(writable, `${prefix}${name}`);
    const before = requests().length;

    const runs = [
      await cli(["findings", "--output", "json"], prefix),
      await cli(["changes", "--since", "7d"], prefix),
      await cli(["history", `${BASE}/galleries/gal/images/def/versions/1.0.0`], prefix),
      await cli(["images"], prefix),
      await cli(["report", "--out", path.join(dir, "evidence.html")], prefix),
      await cli(["policy", "--out", path.join(dir, "policy.json")], prefix),
    ];

    // Each answers from the store (history: that id was never stored; policy: no Specialized definition to deny), none trips on storage.
    expect(runs.map((r) => r.code)).toEqual([0, 0, 3, 0, 0, 1]);
    expect(runs.map((r) => r.stderr).join("")).not.toMatch(/TableNotFound|does not exist|Storage|AuthorizationPermissionMismatch/);
    expect(runs[0]!.stdout).toContain("seeded");
    const made = requests().slice(before);
    expect(made.length).toBeGreaterThan(5);
    expect(made.filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("against a store with no tables yet, a read command says nothing is stored, and creates nothing", async () => {
    const prefix = `ro${randomUUID().replace(/-/g, "").slice(0, 10)}`;
    const before = requests().length;
    const findings = await cli(["findings"], prefix);
    expect(findings).toMatchObject({ code: 0, stdout: "" });
    expect(findings.stderr).toContain("No findings match.");
    const policy = await cli(["policy", "--out", path.join(dir, "early.json")], prefix);
    expect(policy.stderr).toContain("knows no Specialized image definition");
    expect(requests().length).toBeGreaterThan(before);
    expect(writes().slice(before)).toEqual([]);
  });
});
