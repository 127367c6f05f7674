/**
 * Teams messages for finding transitions, as a Workflows webhook envelope carrying one Adaptive
 * Card 1.5 (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-reference#adaptive-card).
 * A card says what, where, who, when, how bad and what to do; it stays well under Teams' ~28 KB
 * message limit by summarising long lists ("and 440 more"), never by cutting JSON.
 * Pure: time comes in with the data.
 */
import { RULE_IDS, SEVERITY_ORDER, type FactValue, type Finding, type FindingTransition, type Severity } from "../domain/findings.js";
import type { Attribution } from "../domain/records.js";
import { stripControlsDeep } from "./plainText.js";
import { dateText, expiryWording, factLabel, isDateFact, separationText } from "../domain/wording.js";

export const MAX_CARD_BYTES = 25_000;
const LIST_ITEMS = 12;

const KIND_WORD: Readonly<Record<FindingTransition["kind"], string>> = {
  opened: "Opened",
  escalated: "Escalated",
  deescalated: "De-escalated",
  changed: "Changed",
  excepted: "Excepted",
  reopened: "Reopened",
  resolved: "Resolved",
};

/** How a card names a transition (single and grouped cards alike). */
export function transitionWord(t: Pick<FindingTransition, "kind" | "after">): string {
  // A finding whose state did not move but whose exception was refused: the refusal is the news.
  return t.kind === "changed" && t.after.exception?.status === "refused" ? "Exception refused" : KIND_WORD[t.kind];
}

/** Container styles and text colours of https://adaptivecards.io/explorer/Container.html and TextBlock.html. */
const SEVERITY_STYLE: Readonly<Record<Severity, { color: string; container: string }>> = {
  critical: { color: "Attention", container: "attention" },
  high: { color: "Attention", container: "warning" },
  medium: { color: "Warning", container: "warning" },
  low: { color: "Default", container: "emphasis" },
};

/** Good news and accepted risk must not look like an open critical. */
const KIND_STYLE: Partial<Readonly<Record<FindingTransition["kind"], { color: string; container: string }>>> = {
  resolved: { color: "Good", container: "good" },
  excepted: { color: "Accent", container: "accent" },
};

/** Needs attention first among transitions of equal severity. */
const KIND_RANK: Readonly<Record<FindingTransition["kind"], number>> = { opened: 0, reopened: 0, escalated: 0, deescalated: 1, changed: 2, excepted: 3, resolved: 4 };

export interface AlertForCard {
  readonly alertId: string;
  readonly transition: FindingTransition;
  readonly attribution?: Attribution;
}

type Element = Record<string, unknown>;

const text = (value: string, extra: Element = {}): Element => ({ type: "TextBlock", text: value, wrap: true, ...extra });

/**
 * TextBlocks and FactSet values render a Markdown subset (https://learn.microsoft.com/adaptive-cards/authoring-cards/text-features),
 * so text someone else controls (event claims, tag values, ARM messages) could carry a link or an
 * image that looks like ours. Backslash-escapes every character with Markdown meaning anywhere;
 * `-`, `+` and `1. ` only mean a list where a line starts (CommonMark list items), so only there —
 * "CAB-4711" and "203.0.113.24" stay as they are; line breaks become spaces so no line can start
 * inside the value.
 */
