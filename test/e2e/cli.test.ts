/**
 * The `gallery-watch` CLI as a person runs it: `node bin/gallery-watch.mjs …` as a child process
 * against one local stack (Azurite, simulated ARM, Teams inbox, local Functions host).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { parse as parseYaml } from "yaml";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { STACK_FILE_VARIABLE, stackStateOf, writeStackState } from "../../local/stackState.js";
import type { SweepRun } from "../../shared/app/ports.js";
import { runProcess } from "../support/processes.js";

const root = path.resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(path.join(os.tmpdir(), "gallery-watch-cli-"));
const noStackFile = path.join(dir, "no-such-stack.json");
let stack: LocalStack;

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: Readonly<Record<string, string | undefined>>, timeoutMs = 60_000): Promise<Result> {
  return runProcess(process.execPath, [path.join(root, "bin/gallery-watch.mjs"), ...args], { cwd: dir, env: env as NodeJS.ProcessEnv, timeoutMs });
}

/** The stack's app settings in the environment; no state file (a developer's own `npm start` must not be picked up). */
const envOfStack = () => ({ ...process.env, ...stack.settings, [STACK_FILE_VARIABLE]: noStackFile });

const digestCards = () => stack.inbox.cards().filter((c) => JSON.stringify(c.card).includes("gallery-watch daily digest"));

beforeAll(async () => {
  stack = await startLocalStack({ seed: caseStudySeed(undefined, new Date()), log: pino({ level: "silent" }) });
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("gallery-watch --help", () => {
  it("lists the commands and the Azure CLI style options, with no settings at all", async () => {
    const result = await cli(["--help"], { PATH: process.env.PATH, [STACK_FILE_VARIABLE]: noStackFile });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\s+sweep \[options\]/m);
    expect(result.stdout).toMatch(/^\s+digest \[options\]/m);
    expect(result.stdout).toContain("--output <format>");
    const sweepHelp = await cli(["sweep", "--help"], { PATH: process.env.PATH, [STACK_FILE_VARIABLE]: noStackFile });
    expect(sweepHelp.stdout).toContain("--subscription <id>");
    expect(sweepHelp.stdout).toContain("--wait");
  });
});

describe("settings", () => {
  it("stops on a wrong setting with the validation message, ignoring a state file whose stack is gone", async () => {
    const gone = spawn(process.execPath, ["-e", ""]);
    const deadPid = await new Promise<number>((resolve) => gone.once("exit", () => resolve(gone.pid!)));
    const staleFile = path.join(dir, "stale-stack.json");
    writeStackState({ ...stackStateOf(stack), pid: deadPid }, staleFile);
    const result = await cli(["digest"], { ...envOfStack(), GW_MAX_REGIONS: "many", [STACK_FILE_VARIABLE]: staleFile });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("GW_MAX_REGIONS: 'many' is not a whole number between 1 and 60");
    expect(result.stdout).toBe("");
  });
});

describe("gallery-watch digest", () => {
  it("sends exactly one digest card to Teams however many times it runs in a day, at once or one after the other", async () => {
    const [first, second] = await Promise.all([cli(["digest", "--output", "json"], envOfStack()), cli(["digest", "--output", "json"], envOfStack())]);
    expect([first.code, second.code]).toEqual([0, 0]);
    const statuses = [first, second].map((r) => (JSON.parse(r.stdout) as { status: string }).status).sort();
    expect(statuses[1]).toBe("sent");
    expect(["alreadySent", "inProgress"]).toContain(statuses[0]);

    const third = await cli(["digest"], envOfStack());
    expect(third.code).toBe(0);
    // One header style across commands: the JSON key with its first letter upper-cased, as az's tables.
    expect(third.stdout).toMatch(/^DigestId\s+Status\s+SentAt/m);
    expect(third.stdout).toContain("alreadySent");
    expect(third.stderr).toContain("already sent");

    const cards = digestCards();
    expect(cards).toHaveLength(1);
    expect(JSON.stringify(cards[0]!.card)).toContain(`gallery-watch daily digest — ${new Date().toISOString().slice(0, 10)}`);
  }, 90_000);
});

describe("gallery-watch sweep", () => {
  it("with --wait, follows the run of the stack found through its state file and prints it finished", async () => {
    const stateFile = path.join(dir, "local-stack.json");
    writeStackState(stackStateOf(stack), stateFile); // this process hosts the stack: its pid is alive
    // Settings that would be wrong if read: the running stack's state file wins over the environment.
    const result = await cli(["sweep", "--wait", "--timeout", "60", "--output", "json"], { ...process.env, GW_WATCHED_SUBSCRIPTIONS: "not-a-guid", [STACK_FILE_VARIABLE]: stateFile }, 90_000);
    expect(result.stderr).not.toContain("ERROR");
    expect(result.code).toBe(0);
    const runs = JSON.parse(result.stdout) as SweepRun[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ subscriptionId: stack.subscriptionId, status: "succeeded", finishedAt: expect.any(String) });
    expect(runs[0]!.seen.galleries).toBeGreaterThan(0);
    expect(result.stderr).toContain("1/1 finished");
  }, 120_000);

  it("without --wait, queues one sweep per watched subscription and prints the run id", async () => {
    const result = await cli(["sweep", "--output", "csv"], envOfStack());
    expect(result.code).toBe(0);
    const [header, row, ...rest] = result.stdout.trim().split(/\r\n/);
    expect(header).toBe("Subscription,Status,RunId");
    expect(row).toMatch(new RegExp(`^${stack.subscriptionId},queued,cli-`));
    expect(rest).toEqual([]);
  });
});

