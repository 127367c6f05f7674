/**
 * `npm run az:login [-- --user <upn>]`: Microsoft's Azure CLI (`az`) against the running
 * `npm start` stack, in a configuration folder of its own so the person's `~/.azure` is never
 * touched:
 *
 * 1. reads the stack's state file (local/stackState.ts) for the simulated ARM's URL and CA file;
 * 2. makes a CA bundle for `az` (Python `requests` reads `REQUESTS_CA_BUNDLE`): the public CAs az
 *    ships with (certifi's bundle) and the simulator's CA, each ending in a newline;
 * 3. in a fresh `AZURE_CONFIG_DIR` (`az/` next to the state file: `.gallery-watch/az/`, gitignored),
 *    turns telemetry off, registers the cloud `GalleryWatchLocal` from the simulator's
 *    `/metadata/endpoints` (its login endpoint ends in `/adfs`, so MSAL asks the simulator, never
 *    Microsoft's login host), selects it, and signs in as the user (any password: the local token
 *    endpoint issues an unsigned token naming that user, which the events' claims then carry);
 * 4. writes `env.sh` there and prints the two `export` lines to paste.
 *
 * The simulated ARM listens on a new port at each `npm start`, so run this again after a restart.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { LOCAL_CLOUD_NAME } from "./armSimulator/cliSurface.js";
import { runningStack, stackStatePath } from "./stackState.js";

/** Who signs in unless `--user` says otherwise (the simulator's default caller). */
export const DEFAULT_AZ_USER = "dev@contoso.example";

export interface AzSession {
  readonly configDir: string;
  readonly caBundle: string;
  readonly user: string;
  readonly subscriptionId: string;
  /** The variables `az` needs, for a child process's environment. */
  readonly env: Readonly<Record<string, string>>;
}

/** Where the CLI's configuration for the stack of this state file lives. */
export function azConfigDir(stateFile = stackStatePath()): string {
  return path.join(path.dirname(stateFile), "az");
}

/** The public CA bundle `az` would use without REQUESTS_CA_BUNDLE: certifi's (Debian points it at the system store). */
function publicCaBundle(): string | undefined {
  // The Python that runs az (its script's #! line), not whichever python3 comes first on PATH.
  const azPath = spawnSync("sh", ["-c", "command -v az"], { encoding: "utf8" }).stdout.trim();
  const python = (azPath && /^#!\s*(\S+)/.exec(readFileSync(azPath, "utf8").slice(0, 200))?.[1]) || "python3";
  const probe = spawnSync(python, ["-c", "import certifi; print(certifi.where())"], { encoding: "utf8" });
  const fromCertifi = probe.status === 0 ? probe.stdout.trim() : "";
  for (const candidate of [fromCertifi, "/etc/ssl/certs/ca-certificates.crt"]) if (candidate && existsSync(candidate)) return candidate;
  return undefined;
}

const withNewline = (text: string) => (text.endsWith("\n") ? text : `${text}\n`);

export function azLogin(options: { user?: string; stateFile?: string; say?: (line: string) => void } = {}): AzSession {
  const say = options.say ?? ((line: string) => process.stdout.write(`${line}\n`));
  const stateFile = options.stateFile ?? stackStatePath();
  const stack = runningStack(stateFile);
  if (!stack) throw new Error(`no running local stack (no live ${stateFile}): start it with npm start, then run npm run az:login again`);
  const caFile = stack.settings.GW_ARM_CA_CERT_FILE;
  if (!caFile || !existsSync(caFile)) throw new Error(`the stack's CA file (${caFile ?? "GW_ARM_CA_CERT_FILE unset"}) is missing`);
  const subscriptionId = stack.settings.GW_WATCHED_SUBSCRIPTIONS?.split(",")[0]?.trim();
  if (!subscriptionId) throw new Error("the stack's state names no watched subscription");
  const user = options.user ?? DEFAULT_AZ_USER;

  const configDir = azConfigDir(stateFile);
  // Ours alone (never the person's ~/.azure): start clean, so an old cloud URL or token cannot linger.
  rmSync(configDir, { recursive: true, force: true });
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const caBundle = path.join(configDir, "ca-bundle.pem");
  const publicBundle = publicCaBundle();
  // The simulator's CA file has no final newline: concatenated as is, its END line and the next BEGIN line would merge.
  writeFileSync(caBundle, (publicBundle ? withNewline(readFileSync(publicBundle, "utf8")) : "") + withNewline(readFileSync(caFile, "utf8")));
  say(`Azure CLI configuration: ${configDir} (your ~/.azure is not touched)`);
  say(`CA bundle: ${caBundle} (${publicBundle ? `${publicBundle} and ` : ""}the simulator's CA ${caFile})`);

  const env: Record<string, string> = { AZURE_CONFIG_DIR: configDir, REQUESTS_CA_BUNDLE: caBundle };
  const az = (args: string[], what: string) => {
    say(`  az ${args.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(" ")}   (${what})`);
    try {
      return execFileSync("az", args, { env: { ...process.env, ...env, AZURE_CORE_COLLECT_TELEMETRY: "false" }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
    } catch (error) {
      const failed = error as { stderr?: string; code?: string };
      if (failed.code === "ENOENT") throw new Error("az is not installed: apt-get install azure-cli (Debian), or see https://learn.microsoft.com/cli/azure/install-azure-cli", { cause: error });
      throw new Error(`az ${args[0]} ${args[1] ?? ""} failed: ${(failed.stderr ?? "").trim()}`, { cause: error });
    }
  };
  az(["config", "set", "core.collect_telemetry=false", "core.survey_message=false", "--only-show-errors"], "no telemetry or surveys from this folder");
  az(["cloud", "register", "--name", LOCAL_CLOUD_NAME, "--endpoint-resource-manager", stack.armUrl, "--only-show-errors"], `the simulated ARM at ${stack.armUrl}; login endpoint and audience from its /metadata/endpoints`);
  az(["cloud", "set", "--name", LOCAL_CLOUD_NAME, "--only-show-errors"], "use it");
  az(["login", "--username", user, "--password", "local", "--output", "none", "--only-show-errors"], `sign in as ${user} at the simulator's token endpoint (any password)`);
  az(["account", "set", "--subscription", subscriptionId, "--only-show-errors"], `the stack's watched subscription`);

  const exports = `export AZURE_CONFIG_DIR=${configDir} REQUESTS_CA_BUNDLE=${caBundle}`;
  writeFileSync(path.join(configDir, "env.sh"), `${exports}\n`);
  say("");
  say(`Signed in as ${user}; subscription ${subscriptionId}. In the terminal where you run az, paste:`);
  say(`  ${exports}`);
  say(`(or: source ${path.join(configDir, "env.sh")}). Then try: az group list -o table`);
  say("The simulated ARM gets a new port at each npm start: run npm run az:login again after a restart.");
  return { configDir, caBundle, user, subscriptionId, env };
}

function userArgument(argv: readonly string[]): string | undefined {
  const index = argv.findIndex((a) => a === "--user" || a === "-u");
  if (index >= 0) return argv[index + 1];
  return argv.find((a) => a.startsWith("--user="))?.slice("--user=".length);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const user = userArgument(process.argv.slice(2));
    azLogin(user ? { user } : {});
  } catch (error) {
    process.stderr.write(`az:login: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