export function escapeMarkdown(value: string): string {
  return value
    .replace(/[\r\n\u2028\u2029]+/g, " ")
    .replace(/[\\`*_[\]()#!<>|]/g, (c) => `\\${c}`)
    .replace(/^(\s*)([-+])/, "$1\\$2")
    .replace(/^(\s*\d{1,9})\.(?=\s|$)/, "$1\\.");
}

/** "3 items: a, b, c" or "a, b, … and 440 more". */
export function summariseList(values: readonly string[], max = LIST_ITEMS): string {
  if (values.length <= max) return values.join(", ");
  return `${values.slice(0, max).join(", ")} … and ${values.length - max} more`;
}

/** A fact's value as card text: data, never Markdown; dates in the one date wording. */
function factText(value: FactValue | undefined, key = ""): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string" && isDateFact(key)) return escapeMarkdown(dateText(value));
  if (Array.isArray(value)) return value.length === 0 ? "none" : escapeMarkdown(summariseList(value.map(String)));
  return escapeMarkdown(String(value).slice(0, 300));
}

/** Who changed it, from the event's claims (also the grouped card's, shared/views/groupedCard.ts). */
export function who(attribution: Attribution | undefined): Element[] {
  if (!attribution) return [text("Found by the nightly sweep or a re-check: no caller recorded.", { isSubtle: true })];
  // Every value here comes from the event's claims: escaped, so a display name cannot become a link.
  const e = (v: string) => escapeMarkdown(v.slice(0, 300));
  const caller = [attribution.callerName && e(attribution.callerName), attribution.callerUpn && `(${e(attribution.callerUpn)})`].filter(Boolean).join(" ") || (attribution.callerAppId ? `app ${e(attribution.callerAppId)}` : "unknown caller");
  const facts = [
    { title: "Who", value: caller },
    ...(attribution.callerAppId ? [{ title: "App id", value: e(attribution.callerAppId) }] : []),
    ...(attribution.clientIp ? [{ title: "Client IP", value: e(attribution.clientIp) }] : []),
    ...(attribution.operationName ? [{ title: "Operation", value: e(attribution.operationName) }] : []),
    ...(attribution.correlationId ? [{ title: "Correlation id", value: e(attribution.correlationId) }] : []),
  ];
  return [{ type: "FactSet", facts }];
}

function where(finding: Finding): Element {
  const parts = finding.resourceId.split("/");
  const at = (segment: string) => {
    const i = parts.findIndex((p) => p.toLowerCase() === segment);
    return i >= 0 ? parts[i + 1] : undefined;
  };
  const name = parts.slice(parts.findIndex((p) => p.toLowerCase() === "microsoft.compute") + 2).filter((_, i) => i % 2 === 0).join("/");
  return {
    type: "FactSet",
    facts: [
      { title: "Resource", value: `${finding.resourceKind}: ${name}` },
      { title: "Resource group", value: at("resourcegroups") ?? "—" },
      { title: "Subscription", value: at("subscriptions") ?? "—" },
    ],
  };
}

/** The one expiry wording (shared/domain/wording.ts), counted from when the transition happened. */
function until(expires: string, at: string): string {
  const wording = expiryWording(expires, new Date(at));
  // Only an unreadable expiry echoes stored text; dates and counts are ours.
  return Number.isNaN(wording.days) ? escapeMarkdown(wording.text) : wording.text;
}

function canonical(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** Before → after, fact by fact, for what a transition changed (facts both sides know). */
function changes(t: FindingTransition): Array<{ title: string; value: string }> {
  const before = t.before;
  if (!before || !["resolved", "escalated", "deescalated"].includes(t.kind)) return [];
  const out: Array<{ title: string; value: string }> = [];
  if (before.severity !== t.after.severity) out.push({ title: "Severity", value: `${before.severity} → ${t.after.severity}` });
  for (const [title, after] of Object.entries(t.after.facts)) {
    if (title === "resolution" || !(title in before.facts)) continue;
    const was = before.facts[title];
    if (canonical(was) !== canonical(after)) out.push({ title: factLabel(title), value: `${factText(was, title)} → ${factText(after, title)}` });
  }
  return out;
}

/** Most severe first; equal severity: what needs attention, then the rules' own order. */
export function cardOrder(a: AlertForCard, b: AlertForCard): number {
  const x = a.transition;
  const y = b.transition;
  return (
    SEVERITY_ORDER[y.after.severity] - SEVERITY_ORDER[x.after.severity] ||
    KIND_RANK[x.kind] - KIND_RANK[y.kind] ||
    rank(x.after.ruleId) - rank(y.after.ruleId) ||
    (a.alertId < b.alertId ? -1 : a.alertId > b.alertId ? 1 : 0)
  );
}

function rank(ruleId: string): number {
  const i = (RULE_IDS as readonly string[]).indexOf(ruleId);
  return i < 0 ? RULE_IDS.length : i;
}

/** The coloured block that opens each transition: headline, exception header, summary, what changed. */
function header(t: FindingTransition, lead: boolean): Element {
  const f = t.after;
  const style = KIND_STYLE[t.kind] ?? SEVERITY_STYLE[f.severity];
  const word = transitionWord(t);
  const items: Element[] = [text(`${word}: ${f.ruleId} (${f.severity})`, { size: lead ? "Large" : "Medium", weight: "Bolder", color: style.color })];
  if (t.kind === "excepted" && f.exception?.status === "active") {
    // The reason comes from a tag value, the setter from an event's claims: escaped.
    items.push(text(`Exception: ${escapeMarkdown(f.exception.reason)}; ${until(f.exception.expires, t.at)}`, { weight: "Bolder" }));
    items.push(text(`Exception ${escapeMarkdown(separationText(f))}`, { isSubtle: true, spacing: "None" }));
  }
  if (f.exception?.status === "refused") {
    // Separation of duties: the person who set the tag expects it to hold; say first why it does not.
    items.push(text(`Exception refused: ${escapeMarkdown(f.exception.why)}`, { weight: "Bolder" }));
  }
  items.push(text(f.summary));
  const changed = changes(t);
  if (changed.length > 0) items.push(text("What changed", { weight: "Bolder", spacing: "Small" }), { type: "FactSet", facts: changed });
  return { type: "Container", style: style.container, bleed: true, items };
}

/** How bad, the exception and what to do, for one transition. `compact` leaves the facts out (large groups). */
function details(t: FindingTransition, heading: string, compact: boolean): Element[] {
  const f = t.after;
  const out: Element[] = [
    text(heading, { weight: "Bolder", spacing: "Medium" }),
    {
      type: "FactSet",
      facts: [
        { title: "Severity", value: f.severity },
        { title: "Status", value: `${f.status} (revision ${f.revision})` },
        ...(compact ? [] : Object.entries(f.facts).map(([key, value]) => ({ title: factLabel(key), value: factText(value, key) }))),
      ],
    },
  ];
  if (f.exception && t.kind !== "excepted" && f.exception.status !== "refused") {
    const e = f.exception;
    // Tag text: escaped.
    out.push(text(e.status === "invalid" ? `Exception tag not honoured: ${escapeMarkdown(e.why)}` : `Exception: ${escapeMarkdown(e.reason)}; ${until(e.expires, t.at)}`, { isSubtle: true }));
  }
  if (t.kind !== "resolved") {
    out.push(text(compact ? `What to do: ${f.remediation.advice}` : "What to do", { weight: compact ? "Default" : "Bolder", spacing: "Small" }));
    if (!compact) out.push(text(f.remediation.advice));
    for (const command of f.remediation.commands) out.push(text(command, { fontType: "Monospace", size: "Small" }));
  }
  return out;
}

function render(sorted: readonly AlertForCard[], compact: boolean, note?: string): { type: "message"; attachments: unknown[] } {
  const lead = sorted[0]!;
  const attribution = sorted.find((a) => a.attribution)?.attribution;
  const single = sorted.length === 1;
  const body: Element[] = [
    ...(note ? [text(note, { isSubtle: true, weight: "Bolder" })] : []),
    ...sorted.map((a, i) => header(a.transition, i === 0)),
    text("Where", { weight: "Bolder", spacing: "Medium" }),
    where(lead.transition.after),
    text("Who and when", { weight: "Bolder", spacing: "Medium" }),
    ...who(attribution),
    { type: "FactSet", facts: [{ title: "When (UTC)", value: attribution?.eventTime || lead.transition.at }] },
    ...sorted.flatMap((a, i) => details(a.transition, single ? "How bad" : `How bad: ${a.transition.after.ruleId}`, compact && i > 0)),
    // One line per alert: the outbox ids this card delivers (the first is the lead's).
    ...sorted.map((a) => text(`alert ${a.alertId}`, { isSubtle: true, size: "Small", spacing: "None" })),
  ];
  return cardMessage(body, { fullWidth: true, open: { title: "Open in Azure portal", url: lead.transition.after.remediation.portalUrl } });
}

/** The card for one transition. */
export function alertMessage(alert: AlertForCard): { type: "message"; attachments: unknown[] } {
  return alertsMessage([alert]);
}

/**
 * One card for every transition one change caused on one resource, most severe first: the
 * headline blocks first (what happened), then where, who and when once, then how bad and what
 * to do per transition. A large group drops the facts of all but the first transition to stay
 * under the size limit.
 */
export function alertsMessage(alerts: readonly AlertForCard[], options: { readonly note?: string } = {}): { type: "message"; attachments: unknown[] } {
  if (alerts.length === 0) throw new Error("alertsMessage needs at least one alert");
  const sorted = [...alerts].sort(cardOrder);
  const full = render(sorted, false, options.note);
  return sorted.length > 1 && Buffer.byteLength(JSON.stringify(full)) > MAX_CARD_BYTES ? render(sorted, true, options.note) : full;
}

export interface Digest {
  readonly date: string;
  readonly openByRule: Readonly<Record<string, number>>;
  readonly opened: readonly Finding[];
  readonly resolved: readonly Finding[];
  readonly sweep?: Readonly<Record<string, number | string>>;
}

/** The nightly digest: open findings by rule, what opened and resolved since yesterday, sweep figures. */
export function digestMessage(digest: Digest): { type: "message"; attachments: unknown[] } {
  const total = Object.values(digest.openByRule).reduce((a, b) => a + b, 0);
  const body: Element[] = [
    text(`gallery-watch daily digest — ${digest.date}`, { size: "Large", weight: "Bolder" }),
    text(`${total} open finding(s); ${digest.opened.length} new and ${digest.resolved.length} resolved since yesterday.`),
    { type: "FactSet", facts: Object.entries(digest.openByRule).map(([title, n]) => ({ title, value: String(n) })) },
    text("New", { weight: "Bolder" }),
    text(digest.opened.length === 0 ? "none" : summariseList(digest.opened.map((f) => `${f.ruleId} on ${f.resourceId.split("/").pop()}`))),
    text("Resolved", { weight: "Bolder" }),
    text(digest.resolved.length === 0 ? "none" : summariseList(digest.resolved.map((f) => `${f.ruleId} on ${f.resourceId.split("/").pop()}`))),
  ];
  if (digest.sweep) body.push({ type: "FactSet", facts: Object.entries(digest.sweep).map(([title, v]) => ({ title, value: String(v) })) });
  return cardMessage(body);
}

/**
 * The one Teams message around an Adaptive Card 1.5 (every card: a change, a storm's group, the
 * digest, a test card): full width when asked, one "open" action when given.
 */
export type CardMessage = { type: "message"; attachments: Array<{ contentType: string; contentUrl: null; content: Element }> };

export function cardMessage(body: readonly Element[], options: { readonly fullWidth?: boolean; readonly open?: { readonly title: string; readonly url: string } } = {}): CardMessage {
  const card: Element = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.5",
    ...(options.fullWidth ? { msteams: { width: "Full" } } : {}),
    body,
    ...(options.open ? { actions: [{ type: "Action.OpenUrl", title: options.open.title, url: options.open.url }] } : {}),
  };
  // Claims, tags and names are someone else's text: no control character reaches the card.
  return { type: "message", attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: stripControlsDeep(card) }] };
}
