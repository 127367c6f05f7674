/**
 * A simulated Azure control plane for Microsoft.Compute galleries and scale sets, served over
 * HTTPS on loopback with a certificate generated at start (bearer-token clients refuse http).
 * It speaks the REST subset gallery-watch reads (GET / PUT / DELETE, lists with nextLink,
 * api-version required, the gallery share action), emits the Event Grid events a subscription's
 * system topic would, and injects the faults real ARM and Event Grid produce: latency, 429 with
 * Retry-After, 5xx, 403, 404, dropped connections, duplicate and out-of-order delivery.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { generate } from "selfsigned";
import { Estate, OPERATION, parseResourcePath, replicationStatus, type ParsedPath, type SimulatedResource } from "./estate.js";
import { EventEmitter, type EventSink } from "./events.js";

export type { SimulatedResource } from "./estate.js";

export interface ArmSimulatorOptions {
  readonly port?: number;
  readonly eventSink?: EventSink;
  readonly seed?: readonly SimulatedResource[];
  /** ms a PUT stays "Creating"/"Updating" before it reads "Succeeded" (default 0). */
  readonly settleMs?: number;
  /** Items per list page (default 50). */
  readonly pageSize?: number;
}

export interface FaultRule {
  method?: "GET" | "PUT" | "DELETE" | "POST";
  /** Case-insensitive substring or RegExp matched against the request path (no query). */
  path?: string | RegExp;
  kind: "latency" | "throttle" | "error" | "drop";
  latencyMs?: number;
  retryAfterSeconds?: number;
  status?: 403 | 404 | 500 | 503;
  times?: number;
}

export interface RunningArmSimulator {
  readonly url: string;
  readonly caCertPem: string;
  readonly estate: {
    put(resource: SimulatedResource): void;
    get(id: string): Record<string, unknown> | undefined;
    delete(id: string): boolean;
    list(): SimulatedResource[];
  };
  readonly faults: { add(rule: FaultRule): void; clear(): void };
  readonly events: EventEmitter;
  requestCounts(): Record<string, number>;
  close(): Promise<void>;
}

