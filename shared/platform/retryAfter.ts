/**
 * The one Retry-After reader, for every HTTP dependency (ARM, the Teams webhook, the Event Grid
 * topic). It reads the headers in core-rest-pipeline's order (its throttlingRetryStrategy:
 * `retry-after-ms`, `x-ms-retry-after-ms`, then `Retry-After`), the first that parses winning:
 * - `retry-after-ms` / `x-ms-retry-after-ms`: milliseconds (Azure services that need finer than a
 *   second send these; "Retry-After" in the Azure REST API guidelines);
 * - `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
 */

/** A response's header lookup (Fetch `Headers.get`, core-rest-pipeline `HttpHeaders.get`). */
export type HeaderLookup = (name: string) => string | null | undefined;

const MS_HEADERS = ["retry-after-ms", "x-ms-retry-after-ms"] as const;

/** How long the server asked us to wait, in ms; undefined when it did not say (or said nonsense). */
export function retryAfterFromHeaders(get: HeaderLookup, now = Date.now()): number | undefined {
  for (const name of MS_HEADERS) {
    const value = get(name);
    if (value === null || value === undefined || value.trim() === "") continue;
    const ms = Number(value);
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  return retryAfterMs(get("retry-after"), now);
}

/** A `Retry-After` value (delay-seconds or an HTTP date) → milliseconds from `now`. */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
