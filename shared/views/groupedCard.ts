/**
 * The one card for a storm (shared/domain/alertGroups.ts): many transitions of one kind — one
 * rule, severity and kind, by one caller or in one resource group — as counts, the first
 * resources, who and when, and the `gallery-watch findings` command that lists them all. Every
 * finding stays stored and queryable; the card only stands for them in the channel. Adaptive
 * Card 1.5 with Action.OpenUrl only, well under Teams' ~28 KB however many it carries.
 * Pure: time comes in with the data.
 */
import type { FindingTransition } from "../domain/findings.js";
import { tryParseResourceId, type ResourceKind } from "../domain/resourceId.js";
import { cardMessage, escapeMarkdown, summariseList, transitionWord, who, type AlertForCard } from "./adaptiveCard.js";

/** Resources named on the card; the command lists the rest. */
export const GROUP_FIRST_RESOURCES = 10;

const KIND_NOUN: Readonly<Record<ResourceKind, [string, string]>> = {
  gallery: ["gallery", "galleries"],
  imageDefinition: ["image definition", "image definitions"],
  imageVersion: ["image version", "image versions"],
  scaleSet: ["scale set", "scale sets"],
  virtualMachine: ["virtual machine", "virtual machines"],
};

const STYLE: Readonly<Record<string, { color: string; container: string }>> = {
  critical: { color: "Attention", container: "attention" },
  high: { color: "Attention", container: "warning" },
  medium: { color: "Warning", container: "warning" },
  low: { color: "Default", container: "emphasis" },
  resolved: { color: "Good", container: "good" },
  excepted: { color: "Accent", container: "accent" },
};

type Element = Record<string, unknown>;
const text = (value: string, extra: Element = {}): Element => ({ type: "TextBlock", text: value, wrap: true, ...extra });
const count = (n: number) => n.toLocaleString("en-US");
const utc = (iso: string) => `${iso.slice(0, 19).replace("T", " ")} UTC`;

/** The CLI command that lists every finding the card stands for (and any others of that rule updated since). */
export function findingsCommand(t: FindingTransition, since: string): string {
  return `gallery-watch findings --state all --rule ${t.after.ruleId} --severity ${t.after.severity} --since ${since.slice(0, 19)}Z`;
}

/** One card for every alert of one group key, oldest transition first in the resource list. */
export function groupedAlertsMessage(alerts: readonly AlertForCard[], options: { readonly note?: string } = {}): { type: "message"; attachments: unknown[] } {
  if (alerts.length === 0) throw new Error("groupedAlertsMessage needs at least one alert");
  const sorted = [...alerts].sort((a, b) => (a.transition.at < b.transition.at ? -1 : a.transition.at > b.transition.at ? 1 : a.alertId < b.alertId ? -1 : 1));
  const lead = sorted[0]!;
  const t = lead.transition;
  const resources = new Map<string, { kind: ResourceKind; name: string; group: string; subscription: string }>();
  for (const a of sorted) {
    const id = tryParseResourceId(a.transition.after.resourceId);
    if (!resources.has(a.transition.after.resourceKey))
      resources.set(a.transition.after.resourceKey, id.ok ? { kind: id.id.kind, name: nameOf(a.transition.after.resourceId), group: id.id.resourceGroup, subscription: id.id.subscriptionId } : { kind: a.transition.after.resourceKind, name: a.transition.after.resourceId, group: "—", subscription: "—" });
  }
  const byKind = new Map<ResourceKind, number>();
  for (const r of resources.values()) byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + 1);
  const kinds = [...byKind].map(([kind, n]) => `${count(n)} ${KIND_NOUN[kind]?.[n === 1 ? 0 : 1] ?? kind}`).join(", ");
  const groups = [...new Set([...resources.values()].map((r) => r.group))];
  const subscriptions = [...new Set([...resources.values()].map((r) => r.subscription))];
  const attribution = sorted.find((a) => a.attribution)?.attribution;
  const caller = attribution?.callerName || attribution?.callerUpn || (attribution?.callerAppId ? `app ${attribution.callerAppId}` : undefined);
  const first = sorted[0]!.transition.at;
  const last = sorted[sorted.length - 1]!.transition.at;
  const style = STYLE[t.kind] ?? STYLE[t.after.severity]!;
  const kindWord = transitionWord(t);
  const names = [...resources.values()].map((r) => escapeMarkdown(r.name));
  const body: Element[] = [
    ...(options.note ? [text(options.note, { isSubtle: true, weight: "Bolder" })] : []),
    {
      type: "Container",
      style: style.container,
      bleed: true,
      items: [
        text(`${kindWord}: ${t.after.ruleId} (${t.after.severity}) on ${count(resources.size)} resources`, { size: "Large", weight: "Bolder", color: style.color }),
        // Claims and names are someone else's text: escaped.
        text(`${caller ? escapeMarkdown(caller.slice(0, 300)) : "The nightly sweep or a re-check"}: ${kinds} in ${escapeMarkdown(summariseList(groups, 3))} — ${count(sorted.length)} transitions of one kind, grouped into this card.`),
        text(`For example: ${t.after.summary}`, { isSubtle: true }),
        // Separation of duties: whoever set the tags expects them to hold; say why the first does not.
        ...(t.after.exception?.status === "refused" ? [text(`Exception refused on the first: ${escapeMarkdown(t.after.exception.why)}`, { weight: "Bolder" })] : []),
      ],
    },
    text("Where", { weight: "Bolder", spacing: "Medium" }),
    {
      type: "FactSet",
      facts: [
        { title: "Resources", value: kinds },
        { title: "Resource groups", value: escapeMarkdown(summariseList(groups)) },
        { title: "Subscriptions", value: summariseList(subscriptions) },
      ],
    },
    text(`First ${Math.min(GROUP_FIRST_RESOURCES, names.length)} of ${count(names.length)}`, { weight: "Bolder", spacing: "Small" }),
    text(names.length <= GROUP_FIRST_RESOURCES ? names.join(", ") : `${names.slice(0, GROUP_FIRST_RESOURCES).join(", ")} … and ${count(names.length - GROUP_FIRST_RESOURCES)} more`),
    text("Who and when", { weight: "Bolder", spacing: "Medium" }),
    ...who(attribution),
    { type: "FactSet", facts: [{ title: "When (UTC)", value: first === last ? utc(first) : `${utc(first)} to ${utc(last)}` }] },
    text("What to do", { weight: "Bolder", spacing: "Medium" }),
    ...(t.kind === "resolved" ? [] : [text(t.after.remediation.advice)]),
    text("Every one is stored and listed by:", { spacing: "Small" }),
    text(findingsCommand(t, first), { fontType: "Monospace", size: "Small" }),
    // The lead's outbox id as on every card, then how many this card delivers.
    text(`alert ${lead.alertId} and ${count(sorted.length - 1)} more: this card carries ${count(sorted.length)} alerts`, { isSubtle: true, size: "Small", spacing: "Small" }),
  ];
  return cardMessage(body, { fullWidth: true, open: { title: "Open the first in Azure portal", url: t.after.remediation.portalUrl } });
}

/** "gal/def/1.0.3": the names below Microsoft.Compute. */
function nameOf(resourceId: string): string {
  const parts = resourceId.split("/");
  const at = parts.findIndex((p) => p.toLowerCase() === "microsoft.compute");
  return parts
    .slice(at + 2)
    .filter((_, i) => i % 2 === 0)
    .join("/");
}
