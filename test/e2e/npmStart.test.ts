/** `npm start` as a person runs it: the summary and the two URLs, and a clean stop on SIGTERM. */
import { spawn } from "node:child_process";
import { createConnection } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const tsx = path.join(root, "node_modules/.bin/tsx");

function start(args: string[]) {
  const child = spawn(tsx, ["local/start.ts", ...args], { cwd: root, env: { ...process.env, GW_LOG_LEVEL: "error" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const until = async (pattern: RegExp, ms = 90_000) => {
    const deadline = Date.now() + ms;
    while (!pattern.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!pattern.test(output)) throw new Error(`never printed ${pattern}; output:\n${output}`);
  };
  return { child, exited, until, output: () => output };
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });

describe("npm start", () => {
  it("replays the case studies and prints the summary and the URLs", async () => {
    const run = start(["--once"]);
    expect(await run.exited).toBe(0);
    const out = run.output();
    expect(out).toMatch(/^Teams inbox: http:\/\/127\.0\.0\.1:\d+$/m);
    expect(out).toMatch(/^Simulated ARM: https:\/\/127\.0\.0\.1:\d+$/m);
    expect(out).toMatch(/events processed:\s+8 \(0 failed and retried\)/);
    expect(out).toMatch(/findings:\s+5 opened, 0 escalated, 0 de-escalated, 1 excepted, 0 reopened, 3 resolved/);
    expect(out).toMatch(/cards delivered:\s+9/);
    expect(out).toMatch(/events judged:\s+8 accepted, 0 ignored \(0 from unwatched subscriptions\), 0 refused/);
    expect(out).toMatch(/^Subscription: [0-9a-f-]{36}$/m);
  }, 120_000);

  it("keeps running for a person to explore, then stops cleanly on SIGTERM leaving nothing listening", async () => {
    const run = start([]);
    await run.until(/Ctrl-C stops everything/);
    const inboxPort = Number(/Teams inbox: http:\/\/127\.0\.0\.1:(\d+)/.exec(run.output())?.[1]);
    const armPort = Number(/Simulated ARM: https:\/\/127\.0\.0\.1:(\d+)/.exec(run.output())?.[1]);
    const cards = (await (await fetch(`http://127.0.0.1:${inboxPort}/cards.json`)).json()) as unknown[];
    expect(cards).toHaveLength(9);
    expect(await (await fetch(`http://127.0.0.1:${inboxPort}/`)).text()).toContain("gallery-watch — Teams inbox");
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(await listening(inboxPort)).toBe(false);
    expect(await listening(armPort)).toBe(false);
  }, 120_000);
});
