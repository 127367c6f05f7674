/**
 * Cold start of the function entry: how long a fresh `node` process takes to import
 * (a) the unbundled tsc build `dist/functions/index.js` (resolving ~900 files in node_modules) and
 * (b) the bundle `npm run package` writes to `dist/package/` (one minified file, lazy chunks apart).
 *
 * Each figure is the median of `runs` fresh processes, (a) and (b) interleaved so a burst of
 * machine load hits both alike; one unmeasured warm-up run each fills the OS file cache, as on a
 * Functions instance that has its package mounted. Time is measured inside the child around
 * `await import(entry)`; "process ready" is the child's `performance.now()` after that import,
 * i.e. since the process started, so it includes Node's own start-up.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = path.resolve(import.meta.dirname, "..");
const unbundledEntry = path.join(root, "dist/functions/index.js");
const packageDir = path.join(root, "dist/package");

/** Targets from issue 10 ("bundled entry load time"). */
const TARGET_MS = 150;
const TARGET_SPEEDUP = 3;

interface Sample {
  /** ms around `await import(entry)`. */
  readonly entry: number;
  /** ms around the entry plus every lazily loaded chunk (what a process that ran every function has loaded). */
  readonly all: number;
  /** ms since the process started, once the entry is imported (lazy chunks not loaded). */
  readonly ready: number;
}

/** Runs in the child. Writes one JSON line on stdout; the app's own warnings go to stderr. */
const CHILD = `
const t0 = performance.now();
await import(process.env.GW_COLDSTART_ENTRY);
const entry = performance.now() - t0;
const ready = performance.now();
for (const chunk of JSON.parse(process.env.GW_COLDSTART_CHUNKS || "[]")) await import(chunk);
const all = performance.now() - t0;
process.stdout.write(JSON.stringify({ entry, all, ready }) + "\\n");
process.exit(0);
`;

function measureOnce(cwd: string, entry: string | undefined, chunks: readonly string[] = []): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, FUNCTIONS_WORKER_RUNTIME: "node", GW_COLDSTART_ENTRY: entry ?? "data:text/javascript,", GW_COLDSTART_CHUNKS: JSON.stringify(chunks) };
    delete env.NODE_OPTIONS; // tsx / vitest loaders would slow the child and measure them instead
    const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      const line = stdout.trim().split("\n").at(-1) ?? "";
      if (code !== 0 || !line.startsWith("{")) return reject(new Error(`importing ${entry} failed (exit ${code}): ${stderr.slice(-2000)}`));
      resolve(JSON.parse(line) as Sample);
    });
  });
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** `npm run build` when the tsc output is missing or older than the sources. Type errors elsewhere don't stop tsc from emitting. */
function ensureUnbundledBuild(): string {
  const stale = !existsSync(unbundledEntry) || statSync(unbundledEntry).mtimeMs < Math.max(newestMtime(path.join(root, "functions")), newestMtime(path.join(root, "shared")));
  if (!stale) return "up to date";
  const run = spawnSync("npm", ["run", "build", "--silent"], { cwd: root, encoding: "utf8" });
  if (!existsSync(unbundledEntry)) throw new Error(`npm run build wrote no ${unbundledEntry}: ${run.stdout}${run.stderr}`);
  return run.status === 0 ? "rebuilt" : "rebuilt (tsc reported type errors; output emitted anyway)";
}

function buildBundle(): { bytes: number; files: number } {
  const run = spawnSync(process.execPath, [path.join(root, "scripts/package.mjs")], { cwd: root, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`npm run package failed: ${run.stdout}${run.stderr}`);
  const match = /(\d+) bytes .* in (\d+) files/.exec(run.stdout);
  return { bytes: Number(match?.[1] ?? Number.NaN), files: Number(match?.[2] ?? Number.NaN) };
}

export async function benchColdStart(options: { runs?: number } = {}): Promise<Record<string, string | number>> {
  const runs = options.runs ?? 5;
  const unbundledState = ensureUnbundledBuild();
  const size = buildBundle();
  const deployed = JSON.parse(readFileSync(path.join(packageDir, "package.json"), "utf8")) as { main: string };
  const bundleEntry = path.join(packageDir, deployed.main);
  const chunkDir = path.join(path.dirname(bundleEntry), "chunks");
  const chunks = existsSync(chunkDir) ? readdirSync(chunkDir).filter((f) => f.endsWith(".js")).map((f) => pathToFileURL(path.join(chunkDir, f)).href) : [];
  const meta = JSON.parse(readFileSync(path.join(root, "dist/package.meta.json"), "utf8")) as { inputs: Record<string, unknown> };

  const targets = {
    empty: () => measureOnce(packageDir, undefined),
    unbundled: () => measureOnce(root, pathToFileURL(unbundledEntry).href),
    bundled: () => measureOnce(packageDir, pathToFileURL(bundleEntry).href, chunks),
  };
  const samples: Record<keyof typeof targets, Sample[]> = { empty: [], unbundled: [], bundled: [] };
  for (const measure of Object.values(targets)) await measure(); // warm-up: file cache
  for (let i = 0; i < runs; i++) {
    for (const [name, measure] of Object.entries(targets) as [keyof typeof targets, () => Promise<Sample>][]) samples[name].push(await measure());
  }

  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const unbundled = median(samples.unbundled.map((s) => s.entry));
  const bundled = median(samples.bundled.map((s) => s.entry));
  const speedup = unbundled / bundled;
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  return {
    machine: `${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(" / ")} (1/5/15 min), node ${process.version}; median of ${runs} fresh processes`,
    "node start-up alone (process ready)": ms(median(samples.empty.map((s) => s.ready))),
    "unbundled import, dist/functions (tsc)": `${ms(unbundled)}   (build ${unbundledState})`,
    "bundled import, dist/package": `${ms(bundled)}   target < ${TARGET_MS} ms: ${verdict(bundled < TARGET_MS)}`,
    [`bundled import + all ${chunks.length} lazy chunks`]: ms(median(samples.bundled.map((s) => s.all))),
    "speed-up (unbundled ÷ bundled import)": `${speedup.toFixed(1)}×   target ≥ ${TARGET_SPEEDUP}×: ${verdict(speedup >= TARGET_SPEEDUP)}`,
    "process ready, unbundled / bundled": `${ms(median(samples.unbundled.map((s) => s.ready)))} / ${ms(median(samples.bundled.map((s) => s.ready)))}`,
    "bundle: modules in → package out": `${Object.keys(meta.inputs).length} modules → ${size.bytes} bytes (${(size.bytes / 1024 / 1024).toFixed(2)} MiB) in ${size.files} files`,
  };
}
