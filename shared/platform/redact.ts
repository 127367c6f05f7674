/**
 * Secrets never reach a log, a span or an error: webhook `sig=` values, SAS tokens, account keys,
 * bearer tokens, Application Insights instrumentation keys, client secrets. One list, used by the
 * logger and by telemetry attributes; one scrubber for URLs and one for any text (error messages,
 * stacks, log strings).
 */
const SECRET_QUERY = /^(sig|code|key|token|access_token|se|sp|sv|skoid|sktid|skt|ske|sks|skv)$/i;

/** The URL with secret query values masked: `https://x/workflows/...?api-version=1&sig=***`. Unparseable → "<invalid url>". */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    for (const name of [...parsed.searchParams.keys()]) if (SECRET_QUERY.test(name)) parsed.searchParams.set(name, "***");
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/%2A%2A%2A/g, "***");
  } catch {
    return "<invalid url>";
  }
}

const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/([?&](?:sig|code|key|token|access_token)=)[^&\s"'#]+/gi, "$1***"],
  [/(AccountKey=)[^;\s"']+/gi, "$1***"],
  [/(SharedAccessSignature=)[^;\s"']+/gi, "$1***"],
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, "$1***"],
  [/("?(?:authorization|x-ms-authorization)"?\s*[:=]\s*"?)[^",\s}]+/gi, "$1***"],
  // A `sig=` not after ? or & (inside a connection string or a quoted URL fragment).
  [/(\bsig=)[^&\s"'#;]+/gi, "$1***"],
  // Application Insights connection strings: the key lets anyone write to the resource.
  [/(InstrumentationKey=)[^;\s"']+/gi, "$1***"],
  [/(ApplicationId=)[^;\s"']+/gi, "$1***"],
  [/(client_secret=|clientSecret["']?\s*[:=]\s*["']?)[^&\s"',}]+/gi, "$1***"],
];

/** Mask every secret-looking value in free text. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
