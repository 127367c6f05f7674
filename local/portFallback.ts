/**
 * `npm start` takes the ecosystem's usual ports (Azurite 10000–10002, the Functions host 7071, the
 * Teams inbox 7072) when they are free and any free port otherwise. A person who expects
 * `http://127.0.0.1:7071` (func start's port) must be told when another process had it.
 */
import { USUAL_PORTS } from "./stack.js";

type Part = keyof typeof USUAL_PORTS;

const LABELS: Readonly<Record<Part, string>> = { blob: "Azurite blob", queue: "Azurite queue", table: "Azurite table", host: "Functions host", inbox: "Teams inbox" };

/** The port of an http(s) URL (its scheme's default when none is written). */
export function portOf(url: string): number {
  const parsed = new URL(url);
  return parsed.port ? Number(parsed.port) : parsed.protocol === "https:" ? 443 : 80;
}

/** One line naming each usual port that was taken and the port used instead; undefined when every usual port was used. */
export function portFallbackLine(actual: Readonly<Record<Part, number>>): string | undefined {
  const moved = (Object.keys(USUAL_PORTS) as Part[]).filter((part) => actual[part] !== USUAL_PORTS[part]);
  if (moved.length === 0) return undefined;
  const list = moved.map((part) => `${LABELS[part]} ${USUAL_PORTS[part]} → ${actual[part]}`).join(", ");
  return `Usual port${moved.length > 1 ? "s" : ""} taken (another npm start, Azurite or func start?), so the stack uses others: ${list}. The CLI in this checkout finds the stack wherever it runs.`;
}
