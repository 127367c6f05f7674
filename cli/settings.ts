/**
 * Where the CLI reads its settings, first match wins:
 * 1. the state file of an `npm start` stack running in this checkout (its pid is alive): the
 *    very app settings that stack's functions use;
 * 2. otherwise the environment over `local.settings.json`'s `Values` (current directory, else
 *    the package root), as Functions Core Tools does: a variable already in the environment wins
 *    (https://learn.microsoft.com/azure/azure-functions/functions-develop-local#local-settings-file).
 * Either way the result goes through `loadConfig`, so a wrong setting stops the CLI with the same
 * message the function app would give; a read-only command passes it only the settings it reads
 * (`SettingsNeeds`). With no stack and no storage setting at all, one line says the two ways out.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { loadConfig, type Config } from "../shared/wiring/config.js";
import { runningStack, stackStatePath, type LocalStackState } from "../local/stackState.js";

export interface SettingsSource {
  readonly config: Config;
  /** One line for `--verbose`: where the settings came from. */
  readonly description: string;
  readonly stack?: LocalStackState;
}

const PACKAGE_ROOT = path.resolve(import.meta.dirname, "..");

function localSettingsValues(cwd: string): { values: Record<string, string>; file?: string } {
  for (const dir of [...new Set([cwd, PACKAGE_ROOT])]) {
    const file = path.join(dir, "local.settings.json");
    if (!existsSync(file)) continue;
    let parsed: { Values?: Record<string, unknown> };
    try {
      parsed = JSON.parse(readFileSync(file, "utf8")) as { Values?: Record<string, unknown> };
    } catch (error) {
      throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
    }
    const values = Object.fromEntries(Object.entries(parsed.Values ?? {}).filter((e): e is [string, string] => typeof e[1] === "string"));
    return { values, file };
  }
  return { values: {} };
}

/** The Teams webhook is needed only to send (digest); reading a storage account must not require it. */
const NO_WEBHOOK = "https://teams.invalid/not-configured-for-this-cli-session";

/**
 * The settings a command reads: "all" for those that run the app's jobs (sweep, digest, reindex);
 * a list for the read-only ones, which validate only those (findings needs no Teams webhook and
 * no watched subscriptions), so a setting they never use can never stop them.
 */
export type SettingsNeeds = "all" | readonly string[];

/** Where the stored data is: every read command needs it. */
export const READ_STORAGE: readonly string[] = [
  "AzureWebJobsStorage",
  "AzureWebJobsStorage__accountName",
  "AzureWebJobsStorage__tableServiceUri",
  "AzureWebJobsStorage__queueServiceUri",
  "AzureWebJobsStorage__credential",
  "AzureWebJobsStorage__clientId",
  "GW_TABLE_PREFIX",
];
/** The stored data and which subscriptions are watched (images, report). */
export const READ_WATCHED: readonly string[] = [...READ_STORAGE, "GW_WATCHED_SUBSCRIPTIONS"];

/** Stand-ins for required settings a command does not read, so validation passes without them. */
const NOT_READ: Readonly<Record<string, string>> = {
  GW_WATCHED_SUBSCRIPTIONS: "00000000-0000-0000-0000-000000000000",
  GW_TEAMS_WEBHOOK_URL: NO_WEBHOOK,
};

/** No running stack, no storage setting: the one line that says the two ways out. */
export class NoStorageConfiguredError extends Error {
  constructor() {
    super("no local stack is running; start it with `npm start`, or pass `--storage-account <name>` (or set AzureWebJobsStorage).");
    this.name = "NoStorageConfiguredError";
  }
}

function validated(settings: Record<string, string | undefined>, needs: SettingsNeeds): Config {
  if (!settings.AzureWebJobsStorage && !settings.AzureWebJobsStorage__accountName) throw new NoStorageConfiguredError();
  if (needs === "all") return loadConfig(settings);
  const read: Record<string, string | undefined> = Object.fromEntries(needs.map((name) => [name, settings[name]]));
  for (const [name, standIn] of Object.entries(NOT_READ)) if (!needs.includes(name)) read[name] = standIn;
  return loadConfig(read);
}

export function resolveSettings(env: Readonly<Record<string, string | undefined>> = process.env, cwd = process.cwd(), storageAccount?: string, needs: SettingsNeeds = "all"): SettingsSource {
  if (storageAccount) {
    // Identity-based, as the function app itself reads it in Azure: DefaultAzureCredential (az login) and the account name.
    const settings: Record<string, string | undefined> = { ...localSettingsValues(cwd).values };
    for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== "") settings[name] = value;
    delete settings.AzureWebJobsStorage;
    settings.AzureWebJobsStorage__accountName = storageAccount;
    settings.GW_TEAMS_WEBHOOK_URL ??= NO_WEBHOOK;
    return { config: validated(settings, needs), description: `storage account '${storageAccount}' with the signed-in identity (DefaultAzureCredential)` };
  }
  const stack = runningStack(stackStatePath(env));
  if (stack) {
    return { config: validated({ ...stack.settings }, needs), description: `the local stack started by npm start (pid ${stack.pid}, host ${stack.hostUrl})`, stack };
  }
  const { values, file } = localSettingsValues(cwd);
  const settings: Record<string, string | undefined> = { ...values };
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== "") settings[name] = value;
  return { config: validated(settings, needs), description: file ? `the environment over ${file}` : "the environment (no local.settings.json found)" };
}
