/**
 * `npm run package` as the deployment uses it: the folder it writes is everything Azure gets
 * (azd deploys `dist/package/`), so it must hold the bundle, host.json and a package.json whose
 * `main` is the bundle, carry nothing of the devDependencies, and load where nothing else can be
 * resolved: a copy in a temp folder, with no NODE_PATH and no node_modules above it.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { declarations } from "../../functions/all.js";
import { runProcess } from "../support/processes.js";

const root = path.resolve(import.meta.dirname, "../..");
const packageDir = path.join(root, "dist/package");
const tempDirs: string[] = [];

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Run> {
  return runProcess(command, args, { cwd, env, timeoutMs });
}

/** Only what a Functions worker has: no NODE_PATH, no NODE_OPTIONS (vitest's loaders), the worker runtime named. */
const isolatedEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: os.tmpdir(), FUNCTIONS_WORKER_RUNTIME: "node" });

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** A copy of the package in a fresh temp folder: nothing from the repository's node_modules can be resolved from there. */
function copyOfPackage(): string {
  const dir = tempDir("gallery-watch-package-");
  cpSync(packageDir, dir, { recursive: true });
  return dir;
}

let build: Run;
let deployed: { type?: string; main?: string; dependencies?: Record<string, string>; devDependencies?: unknown };

beforeAll(async () => {
  build = await run("npm", ["run", "package", "--silent"], root, { ...process.env, NODE_OPTIONS: "" });
  if (build.code !== 0) throw new Error(`npm run package failed (${build.code}):\n${build.stdout}\n${build.stderr}`);
  console.log(build.stdout.trim());
  deployed = JSON.parse(readFileSync(path.join(packageDir, "package.json"), "utf8")) as typeof deployed;
}, 180_000);

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe("npm run package", () => {
  it("writes the bundle, the app's host.json and a package.json whose main is the bundle", () => {
    expect(deployed.type).toBe("module");
    expect(deployed.main).toMatch(/\.js$/);
    const bundle = path.join(packageDir, deployed.main!);
    expect(existsSync(bundle)).toBe(true);
    expect(statSync(bundle).size).toBeGreaterThan(100_000); // the whole app, not a stub re-exporting node_modules
    expect(JSON.parse(readFileSync(path.join(packageDir, "host.json"), "utf8"))).toEqual(JSON.parse(readFileSync(path.join(root, "host.json"), "utf8")));
    // Nothing but the bundle's files, host.json and package.json: no sources, no settings, no tests.
    const stray = filesUnder(packageDir).filter((f) => !/^dist\/functions\/.+\.js$/.test(f.split(path.sep).join("/")) && f !== "host.json" && f !== "package.json");
    expect(stray).toEqual([]);
  });

  it("prints the package's real size in bytes and files", () => {
    const files = filesUnder(packageDir);
    const bytes = files.reduce((sum, f) => sum + statSync(path.join(packageDir, f)).size, 0);
    const printed = /(\d+) bytes .* in (\d+) files/.exec(build.stdout);
    expect(printed, build.stdout).not.toBeNull();
    expect(Number(printed![1])).toBe(bytes);
    expect(Number(printed![2])).toBe(files.length);
  });

  it("carries no devDependencies: none declared, none installed, none bundled", () => {
    expect(deployed.devDependencies).toBeUndefined();
    expect(deployed.dependencies ?? {}).toEqual({});
    expect(filesUnder(packageDir).filter((f) => f.split(path.sep).includes("node_modules"))).toEqual([]);
    // What went into the bundle, checked against the lockfile: `npm ci --omit=dev` would not install a package marked dev.
    const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
    const meta = JSON.parse(readFileSync(path.join(root, "dist/package.meta.json"), "utf8")) as { inputs: Record<string, unknown> };
    const bundled = new Set(Object.keys(meta.inputs).flatMap((input) => /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)/.exec(input.slice(Math.max(0, input.indexOf("node_modules/"))))?.[1] ?? []));
    expect(bundled).toContain("node_modules/@azure/functions");
    expect([...bundled].filter((key) => lock.packages[key]?.dev === true)).toEqual([]);
  });

  it("loads from a copy where nothing else resolves, registering every function", async () => {
    const dir = copyOfPackage();
    // The copy really is isolated: a dependency the bundle contains cannot be found from there.
    const probe = await run(process.execPath, ["--input-type=module", "-e", 'await import("@azure/functions")'], dir, isolatedEnv());
    expect(probe.code).not.toBe(0);
    expect(probe.stderr).toMatch(/ERR_MODULE_NOT_FOUND/);

    // The entry, then every lazily loaded chunk, so a module missing on a path taken later also shows.
    const chunkDir = path.join(dir, path.dirname(deployed.main!), "chunks");
    const chunks = existsSync(chunkDir) ? readdirSync(chunkDir).filter((f) => f.endsWith(".js")).map((f) => pathToFileURL(path.join(chunkDir, f)).href) : [];
    const script = `await import(${JSON.stringify(pathToFileURL(path.join(dir, deployed.main!)).href)}); for (const c of ${JSON.stringify(chunks)}) await import(c); console.log("loaded");`;
    const loaded = await run(process.execPath, ["--input-type=module", "-e", script], dir, isolatedEnv());
    expect(loaded.stderr).not.toMatch(/Cannot find (module|package)|ERR_MODULE_NOT_FOUND|MODULE_NOT_FOUND/);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toContain("loaded");
    // Outside the host @azure/functions runs in test mode and names each registration it skips.
    const registered = [...loaded.stderr.matchAll(/register function "([^"]+)"/g)].map((m) => m[1]).sort();
    expect(registered).toEqual(declarations.map((d) => d.name).sort());
  });
});
