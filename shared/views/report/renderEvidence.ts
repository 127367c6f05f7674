/**
 * `renderEvidence(data)`: the audit evidence pack as one self-contained HTML page. Inline CSS,
 * inline SVG, no script, no font, no image: a Content-Security-Policy of `default-src 'none'`
 * makes the browser refuse any request the page might try, so it renders the same from a
 * `file://` URL on an offline machine as anywhere else. Portal links are plain anchors that
 * load nothing until clicked. Every stored text is escaped (html.ts).
 */
import { parseResourceId } from "../../domain/resourceId.js";
import { SEVERITIES_WORST_FIRST, type Finding } from "../../domain/findings.js";
import type { SweepRun } from "../../domain/records.js";
import { findingsChart } from "./chart.js";
import { activeExceptions, changeLog, openFindings, openFindingsPerDay, type ChangeEntry, type EvidenceData, type ExceptionEntry } from "./evidence.js";
import { esc, link, time } from "./html.js";
import { expiryWording } from "../../domain/wording.js";

/** The section ids, in page order: the table of contents and the tests use them. */
export const SECTION_IDS = ["summary", "chart", "open-findings", "exceptions", "changes", "lineage", "sweep-runs"] as const;

const CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg-alt: #f6f8fa; --accent: #0969da;
  --critical: #8b0000; --high: #c2410c; --medium: #9a6700; --low: #57606a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); margin: 0; padding: 24px 32px 48px; max-width: 1400px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p.lead, .muted { color: var(--muted); }
