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

/** GalleryRP (galleries, images, versions). */
export const API_VERSION = "2025-03-03";
/** ComputeRP (scale sets, VMs): virtualMachineScaleSet.json / virtualMachine.json 2025-04-01. */
export const SCALE_SET_API_VERSION = "2025-04-01";
/** DiskRP (managed disks). */
export const DISK_API_VERSION = "2025-01-02";
/** Microsoft.Authorization (role assignments and definitions): authorization-RoleAssignmentsCalls.json 2022-04-01. */
export const AUTHORIZATION_API_VERSION = "2022-04-01";
/** Microsoft.Resources (resource groups, the Tags API). */
export const RESOURCES_API_VERSION = "2021-04-01";

export interface ArmTarget {
  readonly url: string;
  readonly caCertPem: string;
}

export interface ArmWriteOptions {
  /** Extra request headers, e.g. `{ "x-simulator-drop-event": "true" }` to lose the write's event. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Overrides the api-version chosen from the path. */
  readonly apiVersion?: string;
  /** Follow the long-running operation (`Azure-AsyncOperation` / `Location`) until it ends; rejects if it fails. */
  readonly wait?: boolean;
  /** Poll interval while waiting (default 100 ms). */
  readonly pollMs?: number;
}

export interface ArmWriteResult {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
}

/** The api-version ARM accepts for this path's resource type. */
export function apiVersionFor(resourcePath: string): string {
  const path = resourcePath.split("?")[0]!;
  if (/\/providers\/Microsoft\.Authorization\/role(Assignments|Definitions)(\/|$)/i.test(path)) return AUTHORIZATION_API_VERSION;
  if (/\/providers\/Microsoft\.Resources\/tags\//i.test(path) || /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/?$/i.test(path)) return RESOURCES_API_VERSION;
  if (/\/(virtualMachineScaleSets|virtualMachines)(\/|$)/i.test(path)) return SCALE_SET_API_VERSION;
  if (/\/providers\/Microsoft\.Compute\/disks(\/|$)/i.test(path)) return DISK_API_VERSION;
  return API_VERSION;
}

/** PUT / PATCH / DELETE / POST a resource on the simulated ARM; resolves with the status, JSON body and headers, rejects on 4xx/5xx. */
export async function armWrite(
  arm: ArmTarget,
  caller: Caller,
  method: "PUT" | "PATCH" | "DELETE" | "POST",
  resourcePath: string,
  body?: unknown,
  options: ArmWriteOptions = {},
): Promise<ArmWriteResult> {
  const token = await localDevCredential(caller).getToken("https://management.azure.com/.default");
  const authorization = `Bearer ${token?.token ?? ""}`;
  const apiVersion = options.apiVersion ?? apiVersionFor(resourcePath);
  const url = new URL(/[?&]api-version=/.test(resourcePath) ? resourcePath : `${resourcePath}${resourcePath.includes("?") ? "&" : "?"}api-version=${apiVersion}`, arm.url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const result = await request(arm, method, url, {
    authorization,
    ...(options.headers ?? {}),
    ...(payload ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) } : {}),
  }, payload);
  if (result.status >= 400) throw new Error(`${method} ${url.pathname} → ${result.status}: ${JSON.stringify(result.body ?? "").slice(0, 300)}`);
  if (!options.wait) return result;
  const poll = result.headers["azure-asyncoperation"] ?? result.headers["location"];
  if (!poll) return result;
  for (;;) {
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
    const status = await request(arm, "GET", new URL(poll), { authorization });
    if (status.status >= 400) throw new Error(`polling ${poll} → ${status.status}: ${JSON.stringify(status.body ?? "").slice(0, 300)}`);
    const state = (status.body as { status?: string } | undefined)?.status;
    if (state === "Failed" || state === "Canceled") throw new Error(`${method} ${url.pathname}: the operation ended ${state}: ${JSON.stringify(status.body).slice(0, 300)}`);
    if (state === "Succeeded" || (state === undefined && status.status !== 202)) return result;
  }
}

function request(arm: ArmTarget, method: string, url: URL, headers: Record<string, string>, payload?: string): Promise<ArmWriteResult> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca: arm.caCertPem, timeout: 10_000, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown;
        try {
          parsed = text ? (JSON.parse(text) as unknown) : undefined;
        } catch {
          parsed = text;
        }
        const flat = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v ?? "")]));
        resolve({ status: response.statusCode ?? 0, body: parsed, headers: flat });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}
