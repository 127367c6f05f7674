/**
 * Escaping for the evidence page. Every piece of stored text (resource names, callers' names
 * from event claims, exception reasons from tags, ARM messages) comes from people or Azure and
 * is rendered as text, never as markup: `<script>` in a caller's name stays visible text.
 */

import { stripControls } from "../plainText.js";

const ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text content or a quoted attribute value; control characters removed (shared/views/plainText.ts). */
export function esc(value: unknown): string {
  return stripControls(String(value ?? "")).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * A link only when it is an absolute https URL (a portal deep link); anything else (a
 * `javascript:` or `data:` URL a tampered row could hold) is shown as text. The anchor is plain:
 * nothing loads until the reader clicks it.
 */
export function link(url: string, text: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== "https:") return esc(text);
  return `<a href="${esc(parsed.href)}" rel="noopener noreferrer">${esc(text)}</a>`;
}

/** `2026-05-01T12:34:56.789Z` → `<time datetime="…">2026-05-01 12:34 UTC</time>`; other text as is. */
export function time(iso: string | undefined): string {
  if (!iso) return "";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return esc(iso);
  const normal = new Date(ms).toISOString();
  return `<time datetime="${esc(normal)}">${esc(`${normal.slice(0, 10)} ${normal.slice(11, 16)} UTC`)}</time>`;
}