describe("az's conventions, through the real binary against the stack", () => {
  // After the sweep above, the stack holds the case studies' findings.
  it("every output form of one listing carries the same findings, and --query shapes the result before formatting", async () => {
    const json = JSON.parse((await cli(["findings", "--state", "all", "--output", "json"], envOfStack())).stdout) as Array<{ fingerprint: string; resourceId: string; severity: string }>;
    expect(json.length).toBeGreaterThan(0);
    const yaml = await cli(["findings", "--state", "all", "--output", "yaml"], envOfStack());
    expect(yaml.code).toBe(0);
    expect(parseYaml(yaml.stdout)).toEqual(json);
    // Not a terminal: jsonc and yamlc are not coloured, so a pipe reads them as json and yaml.
    expect(JSON.parse((await cli(["findings", "--state", "all", "--output", "jsonc"], envOfStack())).stdout)).toEqual(json);

    const severity = json[0]!.severity;
    const ofSeverity = json.filter((f) => f.severity === severity).map((f) => f.resourceId);
    const tsv = await cli(["findings", "--state", "all", "--output", "tsv", "--query", `[?severity=='${severity}'].resourceId`], envOfStack());
    expect(tsv.code).toBe(0);
    expect(tsv.stdout.trimEnd().split("\n")).toEqual(ofSeverity);
    const count = await cli(["findings", "--state", "all", "--output", "json", "--query", "length(@)"], envOfStack());
    expect(JSON.parse(count.stdout)).toBe(json.length);
    const table = await cli(["findings", "--state", "all", "--query", "[].{rule: ruleId, at: updatedAt}"], envOfStack());
    expect(table.stdout).toMatch(/^Rule\s+At$/m);
    expect(table.stdout).toMatch(/\s\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/m);

    const none = await cli(["findings", "--output", "none"], envOfStack());
    expect(none).toMatchObject({ code: 0, stdout: "" });
  }, 90_000);

  it("exits 2 for usage errors, 3 for a resource never stored, 1 with the one-line way out when no stack runs", async () => {
    const usage = await cli(["findings", "--output", "xml"], envOfStack());
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("Allowed choices are json, jsonc, table, tsv, yaml, yamlc, none, csv");
    expect((await cli(["changes", "--max-items", "-1"], envOfStack())).code).toBe(2);

    const missing = `/subscriptions/${stack.subscriptionId}/resourceGroups/rg-none/providers/Microsoft.Compute/galleries/noGallery`;
    const notFound = await cli(["history", missing], envOfStack());
    expect(notFound.code).toBe(3);
    expect(notFound.stdout).toBe("");

    // No stack, no storage setting, no local.settings.json in the directory: one line, the two ways out; no webhook named.
    const alone = await cli(["findings"], { PATH: process.env.PATH, [STACK_FILE_VARIABLE]: noStackFile });
    expect(alone.code).toBe(1);
    expect(alone.stderr.trim()).toBe("ERROR: no local stack is running; start it with `npm start`, or pass `--storage-account <name>` (or set AzureWebJobsStorage).");
  }, 60_000);

  it("a read-only command runs without the settings it does not read (no Teams webhook, no watched subscriptions)", async () => {
    const { GW_TEAMS_WEBHOOK_URL: _webhook, GW_WATCHED_SUBSCRIPTIONS: _subscriptions, ...storageOnly } = stack.settings;
    const result = await cli(["changes", "--output", "json", "--max-items", "2"], { PATH: process.env.PATH, ...storageOnly, [STACK_FILE_VARIABLE]: noStackFile });
    expect(result.stderr).not.toContain("ERROR");
    expect(result.code).toBe(0);
    expect(Array.isArray(JSON.parse(result.stdout))).toBe(true);
  });

  it("each command's --help has examples", async () => {
    for (const command of ["sweep", "digest", "policy", "report", "history", "images", "findings", "changes", "reindex"]) {
      const help = await cli([command, "--help"], { PATH: process.env.PATH, [STACK_FILE_VARIABLE]: noStackFile });
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toMatch(new RegExp(`Examples:\\n  gallery-watch ${command}`));
    }
  }, 60_000);
});
