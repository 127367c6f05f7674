/**
 * Text someone else wrote (event claims, tag values, ARM messages, resource names) is shown in
 * cards and the evidence report as plain characters only. Control characters (C0 but tab, line
 * feed and carriage return; DEL; C1) are removed: an ESC sequence copied from a claim would recolour
 * or rewrite a terminal showing the report's source, and a NUL or BEL has no business in a card.
 * Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) go too: they
 * reorder how the text around them is displayed, so `evil.exe` can read as something else
 * (Unicode Technical Standard #39 / CVE-2021-42574, "Trojan Source").
 */
const UNSHOWABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;

export function stripControls(value: string): string {
  return value.replace(UNSHOWABLE, "");
}

/** Every string inside a JSON-like value, stripped (keys included); other values as they are. */
export function stripControlsDeep<T>(value: T): T {
  if (typeof value === "string") return stripControls(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => stripControlsDeep(v)) as T;
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [stripControls(k), stripControlsDeep(v)])) as T;
  return value;
}
