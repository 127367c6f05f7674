/**
 * Runs `npm start` (or `local/start.ts` directly) as a person would, and reads back what it
 * printed: its ports, its temporary folder, its processes, so a test can check that a stop left
 * nothing behind. Linux: processes are found through /proc.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import os from "node:os";
import path from "node:path";

export const root = path.resolve(import.meta.dirname, "../..");
const tsx = path.join(root, "node_modules/.bin/tsx");

export interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;
  until(pattern: RegExp, ms?: number): Promise<void>;
  output(): string;
}

function watch(child: ChildProcessWithoutNullStreams): Started {
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const until = async (pattern: RegExp, ms = 120_000) => {
    const deadline = Date.now() + ms;
    while (!pattern.test(output) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    if (!pattern.test(output)) throw new Error(`never printed ${pattern}; output:\n${output}`);
  };
  return { child, exited, until, output: () => output };
}

/** A state file of the test's own, so a person's `npm start` in this checkout (and the CLI's tests) are not disturbed. */
const stateFile = (dir = os.tmpdir()) => path.join(dir, `gw-stack-${process.pid}-${Math.random().toString(36).slice(2)}.json`);

/** `npm start -- <args>` in the checkout, in a process group of its own (so a test can signal the group, as a terminal does). */
export function npmStart(args: string[] = [], env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn("npm", ["start", ...(args.length > 0 ? ["--", ...args] : [])], {
    cwd: root,
    env: { ...process.env, GW_LOG_LEVEL: "error", GALLERY_WATCH_STACK_FILE: stateFile(), ...env },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  return watch(child);
}

/** `local/start.ts` run directly (tsx), from `cwd`: where it looks for local.settings.json first and keeps `.azurite/`. */
export function startScript(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Started {
  const child = spawn(tsx, [path.join(root, "local/start.ts"), ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, GW_LOG_LEVEL: "error", GALLERY_WATCH_STACK_FILE: stateFile(), ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  return watch(child);
}

export const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });

/** Every port and the temporary folder `npm start` printed. */
export function printed(output: string): { ports: number[]; tempDir: string; inbox: string; arm: string; host: string } {
  const one = (re: RegExp) => {
    const m = re.exec(output)?.[1];
    if (!m) throw new Error(`not printed: ${re}; output:\n${output}`);
    return m;
  };
  const inbox = one(/^Teams inbox: (http:\/\/127\.0\.0\.1:\d+)$/m);
  const arm = one(/^Simulated ARM: (https:\/\/127\.0\.0\.1:\d+)/m);
  const host = one(/^Functions host: (http:\/\/127\.0\.0\.1:\d+)/m);
  const azurite = one(/^(Azurite: .*)$/m);
  const ports = [inbox, arm, host].map((u) => Number(new URL(u).port));
  for (const m of azurite.matchAll(/127\.0\.0\.1:(\d+)/g)) ports.push(Number(m[1]));
  const ca = one(/\(trust (\S+\.pem);/);
  return { ports, tempDir: path.dirname(ca), inbox, arm, host };
}

interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly started: string;
  readonly cmdline: string;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ");
      out.push({ pid: Number(entry), ppid: Number(stat[1]), started: stat[19]!, cmdline: readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ") });
    } catch {
      // Ended while we looked.
    }
  }
  return out;
}

/** The process and everything under it, now. */
export function descendants(pid: number): Proc[] {
  const all = processes();
  const found = all.filter((p) => p.pid === pid);
  for (let i = 0; i < found.length; i++) found.push(...all.filter((p) => p.ppid === found[i]!.pid));
  return found;
}

/** What is still there of a stopped stack: processes from before the stop, processes naming its ports or folder, listeners, the folder. */
export async function leftovers(before: readonly Proc[], stack: ReturnType<typeof printed>): Promise<string[]> {
  const now = processes();
  const left: string[] = [];
  for (const p of before) if (now.some((q) => q.pid === p.pid && q.started === p.started)) left.push(`process ${p.pid}: ${p.cmdline.slice(0, 120)}`);
  for (const p of now) {
    if (p.pid === process.pid) continue;
    if (p.cmdline.includes(stack.tempDir) || stack.ports.some((port) => new RegExp(`(Port |127\\.0\\.0\\.1:)${port}\\b`).test(p.cmdline))) left.push(`process ${p.pid} names the stack: ${p.cmdline.slice(0, 120)}`);
  }
  for (const port of stack.ports) if (await listening(port)) left.push(`port ${port} still listening`);
  if (existsSync(stack.tempDir)) left.push(`folder ${stack.tempDir} still there`);
  return [...new Set(left)];
}

/** Wait until nothing is left (a stop takes a moment); answers what is still there at the deadline. */
export async function waitForNothingLeft(before: readonly Proc[], stack: ReturnType<typeof printed>, ms = 20_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  let left = await leftovers(before, stack);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    left = await leftovers(before, stack);
  }
  return left;
}

/** Test hygiene only: whatever a failed test left running is killed. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
