/** sha-256 of the canonical JSON (keys sorted) of a snapshot: equal content ⇔ equal hash, whatever the key order ARM used. */
import { createHash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function contentHashOf(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}
