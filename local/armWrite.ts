/**
 * Writes to the simulated ARM over HTTPS the way a person with `curl` or `az rest` would, as a
 * named caller (the caller travels in the bearer token, as with Entra ID).
 */
import https from "node:https";
import { localDevCredential } from "./localCredential.js";

export interface Caller {
  readonly name: string;
  readonly upn: string;
  readonly oid?: string;
  readonly ipaddr?: string;
}

export const API_VERSION = "2025-03-03";

export interface ArmTarget {
  readonly url: string;
  readonly caCertPem: string;
}

/** PUT / DELETE / POST a resource on the simulated ARM; resolves with the status and JSON body, rejects on 4xx/5xx. */
export async function armWrite(
  arm: ArmTarget,
  caller: Caller,
  method: "PUT" | "DELETE" | "POST",
  resourcePath: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const token = await localDevCredential(caller).getToken("https://management.azure.com/.default");
  const apiVersion = /virtualMachineScaleSets/i.test(resourcePath) ? "2025-04-01" : API_VERSION;
  const url = new URL(`${resourcePath}${resourcePath.includes("?") ? "&" : "?"}api-version=${apiVersion}`, arm.url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method,
        ca: arm.caCertPem,
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${token?.token ?? ""}`,
          ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          const status = response.statusCode ?? 0;
          const parsed = text ? (JSON.parse(text) as unknown) : undefined;
          if (status >= 400) reject(new Error(`${method} ${url.pathname} → ${status}: ${text.slice(0, 300)}`));
          else resolve({ status, body: parsed });
        });
      },
    );
    request.on("timeout", () => request.destroy(new Error(`${method} ${url.pathname} timed out`)));
    request.on("error", reject);
    if (payload) request.write(payload);
    request.end();
  });
}
