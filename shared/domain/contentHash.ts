/**
 * sha-256 of the canonical JSON (keys sorted) of a snapshot: equal content ⇔ equal hash, whatever
 * the key order ARM used. Resource ids count by their normalised key: ARM ids are case-insensitive,
 * so an event naming `rg-Plant` and one naming `rg-plant` describe the same state.
 */
import { createHash } from "node:crypto";

const isResourceId = (v: object): v is { key: string; display: string } =>
  typeof (v as { key?: unknown }).key === "string" && typeof (v as { display?: unknown }).display === "string" && "kind" in v;

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (!v || typeof v !== "object" || Array.isArray(v)) return v;
    if (isResourceId(v)) return v.key;
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

export function contentHashOf(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}
