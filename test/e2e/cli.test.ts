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
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { STACK_FILE_VARIABLE, stackStateOf, writeStackState } from "../../local/stackState.js";
import type { SweepRun } from "../../shared/ports.js";
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
    expect(third.stdout).toMatch(/^digestId\s+status\s+sentAt/m);
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
