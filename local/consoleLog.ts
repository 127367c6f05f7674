/**
 * `npm start`'s console is for a person: every log line of the local host and of the functions
 * (pino JSON, as the Functions host and Application Insights take them) becomes one human line on
 * stderr — `gallery-watch warn: eventGridResourceEvent: invocation failed: …` — and the JSON
 * itself goes whole to a file beside the stack's state file, where a script or `jq` can read it.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import type { DestinationStream } from "pino";

const LEVELS: Readonly<Record<number, string>> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** One pino JSON line as a person reads it; a line that is no JSON comes back trimmed. */
export function humanLogLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trim();
  }
  if (entry === null || typeof entry !== "object") return json.trim();
  const level = LEVELS[Number(entry.level)] ?? String(entry.level ?? "log");
  const message = String(entry.msg ?? "").replace(/[\r\n]+/g, " ");
  // Where it happened, unless the message already says.
  const place = typeof entry.functionName === "string" ? entry.functionName : typeof entry.queue === "string" ? `queue ${entry.queue}` : "";
  const where = place !== "" && !message.includes(place) ? `${place}: ` : "";
  const err = entry.err as { message?: unknown } | undefined;
  const cause = typeof err?.message === "string" && err.message !== "" && !message.includes(err.message) ? ` (${err.message.replace(/[\r\n]+/g, " ")})` : "";
  return `gallery-watch ${level}: ${where}${message}${cause}`;
}

/**
 * A pino destination: each JSON line appended to `jsonFile` (emptied first) and written to
 * `write` as a human line. Synchronous appends: at the console's levels (warn and above by default)
 * lines are few, and a crash loses none.
 */
export function consoleLogDestination(options: { readonly write: (line: string) => void; readonly jsonFile?: string }): DestinationStream {
  if (options.jsonFile) writeFileSync(options.jsonFile, "");
  return {
    write(chunk: string): void {
      for (const line of chunk.split("\n")) {
        if (line.trim() === "") continue;
        if (options.jsonFile) {
          try {
            appendFileSync(options.jsonFile, `${line}\n`);
          } catch {
            // The file went away (a cleaned temporary folder): the console line still says it.
          }
        }
        options.write(`${humanLogLine(line)}\n`);
      }
    },
  };
}
