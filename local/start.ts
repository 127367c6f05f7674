/**
 * `npm start`: the whole product on this machine, no Azure account. Starts Azurite, the
 * simulated ARM (seeded with the brief's case studies), a Teams inbox and the local Functions
 * host; replays the case studies; prints what happened; keeps running until stopped.
 *
 * - Settings: the environment over `local.settings.json`'s `Values` (current directory, else the
 *   package root, as Functions Core Tools and the CLI read it) over the local stack's defaults,
 *   validated by `loadConfig` before anything starts. The stack keeps its own storage, ARM
 *   endpoint, certificate and webhook and says which of the person's it set aside.
 * - Ports: the usual ones (Azurite 10000–10002, host 7071, inbox 7072) when free.
 * - `--persist` (or `GW_LOCAL_PERSIST=true`): Azurite's data in `.azurite/` of the checkout
 *   (the current directory, which npm makes the package root); otherwise nothing is written there.
 * - `--once`: exit after the summary (used by the tests).
 * - Stopping: Ctrl-C, SIGTERM, SIGHUP, or the end of the `npm` process that started it (npm
 *   forwards signals to its script only in some versions) all close everything and remove the
 *   temporary folder; Azurite also stops by itself when this process ends (local/azurite.ts).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { consoleLogDestination } from "./consoleLog.js";
import { localStackDefaults, startLocalStack, STACK_OWNED_SETTINGS, type LocalStack } from "./stack.js";
import { caseStudySeed } from "./scenarios/caseStudies.js";
import { caseStudySteps, ids } from "./scenarios/replay.js";
import { waitUntilQuiet } from "./quiet.js";
import { portFallbackLine, portOf } from "./portFallback.js";
import { runtime } from "../shared/wiring/composition.js";
import { loadConfig, SETTINGS } from "../shared/wiring/config.js";
import { ConfigError } from "../shared/domain/errors.js";
import { createLogger } from "../shared/platform/logging.js";
import { removeStackState, stackStateOf, stackStatePath, writeStackState } from "./stackState.js";

const PACKAGE_ROOT = path.resolve(import.meta.dirname, "..");
/** Where `--persist` keeps Azurite's data: `.azurite/` of the checkout (gitignored; npm runs scripts in the package root). */
const PERSIST_FOLDER = path.resolve(process.cwd(), ".azurite");
/** The setting that asks for persistence, like `--persist`; read only by `npm start`, not by the app. */
const PERSIST_SETTING = "GW_LOCAL_PERSIST";
/** `false`: any free ports instead of the usual ones (two checkouts side by side; the tests, which run several stacks at once). */
const USUAL_PORTS_SETTING = "GW_LOCAL_USUAL_PORTS";
const OWN_SETTINGS = [PERSIST_SETTING, USUAL_PORTS_SETTING];

const once = process.argv.includes("--once");
/** The JSON logs of this run, whole, beside the state file; the console gets human lines (consoleLog.ts). */
const JSON_LOG_FILE = stackStatePath().replace(/\.json$/, "") + ".log";
mkdirSync(path.dirname(JSON_LOG_FILE), { recursive: true });
const logDestination = consoleLogDestination({ write: (line) => process.stderr.write(line), jsonFile: JSON_LOG_FILE });
const log = createLogger({ level: process.env.GW_LOG_LEVEL ?? "warn", destination: logDestination, base: { process: "npm start" } });
// The JSON log stays after a stop for whoever wants to read it; an empty one is litter.
process.once("exit", () => {
  try {
    if (statSync(JSON_LOG_FILE).size === 0) rmSync(JSON_LOG_FILE, { force: true });
  } catch {
    // Already gone.
  }
});
// A reader that went away (a closed pipe) must not turn a clean stop into a crash.
process.stdout.on("error", () => undefined);
const say = (line: string) => process.stdout.write(`${line}\n`);

interface PersonSettings {
  /** Every setting the person gave, the environment over the file (empty values count as unset, as in loadConfig). */
  readonly values: Record<string, string>;
  /** Where each came from, for the printout. */
  readonly source: Record<string, string>;
  readonly file?: string;
}

