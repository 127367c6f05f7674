/**
 * A local stand-in for a Teams channel's Workflows webhook: validates the envelope like
 * Workflows would (one Adaptive Card ≤ 1.5, Action.OpenUrl only), answers 202, records every
 * POST (so tests catch double sends), and shows the cards on a web page rendered with the
 * adaptivecards library served from node_modules (no CDN). Faults: fail or hang the next N posts.
 * The page adds only new cards as they arrive (a reader's text selection stays put) and filters
 * by severity and rule in the browser; `/?severity=critical&rule=scale-set-use` opens it filtered.
 * Card text is rendered as Teams renders it: TextBlocks and FactSet titles and values take a
 * Markdown subset — bold, italic, bulleted and numbered lists, links; no headings, tables, images,
 * preformatted text, block quotes or HTML ("Format cards in Teams",
 * https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format).
 * markdown-it (served from node_modules like adaptivecards) does it with only those rules on and
 * HTML off, so `**critical**` shows bold, `<script>` stays text and a `javascript:` link is no link
 * (markdown-it's validateLink refuses javascript:, vbscript:, file: and data: URLs).
 * Faults, as a misbehaving webhook does: fail the next N posts with a status (429 with Retry-After,
 * 404 while a flow is off), hang them (no answer, connection dropped), or answer them slowly (the
 * card is posted, the answer comes late — a slow Workflows flow).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { scriptedFaults, type FaultControl } from "./scriptedFaults.js";
import { RULE_IDS, SEVERITY_ORDER } from "../shared/domain/findings.js";

export interface ReceivedCard {
  readonly receivedAt: string;
  readonly alertId?: string;
  readonly card: unknown;
}

/** What `/cards.json` lists: the card, its arrival number (0, 1, …) and the rules and severities it speaks of. */
export interface ListedCard extends ReceivedCard {
  readonly seq: number;
  readonly rules: readonly string[];
  readonly severities: readonly string[];
}

const SEVERITIES = Object.keys(SEVERITY_ORDER).sort((a, b) => SEVERITY_ORDER[b as keyof typeof SEVERITY_ORDER] - SEVERITY_ORDER[a as keyof typeof SEVERITY_ORDER]);

/**
 * The rules and severities a card names, from its headings ("Opened: scale-set-use (critical)",
 * one per transition; shared/views/adaptiveCard.ts). A digest names none.
 */
export function cardLabels(payload: unknown): { rules: string[]; severities: string[] } {
  const rules = new Set<string>();
  const severities = new Set<string>();
  const heading = new RegExp(`\\b(${RULE_IDS.join("|")}) \\((${SEVERITIES.join("|")})\\)`);
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    if (n.type === "TextBlock" && typeof n.text === "string") {
      const m = heading.exec(n.text);
      if (m) {
        rules.add(m[1]!);
        severities.add(m[2]!);
      }
    }
    Object.values(n).forEach(walk);
  };
  walk(payload);
  return { rules: [...rules], severities: [...severities] };
}

export interface TeamsInbox {
  readonly url: string;
  readonly webhookUrl: string;
  cards(): ReceivedCard[];
  /** Every POST, accepted or not, with the status answered. */
  attempts(): ReadonlyArray<{ at: string; status: number }>;
  /** Scripted failures; a slow post is accepted (the card is posted at once) but answered late. */
  readonly faults: FaultControl;
  close(): Promise<void>;
}

