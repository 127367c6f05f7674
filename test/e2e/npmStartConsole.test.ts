/**
 * `npm start`'s console is for a person: a warning from the local host or a function is one
 * human line there, never a raw JSON log line; the JSON is kept whole in a file beside the stack's
 * state file.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startScript } from "./npmStartHarness.js";

describe("npm start's console", () => {
  let started: number[] = [];
  let files: string[] = [];
  afterEach(() => {
    killAll(started);
    started = [];
    for (const file of files) rmSync(file, { force: true });
    files = [];
  });

  it("shows a warning as one human line, and keeps the JSON log in a file", async () => {
    const stateFile = path.join(os.tmpdir(), `gw-console-${process.pid}-${Date.now()}.json`);
    const logFile = stateFile.replace(/\.json$/, ".log");
    files.push(logFile);
    const run = startScript([], { env: { GW_LOG_LEVEL: "warn", GALLERY_WATCH_STACK_FILE: stateFile } });
    started.push(run.child.pid!);
    await run.until(/Ctrl-C stops everything/);
    const webhook = /"(http:\/\/127\.0\.0\.1:\d+\/runtime\/webhooks\/eventgrid\?functionName=eventGridResourceEvent&code=\S+)"/.exec(run.output())![1]!;
    // A delivery the host refuses (no JSON): the host warns.
    const refused = await fetch(webhook, { method: "POST", headers: { "aeg-event-type": "Notification", "content-type": "application/json" }, body: "not json" });
    expect(refused.status).toBe(400);
    await run.until(/Event Grid delivery to eventGridResourceEvent refused/, 10_000);
    const out = run.output();
    expect(out.split("\n").filter((line) => line.trimStart().startsWith("{"))).toEqual([]);
    expect(out).toMatch(/^gallery-watch warn: Event Grid delivery to eventGridResourceEvent refused: .+$/m);
    expect(out).toContain(`every log line as JSON in ${path.relative(process.cwd(), logFile) || logFile}`);
    expect(existsSync(logFile)).toBe(true);
    const json = readFileSync(logFile, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(json.some((entry) => entry.level === 40 && /Event Grid delivery to eventGridResourceEvent refused/.test(entry.msg))).toBe(true);
    run.child.kill("SIGTERM");
    await run.exited;
  }, 150_000);
});
