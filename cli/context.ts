/** What every command gets: settings (resolved on first use, so `--help` needs none), output, logging, progress. */
import { pino } from "pino";
import type { Logger } from "pino";
import { createLogger } from "../shared/platform/logging.js";
import { buildRuntime, type Runtime } from "../shared/wiring/composition.js";
import type { Clock } from "../shared/app/ports.js";
import { resolveSettings, type SettingsNeeds, type SettingsSource } from "./settings.js";
import { createOutput, type Output, type OutputFormat } from "./output.js";
import type { Command } from "commander";

export interface GlobalOptions {
  /** Read this storage account with DefaultAzureCredential instead of a connection string. */
  readonly storageAccount?: string;
  readonly output: OutputFormat;
  /** A JMESPath expression applied to the result before it is formatted. */
  readonly query?: string;
  readonly verbose?: boolean;
  readonly debug?: boolean;
  readonly onlyShowErrors?: boolean;
}

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: (chunk: string) => void;
  readonly stderr: (chunk: string) => void;
  /** Whether stderr is a terminal (progress rewrites one line) or a pipe/file (one line per change). */
  readonly interactive: boolean;
  /** Whether jsonc / yamlc may colour: stdout and stderr are terminals and NO_COLOR is not set (as knack decides). */
  readonly color?: boolean;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface CliContext {
  readonly io: CliIo;
  readonly output: Output;
  readonly log: Logger;
  readonly settings: SettingsSource;
  /** The same adapters the Functions app uses, built from the resolved settings (for commands that write: sweep, digest). */
  readonly app: Runtime;
  /**
   * The same adapters over read-only storage, for the commands that only read (findings, changes,
   * history, images, report, policy): no table is created and nothing written, so Storage Table
   * Data Reader is enough for `--storage-account`.
   */
  readonly reader: Runtime;
  /** A note for people (stderr), hidden by --only-show-errors. */
  note(line: string): void;
  warn(line: string): void;
}

/** How a command gets its context: with the settings it reads (the others are not validated). */
export type ContextFor = (command: Command, needs: SettingsNeeds) => CliContext;

export function createContext(io: CliIo, options: GlobalOptions, needs: SettingsNeeds = "all"): CliContext {
  const level = options.debug ? "debug" : options.verbose ? "info" : options.onlyShowErrors ? "error" : "warn";
  const log = createLogger({ level, destination: pino.destination({ fd: 2, sync: true }), base: { tool: "cli" } });
  let settings: SettingsSource | undefined;
  let app: Runtime | undefined;
  let reader: Runtime | undefined;
  const resolved = () => {
    if (!settings) {
      settings = resolveSettings(io.env, io.cwd, options.storageAccount, needs);
      if (options.verbose || options.debug) io.stderr(`settings: ${settings.description}\n`);
    }
    return settings;
  };
  return {
    io,
    output: createOutput({ format: options.output, ...(options.query !== undefined ? { query: options.query } : {}), color: io.color === true, write: io.stdout }),
    log,
    get settings() {
      return resolved();
    },
    get app() {
      app ??= buildRuntime(resolved().config, { log });
      return app;
    },
    get reader() {
      reader ??= buildRuntime(resolved().config, { log, readOnlyStorage: true });
      return reader;
    },
    note: (line) => {
      if (!options.onlyShowErrors) io.stderr(`${line}\n`);
    },
    warn: (line) => {
      if (!options.onlyShowErrors) io.stderr(`WARNING: ${line}\n`);
    },
  };
}
