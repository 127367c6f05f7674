/**
 * Exit codes as the Azure CLI's (0 success, 1 error, 2 usage error, 3 resource not found) whichever
 * layer rejects the input (commander's own parsing or a command's check), and errors that say what
 * to do: a read-only command checks only the settings it reads, and with no stack and no storage
 * setting the CLI says so in one line with the two ways out.
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../cli/main.js";
import type { CliIo } from "../../cli/context.js";
import { READ_STORAGE, READ_WATCHED, resolveSettings } from "../../cli/settings.js";

const cwd = mkdtempSync(path.join(os.tmpdir(), "gw-cli-exit-"));
const NO_STACK = { GALLERY_WATCH_STACK_FILE: path.join(cwd, "no-stack.json") };

async function run(args: readonly string[], env: Record<string, string> = NO_STACK): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    env,
    cwd,
    stdout: (chunk) => void (stdout += chunk),
    stderr: (chunk) => void (stderr += chunk),
    interactive: false,
    clock: { now: () => new Date("2026-12-07T03:19:56Z") },
    sleep: async () => undefined,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

describe("exit codes", () => {
  it("0 for help and --version, and for a bare `gallery-watch` (az shows help and exits 0)", async () => {
    expect((await run(["--help"])).code).toBe(0);
    expect((await run(["findings", "--help"])).code).toBe(0);
    expect((await run(["--version"])).code).toBe(0);
    expect((await run([])).code).toBe(0);
  });

  it.each([
    ["an unknown command", ["findngs"]],
    ["an unknown option", ["findings", "--colour"]],
    ["an output form az does not have", ["findings", "--output", "xml"]],
    ["a --query that is not JMESPath", ["findings", "--query", "[?severity=="]],
    ["a bad --max-items", ["findings", "--max-items", "0"]],
    ["a choice not offered", ["findings", "--severity", "urgent"]],
    ["a missing required option", ["report"]],
    ["a malformed resource id", ["history", "/not/an/id"]],
    ["a malformed --since, caught by the command's own check", ["report", "--out", "x.html", "--since", "last tuesday"]],
    ["a bad --subscription", ["images", "--subscription", "prod"]],
  ])("2 for a usage error: %s, before any setting is read", async (_what, args) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).not.toContain("no local stack");
  });

  it("1 for an error, saying in one line how to get a stack or reach storage when there is none", async () => {
    for (const command of [["findings"], ["changes"], ["images"], ["sweep"]]) {
      const result = await run(command);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe("ERROR: no local stack is running; start it with `npm start`, or pass `--storage-account <name>` (or set AzureWebJobsStorage).\n");
    }
  });
});

describe("settings a command checks", () => {
  const storageOnly = { ...NO_STACK, AzureWebJobsStorage: "UseDevelopmentStorage=true" };

  it("a read-only command validates only what it reads: no Teams webhook, no watched subscriptions for findings", () => {
    expect(() => resolveSettings(storageOnly, cwd, undefined, READ_STORAGE)).not.toThrow();
    // A bad value of a setting findings never uses does not stop it either.
    expect(() => resolveSettings({ ...storageOnly, GW_MAX_REGIONS: "many", GW_TEAMS_WEBHOOK_URL: "not a url" }, cwd, undefined, READ_STORAGE)).not.toThrow();
    // A command that reads the watched subscriptions still names them.
    expect(() => resolveSettings(storageOnly, cwd, undefined, READ_WATCHED)).toThrow(/GW_WATCHED_SUBSCRIPTIONS/);
    expect(() => resolveSettings(storageOnly, cwd, undefined, READ_WATCHED)).not.toThrow(/GW_TEAMS_WEBHOOK_URL/);
    // The commands that run the app's jobs validate every setting, as the function app does.
    expect(() => resolveSettings(storageOnly, cwd, undefined, "all")).toThrow(/GW_TEAMS_WEBHOOK_URL/);
  });

  it("a bad value of a setting the command reads still stops it with the app's message", () => {
    expect(() => resolveSettings({ ...storageOnly, GW_TABLE_PREFIX: "9bad" }, cwd, undefined, READ_STORAGE)).toThrow(/GW_TABLE_PREFIX/);
  });

  it("--storage-account is enough for findings: nothing else needs setting", () => {
    const source = resolveSettings(NO_STACK, cwd, "stgallerywatch", READ_STORAGE);
    expect(source.config.storage).toMatchObject({ tableEndpoint: "https://stgallerywatch.table.core.windows.net" });
  });
});
