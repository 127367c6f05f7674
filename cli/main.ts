/**
 * `gallery-watch`: operate the watcher from a terminal, in the Azure CLI's manner
 * (https://learn.microsoft.com/cli/azure/format-output-azure-cli, https://learn.microsoft.com/cli/azure/query-azure-cli):
 * `--output json|jsonc|table|tsv|yaml|yamlc|none|csv`, `--query` (JMESPath), `--verbose` /
 * `--debug` / `--only-show-errors`, results on stdout, everything else on stderr, and az's exit
 * codes ("Error handling" in azure-cli's doc/error_handling_guidelines.md; knack and argparse):
 * 0 success, 1 an error, 2 a usage error (a bad argument or option, commander's own included),
 * 3 a resource not found.
 */
import { systemClock } from "../shared/platform/clock.js";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Command, CommanderError, Option } from "commander";
import { ConfigError } from "../shared/domain/errors.js";
import { createContext, type CliIo, type ContextFor, type GlobalOptions } from "./context.js";
import { OUTPUT_FORMATS, queryArgument } from "./output.js";
import { InvalidQueryError } from "../shared/app/queries.js";
import { UnknownResourceError } from "../shared/app/pointInTime.js";
import { sweepCommand } from "./commands/sweep.js";
import { digestCommand } from "./commands/digest.js";
import { policyCommand } from "./commands/policy.js";
import { reportCommand } from "./commands/report.js";
import { historyCommand } from "./commands/history.js";
import { imagesCommand } from "./commands/images.js";
import { usageCommand } from "./commands/usage.js";
import { findingsCommand } from "./commands/findings.js";
import { changesCommand } from "./commands/changes.js";
import { reindexCommand } from "./commands/reindex.js";
import { alertsCommand } from "./commands/alerts.js";

// ../package.json from the sources, ../../package.json from dist/cli.
const packageJson = [path.resolve(import.meta.dirname, "..", "package.json"), path.resolve(import.meta.dirname, "..", "..", "package.json")].find((f) => existsSync(f))!;
const version = (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;

export function buildProgram(io: CliIo): Command {
  const program = new Command("gallery-watch")
    .description("Watches Azure Compute Gallery images and alerts when Specialized images spread where they must not. Operate it from here.")
    .version(version)
    .addOption(new Option("-o, --output <format>", "output format (jsonc and yamlc are coloured on a terminal)").choices(OUTPUT_FORMATS).default("table"))
    .addOption(new Option("--query <JMESPath>", "JMESPath query applied to the result before it is formatted (https://jmespath.org)").argParser(queryArgument))
    .option("--storage-account <name>", "read gallery-watch's storage account in Azure with your signed-in identity (az login; Storage Table Data Reader is enough for the read commands), no connection string")
    .option("--verbose", "say where the settings come from and log progress")
    .option("--debug", "log everything, and show stack traces")
    .option("--only-show-errors", "print only errors on stderr (no notes or warnings)")
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  gallery-watch findings --severity critical\n" +
        "  gallery-watch findings --output json --query \"[?status=='open'].resourceId\"\n" +
        "  gallery-watch changes --since 24h --query \"[].{time: time, who: callerUpn, what: operation}\" --output tsv\n" +
        "  gallery-watch images --output yaml\n" +
        "\nExit codes: 0 success, 1 error, 2 usage error (a bad argument or option), 3 resource not found.\n" +
        "\nSettings: while `npm start` runs in this checkout, the CLI uses that local stack (its state file .gallery-watch/local-stack.json).\n" +
        "Otherwise it reads the app settings from the environment over local.settings.json (Values), validated as the function app does;\n" +
        "a read-only command (findings, changes, history, images, report, policy) checks only the settings it reads.\n",
    );
  const context: ContextFor = (command, needs) => createContext(io, command.optsWithGlobals<GlobalOptions>(), needs);
  for (const command of [sweepCommand(context), digestCommand(context), policyCommand(context), reportCommand(context), historyCommand(context), imagesCommand(context), usageCommand(context), findingsCommand(context), changesCommand(context), reindexCommand(context), alertsCommand(context)]) {
    // addCommand (unlike .command) copies no settings: errors and help of subcommands must also come back here.
    program.addCommand(command.exitOverride().showHelpAfterError("(add --help for usage)").configureOutput({ writeOut: io.stdout, writeErr: io.stderr }));
  }
  return program.exitOverride();
}

/** Commander's codes that are not errors: help asked for (or shown for a bare command group, as az does) and --version. */
const NOT_ERRORS = new Set(["commander.helpDisplayed", "commander.help", "commander.version"]);

export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3 } as const;

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  process.exitCode = 0;
  try {
    await program.parseAsync([...argv], { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (error) {
    // Help, --version and usage errors: commander has already printed what it had to say.
    if (error instanceof CommanderError) return NOT_ERRORS.has(error.code) ? EXIT.ok : EXIT.usage;
    if (error instanceof ConfigError) {
      io.stderr(`ERROR: ${error.message}\n`);
      return EXIT.error;
    }
    if (error instanceof InvalidQueryError) {
      io.stderr(`ERROR: --${error.parameter}: ${error.reason}\n`);
      return EXIT.usage;
    }
    if (error instanceof UnknownResourceError) {
      io.stderr(`ERROR: ${error.message}\n`);
      return EXIT.notFound;
    }
    const debug = argv.includes("--debug");
    io.stderr(`ERROR: ${error instanceof Error ? (debug ? (error.stack ?? error.message) : error.message) : String(error)}\n`);
    const local = refusedLocally(error);
    if (local) io.stderr(`Nothing answers at ${local}: is the local stack running? Start it with \`npm start\`, or pass \`--storage-account <name>\`.\n`);
    return EXIT.error;
  }
}

/**
 * The loopback address a refused connection was to, anywhere in the error's causes (Azurite not
 * running). The storage SDK's RestError carries code ECONNREFUSED and the address only in its message.
 */
function refusedLocally(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    const at = /ECONNREFUSED ((?:127\.0\.0\.1|::1|localhost):\d+)/.exec(String(e.message ?? ""));
    if (at) return at[1];
  }
  return undefined;
}

export function processIo(): CliIo {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: (chunk) => process.stdout.write(chunk),
    stderr: (chunk) => process.stderr.write(chunk),
    interactive: process.stderr.isTTY === true,
    color: process.stdout.isTTY === true && process.stderr.isTTY === true && !process.env.NO_COLOR,
    clock: systemClock,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/** Entry point of bin/gallery-watch.mjs: run, flush stdout, exit (open storage sockets must not keep the process alive). */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const code = await main(argv, processIo());
  process.stdout.write("", () => process.exit(code));
}
