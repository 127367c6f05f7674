/**
 * `gallery-watch alerts owed` and `gallery-watch alerts resend <id…|--all>`: the cards Teams still
 * owes. An alert is owed when its webhook refused it (4xx, retried automatically for
 * GW_ALERT_RETRY_HOURS), when a send got no answer (ambiguous: the card may be in the channel, so
 * it is never repeated without a person), or when the retry window ran out. Rows an older version
 * marked `failed` are owed too. A resend takes the whole change (every owed alert that belongs on
 * the same card), puts it back in the outbox and sends it now; a card resent after an ambiguous
 * send says that it may repeat the earlier one.
 */
import { Command } from "commander";
import { changeKey } from "../../shared/domain/changeKey.js";
import type { OutboxAlert } from "../../shared/app/ports.js";
import type { CliContext, ContextFor } from "../context.js";
import { READ_STORAGE } from "../settings.js";

export interface ResendOptions {
  readonly all?: boolean;
  readonly send?: boolean;
}


async function owedAlerts(ctx: CliContext): Promise<OutboxAlert[]> {
  const { outbox } = ctx.app.dependencies({ invocationId: `cli-alerts-${ctx.io.clock.now().getTime()}`, functionName: "cli:alerts" });
  const [owed, failed] = await Promise.all([outbox.list({ state: "owed" }), outbox.list({ state: "failed" })]);
  return [...owed, ...failed].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
}

function row(a: OutboxAlert) {
  const f = a.transition.after;
  return {
    AlertId: a.alertId,
    Reason: a.owedReason ?? (a.state === "failed" ? "failed" : "owed"),
    OwedSince: a.owedSince,
    Attempts: a.attempts,
    Severity: f.severity,
    Rule: f.ruleId,
    Transition: a.transition.kind,
    Resource: f.resourceId.split("/").pop(),
    Created: a.createdAt,
    LastError: a.lastError?.slice(0, 120),
  };
}

export async function runOwed(ctx: CliContext): Promise<number> {
  const owed = await owedAlerts(ctx);
  ctx.output.print({ json: owed.map((a) => ({ ...row(a), resourceId: a.transition.after.resourceId, ambiguousAt: a.ambiguousAt })), rows: owed.map(row) });
  if (owed.length === 0) ctx.note("No owed alerts: every card was delivered or is on its way.");
  else if (owed.some((a) => a.owedReason === "ambiguous")) ctx.note("ambiguous: a send got no answer; look in the channel, then `gallery-watch alerts resend <id>` if the card is not there.");
  return 0;
}

export async function runResend(ctx: CliContext, ids: readonly string[], options: ResendOptions): Promise<number> {
  if ((ids.length === 0) === !options.all) {
    ctx.io.stderr("ERROR: name the alert ids to resend, or --all (not both)\n");
    return 2;
  }
  const owed = await owedAlerts(ctx);
  const unknown = ids.filter((id) => !owed.some((a) => a.alertId === id));
  if (unknown.length > 0) {
    ctx.io.stderr(`ERROR: not owed (delivered, pending or unknown): ${unknown.join(", ")}. See \`gallery-watch alerts owed\`.\n`);
    return 1;
  }
  // The whole change goes back: its alerts are one card.
  const changes = new Set(owed.filter((a) => options.all || ids.includes(a.alertId)).map(changeKey));
  const chosen = owed.filter((a) => changes.has(changeKey(a)));
  const context = { invocationId: `cli-resend-${ctx.io.clock.now().getTime()}`, functionName: "cli:alerts-resend" };
  const { outbox } = ctx.app.dependencies(context);
  const now = ctx.io.clock.now().toISOString();
  const resent: string[] = [];
  for (const alert of chosen) if (await outbox.resend(alert.alertId, now)) resent.push(alert.alertId);
  let figures;
  if (options.send !== false && resent.length > 0) figures = await ctx.app.deliverNow(context);
  const summary = { resent: resent.length, delivered: figures?.delivered ?? 0, cards: figures?.cards ?? 0, stillOwed: figures?.owed ?? 0, retried: figures?.retried ?? 0 };
  ctx.output.print({ json: { ...summary, alertIds: resent }, rows: [summary] });
  if (options.send === false || figures === undefined) ctx.note("Back in the outbox: the function app's outbox timer (GW_OUTBOX_SCHEDULE) sends it.");
  return figures && figures.owed > 0 ? 1 : 0;
}

export function alertsCommand(context: ContextFor): Command {
  const alerts = new Command("alerts").summary("list and resend the cards Teams still owes").description("The alert outbox: cards the webhook refused, that got no answer, or ran out of retries.");
  // The program configures its commands after they are built (output, exit override): pass that on.
  alerts.hook("preSubcommand", (parent, sub) => void sub.copyInheritedSettings(parent));
  alerts
    .command("owed")
    .summary("list owed alerts (refused, ambiguous, expired)")
    .description(
      "List alerts Teams still owes, oldest first: refused (the webhook answered 4xx; retried automatically for GW_ALERT_RETRY_HOURS), " +
        "ambiguous (a send got no answer: the card may be in the channel; never repeated without a person), expired (out of retries).",
    )
    .configureHelp({ showGlobalOptions: true })
    .action(async (_options: unknown, command: Command) => {
      process.exitCode = await runOwed(context(command, READ_STORAGE));
    });
  alerts
    .command("resend")
    .summary("send owed alerts again now")
    .description("Put owed alerts back in the outbox with a fresh retry window and send them now. Each alert brings the other owed alerts of its change: they are one card.")
    .argument("[ids...]", "alert ids from `gallery-watch alerts owed`")
    .option("--all", "every owed alert")
    .option("--no-send", "only put them back in the outbox; the outbox timer sends them")
    .configureHelp({ showGlobalOptions: true })
    .addHelpText("after", "\nExamples:\n  gallery-watch alerts owed\n  gallery-watch alerts resend 3f2a…:1\n  gallery-watch alerts resend --all\n")
    .action(async (ids: string[], options: ResendOptions, command: Command) => {
      // A resend delivers: it needs the webhooks and everything the sender reads.
      process.exitCode = await runResend(context(command, "all"), ids, options);
    });
  return alerts;
}
