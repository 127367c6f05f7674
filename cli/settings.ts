/**
 * Where the CLI reads its settings, first match wins:
 * 1. the state file of an `npm start` stack running in this checkout (its pid is alive): the
 *    very app settings that stack's functions use;
 * 2. otherwise the environment over `local.settings.json`'s `Values` (current directory, else
 *    the package root), as Functions Core Tools does: a variable already in the environment wins
 *    (https://learn.microsoft.com/azure/azure-functions/functions-develop-local#local-settings-file).
 * Either way the result goes through `loadConfig`, so a wrong setting stops the CLI with the same
 * message the function app would give.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { loadConfig, type Config } from "../shared/config.js";
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

export function resolveSettings(env: Readonly<Record<string, string | undefined>> = process.env, cwd = process.cwd(), storageAccount?: string): SettingsSource {
  if (storageAccount) {
    // Identity-based, as the function app itself reads it in Azure: DefaultAzureCredential (az login) and the account name.
    const settings: Record<string, string | undefined> = { ...localSettingsValues(cwd).values };
    for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== "") settings[name] = value;
    delete settings.AzureWebJobsStorage;
    settings.AzureWebJobsStorage__accountName = storageAccount;
    settings.GW_TEAMS_WEBHOOK_URL ??= NO_WEBHOOK;
    return { config: loadConfig(settings), description: `storage account '${storageAccount}' with the signed-in identity (DefaultAzureCredential)` };
  }
  const stack = runningStack(stackStatePath(env));
  if (stack) {
    return { config: loadConfig(stack.settings), description: `the local stack started by npm start (pid ${stack.pid}, host ${stack.hostUrl})`, stack };
  }
  const { values, file } = localSettingsValues(cwd);
  const settings: Record<string, string | undefined> = { ...values };
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== "") settings[name] = value;
  return { config: loadConfig(settings), description: file ? `the environment over ${file}` : "the environment (no local.settings.json found)" };
}
