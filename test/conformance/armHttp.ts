/**
 * Raw HTTPS requests to the simulated ARM, so a check sees exactly the status, headers and body
 * on the wire (the SDK would already have parsed, retried or thrown).
 */
import https from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import { localDevCredential } from "../../local/localCredential.js";

export interface ArmEndpoint {
  readonly url: string;
  readonly caCertPem: string;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON, or undefined for an empty body. */
  readonly body: any;
  readonly text: string;
}

export interface RequestOptions {
  /** `null` sends no api-version at all; a nextLink keeps its own. */
  readonly apiVersion?: string | null;
  /** `null` sends no Authorization header. */
  readonly bearer?: string | null;
  readonly body?: unknown;
  /** Sent as is (malformed JSON on purpose). */
  readonly rawBody?: string;
}

export async function bearerToken(): Promise<string> {
  return (await localDevCredential().getToken("https://management.azure.com/.default"))!.token;
}

/** `pathOrUrl` is an ARM path (api-version appended) or an absolute URL such as a nextLink (sent as is). */
export async function armRequest(arm: ArmEndpoint, method: string, pathOrUrl: string, options: RequestOptions = {}): Promise<RawResponse> {
  const absolute = /^https:/i.test(pathOrUrl);
  const url = new URL(absolute ? pathOrUrl : `${arm.url}${pathOrUrl}`);
  const apiVersion = options.apiVersion === undefined ? "2025-04-01" : options.apiVersion;
  if (!absolute && apiVersion !== null && !url.searchParams.has("api-version")) url.searchParams.set("api-version", apiVersion);
  const bearer = options.bearer === undefined ? await bearerToken() : options.bearer;
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method,
        ca: arm.caCertPem,
        timeout: 10_000,
        headers: {
          ...(bearer !== null ? { authorization: `Bearer ${bearer}` } : {}),
          ...(payload !== undefined ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = text;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
      },
    );
    request.on("timeout", () => request.destroy(new Error(`${method} ${url.pathname} timed out`)));
    request.on("error", reject);
    if (payload !== undefined) request.write(payload);
    request.end();
  });
}
