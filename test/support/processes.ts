/** Runs a child process to its end, collecting what it printed; killed (and rejected) past the deadline. */
import { spawn } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { STACK_FILE_VARIABLE } from "../../local/stackState.js";

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runProcess(command: string, args: readonly string[], options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly timeoutMs?: number }): Promise<ProcessResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `gallery-watch …` from this checkout's TypeScript sources (never a dist/ some build left
 * behind), with `settings` as its environment and no `npm start` state file, so a developer's own
 * running stack is never picked up.
 */
export function runCli(args: readonly string[], options: { readonly cwd: string; readonly settings: Readonly<Record<string, string>>; readonly timeoutMs?: number }): Promise<ProcessResult> {
  const main = pathToFileURL(path.resolve(import.meta.dirname, "../../cli/main.ts")).href;
  const sources = `const cli = await import(${JSON.stringify(main)}); await cli.run(process.argv.slice(1));`;
  const env = { ...process.env, ...options.settings, [STACK_FILE_VARIABLE]: path.join(options.cwd, "no-such-stack.json") };
  return runProcess(process.execPath, ["--import", import.meta.resolve("tsx"), "--input-type=module", "-e", sources, "--", ...args], { cwd: options.cwd, env, timeoutMs: options.timeoutMs ?? 60_000 });
}
