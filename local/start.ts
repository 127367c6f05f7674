/**
 * `npm start`: the whole product on this machine, no Azure account. Starts Azurite, the
 * simulated ARM (seeded with the brief's case studies), a Teams inbox and the local Functions
 * host; replays the case studies; prints what happened; keeps running until Ctrl-C / SIGTERM.
 * `npm start -- --once` exits after the summary (used by the tests).
 */
import path from "node:path";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "./stack.js";
import { caseStudySeed } from "./scenarios/caseStudies.js";
import { caseStudySteps } from "./scenarios/replay.js";
import { waitUntilQuiet } from "./quiet.js";
import { runtime } from "../shared/composition.js";
import { removeStackState, stackStateOf, stackStatePath, writeStackState } from "./stackState.js";

const once = process.argv.includes("--once");
const log = pino({ level: process.env.GW_LOG_LEVEL ?? "warn" }, pino.destination(2));
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const now = new Date();
  say("gallery-watch: starting Azurite, the simulated Azure control plane, a Teams inbox and the local Functions host …");
  const stack = await startLocalStack({ seed: caseStudySeed(undefined, now), log });
  // The `gallery-watch` CLI finds this stack through the state file; it goes when the stack does.
  writeStackState(stackStateOf(stack));
  process.once("exit", () => removeStackState());
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\ngallery-watch: ${signal}, stopping …`);
    removeStackState();
    await stack.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("Ctrl-C"));
  process.once("SIGTERM", () => void stop("SIGTERM"));

  say(`Simulated ARM: ${stack.arm.url}   (trust ${stack.caCertFile}; any bearer token, a JWT names the caller)`);
  say(`Subscription: ${stack.subscriptionId}`);
  say(`Teams inbox: ${stack.inbox.url}`);
  say(`Functions host: ${stack.host.url}   (GET /api/resources/history?id=<ARM id>&asOf=<time>)`);
  say("");
  await replay(stack, now);
  await summarise(stack);
  if (once) {
    removeStackState();
    await stack.close();
    return;
  }
  say(`\nThe gallery-watch CLI talks to this stack (state in ${path.relative(process.cwd(), stackStatePath()) || stackStatePath()}): npx gallery-watch --help`);
  say("\nRunning. Drive the simulated ARM with curl and watch the Teams inbox; Ctrl-C stops everything.");
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

main().catch((error: unknown) => {
  process.stderr.write(`gallery-watch: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
