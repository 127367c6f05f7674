/**
 * Table Storage keys from normalised resource keys. PartitionKey and RowKey may not contain
 * `/`, `\`, `#`, `?` or control characters and are limited in size
 * (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model).
 * The encoding is percent-encoding with `~` as the escape character: injective, reversible,
 * and free of every forbidden character. Very long keys fall back to a hash (the original key
 * is always stored alongside as a property).
 */
import { createHash } from "node:crypto";

const MAX_KEY_CHARS = 400;

export function encodeKey(key: string): string {
  const encoded = encodeURIComponent(key).replace(/[~!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%/g, "~");
  return encoded.length <= MAX_KEY_CHARS ? encoded : `h~${createHash("sha256").update(key).digest("hex")}`;
}

export function decodeKey(encoded: string): string | undefined {
  if (encoded.startsWith("h~")) return undefined;
  return decodeURIComponent(encoded.replace(/~/g, "%"));
}

const MAX_MS = 9_999_999_999_999;

/**
 * The OData condition "at or after `iso`" on a RowKey that starts with `invertedTime`:
 * time >= since  <=>  inverted(time) <= inverted(since)  <=>  RowKey < inverted(since) + 1 (a
 * 13-digit prefix). At 1970 itself that bound has 14 digits and would sort before every key (so
 * a `since` of 1970 found nothing): every stored time is at or after it, so there is no condition.
 */
export function rowKeyAtOrAfter(iso: string): string | undefined {
  const bound = Number(invertedTime(iso)) + 1;
  return bound > MAX_MS ? undefined : `RowKey lt '${String(bound).padStart(13, "0")}'`;
}

/** Newest first: later times sort earlier. Fixed width so string order is time order. */
export function invertedTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not a time: ${iso}`);
  return String(MAX_MS - ms).padStart(13, "0");
}
