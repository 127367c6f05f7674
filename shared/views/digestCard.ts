/**
 * The daily digest as a Teams Workflows webhook message carrying one Adaptive Card 1.5
 * (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-reference#adaptive-card;
 * schema http://adaptivecards.io/schemas/adaptive-card.json). Teams refuses messages over about
 * 28 KB (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/format-your-bot-messages),
 * so long lists are summarised ("and 40 more"), shortening them further until the card fits;
 * JSON is never cut. Pure: the content carries its times.
 */
import { SEVERITIES_WORST_FIRST, type Finding, type FindingRuleId, type Severity } from "../domain/findings.js";
import type { SweepRun } from "../domain/records.js";
import { expiryWording } from "../domain/wording.js";
import { cardMessage, escapeMarkdown, type CardMessage } from "./adaptiveCard.js";

/** An active exception running out soon. */
export interface ExpiringException {
  readonly finding: Finding;
  readonly expires: string;
  readonly reason: string;
  /** Whole days from the start of the digest's day to the expiry date; 0 when it expires today. */
  readonly daysLeft: number;
}

/** What the digest says (built by `sendDigest` in `shared/app/digest.ts`). */
export interface DigestContent {
  readonly digestId: string;
  readonly period: string;
  /** Activity is counted from here (the previous digest's `until`, or a day back for the first digest)… */
  readonly since: string;
  /** … to here (when the digest was built). */
  readonly until: string;
  readonly firstDigest: boolean;
  readonly open: {
    readonly total: number;
    /** Of `total`, covered by an active exception. */
    readonly excepted: number;
    readonly byRule: Readonly<Partial<Record<FindingRuleId, number>>>;
    readonly bySeverity: Readonly<Record<Severity, number>>;
  };
  readonly opened: readonly Finding[];
  readonly resolved: readonly Finding[];
  readonly excepted: readonly Finding[];
  readonly expiringExceptions: readonly ExpiringException[];
  /** Newest first. */
  readonly sweepRuns: readonly SweepRun[];
  /** Alert cards Teams still owes (`gallery-watch alerts owed`), by reason; absent when not read. */
  readonly owedAlerts?: { readonly total: number; readonly refused: number; readonly ambiguous: number; readonly expired: number; readonly oldestSince?: string };
}

export const MAX_DIGEST_CARD_BYTES = 25_000;

type Element = Record<string, unknown>;
export type DigestMessage = CardMessage;

const text = (value: string, extra: Element = {}): Element => ({ type: "TextBlock", text: value, wrap: true, ...extra });
const heading = (value: string): Element => text(value, { weight: "Bolder", size: "Medium", spacing: "Large", separator: true });
const facts = (pairs: ReadonlyArray<readonly [string, string]>): Element => ({ type: "FactSet", facts: pairs.map(([title, value]) => ({ title, value })) });

const SEVERITY_COLOR: Readonly<Record<Severity, string>> = { critical: "Attention", high: "Attention", medium: "Warning", low: "Default" };

interface Caps {
  readonly findings: number;
  readonly exceptions: number;
  readonly runs: number;
  readonly failures: number;
  readonly chars: number;
}

const CAPS: readonly Caps[] = [
  { findings: 10, exceptions: 10, runs: 10, failures: 5, chars: 300 },
  { findings: 5, exceptions: 5, runs: 5, failures: 3, chars: 160 },
  { findings: 3, exceptions: 3, runs: 3, failures: 1, chars: 100 },
  { findings: 0, exceptions: 0, runs: 0, failures: 0, chars: 80 },
];

/** `galleries/g/images/d/versions/1.0.0` → `g/d/1.0.0`; the resource group for context. */
export function resourceName(resourceId: string): string {
  const parts = resourceId.split("/");
  const provider = parts.findIndex((p) => p.toLowerCase() === "providers");
  if (provider < 0) return resourceId;
  const names = parts.slice(provider + 3).filter((_, i) => i % 2 === 0);
  const groupAt = parts.findIndex((p) => p.toLowerCase() === "resourcegroups");
  const group = groupAt >= 0 ? parts[groupAt + 1] : undefined;
  return `${names.join("/")}${group ? ` (${group})` : ""}`;
}

const clip = (value: string, chars: number) => (value.length <= chars ? value : `${value.slice(0, chars - 1)}…`);
const more = (total: number, shown: number, what: string): Element[] => (total > shown ? [text(`… and ${total - shown} more ${what}`, { isSubtle: true, spacing: "None" })] : []);

function findingLines(findings: readonly Finding[], caps: Caps, what: string): Element[] {
  if (findings.length === 0) return [text("none", { isSubtle: true, spacing: "None" })];
  return [
    ...findings.slice(0, caps.findings).map((f) =>
      text(clip(`**${f.severity}** · ${f.ruleId} · ${resourceName(f.resourceId)}: ${f.summary}`, caps.chars), { color: SEVERITY_COLOR[f.severity], spacing: "None" }),
    ),
    ...more(findings.length, caps.findings, what),
  ];
}

