/** `gallery-watch digest`: send the daily digest card now (the `nightlyDigest` timer's job, on demand). */
import { Command } from "commander";
import { sendDigest, type DigestOutcome } from "../../shared/app/digest.js";
import type { CliContext, ContextFor } from "../context.js";

export interface DigestCommandOptions {
  readonly force?: boolean;
}

/** The outcome without the findings themselves: figures a person or a script checks. */
export function digestSummary(outcome: DigestOutcome): Record<string, string | number> {
  if (outcome.status === "alreadySent") return { digestId: outcome.digestId, status: outcome.status, sentAt: outcome.sentAt };
  if (outcome.status === "inProgress") return { digestId: outcome.digestId, status: outcome.status, claimedAt: outcome.claimedAt };
  const c = outcome.content;
  return {
    digestId: outcome.digestId,
    status: outcome.status,
    since: c.since,
    until: c.until,
    openFindings: c.open.total,
    excepted: c.open.excepted,
    opened: c.opened.length,
    resolved: c.resolved.length,
    newlyExcepted: c.excepted.length,
    expiringExceptions: c.expiringExceptions.length,
    sweepRuns: c.sweepRuns.length,
  };
}

export async function runDigest(ctx: CliContext, options: DigestCommandOptions): Promise<number> {
  const outcome = await sendDigest(ctx.app.digest({ invocationId: "cli", functionName: "digest" }, ctx.io.clock), options.force ? { force: true } : {});
  const summary = digestSummary(outcome);
  ctx.output.print({ json: summary });
  if (outcome.status === "alreadySent") ctx.note(`Today's digest was already sent at ${outcome.sentAt}; --force sends another.`);
  if (outcome.status === "inProgress") ctx.note(`Another sender claimed today's digest at ${outcome.claimedAt} and is sending it; a claim left unsent for 5 minutes is retried.`);
  return 0;
}

export function digestCommand(context: ContextFor): Command {
  return new Command("digest")
    .summary("send the daily digest card to Teams now")
    .description(
      "Send the daily digest (open findings by rule and severity, what opened, resolved and was excepted since the previous digest, " +
        "exceptions expiring within 14 days, the sweep runs) to the Teams webhook now. Sent once per UTC day: if the nightlyDigest timer " +
        "or an earlier run already sent today's, nothing is sent unless --force.",
    )
    .configureHelp({ showGlobalOptions: true })
    .option("--force", "send it even if today's digest was already sent")
    .addHelpText("after", "\nExamples:\n  gallery-watch digest\n  gallery-watch digest --force --output json\n")
    .action(async (options: DigestCommandOptions, command: Command) => {
      process.exitCode = await runDigest(context(command, "all"), options);
    });
}
