/**
 * The local Teams inbox page a person keeps open while driving `npm start`: new cards are added
 * on top without redrawing the ones shown (a reader's text selection survives the refresh), and
 * the severity / rule filters hide what does not match. The page's own inline script runs here
 * against the real inbox server, in a minimal DOM (no browser needed): the same script the
 * browser runs, so a regression to "clear and redraw everything" fails this test.
 */
import { existsSync } from "node:fs";
import vm from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { startTeamsInbox, type TeamsInbox } from "../../local/teamsInbox.js";
import { RULE_IDS } from "../../shared/domain/findings.js";
import { digestCard, type DigestContent } from "../../shared/views/digestCard.js";
import { aFinding, BASE } from "../support/snapshotBuilders.js";

const envelope = (...headings: string[]) => ({
  type: "message",
  attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: { type: "AdaptiveCard", version: "1.5", body: headings.map((text) => ({ type: "TextBlock", text })) } }],
});

async function post(inbox: TeamsInbox, payload: unknown): Promise<void> {
  const res = await fetch(inbox.webhookUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload) });
  expect(res.status).toBe(202);
}

/** Just enough DOM for the page's script: elements keep their identity, so a redraw shows as new objects. */
class FakeElement {
  children: FakeElement[] = [];
  dataset: Record<string, string> = {};
  hidden = false;
  className = "";
  textContent = "";
  value = "";
  private readonly listeners: Record<string, Array<() => void>> = {};
  constructor(readonly id = "") {}
  appendChild(child: FakeElement): FakeElement {
    this.children.push(child);
    return child;
  }
  insertBefore(child: FakeElement, ref: FakeElement | null): FakeElement {
    const at = ref ? this.children.indexOf(ref) : -1;
    if (at < 0) this.children.push(child);
    else this.children.splice(at, 0, child);
    return child;
  }
  get firstChild(): FakeElement | null {
    return this.children[0] ?? null;
  }
  set innerHTML(_html: string) {
    // The old page cleared the list this way every 3 s; any write here is a full redraw.
    this.children = [];
  }
  addEventListener(type: string, listener: () => void): void {
    (this.listeners[type] ??= []).push(listener);
  }
  dispatch(type: string): void {
    for (const listener of this.listeners[type] ?? []) listener();
  }
}

function loadPage(html: string, base: string, search = "") {
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (!script) throw new Error("the page has no inline script");
  const elements = Object.fromEntries(["severity", "rule", "cards", "count"].map((id) => [id, new FakeElement(id)]));
  const addresses: string[] = [];
  let tick: (() => Promise<void>) | undefined;
  const context = vm.createContext({
    document: { getElementById: (id: string) => elements[id] ?? null, createElement: () => new FakeElement() },
    location: { search, pathname: "/" },
    history: { replaceState: (_s: unknown, _t: string, url: string) => addresses.push(url) },
    URLSearchParams,
    fetch: (url: string) => fetch(new URL(url, base)),
    setInterval: (fn: () => Promise<void>) => void (tick = fn),
    AdaptiveCards: {
      AdaptiveCard: class {
        private content: unknown;
        parse(content: unknown) {
          this.content = content;
        }
        render() {
          const el = new FakeElement();
          el.textContent = JSON.stringify(this.content);
          return el;
        }
      },
    },
  });
  vm.runInContext(script, context);
  const list = elements.cards!;
  return {
    elements,
    addresses,
    list,
    visibleRules: () => list.children.filter((c) => !c.hidden).map((c) => c.dataset.rules),
    refresh: async () => {
      if (!tick) throw new Error("the page never scheduled a refresh");
      await tick();
    },
  };
}