function readPersonSettings(env: NodeJS.ProcessEnv, cwd: string): PersonSettings {
  const values: Record<string, string> = {};
  const source: Record<string, string> = {};
  let file: string | undefined;
  for (const dir of new Set([cwd, PACKAGE_ROOT])) {
    const candidate = path.join(dir, "local.settings.json");
    if (!existsSync(candidate)) continue;
    file = candidate;
    let parsed: { Values?: Record<string, unknown> };
    try {
      parsed = JSON.parse(readFileSync(candidate, "utf8")) as { Values?: Record<string, unknown> };
    } catch (error) {
      throw new Error(`${candidate} is not valid JSON: ${(error as Error).message}`);
    }
    for (const [name, value] of Object.entries(parsed.Values ?? {})) {
      if (typeof value === "string" && value.trim() !== "") {
        values[name] = value;
        source[name] = "local.settings.json";
      }
    }
    break;
  }
  // Only the app's settings (and ours) from the environment: it holds much else.
  const names = new Set([...SETTINGS.map((s) => s.name), ...OWN_SETTINGS]);
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") {
      values[name] = value;
      source[name] = "the environment";
    }
  }
  return { values, source, ...(file ? { file } : {}) };
}

/** What the stack will set itself; stand-ins so the person's other settings can be validated before anything starts. */
const OWNED_STAND_INS: Readonly<Record<string, string>> = {
  AzureWebJobsStorage: "UseDevelopmentStorage=true",
  GW_ARM_ENDPOINT: "https://127.0.0.1",
  GW_TEAMS_WEBHOOK_URL: "http://127.0.0.1/webhook?sig=local",
};

let stack: LocalStack | undefined;
let stopping: Promise<void> | undefined;

/** Close everything once, whatever asked first; exit 0 (a requested stop is not a failure). */
function stop(reason: string): Promise<void> {
  stopping ??= (async () => {
    say(`\ngallery-watch: ${reason}, stopping …`);
    removeStackState();
    // A stack still starting is closed by main() once startLocalStack returns.
    await stack?.close();
    if (stack) process.exit(0);
  })();
  return stopping;
}

/**
 * The processes that stand for "the person's command" above us: the parent, and when npm runs
 * us through `sh -c`, up to and including npm itself. If one of them ends, nobody is left to
 * stop us (npm does not forward SIGTERM in every version), so we stop. Linux /proc; elsewhere
 * only the parent is watched (its pid changes to the reaper's when it ends).
 */
function watchLaunchers(onGone: (what: string) => void): void {
  const startTime = (pid: number): string | undefined => {
    try {
      // Field 22 (starttime), counted after the parenthesised command name, which may hold spaces.
      return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[19];
    } catch {
      return undefined;
    }
  };
  const parentOf = (pid: number): number | undefined => {
    try {
      return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
    } catch {
      return undefined;
    }
  };
  const commandOf = (pid: number): string => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {
      return "";
    }
  };
  const watched: Array<{ pid: number; started: string | undefined }> = [];
  let pid: number | undefined = process.ppid;
  for (let depth = 0; pid !== undefined && pid > 1 && depth < 4; depth++) {
    watched.push({ pid, started: startTime(pid) });
    // Under npm: keep climbing through the shell until npm itself; otherwise the parent is enough.
    if (!process.env.npm_lifecycle_event || /\bnpm(-cli\.js)?\b/.test(commandOf(pid))) break;
    pid = parentOf(pid);
  }
  const firstParent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== firstParent) return onGone("the process that started it ended");
    for (const w of watched) {
      const alive = existsSync(`/proc/${w.pid}`) ? startTime(w.pid) === w.started : process.platform !== "linux";
      if (!alive) return onGone(`its launcher (pid ${w.pid}) ended`);
    }
  }, 250);
  timer.unref();
}