dl.scope { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; }
dl.scope dt { font-weight: 600; }
dl.scope dd { margin: 0; }
nav ol { display: flex; flex-wrap: wrap; gap: 4px 0; list-style: none; padding: 0; margin: 8px 0; }
nav li:not(:last-child)::after { content: "·"; color: var(--muted); padding: 0 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--bg-alt); font-weight: 600; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fbfcfd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .id { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { display: block; white-space: pre-wrap; word-break: break-all; background: var(--bg-alt); padding: 4px 6px; border-radius: 4px; margin: 2px 0; }
.id { color: var(--muted); word-break: break-all; }
.sev { font-weight: 700; text-transform: uppercase; font-size: 11px; letter-spacing: .03em; }
.sev-critical { color: var(--critical); } .sev-high { color: var(--high); } .sev-medium { color: var(--medium); } .sev-low { color: var(--low); }
.flag { display: inline-block; font-size: 11px; font-weight: 700; color: #fff; background: var(--high); border-radius: 3px; padding: 1px 6px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.card .n { font-size: 22px; font-weight: 700; }
.empty { color: var(--muted); font-style: italic; }
ul.failures { margin: 4px 0; padding-left: 18px; }
#findings-chart { width: 100%; max-width: 960px; height: auto; border: 1px solid var(--line); border-radius: 6px; }
#findings-chart .grid { stroke: #eaeef2; stroke-width: 1; }
#findings-chart .axis { stroke: var(--muted); stroke-width: 1.2; }
#findings-chart .series { stroke: var(--accent); stroke-width: 2.2; }
#findings-chart .point { fill: var(--accent); }
#findings-chart .tick { font-size: 11px; fill: var(--muted); }
#findings-chart .axis-label { font-size: 12px; fill: var(--fg); font-weight: 600; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); }
@media print { body { padding: 0; } th { position: static; } h2 { break-after: avoid; } tr { break-inside: avoid; } a { color: inherit; } }
`;

const sev = (s: string) => `<span class="sev sev-${esc(s)}">${esc(s)}</span>`;

function resource(id: string): string {
  try {
    const parsed = parseResourceId(id);
    const name = [parsed.gallery, parsed.image, parsed.version, parsed.scaleSet].filter(Boolean).join("/");
    return `<div>${esc(name || id)} <span class="muted">(${esc(parsed.kind)}, ${esc(parsed.resourceGroup)})</span></div><div class="id">${esc(id)}</div>`;
  } catch {
    return `<div class="id">${esc(id)}</div>`;
  }
}

function table(headers: readonly string[], rows: readonly string[], empty: string, numeric: readonly number[] = []): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  const head = headers.map((h, i) => `<th scope="col"${numeric.includes(i) ? ' class="num"' : ""}>${esc(h)}</th>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

function findingRow(f: Finding): string {
  const commands = f.remediation.commands.map((c) => `<code>${esc(c)}</code>`).join("");
  return (
    `<tr data-fingerprint="${esc(f.fingerprint)}"><td>${sev(f.severity)}<div class="muted">${esc(f.status)}</div></td><td>${esc(f.ruleId)}</td>` +
    `<td>${resource(f.resourceId)}<div>${link(f.remediation.portalUrl, "Open in the Azure portal")}</div></td><td>${time(f.firstSeenAt)}</td>` +
    `<td>${esc(f.summary)}</td><td>${esc(f.remediation.advice)}${commands}</td></tr>`
  );
}

function exceptionRow(e: ExceptionEntry, now: Date): string {
  // The one expiry wording (shared/domain/wording.ts), counted from when the page was generated.
  const left = expiryWording(e.expires, now).text;
  return (
    `<tr${e.expiringSoon ? ' class="expiring"' : ""}><td>${sev(e.finding.severity)}</td><td>${esc(e.finding.ruleId)}</td><td>${resource(e.finding.resourceId)}</td>` +
    `<td>${esc(e.reason)}<div class="muted">tag ${esc(e.tag)}, ${esc(e.setter)}</div></td><td><time datetime="${esc(Number.isNaN(Date.parse(e.expires)) ? e.expires : new Date(Date.parse(e.expires)).toISOString())}">${esc(left)}</time>${e.expiringSoon ? `<div><span class="flag">expiring soon</span></div>` : ""}</td>` +
    `<td>${esc(e.finding.summary)}</td></tr>`
  );
}

function who(c: ChangeEntry): string {
  if (!c.who || Object.keys(c.who).length === 0) return c.source === "sweep" ? `<span class="muted">gallery-watch sweep</span>` : `<span class="muted">not in the event</span>`;
  const parts = [
    c.who.callerName ? `<div>${esc(c.who.callerName)}</div>` : "",
    c.who.callerUpn ? `<div>${esc(c.who.callerUpn)}</div>` : "",
    c.who.callerAppId ? `<div>app ${esc(c.who.callerAppId)}</div>` : "",
    !c.who.callerName && !c.who.callerUpn && c.who.callerObjectId ? `<div>object ${esc(c.who.callerObjectId)}</div>` : "",
    c.who.clientIp ? `<div class="muted">IP ${esc(c.who.clientIp)}</div>` : "",
  ];
  return parts.join("");
}

function changeRow(c: ChangeEntry): string {
  const how = c.source === "sweep" ? `sweep${c.runId ? ` ${c.runId}` : ""}` : c.source;
  return (
    `<tr><td>${time(c.at)}</td><td>${who(c)}</td><td>${esc(c.action)}${c.operationName ? `<div class="muted">${esc(c.operationName)}</div>` : ""}<div class="muted">via ${esc(how)}</div></td>` +
    `<td>${resource(c.resourceId)}</td><td><span class="id">${esc(c.correlationId ?? "")}</span></td></tr>`
  );
}

function runRow(run: SweepRun): string {
  const transitions = Object.entries(run.transitions).filter(([, n]) => (n ?? 0) > 0).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
  const failures =
    run.failures.length === 0
      ? `<span class="muted">none</span>`
      : `<ul class="failures">${run.failures.map((f) => `<li>${esc(f.operation)} on <span class="id">${esc(f.resourceId)}</span>: ${esc(f.reason)}</li>`).join("")}</ul>`;
  return (
    `<tr><td>${time(run.startedAt)}</td><td>${run.finishedAt ? time(run.finishedAt) : `<span class="muted">not finished</span>`}</td><td>${esc(run.status)}</td>` +
    `<td><span class="id">${esc(run.subscriptionId)}</span><div class="muted">${esc(run.runId)}</div></td>` +
    `<td>${run.seen.galleries} galleries, ${run.seen.definitions} definitions, ${run.seen.versions} versions, ${run.seen.scaleSets} scale sets, ${run.seen.virtualMachines} VMs; ` +
    `${run.armRequests} ARM requests, ${run.snapshotsWritten} snapshots written, ${run.reconciled} found missing; transitions: ${esc(transitions)}</td><td>${failures}</td></tr>`
  );
}

const MACHINE_KINDS = { scaleSet: "scale set", virtualMachine: "VM" } as const;

/** One row per machine that ran a version: versions by id, then machines as stored (by id). */
function lineageRows(lineage: EvidenceData["lineage"]): string[] {
  return [...(lineage ?? [])]
    .sort((a, b) => a.versionId.localeCompare(b.versionId))
    .flatMap((l) =>
      l.machines.map(
        (m) =>
          `<tr><td>${resource(l.versionId)}</td><td>${resource(m.machineId)}</td><td>${MACHINE_KINDS[m.kind]}</td><td>${time(m.firstSeen)}</td><td>${m.lastSeen ? time(m.lastSeen) : `<span class="flag">runs it now</span>`}</td></tr>`,
      ),
    );
}

export interface EvidenceCounts {
  readonly openFindings: number;
  readonly exceptions: number;
  readonly expiringExceptions: number;
  readonly changes: number;
  readonly sweepRuns: number;
  readonly days: number;
}

export function evidenceCounts(data: EvidenceData): EvidenceCounts {
  const exceptions = activeExceptions(data);
  return {
    openFindings: openFindings(data).length,
    exceptions: exceptions.length,
    expiringExceptions: exceptions.filter((e) => e.expiringSoon).length,
    changes: data.changes.length,
    sweepRuns: data.sweepRuns.length,
    days: openFindingsPerDay(data).length,
  };
}

export function renderEvidence(data: EvidenceData): string {
  const open = openFindings(data);
  const exceptions = activeExceptions(data);
  const changes = changeLog(data);
  const runs = [...data.sweepRuns].sort((a, b) => b.startedAt.localeCompare(a.startedAt) || a.subscriptionId.localeCompare(b.subscriptionId));
  const perDay = openFindingsPerDay(data);
  const lineage = lineageRows(data.lineage);
  const within = data.expiringWithinDays ?? 14;
  const bySeverity = SEVERITIES_WORST_FIRST.map((s) => `<div class="card"><div class="n sev-${s}">${open.filter((f) => f.severity === s).length}</div>${s}</div>`).join("");
  const title = "gallery-watch audit evidence";

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="gallery-watch report">
<title>${esc(title)} · ${esc(data.generatedAt.slice(0, 10))}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<p class="lead">Specialized Azure Compute Gallery images: what gallery-watch found, what is excepted and why, who changed what, and how the sweeps went.</p>
<dl class="scope">
<dt>Generated</dt><dd id="generated-at">${time(data.generatedAt)}</dd>
<dt>Period</dt><dd id="period">${time(data.since)} to ${time(data.generatedAt)}</dd>
<dt>Subscriptions</dt><dd id="subscriptions">${data.subscriptions.length === 0 ? `<span class="empty">none configured</span>` : data.subscriptions.map((s) => `<span class="id">${esc(s)}</span>`).join(", ")}</dd>
</dl>
<nav aria-label="Sections"><ol>
${[
  ["summary", "Summary"],
  ["chart", "Findings over time"],
  ["open-findings", `Open findings (${open.length})`],
  ["exceptions", `Exceptions (${exceptions.length})`],
  ["changes", `Changes (${changes.length})`],
  ["lineage", `Lineage (${lineage.length})`],
  ["sweep-runs", `Sweep runs (${runs.length})`],
]
  .map(([id, label]) => `<li><a href="#${id}">${esc(label)}</a></li>`)
  .join("\n")}
</ol></nav>
</header>
<main>
<section id="summary">
<h2>Summary</h2>
<div class="cards">${bySeverity}
<div class="card"><div class="n">${exceptions.length}</div>active exceptions${exceptions.some((e) => e.expiringSoon) ? `<div><span class="flag">${exceptions.filter((e) => e.expiringSoon).length} expiring within ${within} days</span></div>` : ""}</div>
<div class="card"><div class="n">${changes.length}</div>changes in the period</div>
<div class="card"><div class="n">${runs.length}</div>sweep runs${runs.some((r) => r.failures.length > 0 || r.status === "failed") ? ` <div><span class="flag">${runs.filter((r) => r.failures.length > 0 || r.status === "failed").length} with failures</span></div>` : ""}</div>
</div>
${(data.notes ?? []).map((n) => `<p class="muted note">${esc(n)}</p>`).join("\n")}
</section>
<section id="chart">
<h2>Findings over time</h2>
<p class="muted">Findings not resolved at the end of each UTC day (excepted ones included), from when each was first seen to when it was resolved.</p>
<figure>${findingsChart(perDay)}</figure>
</section>
<section id="open-findings">
<h2>Open findings</h2>
<p class="muted">Open or escalated now, worst first. Findings covered by an exception are listed under Exceptions.</p>
${table(["Severity", "Rule", "Resource", "Since", "Summary", "Remediation"], open.map(findingRow), "No open findings.")}
</section>
<section id="exceptions">
<h2>Exceptions</h2>
<p class="muted">Findings covered by an active exception tag, soonest expiry first; those expiring within ${within} days are flagged.</p>
${table(["Severity", "Rule", "Resource", "Reason", "Expires", "Finding"], exceptions.map((e) => exceptionRow(e, new Date(data.generatedAt))), "No active exceptions.")}
</section>
<section id="changes">
<h2>Changes with attribution</h2>
<p class="muted">Newest first. Who comes from the Azure event's claims (name, UPN, app id, client IP); the correlation id finds the operation in the Azure activity log.</p>
${table(["Time", "Who", "Action", "Resource", "Correlation id"], changes.map(changeRow), "No changes recorded in the period.")}
</section>
<section id="lineage">
<h2>Lineage</h2>
<p class="muted">Every scale set and VM gallery-watch recorded running each image version: when first seen running it, and when last seen if it no longer does (moved to another version, or deleted).</p>
${table(["Version", "Machine", "Kind", "First seen", "Last seen"], lineage, "No machine recorded running a stored version.")}
</section>
<section id="sweep-runs">
<h2>Sweep runs</h2>
<p class="muted">Every sweep started in the period, newest first, with its figures and the parts it could not read.</p>
${table(["Started", "Finished", "Status", "Subscription / run", "Figures", "Failures"], runs.map(runRow), "No sweep ran in the period.")}
</section>
</main>
<footer>Generated by gallery-watch from its stored history. This page loads nothing from the network; portal links open only when clicked.</footer>
</body>
</html>
`;
}
