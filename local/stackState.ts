/**
 * The state file `npm start` leaves while it runs (`.gallery-watch/local-stack.json`, gitignored):
 * where its storage, host, inbox and simulated ARM are and which app settings its functions use,
 * so the `gallery-watch` CLI talks to that stack with no flags. Removed on a clean stop; a file
 * whose pid is no longer alive (the stack was killed) is ignored.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { LocalStack } from "./stack.js";

export interface LocalStackState {
  readonly pid: number;
  readonly startedAt: string;
  readonly hostUrl: string;
  readonly inboxUrl: string;
  readonly armUrl: string;
  /** The Azurite connection string (Azurite's published development key, nothing secret). */
  readonly storageConnectionString: string;
  /** Every app setting the stack's functions read (what the CLI passes to `loadConfig`). */
  readonly settings: Readonly<Record<string, string>>;
}

/** Overrides where the file is read and written (tests, a second checkout). */
export const STACK_FILE_VARIABLE = "GALLERY_WATCH_STACK_FILE";

export function stackStatePath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env[STACK_FILE_VARIABLE] || path.resolve(import.meta.dirname, "..", ".gallery-watch", "local-stack.json");
}

export function stackStateOf(stack: LocalStack, pid = process.pid, now = new Date()): LocalStackState {
  return {
    pid,
    startedAt: now.toISOString(),
    hostUrl: stack.host.url,
    inboxUrl: stack.inbox.url,
    armUrl: stack.arm.url,
    storageConnectionString: stack.azurite.connectionString,
    settings: { ...stack.settings },
  };
}

export function writeStackState(state: LocalStackState, file = stackStatePath()): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // Owner-only: the settings include the webhook URL, whose `sig=` is a secret on a real tenant.
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Remove the file if it is still ours (another stack may have started since). */
export function removeStackState(file = stackStatePath(), pid = process.pid): void {
  const state = readStackState(file);
  if (state && state.pid !== pid) return;
  rmSync(file, { force: true });
}

export function readStackState(file = stackStatePath()): LocalStackState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, "utf8")) as Partial<LocalStackState>;
    if (typeof state.pid !== "number" || typeof state.settings !== "object" || state.settings === null) return undefined;
    return state as LocalStackState;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The state of a stack that is running now, or undefined. */
export function runningStack(file = stackStatePath()): LocalStackState | undefined {
  const state = readStackState(file);
  return state && isAlive(state.pid) ? state : undefined;
}
