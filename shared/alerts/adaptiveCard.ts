/**
 * Teams messages for finding transitions, as a Workflows webhook envelope carrying one Adaptive
 * Card 1.5 (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-reference#adaptive-card).
 * A card says what, where, who, when, how bad and what to do; it stays well under Teams' ~28 KB
 * message limit by summarising long lists ("and 440 more"), never by cutting JSON.
 * Pure: time comes in with the data.
 */
import type { FactValue, Finding, FindingTransition, Severity } from "../domain/findings.js";
import type { Attribution } from "../ports.js";

export const MAX_CARD_BYTES = 25_000;
const LIST_ITEMS = 12;

const KIND_WORD: Readonly<Record<FindingTransition["kind"], string>> = {
  opened: "Opened",
  escalated: "Escalated",
  changed: "Changed",
  excepted: "Excepted",
  reopened: "Reopened",
  resolved: "Resolved",
};

const SEVERITY_STYLE: Readonly<Record<Severity, { color: string; container: string }>> = {
  critical: { color: "Attention", container: "attention" },
  high: { color: "Attention", container: "warning" },
  medium: { color: "Warning", container: "warning" },
  low: { color: "Default", container: "emphasis" },
};

export interface AlertForCard {
  readonly alertId: string;
  readonly transition: FindingTransition;
  readonly attribution?: Attribution;
}

type Element = Record<string, unknown>;

const text = (value: string, extra: Element = {}): Element => ({ type: "TextBlock", text: value, wrap: true, ...extra });

/** "3 items: a, b, c" or "a, b, … and 440 more". */
export function summariseList(values: readonly string[], max = LIST_ITEMS): string {
  if (values.length <= max) return values.join(", ");
  return `${values.slice(0, max).join(", ")} … and ${values.length - max} more`;
}

function factText(value: FactValue): string {
  if (value === null) return "—";
  if (Array.isArray(value)) return value.length === 0 ? "none" : summariseList(value as string[]);
  return String(value).slice(0, 300);
}

function who(attribution: Attribution | undefined): Element[] {
  if (!attribution) return [text("Found by the nightly sweep or a re-check: no caller recorded.", { isSubtle: true })];
  const caller = [attribution.callerName, attribution.callerUpn && `(${attribution.callerUpn})`].filter(Boolean).join(" ") || (attribution.callerAppId ? `app ${attribution.callerAppId}` : "unknown caller");
  const facts = [
    { title: "Who", value: caller },
    ...(attribution.callerAppId ? [{ title: "App id", value: attribution.callerAppId }] : []),
    ...(attribution.clientIp ? [{ title: "Client IP", value: attribution.clientIp }] : []),
    ...(attribution.operationName ? [{ title: "Operation", value: attribution.operationName }] : []),
    ...(attribution.correlationId ? [{ title: "Correlation id", value: attribution.correlationId }] : []),
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

export function alertMessage(alert: AlertForCard): { type: "message"; attachments: unknown[] } {
  const { transition: t, attribution } = alert;
  const f = t.after;
  const style = SEVERITY_STYLE[f.severity];
  const headline = `${KIND_WORD[t.kind]}: ${f.ruleId} (${f.severity})`;
  const when = attribution?.eventTime || t.at;
  const body: Element[] = [
    {
      type: "Container",
      style: t.kind === "resolved" ? "good" : style.container,
      bleed: true,
      items: [text(headline, { size: "Large", weight: "Bolder", color: t.kind === "resolved" ? "Good" : style.color }), text(f.summary)],
    },
    text("Where", { weight: "Bolder", spacing: "Medium" }),
    where(f),
    text("Who and when", { weight: "Bolder", spacing: "Medium" }),
    ...who(attribution),
    { type: "FactSet", facts: [{ title: "When (UTC)", value: when }, { title: "Status", value: `${f.status} (revision ${f.revision})` }] },
    text("How bad", { weight: "Bolder", spacing: "Medium" }),
    {
      type: "FactSet",
      facts: [{ title: "Severity", value: f.severity }, ...Object.entries(f.facts).map(([title, value]) => ({ title, value: factText(value) }))],
    },
  ];
  if (f.exception) {
    const e = f.exception;
    body.push(text(e.status === "invalid" ? `Exception tag not honoured: ${e.why}` : `Exception (${e.status}): ${e.reason}, expires ${e.expires}`, { isSubtle: true }));
  }
  if (t.kind !== "resolved") {
    body.push(text("What to do", { weight: "Bolder", spacing: "Medium" }), text(f.remediation.advice));
    for (const command of f.remediation.commands) body.push(text(command, { fontType: "Monospace", size: "Small" }));
  }
  body.push(text(`alert ${alert.alertId}`, { isSubtle: true, size: "Small" }));
  const card = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.5",
    msteams: { width: "Full" },
    body,
    actions: [{ type: "Action.OpenUrl", title: "Open in Azure portal", url: f.remediation.portalUrl }],
  };
  return envelope(card);
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
  return envelope({ $schema: "http://adaptivecards.io/schemas/adaptive-card.json", type: "AdaptiveCard", version: "1.5", body });
}

function envelope(card: Element): { type: "message"; attachments: unknown[] } {
  return { type: "message", attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card }] };
}