async function main(): Promise<void> {
  // Handlers first: a stop during start-up must still close what has started (process.on, not once:
  // a group signal and npm's forwarded copy can both arrive, and a second one must not kill us mid-cleanup).
  process.on("SIGINT", () => void stop("Ctrl-C"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGHUP", () => void stop("the terminal closed"));
  watchLaunchers((what) => void stop(what));

  const person = readPersonSettings(process.env, process.cwd());
  const flag = (name: string, fix: string): boolean | undefined => {
    const value = person.values[name];
    if (value === undefined) return undefined;
    if (!/^(true|false)$/i.test(value)) problems.push({ setting: name, problem: `'${value.slice(0, 40)}' is neither true nor false`, fix });
    return value.toLowerCase() === "true";
  };
  const problems: ConstructorParameters<typeof ConfigError>[0][number][] = [];
  const persist = process.argv.includes("--persist") || flag(PERSIST_SETTING, "set it to true (keep Azurite's data in .azurite/) or false") === true;
  const usualPorts = flag(USUAL_PORTS_SETTING, "set it to true (Azurite 10000–10002, host 7071 when free) or false (any free ports)") !== false;
  const set = Object.fromEntries(Object.entries(person.values).filter(([name]) => !OWN_SETTINGS.includes(name)));
  const owned = new Set<string>(STACK_OWNED_SETTINGS);
  const setAside = Object.keys(set).filter((name) => owned.has(name));
  const given = Object.fromEntries(Object.entries(set).filter(([name]) => !owned.has(name)));
  // The person's settings over the stack's defaults, validated as the function app will validate them.
  const defaults = localStackDefaults({ persist });
  try {
    loadConfig({ ...defaults, ...given, ...OWNED_STAND_INS });
  } catch (error) {
    // One message naming every bad setting, ours included.
    if (error instanceof ConfigError) problems.unshift(...error.problems);
    else throw error;
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const now = new Date();
  say("gallery-watch: starting Azurite, the simulated Azure control plane, a Teams inbox and the local Functions host …");
  if (person.file) say(`Settings: the environment over ${path.relative(process.cwd(), person.file) || person.file} over the local stack's defaults`);
  else say("Settings: the environment over the local stack's defaults (no local.settings.json)");
  const secret = new Set(SETTINGS.filter((s) => s.secret).map((s) => s.name));
  for (const [name, value] of Object.entries(given).sort(([a], [b]) => a.localeCompare(b))) {
    say(`  ${name}=${secret.has(name) ? "(set)" : value}   (from ${person.source[name]})`);
  }
  if (setAside.length > 0) {
    say(`  The local stack uses its own ${setAside.join(", ")} (its Azurite, simulated ARM and Teams inbox); the value${setAside.length > 1 ? "s" : ""} from ${[...new Set(setAside.map((n) => person.source[n]))].join(" and ")} ${setAside.length > 1 ? "are" : "is"} not used here.`);
  }

  const started = await startLocalStack({
    seed: caseStudySeed(undefined, now),
    log,
    logDestination,
    settings: given,
    usualPorts,
    findingsFeed: true,
    ...(persist ? { persistLocation: PERSIST_FOLDER } : {}),
  });
  stack = started;
  if (stopping) {
    // Stopped while starting: close what started, then leave.
    await started.close();
    process.exit(0);
  }
  // The `gallery-watch` CLI finds this stack through the state file; it goes when the stack does.
  writeStackState(stackStateOf(started));
  process.once("exit", () => removeStackState());

  const ca = started.caCertFile;
  say(`Simulated ARM: ${started.arm.url}   (trust ${ca}; any bearer token, a JWT names the caller)`);
  say(`Subscription: ${started.subscriptionId}`);
  say(`Teams inbox: ${started.inbox.url}`);
  say(`Findings feed: ${started.inbox.url}/events.json   (the CloudEvents the simulated Event Grid topic received)`);
  say(`Functions host: ${started.host.url}   (GET /api/resources/history?id=<ARM id>&asOf=<time>)`);
  say(`  Keys, enforced as Azure's Functions host does (new each start): the API needs the function key, Event Grid's webhook the eventgrid_extension system key, /admin the master key:`);
  say(`  curl -sS -H "x-functions-key: ${started.keys.function}" "${started.host.url}/api/findings"`);
  say(`  curl -sS -X POST -H "aeg-event-type: Notification" -H "content-type: application/json" -d '[]' "${started.host.url}/runtime/webhooks/eventgrid?functionName=eventGridResourceEvent&code=${started.keys.eventGridSystem}"`);
  say(`  curl -sS -X POST -H "x-functions-key: ${started.keys.master}" -H "content-type: application/json" -d '{}' "${started.host.url}/admin/functions/nightlySweep"`);
  if (started.issueToken) say(`  App Service authentication is modelled (GW_ENABLE_ENTRA_AUTH): the API takes a bearer token instead of the key:\n  curl -sS -H "Authorization: Bearer ${started.issueToken()}" "${started.host.url}/api/findings"`);
  say(`Azurite: blob ${started.azurite.blobUrl}, queue ${started.azurite.queueUrl}, table ${started.azurite.tableUrl}`);
  const a = started.azurite;
  const moved = usualPorts ? portFallbackLine({ blob: portOf(a.blobUrl), queue: portOf(a.queueUrl), table: portOf(a.tableUrl), host: portOf(started.host.url), inbox: portOf(started.inbox.url) }) : undefined;
  if (moved) say(moved);
  say(`Logs: one line each here; every log line as JSON in ${path.relative(process.cwd(), JSON_LOG_FILE) || JSON_LOG_FILE}`);
  say(persist ? `Storage data is kept in ${path.relative(process.cwd(), PERSIST_FOLDER) || PERSIST_FOLDER}/ across restarts (--persist).` : "Storage data is in memory only (npm start -- --persist keeps it in .azurite/).");
  say("");
  say("Try it (the gateway image version, as Priya reads it):");
  say(`  curl -sS --cacert ${ca} -H "Authorization: Bearer ${exampleToken()}" "${started.arm.url}${ids(started).plantVersion}?api-version=2025-03-03"`);
  say("");
  await replay(started, now);
  await summarise(started);
  if (once) {
    removeStackState();
    await started.close();
    return;
  }
  say(`\nThe gallery-watch CLI talks to this stack (state in ${path.relative(process.cwd(), stackStatePath()) || stackStatePath()}): npx gallery-watch --help`);
  say("\nRunning. Drive the simulated ARM with curl and watch the Teams inbox; Ctrl-C stops everything.");
}

/** An unsigned JWT naming a caller: the simulator reads the caller from it (a stand-in for Entra ID; nothing is verified). */
function exampleToken(): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part({ name: "Priya Patel", upn: "priya.patel@contoso.example" })}.`;
}

async function replay(stack: LocalStack, now: Date): Promise<void> {
  for (const [index, step] of caseStudySteps(now).entries()) {
    const before = stack.inbox.cards().length;
    await step.run(stack);
    await waitUntilQuiet(stack);
    const cards = stack.inbox.cards().slice(before);
    say(`[case study ${step.study}] ${index + 1}. ${step.title}`);
    say(`    expected: ${step.expect}`);
    say(`    cards:    ${cards.length === 0 ? "none" : cards.map((c) => cardTitle(c.card)).join(" | ")}`);
  }
}

async function summarise(stack: LocalStack): Promise<void> {
  const stats = stack.host.stats().invocations;
  const events = stats.eventGridResourceEvent ?? { succeeded: 0, failed: 0 };
  const kinds: Record<string, number> = {};
  for (const { card } of stack.inbox.cards()) {
    const kind = /\b(opened|de-escalated|escalated|excepted|reopened|resolved)\b/i.exec(cardTitle(card))?.[1]?.toLowerCase() ?? "other";
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  say("\nSummary");
  say(`  events processed:  ${events.succeeded} (${events.failed} failed and retried)`);
  const counts = runtime().eventCounts;
  say(`  events judged:     ${counts.accepted} accepted, ${counts.ignored} ignored (${counts.unwatched} from unwatched subscriptions), ${counts.invalid} refused`);
  say(`  findings:          ${["opened", "escalated", "de-escalated", "excepted", "reopened", "resolved"].map((k) => `${kinds[k] ?? 0} ${k}`).join(", ")}`);
  say(`  cards delivered:   ${stack.inbox.cards().length}`);
  say(`  feed events:       ${stack.topic?.events().length ?? 0} (CloudEvents on the simulated Event Grid topic)`);
  say(`Teams inbox: ${stack.inbox.url}`);
  say(`Simulated ARM: ${stack.arm.url}`);
}

/** The first TextBlock that reads like a heading. */
function cardTitle(message: unknown): string {
  const card = (message as { attachments?: Array<{ content?: { body?: unknown[] } }> }).attachments?.[0]?.content;
  const texts: string[] = [];
  const walk = (node: unknown) => {
    if (texts.length > 0 || node === null || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    if (n.type === "TextBlock" && typeof n.text === "string") texts.push(n.text);
    for (const value of Object.values(n)) if (typeof value === "object") Array.isArray(value) ? value.forEach(walk) : walk(value);
  };
  walk(card?.body ?? []);
  return texts[0] ?? "(card)";
}

main().catch(async (error: unknown) => {
  // A stop already under way explains whatever failed meanwhile (the replay's requests to a closing stack).
  if (stopping) {
    await stopping;
    process.exit(0);
  }
  process.stderr.write(error instanceof ConfigError ? `${error.message}\n` : `gallery-watch: ${error instanceof Error ? error.message : String(error)}\n`);
  await stack?.close().catch(() => undefined);
  process.exit(1);
});