/** Why Workflows would refuse this payload, or undefined if it is acceptable. */
export function envelopeProblem(payload: unknown): string | undefined {
  const p = payload as { type?: unknown; attachments?: Array<{ contentType?: unknown; content?: Record<string, unknown> }> };
  if (p?.type !== "message") return "type must be \"message\"";
  if (!Array.isArray(p.attachments) || p.attachments.length !== 1) return "exactly one attachment expected";
  const [attachment] = p.attachments;
  if (attachment?.contentType !== "application/vnd.microsoft.card.adaptive") return "attachment is not an Adaptive Card";
  const card = attachment.content;
  if (card?.type !== "AdaptiveCard") return "content.type must be AdaptiveCard";
  if (!(Number(card.version) <= 1.5)) return `card version ${String(card.version)} is above 1.5`;
  const actions: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node && typeof node === "object") {
      const n = node as Record<string, unknown>;
      if (typeof n.type === "string" && n.type.startsWith("Action.")) actions.push(n.type);
      Object.values(n).forEach(walk);
    }
  };
  walk(card);
  const bad = actions.filter((a) => a !== "Action.OpenUrl");
  return bad.length > 0 ? `only Action.OpenUrl is allowed, found ${bad.join(", ")}` : undefined;
}

/** `feed`: the findings feed's events (the simulated Event Grid topic's), served as `/events.json` beside the cards. */
export async function startTeamsInbox(options: { port?: number; feed?: () => unknown[] } = {}): Promise<TeamsInbox> {
  const received: ReceivedCard[] = [];
  const listed: ListedCard[] = [];
  const attempts: Array<{ at: string; status: number }> = [];
  const faults = scriptedFaults();
  const require = createRequire(import.meta.url);
  const adaptiveCardsJs = readFileSync(require.resolve("adaptivecards/dist/adaptivecards.min.js"));
  // markdown-it's package exports do not list its browser bundle: it sits beside the main file.
  const markdownItJs = readFileSync(path.join(path.dirname(require.resolve("markdown-it")), "browser", "markdown-it.umd.min.js"));

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method === "POST" && url.pathname === "/webhook") {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const at = new Date().toISOString();
      const hang = faults.nextHang();
      if (hang !== undefined) {
        await new Promise((r) => setTimeout(r, hang));
        attempts.push({ at, status: 0 });
        return void req.socket.destroy();
      }
      const failure = faults.nextFailure();
      if (failure) {
        attempts.push({ at, status: failure.status });
        res.writeHead(failure.status, failure.retryAfterSeconds !== undefined ? { "retry-after": String(failure.retryAfterSeconds) } : {});
        return void res.end();
      }
      let payload: unknown;
      try {
        payload = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        payload = undefined;
      }
      const problem = envelopeProblem(payload);
      attempts.push({ at, status: problem ? 400 : 202 });
      if (problem) {
        res.writeHead(400, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ error: problem }));
      }
      const alertId = /alert ([0-9a-f]+:\d+)/.exec(JSON.stringify(payload))?.[1];
      received.push({ receivedAt: at, ...(alertId ? { alertId } : {}), card: payload });
      listed.push({ ...received.at(-1)!, seq: listed.length, ...cardLabels(payload) });
      const slow = faults.nextSlow();
      if (slow !== undefined) await new Promise((r) => setTimeout(r, slow));
      if (res.destroyed) return; // the sender gave up waiting; the card is posted all the same
      res.writeHead(202);
      return void res.end();
    }
    if (req.method === "GET" && url.pathname === "/cards.json") {
      // Newest first; `?since=N`: only the cards from arrival number N on (what the page has not shown yet).
      const since = Math.max(0, Number.parseInt(url.searchParams.get("since") ?? "0", 10) || 0);
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      return void res.end(JSON.stringify(listed.slice(since).reverse()));
    }
    if (req.method === "GET" && url.pathname === "/events.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      return void res.end(JSON.stringify(options.feed?.() ?? []));
    }
    if (req.method === "GET" && url.pathname === "/adaptivecards.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      return void res.end(adaptiveCardsJs);
    }
    if (req.method === "GET" && url.pathname === "/markdown-it.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      return void res.end(markdownItJs);
    }
    if (req.method === "GET" && url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return void res.end(page());
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    webhookUrl: `${base}/webhook?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=local-inbox-secret`,
    cards: () => [...received],
    attempts: () => [...attempts],
    faults: faults.control,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The page: plain JS inline, no framework. It asks only for cards it has not shown (`since=`) and
 * puts them on top; cards already on the page are never redrawn, so a reader's selection stays.
 * The filters hide cards (`hidden`), they do not rebuild the list; they are kept in the address
 * (`?severity=&rule=`) so a filtered view can be shared or reloaded.
 */
function page(): string {
  const options = (values: readonly string[]) => values.map((v) => `<option value="${v}">${v}</option>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gallery-watch — Teams inbox</title>
<style>body{font-family:"Segoe UI",system-ui,sans-serif;background:#f5f5f5;margin:0;padding:24px}h1{font-size:20px}
.card{background:#fff;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.2);margin:0 0 16px;max-width:760px;padding:4px}
.meta{color:#666;font-size:12px;margin:8px 12px}form{margin:0 0 12px}label{margin-right:16px}</style>
<script src="/adaptivecards.js"></script><script src="/markdown-it.js"></script></head>
<body><h1>gallery-watch — Teams inbox</h1><nav><a href="/">Cards</a> · <a href="/events.json">Findings feed</a> (the CloudEvents the Event Grid topic received)</nav>
<form id="filters" onsubmit="return false">
<label>Severity <select id="severity" name="severity"><option value="">all</option>${options(SEVERITIES)}</select></label>
<label>Rule <select id="rule" name="rule"><option value="">all</option>${options(RULE_IDS)}</select></label>
</form>
<p id="count"></p><div id="cards"></div>
<script>
var seen = 0;
// Teams' Markdown subset in cards (see local/teamsInbox.ts): emphasis, lists, links, backslash escapes; HTML off.
if (typeof markdownit === 'function') {
  var markdown = markdownit('zero', { html: false, linkify: false }).enable(['emphasis', 'list', 'link', 'escape', 'newline']);
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = function (text, result) { result.outputHtml = markdown.render(text); result.didProcess = true; };
}
var severity = document.getElementById('severity'), rule = document.getElementById('rule');
var root = document.getElementById('cards');
var query = new URLSearchParams(location.search);
severity.value = query.get('severity') || ''; rule.value = query.get('rule') || '';
function visible(box){
  return (!severity.value || box.dataset.severities.split(' ').indexOf(severity.value) >= 0) &&
         (!rule.value || box.dataset.rules.split(' ').indexOf(rule.value) >= 0);
}
function applyFilters(){
  var shown = 0;
  for (var i = 0; i < root.children.length; i++) { var box = root.children[i]; box.hidden = !visible(box); if (!box.hidden) shown++; }
  document.getElementById('count').textContent = seen + ' card(s) received, newest first' + (severity.value || rule.value ? '; ' + shown + ' shown by the filter' : '');
}
function filterChanged(){
  var q = new URLSearchParams();
  if (severity.value) q.set('severity', severity.value);
  if (rule.value) q.set('rule', rule.value);
  history.replaceState(null, '', q.toString() ? '?' + q : location.pathname);
  applyFilters();
}
severity.addEventListener('change', filterChanged); rule.addEventListener('change', filterChanged);
function render(c){
  var box = document.createElement('div'); box.className = 'card';
  box.dataset.seq = String(c.seq); box.dataset.rules = c.rules.join(' '); box.dataset.severities = c.severities.join(' ');
  var meta = document.createElement('div'); meta.className = 'meta';
  meta.textContent = 'received ' + c.receivedAt + (c.rules.length ? ' · ' + c.rules.join(', ') : ''); box.appendChild(meta);
  var ac = new AdaptiveCards.AdaptiveCard(); ac.parse(c.card.attachments[0].content); box.appendChild(ac.render());
  return box;
}
async function poll(){
  try {
    var fresh = await (await fetch('/cards.json?since=' + seen)).json();
    // Newest first: insert the oldest of them first, each on top; existing cards stay untouched.
    for (var i = fresh.length - 1; i >= 0; i--) {
      if (fresh[i].seq < seen) continue;
      root.insertBefore(render(fresh[i]), root.firstChild);
      seen = fresh[i].seq + 1;
    }
  } catch (e) { /* the stack stopped or is restarting: try again on the next tick */ }
  applyFilters();
}
poll(); setInterval(poll, 3000);
</script></body></html>`;
}