describe("the Teams inbox page", () => {
  let inbox: TeamsInbox | undefined;
  afterEach(async () => {
    await inbox?.close();
    inbox = undefined;
  });

  it("lists each card's rules and severities, and only the cards not yet shown with ?since=", async () => {
    inbox = await startTeamsInbox();
    await post(inbox, envelope("Opened: scale-set-use (critical)", "Opened: selectable-as-latest (medium)"));
    await post(inbox, envelope("Resolved: lifecycle (high)"));
    await post(inbox, envelope("Daily digest"));
    const all = (await (await fetch(`${inbox.url}/cards.json`)).json()) as Array<{ seq: number; rules: string[]; severities: string[] }>;
    expect(all.map((c) => c.seq)).toEqual([2, 1, 0]);
    expect(all[2]).toMatchObject({ rules: ["scale-set-use", "selectable-as-latest"], severities: ["critical", "medium"] });
    expect(all[1]).toMatchObject({ rules: ["lifecycle"], severities: ["high"] });
    expect(all[0]).toMatchObject({ rules: [], severities: [] });
    const since = (await (await fetch(`${inbox.url}/cards.json?since=2`)).json()) as Array<{ seq: number }>;
    expect(since.map((c) => c.seq)).toEqual([2]);
  });

  it("offers a filter by severity and by every rule", async () => {
    inbox = await startTeamsInbox();
    const html = await (await fetch(inbox.url)).text();
    const options = (id: string) => [...(new RegExp(`<select id="${id}"[^>]*>([\\s\\S]*?)</select>`).exec(html)?.[1] ?? "").matchAll(/<option value="([^"]*)">/g)].map((m) => m[1]);
    expect(options("severity")).toEqual(["", "critical", "high", "medium", "low"]);
    expect(options("rule")).toEqual(["", ...RULE_IDS]);
  });

  it("adds new cards on top without redrawing the ones shown, and filters by severity and rule", async () => {
    inbox = await startTeamsInbox();
    await post(inbox, envelope("Opened: scale-set-use (critical)"));
    await post(inbox, envelope("Opened: lifecycle (high)"));
    const page = loadPage(await (await fetch(inbox.url)).text(), inbox.url);
    await expect.poll(() => page.list.children.length).toBe(2);
    const shown = [...page.list.children];

    await post(inbox, envelope("Opened: shared-outside (critical)"));
    await page.refresh();
    expect(page.list.children.map((c) => c.dataset.rules)).toEqual(["shared-outside", "lifecycle", "scale-set-use"]);
    // The two cards a reader may have selected text in are the very same elements, untouched.
    expect(page.list.children.slice(1)).toEqual(shown);
    expect(page.list.children[1]).toBe(shown[0]);
    await page.refresh();
    expect(page.list.children).toHaveLength(3);

    page.elements.severity!.value = "critical";
    page.elements.severity!.dispatch("change");
    expect(page.visibleRules()).toEqual(["shared-outside", "scale-set-use"]);
    expect(page.addresses.at(-1)).toBe("?severity=critical");
    page.elements.rule!.value = "scale-set-use";
    page.elements.rule!.dispatch("change");
    expect(page.visibleRules()).toEqual(["scale-set-use"]);
    expect(page.elements.count!.textContent).toContain("1 shown");
    // A card arriving while filtered is hidden unless it matches.
    await post(inbox, envelope("Resolved: lifecycle (high)"));
    await page.refresh();
    expect(page.list.children).toHaveLength(4);
    expect(page.visibleRules()).toEqual(["scale-set-use"]);
  });

  it("opens already filtered from the address (?severity=&rule=)", async () => {
    inbox = await startTeamsInbox();
    await post(inbox, envelope("Opened: scale-set-use (critical)"));
    await post(inbox, envelope("Opened: lifecycle (high)"));
    const page = loadPage(await (await fetch(inbox.url)).text(), inbox.url, "?severity=high");
    await expect.poll(() => page.list.children.length).toBe(2);
    expect(page.visibleRules()).toEqual(["lifecycle"]);
  });

  it("renders in headless Chromium when it is installed", async () => {
    if (!existsSync("/usr/bin/chromium")) {
      console.warn("teamsInboxPage: /usr/bin/chromium is absent; the page's script ran in a minimal DOM above instead of a browser");
      return;
    }
    inbox = await startTeamsInbox();
    await post(inbox, envelope("Opened: scale-set-use (critical)"));
    await post(inbox, envelope("Opened: lifecycle (high)"));
    const { runProcess } = await import("../support/processes.js");
    const run = await runProcess("/usr/bin/chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom", `${inbox.url}/?rule=lifecycle`], { cwd: process.cwd(), env: process.env, timeoutMs: 60_000 });
    expect(run.code).toBe(0);
    const boxes = [...run.stdout.matchAll(/<div class="card"([^>]*)>/g)].map((m) => m[1]!);
    expect(boxes).toHaveLength(2);
    expect(boxes.filter((attributes) => !/\bhidden\b/.test(attributes))).toHaveLength(1);
  });
});

describe("the Teams inbox renders card text as Teams does", () => {
  let inbox: TeamsInbox | undefined;
  afterEach(async () => {
    await inbox?.close();
    inbox = undefined;
  });

  it("shows the Markdown subset Teams renders (the digest's bold as <strong>) and never runs text as markup", async () => {
    if (!existsSync("/usr/bin/chromium")) {
      console.warn("teamsInboxPage: /usr/bin/chromium is absent; Markdown rendering is checked in a browser only");
      return;
    }
    inbox = await startTeamsInbox();
    const finding = aFinding(`${BASE}/galleries/gal/images/def/versions/1.0.0`, { summary: "replicated to 5 regions" });
    const digest: DigestContent = {
      digestId: "digest:2026-11-24",
      period: "2026-11-24",
      since: "2026-11-23T12:00:00.000Z",
      until: "2026-11-24T12:00:00.000Z",
      firstDigest: false,
      open: { total: 1, excepted: 0, byRule: { "replication-breadth": 1 }, bySeverity: { critical: 0, high: 1, medium: 0, low: 0 } },
      opened: [finding],
      resolved: [],
      excepted: [],
      expiringExceptions: [],
      sweepRuns: [],
    };
    await post(inbox, digestCard(digest));
    // Someone else's text, as a tag or a claim could carry it, sent raw (not escaped) to prove the renderer itself is safe.
    await post(inbox, envelope("_italic_ and [portal](https://portal.azure.com/#home)", "- first\r- second", "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">", "[click me](javascript:document.title='pwned')"));
    const { runProcess } = await import("../support/processes.js");
    const run = await runProcess("/usr/bin/chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom", `${inbox.url}/`], { cwd: process.cwd(), env: process.env, timeoutMs: 60_000 });
    expect(run.code).toBe(0);
    const dom = run.stdout;
    expect(dom).toContain("<strong>high</strong>");
    expect(dom).not.toContain("**high**");
    expect(dom).toContain("<em>italic</em>");
    expect(dom).toMatch(/<a [^>]*href="https:\/\/portal\.azure\.com\/#home"[^>]*>portal<\/a>/);
    expect(dom).toMatch(/<ul[^>]*>\s*<li>first<\/li>\s*<li>second<\/li>\s*<\/ul>/);
    // Markup in text stays text; a javascript: link is no link; nothing ran.
    expect(dom).toContain("&lt;script&gt;document.title='pwned'&lt;/script&gt;");
    expect(dom).not.toMatch(/<img[^>]*onerror/);
    expect(dom).not.toMatch(/href="javascript:/i);
    expect(dom).toContain("<title>gallery-watch — Teams inbox</title>");
  });
});
