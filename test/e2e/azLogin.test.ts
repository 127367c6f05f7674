/**
 * `npm run az:login` without a running stack: a clear message and exit 1, before it touches any
 * Azure CLI configuration (the suite that signs az in for real is test/az/, `npm run test:az`).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { root } from "./npmStartHarness.js";

const azLogin = (stateFile: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile("npm", ["run", "--silent", "az:login"], { cwd: root, env: { ...process.env, GALLERY_WATCH_STACK_FILE: stateFile } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

describe("npm run az:login", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ["no state file", () => undefined],
    ["the state file of a stack that was killed", (file: string) => writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 7, settings: {}, armUrl: "https://127.0.0.1:1" }))],
  ])("with %s: says to start the stack, exits 1 and writes no Azure CLI configuration", async (_, prepare) => {
    dir = mkdtempSync(path.join(os.tmpdir(), "gw-azlogin-"));
    const stateFile = path.join(dir, "local-stack.json");
    prepare(stateFile);
    const result = await azLogin(stateFile);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no running local stack .*start it with npm start, then run npm run az:login again/);
    expect(existsSync(path.join(dir, "az"))).toBe(false);
  }, 60_000);
});