const DEFAULT_CALLER = { name: "Local Developer", upn: "dev@contoso.example", oid: "00000000-0000-4000-8000-00000000d0e0", appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", ipaddr: "127.0.0.1" };
const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";

export async function startArmSimulator(options: ArmSimulatorOptions = {}): Promise<RunningArmSimulator> {
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keySize: 2048,
    algorithm: "sha256",
    notAfterDate: new Date(Date.now() + 7 * 86_400_000),
    extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] }],
  } as Parameters<typeof generate>[1]);
  const estate = new Estate(options.settleMs ?? 0);
  for (const resource of options.seed ?? []) estate.seed(resource);
  const faults: Array<FaultRule & { remaining: number }> = [];
  const counts: Record<string, number> = {};
  const pageSize = options.pageSize ?? 50;
  const emitter = new EventEmitter(options.eventSink);
  let url = "";

  const server = https.createServer({ key: pems.private, cert: pems.cert, keepAlive: true }, (req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { error: { code: "InternalServerError", message: (error as Error).message } }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? "/", url);
    const path = requestUrl.pathname.replace(/\/+/g, "/").replace(/\/$/, "");
    const method = (req.method ?? "GET").toUpperCase();
    const body = await readJson(req);

    for (const fault of faults) {
      if (fault.remaining <= 0) continue;
      if (fault.method && fault.method !== method) continue;
      if (fault.path && !(typeof fault.path === "string" ? path.toLowerCase().includes(fault.path.toLowerCase()) : fault.path.test(path))) continue;
      fault.remaining--;
      if (fault.kind === "latency") await new Promise((r) => setTimeout(r, fault.latencyMs ?? 1000));
      else if (fault.kind === "drop") return void req.socket.destroy();
      else if (fault.kind === "throttle") return send(res, 429, { error: { code: "TooManyRequests", message: "The request is being throttled." } }, fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {});
      else {
        const code = { 403: "AuthorizationFailed", 404: "ResourceNotFound", 500: "InternalServerError", 503: "ServiceUnavailable" }[fault.status ?? 500];
        return send(res, fault.status ?? 500, { error: { code, message: `Injected ${fault.status ?? 500}.` } });
      }
    }

    if (!requestUrl.searchParams.get("api-version")) return send(res, 400, { error: { code: "MissingApiVersionParameter", message: "The api-version query parameter (?api-version=) is required for all requests." } });
    const auth = req.headers.authorization ?? "";
    if (!/^Bearer\s+\S+/i.test(auth)) return send(res, 401, { error: { code: "AuthenticationFailed", message: "Authentication failed. The 'Authorization' header is missing." } });
    const caller = callerFrom(auth);

    const list = listScope(path);
    if (list && method === "GET") {
      count(`LIST ${list.type}`);
      const items = list.parent ? estate.children(list.parent, list.type) : estate.ofType(list.scope, list.type);
      const skip = Number(requestUrl.searchParams.get("$skiptoken") ?? 0);
      const page = items.slice(skip, skip + pageSize).map(stripForList);
      const next = skip + pageSize < items.length ? `${url}${requestUrl.pathname}?api-version=${requestUrl.searchParams.get("api-version")}&$skiptoken=${skip + pageSize}` : undefined;
      return send(res, 200, { value: page, ...(next ? { nextLink: next } : {}) });
    }

    const share = /\/share$/i.test(path) ? parseResourcePath(path.replace(/\/share$/i, "")) : undefined;
    if (share && method === "POST" && share.type === "gallery") {
      count("POST share");
      const gallery = estate.get(share.id) as Record<string, any> | undefined;
      if (!gallery) return send(res, 404, { error: { code: "ResourceNotFound", message: `The Resource '${share.id}' was not found.` } });
      gallery.properties.sharingProfile = applyShare(gallery.properties.sharingProfile ?? { permissions: "Private" }, body as Record<string, any>, share.name);
      estate.replace(share.id, gallery);
      emitter.emit(event("Microsoft.Resources.ResourceActionSuccess", `${OPERATION.gallery}/share/action`, share, `${share.id}/share`, caller, req, method));
      return send(res, 200, {});
    }

    const target = parseResourcePath(path);
    if (!target) return send(res, 404, { error: { code: "InvalidResourceType", message: `No route for '${path}'.` } });
    count(`${method} ${target.type}`);
    switch (method) {
      case "GET": {
        const found = estate.get(target.id) as Record<string, any> | undefined;
        if (!found) return send(res, 404, { error: { code: "ResourceNotFound", message: `The Resource '${target.id}' under resource group '${target.resourceGroup}' was not found.` } });
        if (target.type === "imageVersion" && /replicationstatus/i.test(requestUrl.searchParams.get("$expand") ?? "")) found.properties.replicationStatus = replicationStatus(found);
        return send(res, 200, found);
      }
      case "PUT": {
        if (target.parentId && !estate.get(target.parentId)) return send(res, 404, { error: { code: "ParentResourceNotFound", message: `Can not perform requested operation on nested resource. Parent resource '${target.parentId}' not found.` } });
        if (!body || typeof body !== "object") return send(res, 400, { error: { code: "InvalidRequestContent", message: "The request content was invalid and could not be deserialized." } });
        const { body: stored, created } = estate.put(target, body as Record<string, any>);
        emitter.emit(event("Microsoft.Resources.ResourceWriteSuccess", `${OPERATION[target.type]}/write`, target, target.id, caller, req, method));
        return send(res, created ? 201 : 200, stored);
      }
      case "DELETE": {
        if (!estate.get(target.id)) return send(res, 204, undefined);
        const childType = target.type === "gallery" ? "imageDefinition" : target.type === "imageDefinition" ? "imageVersion" : undefined;
        if (childType && estate.children(target.id, childType).length > 0) return send(res, 409, { error: { code: "CannotDeleteResource", message: `Can not delete resource before nested resources are deleted.` } });
        estate.delete(target.id);
        emitter.emit(event("Microsoft.Resources.ResourceDeleteSuccess", `${OPERATION[target.type]}/delete`, target, target.id, caller, req, method));
        return send(res, 200, undefined);
      }
      default:
        return send(res, 405, { error: { code: "MethodNotAllowed", message: `${method} is not supported here.` } });
    }
  }

  function count(key: string): void {
    counts[key] = (counts[key] ?? 0) + 1;
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    caCertPem: pems.cert,
    estate: {
      put: (resource) => estate.seed(resource),
      get: (id) => estate.get(id),
      delete: (id) => estate.delete(id),
      list: () => estate.list(),
    },
    faults: { add: (rule) => faults.push({ ...rule, remaining: rule.times ?? Number.POSITIVE_INFINITY }), clear: () => void faults.splice(0) },
    events: emitter,
    requestCounts: () => ({ ...counts }),
    close: async () => {
      await emitter.idle();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listScope(path: string): { type: ParsedPath["type"]; parent?: string; scope: string } | undefined {
  const s = path.split("/").filter(Boolean);
  const t = s.map((x) => x.toLowerCase());
  if (t[0] !== "subscriptions") return undefined;
  const sub = `/subscriptions/${s[1]}`;
  // /subscriptions/{s}/providers/Microsoft.Compute/{galleries|virtualMachineScaleSets}
  if (t[2] === "providers" && t[3] === "microsoft.compute" && s.length === 5) {
    if (t[4] === "galleries") return { type: "gallery", scope: `${sub}/` };
    if (t[4] === "virtualmachinescalesets") return { type: "scaleSet", scope: `${sub}/` };
  }
  if (t[2] === "resourcegroups" && t[4] === "providers" && t[5] === "microsoft.compute") {
    const rg = `${sub}/resourceGroups/${s[3]}/`;
    if (s.length === 7 && t[6] === "galleries") return { type: "gallery", scope: rg };
    if (s.length === 7 && t[6] === "virtualmachinescalesets") return { type: "scaleSet", scope: rg };
    if (s.length === 9 && t[6] === "galleries" && t[8] === "images") return { type: "imageDefinition", parent: s.slice(0, 8).map((x) => `/${x}`).join(""), scope: "" };
    if (s.length === 11 && t[6] === "galleries" && t[8] === "images" && t[10] === "versions") return { type: "imageVersion", parent: s.slice(0, 10).map((x) => `/${x}`).join(""), scope: "" };
  }
  return undefined;
}

function stripForList(body: Record<string, unknown>): Record<string, unknown> {
  return body;
}

function applyShare(profile: Record<string, any>, request: Record<string, any> | undefined, galleryName: string): Record<string, any> {
  const operation = String(request?.operationType ?? "").toLowerCase();
  const groups: Array<{ type: string; ids: string[] }> = structuredClone(profile.groups ?? []);
  const merge = (type: string, ids: string[], add: boolean) => {
    let group = groups.find((g) => g.type.toLowerCase() === type.toLowerCase());
    if (!group) groups.push((group = { type, ids: [] }));
    group.ids = add ? [...new Set([...group.ids, ...ids])] : group.ids.filter((id) => !ids.includes(id));
  };
  switch (operation) {
    case "add":
      for (const g of request?.groups ?? []) merge(g.type, g.ids ?? [], true);
      return { ...profile, permissions: "Groups", groups: groups.filter((g) => g.ids.length > 0) };
    case "remove": {
      for (const g of request?.groups ?? []) merge(g.type, g.ids ?? [], false);
      const left = groups.filter((g) => g.ids.length > 0);
      return { ...profile, permissions: left.length > 0 ? "Groups" : "Private", groups: left };
    }
    case "reset":
      return { permissions: "Private" };
    case "enablecommunity":
      return {
        ...profile,
        permissions: "Community",
        communityGalleryInfo: {
          publisherUri: profile.communityGalleryInfo?.publisherUri ?? "https://contoso.example",
          publisherContact: profile.communityGalleryInfo?.publisherContact ?? "images@contoso.example",
          eula: profile.communityGalleryInfo?.eula ?? "https://contoso.example/eula",
          publicNamePrefix: profile.communityGalleryInfo?.publicNamePrefix ?? galleryName.toLowerCase(),
          communityGalleryEnabled: true,
          publicNames: [`${galleryName.toLowerCase()}-${randomUUID().slice(0, 8)}`],
        },
      };
    default:
      return profile;
  }
}

/** The caller from a bearer JWT's payload (decoded, not verified: a local stand-in for Entra ID). */
function callerFrom(authorization: string): typeof DEFAULT_CALLER {
  const token = authorization.replace(/^Bearer\s+/i, "");
  const payload = token.split(".")[1];
  if (!payload) return DEFAULT_CALLER;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const str = (k: string) => (typeof claims[k] === "string" ? (claims[k] as string) : undefined);
    return {
      name: str("name") ?? DEFAULT_CALLER.name,
      upn: str("upn") ?? str("unique_name") ?? DEFAULT_CALLER.upn,
      oid: str("oid") ?? DEFAULT_CALLER.oid,
      appid: str("appid") ?? DEFAULT_CALLER.appid,
      ipaddr: str("ipaddr") ?? DEFAULT_CALLER.ipaddr,
    };
  } catch {
    return DEFAULT_CALLER;
  }
}

function event(eventType: string, operationName: string, target: ParsedPath, resourceUri: string, caller: typeof DEFAULT_CALLER, req: IncomingMessage, method: string) {
  const correlationId = String(req.headers["x-ms-correlation-request-id"] ?? randomUUID());
  return {
    id: randomUUID(),
    topic: `/subscriptions/${target.subscriptionId}`,
    subject: resourceUri,
    eventType,
    eventTime: new Date().toISOString(),
    dataVersion: "2",
    metadataVersion: "1",
    data: {
      authorization: { scope: target.id, action: operationName, evidence: { role: "Contributor", principalId: caller.oid, principalType: "User" } },
      claims: {
        aud: "https://management.core.windows.net/",
        iss: `https://sts.windows.net/${TENANT}/`,
        appid: caller.appid,
        ipaddr: caller.ipaddr,
        name: caller.name,
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": caller.upn,
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": caller.upn,
        "http://schemas.microsoft.com/identity/claims/objectidentifier": caller.oid,
        "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
        "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
        ver: "1.0",
      },
      correlationId,
      httpRequest: { clientRequestId: randomUUID(), clientIpAddress: caller.ipaddr, method, url: `https://management.azure.com${req.url ?? ""}` },
      resourceProvider: "Microsoft.Compute",
      resourceUri,
      operationName,
      status: "Succeeded",
      subscriptionId: target.subscriptionId,
      tenantId: TENANT,
    },
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4 * 1024 * 1024) throw new Error("request body over 4 MiB");
    chunks.push(chunk as Buffer);
  }
  if (chunks.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString());
  } catch {
    return null;
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "x-ms-request-id": randomUUID(), ...headers, ...(payload ? {} : { "content-length": "0" }) });
  res.end(payload);
}
