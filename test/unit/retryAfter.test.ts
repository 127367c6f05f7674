import { describe, expect, it } from "vitest";
import { retryAfterFromHeaders, retryAfterMs } from "../../shared/platform/retryAfter.js";

const headers = (h: Record<string, string>) => (name: string) => h[name.toLowerCase()];
const NOW = Date.parse("2026-12-07T06:00:00Z");

describe("the one Retry-After reader (core-rest-pipeline's headers and order)", () => {
  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(retryAfterMs("7", NOW)).toBe(7000);
    expect(retryAfterMs("Mon, 07 Dec 2026 06:00:30 GMT", NOW)).toBe(30_000);
    expect(retryAfterMs("Mon, 07 Dec 2026 05:00:00 GMT", NOW)).toBe(0);
    expect(retryAfterMs("soon", NOW)).toBeUndefined();
    expect(retryAfterMs(null, NOW)).toBeUndefined();
  });

  it("prefers retry-after-ms, then x-ms-retry-after-ms (milliseconds), then Retry-After", () => {
    expect(retryAfterFromHeaders(headers({ "retry-after-ms": "250", "x-ms-retry-after-ms": "900", "retry-after": "3" }), NOW)).toBe(250);
    expect(retryAfterFromHeaders(headers({ "x-ms-retry-after-ms": "900", "retry-after": "3" }), NOW)).toBe(900);
    expect(retryAfterFromHeaders(headers({ "retry-after": "3" }), NOW)).toBe(3000);
    expect(retryAfterFromHeaders(headers({ "retry-after-ms": "nonsense", "retry-after": "3" }), NOW)).toBe(3000);
    expect(retryAfterFromHeaders(headers({}), NOW)).toBeUndefined();
  });
});
