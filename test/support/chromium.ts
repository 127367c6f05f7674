/**
 * Headless Chromium for tests that open a page as a person would (no playwright: Debian's
 * `chromium` with `--dump-dom` / `--screenshot`). `ensureChromium()` finds it, installs Debian's
 * package when missing and running as root (CI containers), and otherwise says why it cannot, so
 * the caller skips with that message instead of failing on a laptop without a browser.
 *
 * "No network request" is checked from Chromium's own NetLog (`--log-net-log`): every URL request
 * the page initiated is listed. The browser's own background calls (update checks, account
 * lookups) carry the initiator "not an origin" and are not the page's; `--host-resolver-rules`
 * keeps them off the network anyway.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { runProcess } from "./processes.js";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export type ChromiumAvailability = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `CHROMIUM_PATH`, then Debian's and others' usual places, then `chromium` on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv && executable(fromEnv)) return fromEnv;
  const known = CANDIDATES.find(executable);
  if (known) return known;
  const which = spawnSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" });
  const found = which.status === 0 ? which.stdout.trim() : "";
  return found && executable(found) ? found : undefined;
}

/** Finds Chromium, or installs Debian's `chromium` with apt-get when running as root; otherwise says why not. */
export async function ensureChromium(log: (line: string) => void = (line) => console.warn(line)): Promise<ChromiumAvailability> {
  const found = findChromium();
  if (found) return { ok: true, path: found };
  const root = process.getuid?.() === 0;
  const apt = spawnSync("sh", ["-c", "command -v apt-get"], { encoding: "utf8" }).status === 0;
  if (!root || !apt) {
    return {
      ok: false,
      reason: `Chromium is not installed (looked for CHROMIUM_PATH, ${CANDIDATES.join(", ")} and chromium on PATH) and ${root ? "apt-get is not available" : "this is not root, so it cannot be installed here"}. ` +
        "Install it (Debian: sudo apt-get install -y chromium) or set CHROMIUM_PATH to run this test.",
    };
  }
  log("Chromium is missing: installing Debian's chromium package (apt-get install -y chromium) …");
  const install = await runProcess("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"], { cwd: "/", env: process.env, timeoutMs: 15 * 60_000 });
  const installed = findChromium();
  if (install.code === 0 && installed) return { ok: true, path: installed };
  return { ok: false, reason: `apt-get install -y chromium failed (exit ${install.code}): ${install.stderr.trim().split("\n").slice(-3).join(" / ")}` };
}

export interface PageRun {
  /** The DOM after load, serialised (`--dump-dom`). */
  readonly dom: string;
  /** URLs of requests the page made (from the NetLog), file: and data: excepted. */
  readonly pageRequests: readonly string[];
}

function flags(userDataDir: string): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    // Nothing resolves: whatever Chromium or the page tries stays on this machine.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    `--user-data-dir=${userDataDir}`,
  ];
}

interface NetLog {
  readonly constants: { readonly logEventTypes: Record<string, number> };
  readonly events: ReadonlyArray<{ readonly type: number; readonly params?: { readonly url?: string; readonly initiator?: string } }>;
}

/** Requests a page initiated, from a NetLog file: URL_REQUEST_START_JOB events not started by the browser itself. */
export function pageRequestsIn(netLogFile: string): string[] {
  // Chromium may leave the file without its closing brackets when it is killed; it exits normally here.
  const log = JSON.parse(readFileSync(netLogFile, "utf8")) as NetLog;
  const startJob = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  return log.events
    .filter((e) => e.type === startJob && e.params?.url !== undefined && e.params.initiator !== "not an origin")
    .map((e) => e.params!.url!)
    .filter((url) => !/^(file|data|about|chrome|blob):/i.test(url));
}

/** Opens `file` (as a file:// URL) in headless Chromium; returns its DOM and the requests it made. */
export async function openPage(chromium: string, file: string, workDir: string): Promise<PageRun> {
  mkdirSync(workDir, { recursive: true });
  const netLog = path.join(workDir, "netlog.json");
  const result = await runProcess(chromium, [...flags(path.join(workDir, "profile-dom")), `--log-net-log=${netLog}`, "--dump-dom", pathToFileURL(file).href], {
    cwd: workDir,
    env: process.env,
    timeoutMs: 60_000,
  });
  if (result.code !== 0) throw new Error(`chromium --dump-dom exited ${result.code}: ${result.stderr.slice(-2000)}`);
  return { dom: result.stdout, pageRequests: pageRequestsIn(netLog) };
}

/** Takes a screenshot of `file` into `png` (`--window-size` wide × tall). */
export async function screenshot(chromium: string, file: string, png: string, workDir: string, size: { readonly width: number; readonly height: number } = { width: 1280, height: 2000 }): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  const result = await runProcess(chromium, [...flags(path.join(workDir, "profile-shot")), `--screenshot=${png}`, `--window-size=${size.width},${size.height}`, "--hide-scrollbars", pathToFileURL(file).href], {
    cwd: workDir,
    env: process.env,
    timeoutMs: 60_000,
  });
  if (result.code !== 0) throw new Error(`chromium --screenshot exited ${result.code}: ${result.stderr.slice(-2000)}`);
}