function duration(run: SweepRun): string {
  if (!run.finishedAt) return "still running";
  const seconds = Math.max(0, Math.round((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000));
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

function transitionsText(run: SweepRun): string {
  const entries = Object.entries(run.transitions).filter(([, n]) => (n ?? 0) > 0);
  return entries.length === 0 ? "none" : entries.map(([kind, n]) => `${n} ${kind}`).join(", ");
}

function runBlock(run: SweepRun, caps: Caps): Element[] {
  const ok = run.status === "succeeded";
  const out: Element[] = [
    text(`Subscription ${run.subscriptionId}: **${run.status}**`, { color: ok ? "Good" : run.status === "running" ? "Default" : "Attention", spacing: "Medium" }),
    facts([
      ["Started (UTC)", run.startedAt],
      ["Took", duration(run)],
      ["Seen", `${run.seen.galleries} galleries, ${run.seen.definitions} definitions, ${run.seen.versions} versions, ${run.seen.scaleSets} scale sets, ${run.seen.virtualMachines} VMs`],
      ["ARM requests", String(run.armRequests)],
      ["Snapshots written", String(run.snapshotsWritten)],
      ["Transitions", transitionsText(run)],
      ["Reconciled (gone)", String(run.reconciled)],
      ["Could not read", String(run.failures.length)],
    ]),
  ];
  for (const failure of run.failures.slice(0, caps.failures)) {
    out.push(text(clip(`${failure.operation} on ${resourceName(failure.resourceId)}: ${failure.reason}`, caps.chars), { size: "Small", color: "Attention", spacing: "None" }));
  }
  out.push(...more(run.failures.length, caps.failures, "failure(s)"));
  return out;
}

function render(d: DigestContent, caps: Caps): DigestMessage {
  const ruleFacts = Object.entries(d.open.byRule)
    .filter(([, n]) => (n ?? 0) > 0)
    .sort(([a, x], [b, y]) => (y ?? 0) - (x ?? 0) || a.localeCompare(b))
    .map(([rule, n]) => [rule, String(n)] as const);
  const failedRuns = d.sweepRuns.filter((r) => r.status === "failed" || r.status === "partial").length;
  const periodText = d.firstDigest ? `First digest: activity of the day before ${d.until}` : `Since the previous digest: ${d.since} to ${d.until} (UTC)`;

  const body: Element[] = [
    {
      type: "Container",
      style: d.open.bySeverity.critical + d.open.bySeverity.high > 0 ? "warning" : "good",
      bleed: true,
      items: [
        text(`gallery-watch daily digest — ${d.period}`, { size: "Large", weight: "Bolder" }),
        text(
          `${d.open.total} open finding(s) (${d.open.excepted} excepted); ${d.opened.length} opened, ${d.resolved.length} resolved and ${d.excepted.length} excepted since the previous digest.` +
            ` ${d.expiringExceptions.length} exception(s) expire within 14 days. ${d.sweepRuns.length} sweep run(s)${failedRuns > 0 ? `, ${failedRuns} incomplete` : ""}.`,
        ),
        text(periodText, { isSubtle: true, size: "Small" }),
      ],
    },
    heading("Open findings"),
    {
      type: "ColumnSet",
      columns: [
        { type: "Column", width: "stretch", items: [text("By severity", { weight: "Bolder" }), facts(SEVERITIES_WORST_FIRST.map((s) => [s, String(d.open.bySeverity[s])] as const))] },
        { type: "Column", width: "stretch", items: [text("By rule", { weight: "Bolder" }), ruleFacts.length > 0 ? facts(ruleFacts) : text("none", { isSubtle: true })] },
      ],
    },
    heading(`Opened (${d.opened.length})`),
    ...findingLines(d.opened, caps, "opened"),
    heading(`Resolved (${d.resolved.length})`),
    ...findingLines(d.resolved, caps, "resolved"),
    heading(`Excepted (${d.excepted.length})`),
    ...findingLines(d.excepted, caps, "excepted"),
    heading(`Exceptions expiring within 14 days (${d.expiringExceptions.length})`),
  ];
  if (d.expiringExceptions.length === 0) body.push(text("none", { isSubtle: true, spacing: "None" }));
  for (const e of d.expiringExceptions.slice(0, caps.exceptions)) {
    // The one expiry wording (shared/domain/wording.ts), counted from when the digest was built; the reason is tag text, escaped as on the alert card.
    const expiry = expiryWording(e.expires, new Date(d.until));
    body.push(text(clip(`${expiry.text} · ${e.finding.ruleId} · ${resourceName(e.finding.resourceId)}: ${escapeMarkdown(e.reason)}`, caps.chars), { color: expiry.days <= 3 ? "Warning" : "Default", spacing: "None" }));
  }
  body.push(...more(d.expiringExceptions.length, caps.exceptions, "expiring exception(s)"));
  body.push(heading(`Sweep runs (${d.sweepRuns.length})`));
  if (d.sweepRuns.length === 0) body.push(text("No sweep ran in this period.", { color: "Warning", spacing: "None" }));
  for (const run of d.sweepRuns.slice(0, caps.runs)) body.push(...runBlock(run, caps));
  body.push(...more(d.sweepRuns.length, caps.runs, "sweep run(s)"));
  if (d.owedAlerts) {
    const o = d.owedAlerts;
    body.push(heading(`Alert cards still owed (${o.total})`));
    body.push(
      o.total === 0
        ? text("none: every alert card was delivered or is on its way", { isSubtle: true, spacing: "None" })
        : text(
            `${o.refused} refused by the webhook (retried), ${o.ambiguous} ambiguous (a send got no answer: check the channel), ${o.expired} out of retries` +
              `${o.oldestSince ? `; oldest owed since ${o.oldestSince}` : ""}. List and resend them: gallery-watch alerts owed / gallery-watch alerts resend.`,
            { color: "Attention", spacing: "None" },
          ),
    );
  }
  body.push(text(d.digestId, { isSubtle: true, size: "Small", spacing: "Large" }));

  return cardMessage(body, { fullWidth: true });
}

/** The digest card, shortening its lists until it fits under MAX_DIGEST_CARD_BYTES. */
export function digestCard(content: DigestContent): DigestMessage {
  let message = render(content, CAPS[0]!);
  for (const caps of CAPS.slice(1)) {
    if (Buffer.byteLength(JSON.stringify(message)) <= MAX_DIGEST_CARD_BYTES) break;
    message = render(content, caps);
  }
  return message;
}
