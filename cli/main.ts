/**
 * `gallery-watch`: operate the watcher from a terminal, in the Azure CLI's manner
 * (https://learn.microsoft.com/cli/azure/format-output-azure-cli): `--output table|json|csv`,
 * `--subscription`, `--verbose` / `--debug` / `--only-show-errors`, results on stdout, everything
 * else on stderr, exit code 0 on success.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Command, CommanderError, Option } from "commander";
import { ConfigError } from "../shared/errors.js";
import { createContext, type CliIo, type GlobalOptions } from "./context.js";
import { OUTPUT_FORMATS } from "./output.js";
import { sweepCommand } from "./commands/sweep.js";
import { digestCommand } from "./commands/digest.js";
import { policyCommand } from "./commands/policy.js";
import { reportCommand } from "./commands/report.js";
import { historyCommand } from "./commands/history.js";
import { imagesCommand } from "./commands/images.js";
import { findingsCommand } from "./commands/findings.js";
import { changesCommand } from "./commands/changes.js";
import { reindexCommand } from "./commands/reindex.js";

// ../package.json from the sources, ../../package.json from dist/cli.
const packageJson = [path.resolve(import.meta.dirname, "..", "package.json"), path.resolve(import.meta.dirname, "..", "..", "package.json")].find((f) => existsSync(f))!;
const version = (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;

export function buildProgram(io: CliIo): Command {
  const program = new Command("gallery-watch")
    .description("Watches Azure Compute Gallery images and alerts when Specialized images spread where they must not. Operate it from here.")
    .version(version)
    .addOption(new Option("-o, --output <format>", "output format").choices(OUTPUT_FORMATS).default("table"))
    .option("--storage-account <name>", "read gallery-watch's storage account in Azure with your signed-in identity (az login; Storage Table Data Reader is enough for the read commands), no connection string")
    .option("--verbose", "say where the settings come from and log progress")
    .option("--debug", "log everything, and show stack traces")
    .option("--only-show-errors", "print only errors on stderr (no notes or warnings)")
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText(
      "after",
      "\nSettings: while `npm start` runs in this checkout, the CLI uses that local stack (its state file .gallery-watch/local-stack.json).\n" +
        "Otherwise it reads the app settings from the environment over local.settings.json (Values), validated as the function app does.\n",
    );
  const context = (command: Command) => createContext(io, command.optsWithGlobals<GlobalOptions>());
  for (const command of [sweepCommand(context), digestCommand(context), policyCommand(context), reportCommand(context), historyCommand(context), imagesCommand(context), findingsCommand(context), changesCommand(context), reindexCommand(context)]) {
    // addCommand (unlike .command) copies no settings: errors and help of subcommands must also come back here.
    program.addCommand(command.exitOverride().showHelpAfterError("(add --help for usage)").configureOutput({ writeOut: io.stdout, writeErr: io.stderr }));
  }
  return program.exitOverride();
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  process.exitCode = 0;
  try {
    await program.parseAsync([...argv], { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (error) {
    // Help, --version and usage errors: commander has already printed what it had to say.
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ConfigError) {
      io.stderr(`ERROR: ${error.message}\n`);
      return 1;
    }
    const debug = argv.includes("--debug");
    io.stderr(`ERROR: ${error instanceof Error ? (debug ? (error.stack ?? error.message) : error.message) : String(error)}\n`);
    return 1;
  }
}

export function processIo(): CliIo {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: (chunk) => process.stdout.write(chunk),
    stderr: (chunk) => process.stderr.write(chunk),
    interactive: process.stderr.isTTY === true,
    clock: { now: () => new Date() },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/** Entry point of bin/gallery-watch.mjs: run, flush stdout, exit (open storage sockets must not keep the process alive). */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const code = await main(argv, processIo());
  process.stdout.write("", () => process.exit(code));
}
