/**
 * A simulated Azure control plane for Microsoft.Compute galleries, scale sets, virtual machines
 * and managed disks, served over
 * HTTPS on loopback with a certificate generated at start (bearer-token clients refuse http).
 * The real @azure/arm-compute client talks to it, so it answers as ARM and the Compute RP do:
 *
 * - long-running PUT / PATCH / DELETE and the gallery share action with `Azure-AsyncOperation`
 *   (and, for DELETE and the share action, `Location`) operation resources the SDK's poller follows
 *   (operations.ts), provisioning states that settle with time and image versions replicating
 *   region by region (estate.ts);
 * - request paths percent-decoded as ARM decodes them (`resourceGroups/rg-z%C3%BCrich` is `rg-zürich`);
 * - shared and community gallery reads (sharedGalleries.ts);
 * - PATCH with merge semantics (merge.ts); ARM's and Compute's validation with ARM error bodies
 *   (validation.ts, apiVersions.ts); reads as Azure serves them (sharing.ts);
 * - ARM's token-bucket throttling per subscription and principal, and per subscription (throttle.ts);
 * - resource groups (PUT / GET / DELETE, long-running delete of everything inside) and the Tags API;
 * - role assignments and role definitions (authorization.ts), with their events;
 * - resource-group template deployments, how `az vm create` creates a VM (template.ts evaluates,
 *   deployments.ts writes each resource through `write` below as the deployer, in `dependsOn` order),
 *   and the network resources such a template holds (network.ts), as plain resources;
 * - the Event Grid events a subscription's system topic carries (eventShape.ts, events.ts), with
 *   unrelated traffic on demand (noise.ts) and lost deliveries on demand
 *   (`x-simulator-drop-event: true` on a write);
 * - injected faults: latency, 429 with Retry-After, 5xx, 403, 404, dropped connections, failed
 *   provisioning, duplicate and out-of-order delivery.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { localhostCertificate } from "../localTls.js";
import { ARM_TYPE, Estate, OPERATION, parseResourcePath, type Json, type Outcome, type ParsedPath, type SimulatedResource } from "./estate.js";
import { EventEmitter, type EventDeliveryOptions, type EventSink } from "./events.js";
import { checkApiVersion } from "./apiVersions.js";
import { armError, isArmFailure, type ArmFailure } from "./errors.js";
import { armEvent, callerFrom, principalFrom, type ArmEventType, type Caller } from "./eventShape.js";
import { applyPatch } from "./merge.js";
import { NOISE_KINDS, createNoise, type NoiseControl, type NoiseKind } from "./noise.js";
import { Operations, type AsyncOperation, type FinalResult, type OperationKind } from "./operations.js";
import { applyShare, galleryView, withoutSharing } from "./sharing.js";
import { SharedGalleryIndex, galleryBody, imageBody, parseSharedPath, versionBody, type SharedPath } from "./sharedGalleries.js";
import { parseSharedImageId } from "../../shared/adapters/arm/snapshotMapping.js";
import { Throttle, type ThrottleOptions } from "./throttle.js";
import { validateWrite, type ImageOsState } from "./validation.js";
import { cliSurface } from "./cliSurface.js";
import { Authorization, parseAuthorizationPath } from "./authorization.js";
import { isSubnetPath, networkBody, readNetwork } from "./network.js";
import { planDeployment, invalidTemplate } from "./template.js";
import { Deployments } from "./deployments.js";

export type { SimulatedResource } from "./estate.js";
export type { NoiseControl, NoiseKind } from "./noise.js";
export type { ThrottleOptions, BucketLimits } from "./throttle.js";

export interface ArmSimulatorOptions {
  readonly port?: number;
  readonly eventSink?: EventSink;
  /** How the simulated Event Grid delivers (retry schedule time scale, dead letters, ...); see events.ts. */
  readonly eventDelivery?: EventDeliveryOptions;
  /** Resources present at start, settled and without events; their resource groups appear with them. */
  readonly seed?: readonly SimulatedResource[];
  /** ms a write stays "Creating" / "Updating" / "Deleting" before it settles (default 0). */
  readonly settleMs?: number;
  /** Items per list page (default 50). */
  readonly pageSize?: number;
  /** ARM throttling: default the real limits (250 reads / 25 per s, 200 writes / 10 per s); `false` turns it off. */
  readonly throttle?: ThrottleOptions | false;
  /** Milliseconds since the epoch (default Date.now): lets tests move provisioning and throttling time. */
  readonly clock?: () => number;
  /** A Retry-After (s) on operation polls while running. Azure sends none (az then polls every 30 s); npm start's stack sets 1 for az. */
  readonly pollRetryAfterSeconds?: number;
}

export interface FaultRule {
  method?: "GET" | "PUT" | "PATCH" | "DELETE" | "POST";
  /** Case-insensitive substring or RegExp matched against the request path (no query). */
  path?: string | RegExp;
  /** `failProvisioning`: the write is accepted, then its operation ends `Failed` (provisioningState `Failed`). */
  kind: "latency" | "throttle" | "error" | "drop" | "failProvisioning";
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
    /** Create a resource group at once (no event), as a seeded resource does implicitly. */
    putResourceGroup(subscriptionId: string, name: string, location?: string): void;
    resourceGroup(subscriptionId: string, name: string): Record<string, unknown> | undefined;
  };
  readonly faults: { add(rule: FaultRule): void; clear(): void };
  readonly events: EventEmitter;
  /** Unrelated subscription traffic (scale-set capacity, instances, extensions, actions, gallery applications). */
  readonly noise: NoiseControl;
  requestCounts(): Record<string, number>;
  close(): Promise<void>;
}

/** The request header that makes a write's event get lost (a delivery Event Grid never makes). */
export const DROP_EVENT_HEADER = "x-simulator-drop-event";

const FAILED_OPERATION = { code: "InternalExecutionError", message: "An internal execution error occurred. Please retry later." } as const;

/** Who made a write and how: what its event says (a client's request, or a deployment writing as its deployer). */
interface Origin {
  readonly caller: Caller;
  readonly method: string;
  /** Path and query as ARM received them. */
  readonly url: string;
  readonly correlationId?: string;
  readonly dropEvent: boolean;
}

/** A PUT or PATCH of a resource: from a client's request, or from a deployment. */
interface Write extends Origin {
  readonly body: unknown;
  readonly apiVersion: string;
  readonly outcome: Outcome;
}

interface Ctx extends Write {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestUrl: URL;
  readonly path: string;
  /** Headers every response to this request carries (the throttling counters). */
  readonly headers: Record<string, string>;
}

export async function startArmSimulator(options: ArmSimulatorOptions = {}): Promise<RunningArmSimulator> {
  const pems = await localhostCertificate();
  const clock = options.clock ?? Date.now;
  const settleMs = options.settleMs ?? 0;
  const estate = new Estate(settleMs, clock);
  for (const resource of options.seed ?? []) estate.seed(resource);
  const operations = new Operations(clock);
  const throttle = new Throttle(options.throttle, clock);
  const faults: Array<FaultRule & { remaining: number }> = [];
  const counts: Record<string, number> = {};
  const pageSize = options.pageSize ?? 50;
  const emitter = new EventEmitter(options.eventSink, options.eventDelivery ?? {});
  let url = "";
  const authorization = new Authorization(pageSize);
  const serveCli = cliSurface({ url: () => url, estate, send });

  const server = https.createServer({ key: pems.private, cert: pems.cert, keepAlive: true }, (req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { error: { code: "InternalServerError", message: (error as Error).message } }));
  });

  const count = (key: string) => void (counts[key] = (counts[key] ?? 0) + 1);
  const reply = (ctx: Ctx, status: number, body: unknown, headers: Record<string, string> = {}) => send(ctx.res, status, body, { ...ctx.headers, ...headers });
  const refuse = (ctx: Ctx, failure: ArmFailure) => reply(ctx, failure.status, failure.body, { ...(failure.headers ?? {}) });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A client joining `{scope}` (itself starting with `/`) to the host sends `//subscriptions/…`
    // (@azure/arm-authorization does): a path, not a protocol-relative URL naming host `subscriptions`.
    const requestUrl = new URL((req.url ?? "/").replace(/^\/{2,}/, "/"), url);
    const method = (req.method ?? "GET").toUpperCase();
    // ARM decodes the path: `resourceGroups/rg-z%C3%BCrich` addresses the group `rg-zürich` (its id, events and answers say so).
    const path = decodePath(requestUrl.pathname);
    if (path === undefined) return send(res, 400, { error: { code: "InvalidRequestUri", message: `The request URI '${requestUrl.pathname.slice(0, 300)}' is not valid: malformed percent-encoding.` } });
    if (await serveCli(req, res, path, method, requestUrl)) return;
    const body = await readJson(req);
    // Not ARM: the simulator's own control surface, so a person can make subscription-topic noise with curl.
    if (path === "/_simulator/noise" && method === "POST") return noiseControl(res, body);

    let outcome: Outcome = "Succeeded";
    for (const fault of faults) {
      if (fault.remaining <= 0) continue;
      if (fault.method && fault.method !== method) continue;
      if (fault.path && !(typeof fault.path === "string" ? path.toLowerCase().includes(fault.path.toLowerCase()) : fault.path.test(path))) continue;
      if (fault.kind === "failProvisioning") {
        if (method === "GET") continue;
        fault.remaining--;
        outcome = "Failed";
        continue;
      }
      fault.remaining--;
      if (fault.kind === "latency") await new Promise((r) => setTimeout(r, fault.latencyMs ?? 1000));
      else if (fault.kind === "drop") return void req.socket.destroy();
      else if (fault.kind === "throttle") return send(res, 429, { error: { code: "TooManyRequests", message: "The request is being throttled." } }, fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {});
      else {
        const code = { 403: "AuthorizationFailed", 404: "ResourceNotFound", 500: "InternalServerError", 503: "ServiceUnavailable" }[fault.status ?? 500];
        return send(res, fault.status ?? 500, { error: { code, message: `Injected ${fault.status ?? 500}.` } });
      }
    }

    const apiVersion = requestUrl.searchParams.get("api-version");
    if (!apiVersion) return send(res, 400, { error: { code: "MissingApiVersionParameter", message: "The api-version query parameter (?api-version=) is required for all requests." } });
    const auth = req.headers.authorization ?? "";
    if (!/^Bearer\s+\S+/i.test(auth)) return send(res, 401, { error: { code: "AuthenticationFailed", message: "Authentication failed. The 'Authorization' header is missing." } });

    // ARM throttles per subscription and principal before anything reaches a resource provider.
    const headers: Record<string, string> = {};
    const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(path)?.[1];
    if (subscriptionId) {
      const kind = Throttle.kindOf(method);
      const verdict = throttle.take(subscriptionId, principalFrom(auth), kind);
      Object.assign(headers, verdict.headers);
      if (!verdict.allowed) {
        count(`THROTTLED ${kind}`);
        return send(res, verdict.failure.status, verdict.failure.body, headers);
      }
    }

    const ctx: Ctx = {
      req,
      res,
      requestUrl,
      path,
      method,
      body,
      apiVersion,
      caller: callerFrom(auth),
      url: req.url ?? path,
      ...(req.headers["x-ms-correlation-request-id"] ? { correlationId: String(req.headers["x-ms-correlation-request-id"]) } : {}),
      headers,
      dropEvent: String(req.headers[DROP_EVENT_HEADER] ?? "").toLowerCase() === "true",
      outcome,
    };
    return route(ctx);
  }

  /** `{ "kind": "scaleSetInstance", "count": 10 }` emits now; `{ "perSecond": 5, "kinds": [...] }` starts; `{ "stop": true }` stops. */
  function noiseControl(res: ServerResponse, body: unknown): void {
    const request = (body ?? {}) as { kind?: string; count?: number; perSecond?: number; kinds?: string[]; stop?: boolean };
    try {
      if (request.stop) noise.stop();
      else if (request.perSecond !== undefined) noise.start({ perSecond: Number(request.perSecond), ...(request.kinds ? { kinds: request.kinds as NoiseKind[] } : {}) });
      else if (request.kind && (NOISE_KINDS as readonly string[]).includes(request.kind)) return send(res, 200, { emitted: noise.emit(request.kind as NoiseKind, Number(request.count ?? 1)) });
      else return send(res, 400, { error: { code: "InvalidRequest", message: `give kind (one of ${NOISE_KINDS.join(", ")}) and count, or perSecond, or stop` } });
      return send(res, 200, { running: noise.running });
    } catch (error) {
      return send(res, 409, { error: { code: "NothingToActOn", message: (error as Error).message } });
    }
  }

  function route(ctx: Ctx): void {
    const { path, method } = ctx;
    if (parseAuthorizationPath(path)) return authorize(ctx);
    const operation = /^\/subscriptions\/([^/]+)\/providers\/microsoft\.(compute|network)\/locations\/([^/]+)\/(capsoperations|operations)\/([^/]+)$/i.exec(path);
    if (operation) return operationStatus(ctx, operation[1]!, operation[2]!.toLowerCase() === "network" ? "network" : operation[4]!.toLowerCase() === "capsoperations" ? "gallery" : "compute", operation[5]!);
    const shared = parseSharedPath(path);
    if (shared) return sharedGallery(ctx, shared);
    const operationResult = /^\/subscriptions\/([^/]+)\/operationresults\/([^/]+)$/i.exec(path);
    if (operationResult) return groupOperationResult(ctx, operationResult[1]!, operationResult[2]!);
    const tags = /^(.+)\/providers\/microsoft\.resources\/tags\/default$/i.exec(path);
    if (tags) return tagsApi(ctx, tags[1]!);
    const group = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)$/i.exec(path);
    if (group) return resourceGroup(ctx, group[1]!, group[2]!);
    const list = listScope(path);
    if (list && method === "GET") return listResources(ctx, list);
    const deployment = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.resources\/deployments(?:\/([^/]+)(?:\/operationstatuses\/([^/]+))?)?$/i.exec(path);
    if (deployment) return deploy(ctx, deployment[1]!, deployment[2]!, deployment[3], deployment[4]);
    if (isSubnetPath(path)) return subnet(ctx);
    const share = /\/share$/i.test(path) ? parseResourcePath(path.replace(/\/share$/i, "")) : undefined;
    if (share && share.type === "gallery" && method === "POST") return shareGallery(ctx, share);
    const target = parseResourcePath(path);
    if (!target) return refuse(ctx, armError(404, "InvalidResourceType", `No route for '${path}'.`));
    return resource(ctx, target);
  }

  // ---- role assignments and definitions -----------------------------------------------------

  function authorize(ctx: Ctx): void {
    const refused = checkApiVersion("authorization", ctx.apiVersion);
    if (refused) return refuse(ctx, refused);
    const answer = authorization.handle({ method: ctx.method, path: ctx.path, query: ctx.requestUrl.searchParams, body: ctx.body, baseUrl: url, callerId: ctx.caller.oid, now: new Date(clock()) });
    count(answer.count);
    for (const event of answer.events) publish(ctx, { ...event, resourceProvider: "Microsoft.Authorization" });
    return reply(ctx, answer.status, answer.body);
  }

  // ---- events ------------------------------------------------------------------------------

  function publish(origin: Origin | undefined, init: { eventType: ArmEventType; operationName: string; resourceUri: string; subscriptionId: string; resourceProvider?: string; caller?: Caller }): void {
    if (origin?.dropEvent) return;
    emitter.emit(
      armEvent({
        ...init,
        resourceProvider: init.resourceProvider ?? "Microsoft.Compute",
        caller: init.caller ?? origin!.caller,
        method: origin?.method ?? "PUT",
        requestUrl: origin?.url ?? `${init.resourceUri}?api-version=2025-03-03`,
        ...(origin?.correlationId ? { correlationId: origin.correlationId } : {}),
      }),
    );
  }

  // ---- long-running operations -------------------------------------------------------------

  /** A Compute operation: `gallery` family (capsOperations) or the scale sets' (operations); `monitor` adds the Location header (DELETE, POST). */
  function beginOperation(kind: Exclude<OperationKind, "resources">, monitor: boolean, subscriptionId: string, region: string, settlesAt: number, outcome: Outcome, result: () => FinalResult): AsyncOperation {
    return operations.begin({ kind, monitor, subscriptionId, region, settlesAt, outcome, ...(outcome === "Failed" ? { error: FAILED_OPERATION } : {}), result });
  }
  // The Gallery RP polls at capsOperations; the Compute RP's scale sets and VMs (and, here, disks) at operations; the Network RP at its own.
  const familyOf = (target: ParsedPath): Exclude<OperationKind, "resources"> =>
    target.type === "gallery" || target.type === "imageDefinition" || target.type === "imageVersion" ? "gallery" : apiFamilyOf(target.type) === "network" ? "network" : "compute";

  function accepted(ctx: Ctx, status: number, body: unknown, operation: AsyncOperation): void {
    reply(ctx, status, body, operations.headers(url, operation, ctx.apiVersion));
  }

  function operationStatus(ctx: Ctx, subscriptionId: string, kind: Exclude<OperationKind, "resources">, id: string): void {
    const refused = checkApiVersion(kind === "network" ? "network" : "computeOperations", ctx.apiVersion);
    if (refused) return refuse(ctx, refused);
    count("GET operation");
    const operation = operations.get(id);
    if (ctx.method !== "GET") return refuse(ctx, armError(405, "MethodNotAllowed", `${ctx.method} is not supported here.`));
    if (!operation || operation.kind !== kind || operation.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) return refuse(ctx, armError(404, "NotFound", `The operation '${id}' was not found.`));
    // Azure's Compute polls carry no Retry-After (../shared/fixtures/azure-cli-recordings), so az waits 30 s between
    // polls; `pollRetryAfterSeconds` (npm start's stack sets 1; Learn "Track asynchronous Azure operations" allows it)
    // keeps az at the simulator's pace, while the replay suite sees Azure's headers.
    if (ctx.requestUrl.searchParams.get("monitor") !== "true") return reply(ctx, 200, operations.status(operation), operations.done(operation) || options.pollRetryAfterSeconds === undefined ? {} : { "retry-after": String(options.pollRetryAfterSeconds) });
    // The Location (monitor) poll: 202 while running, then the operation's result.
    if (!operations.done(operation)) return reply(ctx, 202, undefined, { location: `${url}${ctx.req.url ?? ""}` });
    if (operation.outcome === "Failed") return reply(ctx, 200, operations.status(operation));
    const result = operation.result();
    return reply(ctx, result.status, result.body);
  }

  function groupOperationResult(ctx: Ctx, subscriptionId: string, id: string): void {
    const refused = checkApiVersion("resources", ctx.apiVersion);
    if (refused) return refuse(ctx, refused);
    count("GET operationResult");
    const operation = operations.get(id);
    if (!operation || operation.kind !== "resources" || operation.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) return refuse(ctx, armError(404, "NotFound", `The operation '${id}' was not found.`));
    if (!operations.done(operation)) return reply(ctx, 202, undefined, operations.headers(url, operation, ctx.apiVersion));
    return reply(ctx, 200, undefined);
  }

  // ---- resource groups and tags ------------------------------------------------------------

  function resourceGroup(ctx: Ctx, subscriptionId: string, name: string): void {
    const refused = checkApiVersion("resources", ctx.apiVersion);
    if (refused) return refuse(ctx, refused);
    count(`${ctx.method} resourceGroup`);
    const state = estate.groupState(subscriptionId, name);
    const notFound = armError(404, "ResourceGroupNotFound", `Resource group '${name}' could not be found.`);
    const operationName = "Microsoft.Resources/subscriptions/resourceGroups";
    switch (ctx.method) {
      case "GET":
        return state === "missing" ? refuse(ctx, notFound) : reply(ctx, 200, estate.group(subscriptionId, name));
      case "HEAD":
        return reply(ctx, state === "missing" ? 404 : 204, undefined);
      case "PUT": {
        const request = asObject(ctx.body);
        if (!request) return refuse(ctx, invalidContent());
        if (state === "deleting") return refuse(ctx, groupBeingDeleted(name));
        if (state === "missing" && (typeof request.location !== "string" || !request.location)) return refuse(ctx, armError(400, "LocationRequired", "The location property is required for this definition."));
        const { body, created } = estate.putGroup(subscriptionId, name, request);
        publish(ctx, { eventType: "Microsoft.Resources.ResourceWriteSuccess", operationName: `${operationName}/write`, resourceUri: String(body.id), subscriptionId, resourceProvider: "Microsoft.Resources" });
        return reply(ctx, created ? 201 : 200, body);
      }
      case "PATCH": {
        const request = asObject(ctx.body);
        if (!request) return refuse(ctx, invalidContent());
        if (state === "missing") return refuse(ctx, notFound);
        if (state === "deleting") return refuse(ctx, groupBeingDeleted(name));
        if (request.tags !== undefined) estate.setGroupTags(subscriptionId, name, (request.tags ?? {}) as Record<string, string>);
        const body = estate.group(subscriptionId, name)!;
        publish(ctx, { eventType: "Microsoft.Resources.ResourceWriteSuccess", operationName: `${operationName}/write`, resourceUri: String(body.id), subscriptionId, resourceProvider: "Microsoft.Resources" });
        return reply(ctx, 200, body);
      }
      case "DELETE": {
        if (state === "missing") return refuse(ctx, notFound);
        const canonical = String(estate.group(subscriptionId, name)!.id);
        const settlesAt = estate.beginDeleteGroup(subscriptionId, name);
        // Deleting a group deletes its deployment history with it: a group made again starts with none.
        deployments.dropGroup(canonical);
        const operation = operations.begin({ kind: "resources", monitor: true, subscriptionId, region: "global", settlesAt, outcome: "Succeeded", result: () => ({ status: 200 }) });
        // One event for the group; ARM emits none for the resources deleted with it.
        publish(ctx, { eventType: "Microsoft.Resources.ResourceDeleteSuccess", operationName: `${operationName}/delete`, resourceUri: canonical, subscriptionId, resourceProvider: "Microsoft.Resources" });
        return reply(ctx, 202, undefined, operations.headers(url, operation, ctx.apiVersion));
      }
      default:
        return refuse(ctx, armError(405, "MethodNotAllowed", `${ctx.method} is not supported here.`));
    }
  }

  /** https://learn.microsoft.com/rest/api/resources/tags: create or update (PUT), update (PATCH: Merge | Replace | Delete), get, delete at a scope. */
  function tagsApi(ctx: Ctx, scope: string): void {
    const refused = checkApiVersion("resources", ctx.apiVersion);
    if (refused) return refuse(ctx, refused);
    count(`${ctx.method} tags`);
    const group = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)$/i.exec(scope);
    const target = group ? undefined : parseResourcePath(scope);
    const subscriptionId = group?.[1] ?? target?.subscriptionId;
    const resourceGroupName = group?.[2] ?? target?.resourceGroup;
    if (!subscriptionId || !resourceGroupName) return refuse(ctx, armError(400, "InvalidRequestUri", `The Tags API scope '${scope}' is not a resource group or a resource the simulator serves.`));
    if (estate.groupState(subscriptionId, resourceGroupName) === "missing") return refuse(ctx, armError(404, "ResourceGroupNotFound", `Resource group '${resourceGroupName}' could not be found.`));
    const current = group ? estate.group(subscriptionId, resourceGroupName) : estate.get(target!.id);
    if (!current) return refuse(ctx, armError(404, "ResourceNotFound", `The Resource '${scope}' was not found.`));
    const scopeId = String(current.id);
    const tagsId = `${scopeId}/providers/Microsoft.Resources/tags/default`;
    const before = { ...((current.tags ?? {}) as Record<string, string>) };
    const view = (tags: Record<string, string>) => ({ id: tagsId, name: "default", type: "Microsoft.Resources/tags", properties: { tags } });
    let after: Record<string, string>;
    switch (ctx.method) {
      case "GET":
        return reply(ctx, 200, view(before));
      case "PUT":
      case "PATCH": {
        const request = asObject(ctx.body);
        const requested = asObject(asObject(request?.properties)?.tags);
        if (!request || !requested) return refuse(ctx, armError(400, "InvalidRequestContent", "The request content was invalid: 'properties.tags' is required."));
        const tags = Object.fromEntries(Object.entries(requested).map(([k, v]) => [k, String(v)]));
        if (ctx.method === "PUT") after = tags;
        else {
          const op = String(request.operation ?? "").toLowerCase();
          if (op === "merge") after = { ...before, ...tags };
          else if (op === "replace") after = tags;
          else if (op === "delete") after = Object.fromEntries(Object.entries(before).filter(([k, v]) => !(k in tags) || (tags[k] !== "" && tags[k] !== v)));
          else return refuse(ctx, armError(400, "InvalidRequestContent", `The request content was invalid: 'operation' must be one of 'Merge', 'Replace', 'Delete' (was '${String(request.operation ?? "")}').`));
        }
        break;
      }
      case "DELETE":
        after = {};
        break;
      default:
        return refuse(ctx, armError(405, "MethodNotAllowed", `${ctx.method} is not supported here.`));
    }
    if (group) estate.setGroupTags(subscriptionId, resourceGroupName, after);
    else estate.setTags(target!.id, after);
    const deleting = ctx.method === "DELETE";
    publish(ctx, {
      eventType: deleting ? "Microsoft.Resources.ResourceDeleteSuccess" : "Microsoft.Resources.ResourceWriteSuccess",
      operationName: deleting ? "Microsoft.Resources/tags/delete" : "Microsoft.Resources/tags/write",
      resourceUri: tagsId,
      subscriptionId,
      resourceProvider: "Microsoft.Resources",
    });
    return deleting ? reply(ctx, 200, undefined) : reply(ctx, 200, view(after));
  }

  // ---- template deployments ----------------------------------------------------------------

  const deployments = new Deployments((id) => estate.get(id)?.properties?.provisioningState as string | undefined, clock);

  /** `…/resourcegroups/{rg}/providers/Microsoft.Resources/deployments[/{name}[/operationStatuses/{id}]]` (deployments.ts). */
  function deploy(ctx: Ctx, subscriptionId: string, resourceGroup: string, name: string | undefined, operationId: string | undefined): void {
    const refused = checkApiVersion("resources", ctx.apiVersion);
    if (refused) return refuse(ctx, refused);
    count(`${ctx.method} deployment${name ? "" : " list"}${operationId ? " status" : ""}`);
    const state = estate.groupState(subscriptionId, resourceGroup);
    if (state === "missing") return refuse(ctx, armError(404, "ResourceGroupNotFound", `Resource group '${resourceGroup}' could not be found.`));
    const group = estate.group(subscriptionId, resourceGroup)!;
    const notAllowed = () => refuse(ctx, armError(405, "MethodNotAllowed", `${ctx.method} is not supported here.`));
    if (!name) return ctx.method === "GET" ? reply(ctx, 200, { value: deployments.list(String(group.id)) }) : notAllowed();
    const id = `${String(group.id)}/providers/Microsoft.Resources/deployments/${name}`;
    const notFound = () => refuse(ctx, armError(404, "DeploymentNotFound", `Deployment '${name}' could not be found.`));
    if (operationId) {
      if (ctx.method !== "GET") return notAllowed();
      const status = deployments.status(id, operationId);
      if (!status) return notFound();
      return reply(ctx, 200, status, status.status === "Running" && options.pollRetryAfterSeconds !== undefined ? { "retry-after": String(options.pollRetryAfterSeconds) } : {});
    }
    if (ctx.method === "GET") {
      const found = deployments.get(id);
      return found ? reply(ctx, 200, found) : notFound();
    }
    if (ctx.method !== "PUT") return notAllowed();
    if (state === "deleting") return refuse(ctx, groupBeingDeleted(resourceGroup));
    const request = asObject(ctx.body);
    if (!request) return refuse(ctx, invalidContent());
    if (deployments.running(id)) return refuse(ctx, armError(409, "DeploymentActive", `Unable to edit or replace deployment '${name}': previous deployment is still active. Please see https://aka.ms/arm-deploy for usage details.`));
    const scope = { subscriptionId, resourceGroup: String(group.name), location: String(group.location) };
    const plan = planDeployment(request, scope);
    if (isArmFailure(plan)) return refuse(ctx, plan);
    const unserved = plan.resources.find((r) => !parseResourcePath(r.id));
    if (unserved) return refuse(ctx, invalidTemplate(`The resource type '${unserved.type}' of '${unserved.name}' is not served by the local ARM simulator`));
    // Every write of the deployment is the deployer's, under the deployment's correlation id.
    const origin = { caller: ctx.caller, method: "PUT", dropEvent: ctx.dropEvent, correlationId: ctx.correlationId ?? randomUUID() };
    publish({ ...origin, url: ctx.url }, { eventType: "Microsoft.Resources.ResourceWriteSuccess", operationName: "Microsoft.Resources/deployments/write", resourceUri: id, subscriptionId, resourceProvider: "Microsoft.Resources" });
    const started = deployments.begin(scope, name, plan, origin.correlationId, (resource) => {
      const written = write({ ...origin, url: `${resource.id}?api-version=${resource.apiVersion}`, body: resource.body, apiVersion: resource.apiVersion, outcome: ctx.outcome }, parseResourcePath(resource.id)!);
      return isArmFailure(written) ? written.body.error : undefined;
    });
    return reply(ctx, started.created ? 201 : 200, started.body, { "azure-asyncoperation": `${url}${id}/operationStatuses/${started.operationId}?api-version=${ctx.apiVersion}` });
  }

  /** A subnet, read through its virtual network (network.ts); subnets are written with the network. */
  function subnet(ctx: Ctx): void {
    const refused = checkApiVersion("network", ctx.apiVersion);
    if (refused) return refuse(ctx, refused);
    count(`${ctx.method} subnet`);
    if (ctx.method !== "GET") return refuse(ctx, armError(405, "MethodNotAllowed", "The simulator serves a subnet's GET only: write subnets with their virtual network."));
    const found = readNetwork(estate, ctx.path);
    return found ? reply(ctx, 200, found) : refuse(ctx, armError(404, "NotFound", `Resource ${ctx.path} not found.`));
  }

  // ---- Microsoft.Compute ------------------------------------------------------------------

  function listResources(ctx: Ctx, list: ListScope): void {
    const refused = checkApiVersion(apiFamilyOf(list.type), ctx.apiVersion);
    if (refused) return refuse(ctx, refused);
    count(`LIST ${list.type}`);
    if (list.subscriptionId && list.resourceGroup && estate.groupState(list.subscriptionId, list.resourceGroup) === "missing") return refuse(ctx, armError(404, "ResourceGroupNotFound", `Resource group '${list.resourceGroup}' could not be found.`));
    if (list.parent && !estate.get(list.parent)) return refuse(ctx, parentNotFound(list.parent));
    const items = list.parent ? estate.children(list.parent, list.type) : estate.ofType(list.scope, list.type);
    const skip = Number(ctx.requestUrl.searchParams.get("$skiptoken") ?? 0);
    // Lists never carry a gallery's sharing profile (Gallery_ListBySubscription.json, Gallery_ListByResourceGroup.json).
    // The resource-group-scoped gallery list answers its ids with the group's name upper-cased, where the
    // image and version lists under it keep the case (test_gallery_e2e.json #3 against #8 and #12).
    const upperGroup = list.type === "gallery" && list.resourceGroup !== undefined;
    const page = items.slice(skip, skip + pageSize).map((item) => (list.type === "gallery" ? withoutSharing(upperGroup ? withGroupUpperCased(item) : item) : item));
    const next = skip + pageSize < items.length ? `${url}${ctx.requestUrl.pathname}?api-version=${ctx.apiVersion}&$skiptoken=${skip + pageSize}` : undefined;
    return reply(ctx, 200, { value: page, ...(next ? { nextLink: next } : {}) });
  }

  /** ARM's checks before the resource provider: resource group, then the parent of a nested resource. */
  function armPreconditions(request: { readonly method: string }, target: ParsedPath): ArmFailure | undefined {
    const state = estate.groupState(target.subscriptionId, target.resourceGroup);
    if (state === "missing") return armError(404, "ResourceGroupNotFound", `Resource group '${target.resourceGroup}' could not be found.`);
    if (state === "deleting" && request.method !== "GET") return groupBeingDeleted(target.resourceGroup);
    if (target.parentId && !estate.get(target.parentId)) return parentNotFound(target.parentId);
    return undefined;
  }

  function shareGallery(ctx: Ctx, target: ParsedPath): void {
    const refused = checkApiVersion("gallery", ctx.apiVersion) ?? armPreconditions(ctx, target);
    if (refused) return refuse(ctx, refused);
    count("POST share");
    const gallery = estate.get(target.id);
    if (!gallery) return refuse(ctx, resourceNotFound(target));
    const shared = applyShare((gallery.properties?.sharingProfile ?? { permissions: "Private" }) as Json, ctx.body, target.name);
    if (isArmFailure(shared)) return refuse(ctx, shared);
    estate.setSharing(target.id, shared.profile);
    // 202 with an empty body; the monitor poll answers 200 with an empty body (test_community_gallery_operations.json #3, #5).
    const operation = beginOperation("gallery", true, target.subscriptionId, String(gallery.location), clock() + settleMs, ctx.outcome, () => ({ status: 200 }));
    publish(ctx, { eventType: "Microsoft.Resources.ResourceActionSuccess", operationName: `${OPERATION.gallery}/share/action`, resourceUri: target.id, subscriptionId: target.subscriptionId });
    return accepted(ctx, 202, undefined, operation);
  }

  /** What a GET of the resource returns, with the read options of this request. */
  function readView(target: ParsedPath, body: Json, query: URLSearchParams): Json {
    if (target.type === "gallery") return galleryView(body, query);
    if (target.type === "imageVersion" && /replicationstatus/i.test(query.get("$expand") ?? "")) return { ...body, properties: { ...body.properties, replicationStatus: estate.replicationStatus(target.id) } };
    return body;
  }

  /** The final GET result of a PUT / PATCH operation (plain read). */
  const finalRead = (target: ParsedPath) => (): FinalResult => {
    const found = estate.get(target.id);
    return found ? { status: 200, body: readView(target, found, new URLSearchParams()) } : { status: 404, body: resourceNotFound(target).body };
  };

  /** A PUT or PATCH through ARM's checks and the resource provider's: stored, its operation begun, its event published. */
  function write(request: Write, target: ParsedPath): { status: number; body: Json; operation: AsyncOperation } | ArmFailure {
    const refused = checkApiVersion(apiFamilyOf(target.type), request.apiVersion) ?? armPreconditions(request, target);
    if (refused) return refused;
    const body = asObject(request.body);
    if (!body) return invalidContent();
    const existing = estate.get(target.id);
    if (request.method === "PATCH" && !existing) return resourceNotFound(target);
    let resourceBody = request.method === "PATCH" ? applyPatch(estate.requestShape(target.id)!, body) : body;
    const invalid = validateWrite(target, resourceBody, existing, estate, imageOsState);
    if (invalid) return invalid;
    if (target.type === "virtualMachine" && !existing) resourceBody = withOsDisk(request, target, resourceBody);
    if (familyOf(target) === "network") resourceBody = networkBody(target, resourceBody, existing);
    const stored = estate.put(target, resourceBody, { outcome: request.outcome });
    // A PUT / PATCH answer carries Azure-AsyncOperation only (test_gallery_e2e.json #0, #5, #14).
    const operation = beginOperation(familyOf(target), false, target.subscriptionId, String(stored.body.location), estate.settlesAt(target.id), request.outcome, finalRead(target));
    publish(request, { eventType: "Microsoft.Resources.ResourceWriteSuccess", operationName: `${OPERATION[target.type]}/write`, resourceUri: target.id, subscriptionId: target.subscriptionId, resourceProvider: providerOf(target) });
    // The write's answer is what a plain GET now reads (a Groups or Community sharing profile included: Gallery_Create_WithSharingProfile.json).
    return { status: stored.created ? 201 : 200, body: readView(target, stored.body, new URLSearchParams()), operation };
  }

  function resource(ctx: Ctx, target: ParsedPath): void {
    const refused = checkApiVersion(apiFamilyOf(target.type), ctx.apiVersion) ?? armPreconditions(ctx, target);
    if (refused) return refuse(ctx, refused);
    count(`${ctx.method} ${target.type}`);
    const existing = estate.get(target.id);
    switch (ctx.method) {
      case "GET":
        if (!existing) return refuse(ctx, resourceNotFound(target));
        return reply(ctx, 200, readView(target, existing, ctx.requestUrl.searchParams));
      case "PUT":
      case "PATCH": {
        const written = write(ctx, target);
        return isArmFailure(written) ? refuse(ctx, written) : accepted(ctx, written.status, written.body, written.operation);
      }
      case "DELETE": {
        // Deleting what is not there succeeds with 204, as ARM answers.
        if (!existing) return reply(ctx, 204, undefined);
        const childType = target.type === "gallery" ? "imageDefinition" : target.type === "imageDefinition" ? "imageVersion" : undefined;
        if (childType && estate.children(target.id, childType).length > 0) return refuse(ctx, armError(409, "CannotDeleteResource", "Can not delete resource before nested resources are deleted."));
        if (target.type === "disk" && existing.managedBy) return refuse(ctx, armError(409, "OperationNotAllowed", `Disk ${target.name} is attached to VM ${String(existing.managedBy)}.`));
        const settlesAt = estate.beginDelete(target.id, ctx.outcome);
        const operation = beginOperation(familyOf(target), true, target.subscriptionId, String(existing.location), settlesAt, ctx.outcome, () => ({ status: 204 }));
        publish(ctx, { eventType: "Microsoft.Resources.ResourceDeleteSuccess", operationName: `${OPERATION[target.type]}/delete`, resourceUri: target.id, subscriptionId: target.subscriptionId, resourceProvider: providerOf(target) });
        if (target.type === "virtualMachine") releaseOsDisk(ctx, existing);
        return accepted(ctx, 202, undefined, operation);
      }
      default:
        return refuse(ctx, armError(405, "MethodNotAllowed", `${ctx.method} is not supported here.`));
    }
  }

  /**
   * A VM created from an image gets its OS disk from the Compute RP: a managed disk named
   * `{vm}_OsDisk_1_{32 hex}` whose `creationData` says what it was made from (`FromImage` with a
   * `galleryImageReference` naming the version — `latest` resolved — for a gallery image), attached
   * to the VM (`managedBy`), and the VM's `storageProfile.osDisk` names it. A VM attached from an
   * existing disk (`createOption: Attach`) takes that disk. No VM or disk swagger is in
   * ../shared/fixtures: the shape follows Microsoft's VirtualMachine / Disk models (virtualMachine.json,
   * disk.json in azure-rest-api-specs, not checked here) and the scale-set handling.
   */
  function withOsDisk(ctx: Write, vm: ParsedPath, request: Json): Json {
    const body = structuredClone(request);
    const storage = ((body.properties ??= {}).storageProfile ??= {}) as Json;
    const osDisk = (storage.osDisk ??= {}) as Json;
    const vmId = vm.id;
    if (String(osDisk.createOption ?? "").toLowerCase() === "attach") {
      const disk = parseResourcePath(String(osDisk.managedDisk?.id ?? ""));
      if (disk?.type === "disk") {
        const shape = estate.requestShape(disk.id);
        if (shape) estate.put(disk, { ...shape, managedBy: vmId }, { outcome: "Succeeded" });
        osDisk.name ??= disk.name;
      }
      return body;
    }
    const reference = storage.imageReference as Json | undefined;
    if (!reference || osDisk.managedDisk?.id) return body;
    const name = `${vm.name}_OsDisk_1_${randomUUID().replace(/-/g, "")}`;
    const disk = parseResourcePath(`/subscriptions/${vm.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/Microsoft.Compute/disks/${name}`)!;
    const galleryReference = galleryImageReference(reference);
    const creationData = galleryReference ? { createOption: "FromImage", galleryImageReference: galleryReference } : { createOption: "FromImage", imageReference: { id: String(reference.id ?? `${reference.publisher}:${reference.offer}:${reference.sku}:${reference.version ?? "latest"}`) } };
    const storageAccountType = String(osDisk.managedDisk?.storageAccountType ?? "Premium_LRS");
    estate.put(disk, { location: body.location, managedBy: vmId, sku: { name: storageAccountType }, properties: { osType: osDisk.osType ?? "Linux", creationData, diskSizeGB: osDisk.diskSizeGB ?? 30 } }, { outcome: ctx.outcome });
    publish(ctx, { eventType: "Microsoft.Resources.ResourceWriteSuccess", operationName: `${OPERATION.disk}/write`, resourceUri: disk.id, subscriptionId: vm.subscriptionId });
    storage.osDisk = { ...osDisk, name, createOption: "FromImage", managedDisk: { ...(osDisk.managedDisk ?? {}), id: disk.id, storageAccountType }, deleteOption: osDisk.deleteOption ?? "Detach" };
    return body;
  }

  /** A gallery image reference with `latest` resolved to the version the Compute RP would pick; undefined for a marketplace or managed image. */
  function galleryImageReference(reference: Json): Json | undefined {
    if (reference.sharedGalleryImageId) return { sharedGalleryImageId: reference.sharedGalleryImageId };
    if (reference.communityGalleryImageId) return { communityGalleryImageId: reference.communityGalleryImageId };
    const target = typeof reference.id === "string" ? parseResourcePath(reference.id) : undefined;
    if (target?.type === "imageVersion") return { id: target.id };
    if (target?.type !== "imageDefinition") return undefined;
    const latest = estate
      .children(target.id, "imageVersion")
      .filter((v) => v.properties?.publishingProfile?.excludeFromLatest !== true)
      .sort((a, b) => compareVersionNames(String(b.name), String(a.name)))[0];
    return { id: latest ? String(latest.id) : target.id };
  }

  /** Deleting a VM deletes its OS disk when `deleteOption` is `Delete`, else detaches it. */
  function releaseOsDisk(ctx: Ctx, vm: Json): void {
    const osDisk = vm.properties?.storageProfile?.osDisk as Json | undefined;
    const disk = parseResourcePath(String(osDisk?.managedDisk?.id ?? ""));
    if (disk?.type !== "disk" || !estate.get(disk.id)) return;
    if (String(osDisk?.deleteOption ?? "").toLowerCase() === "delete") {
      estate.beginDelete(disk.id, ctx.outcome);
      publish(ctx, { eventType: "Microsoft.Resources.ResourceDeleteSuccess", operationName: `${OPERATION.disk}/delete`, resourceUri: disk.id, subscriptionId: disk.subscriptionId });
      return;
    }
    const { managedBy: _managedBy, ...shape } = estate.requestShape(disk.id)!;
    estate.put(disk, shape, { outcome: "Succeeded" });
  }

  // ---- galleries shared with the caller ----------------------------------------------------

  const sharedIndex = new SharedGalleryIndex(estate);

  function sharedGallery(ctx: Ctx, target: SharedPath): void {
    const refused = checkApiVersion("gallery", ctx.apiVersion);
    if (refused) return refuse(ctx, refused);
    if (ctx.method !== "GET") return refuse(ctx, armError(405, "MethodNotAllowed", `${ctx.method} is not supported here.`));
    count(`GET ${target.kind}Gallery${target.list ? " list" : ""}`);
    const { kind, location } = target;
    if (target.list === "galleries") {
      const galleries = sharedIndex.sharedWith(target.subscriptionId).map((g) => galleryBody(kind, String(g.properties.identifier.uniqueName), location, g, ctx.apiVersion));
      return reply(ctx, 200, { value: galleries });
    }
    const notFound = (what: string) => refuse(ctx, armError(404, "ResourceNotFound", `The ${kind} gallery ${what} was not found in location '${location}', or is not shared with subscription '${target.subscriptionId}'.`));
    const name = target.gallery!;
    const gallery = sharedIndex.find(kind, name, target.subscriptionId);
    if (!gallery) return notFound(`'${name}'`);
    if (target.list === "images") return reply(ctx, 200, { value: estate.children(String(gallery.id), "imageDefinition").map((d) => imageBody(kind, name, location, d)) });
    if (!target.image) return reply(ctx, 200, galleryBody(kind, name, location, gallery, ctx.apiVersion));
    const definition = estate.get(`${String(gallery.id)}/images/${target.image}`);
    if (!definition) return notFound(`image '${name}/${target.image}'`);
    if (!target.version && !target.list) return reply(ctx, 200, imageBody(kind, name, location, definition));
    const image = String(definition.name);
    if (target.list === "versions") return reply(ctx, 200, { value: estate.children(String(definition.id), "imageVersion").map((v) => versionBody(kind, name, image, location, v)) });
    const version = estate.get(`${String(definition.id)}/versions/${target.version}`);
    if (!version) return notFound(`image version '${name}/${image}/${target.version}'`);
    return reply(ctx, 200, versionBody(kind, name, image, location, version));
  }

  /** The osState of the image a scale set references: a definition or version in the estate, or a shared / community gallery image. */
  const imageOsState: ImageOsState = (reference) => {
    const definitionOsState = (definitionId: string) => estate.get(definitionId)?.properties?.osState as string | undefined;
    if (typeof reference.id === "string") {
      const target = parseResourcePath(reference.id);
      if (target?.type === "imageDefinition") return definitionOsState(target.id);
      if (target?.type === "imageVersion") return definitionOsState(target.parentId!);
      return undefined;
    }
    const sharedId = reference.sharedGalleryImageId ?? reference.communityGalleryImageId;
    const parts = typeof sharedId === "string" ? parseSharedImageId(sharedId) : undefined;
    if (!parts) return undefined;
    const gallery = estate.ofType("", "gallery").find((g) => [String(g.properties?.identifier?.uniqueName ?? ""), ...((g.properties?.sharingProfile?.communityGalleryInfo?.publicNames ?? []) as string[])].some((n) => n.toLowerCase() === parts.gallery.toLowerCase()));
    return gallery ? definitionOsState(`${String(gallery.id)}/images/${parts.image}`) : undefined;
  };

  /** Autoscale's write of a scale set: the same write path as a PUT, without an HTTP request. */
  function writeCapacity(scaleSet: Json, capacity: number, caller: Caller): void {
    const target = parseResourcePath(String(scaleSet.id));
    if (!target) return;
    const request = estate.requestShape(target.id);
    if (!request) return;
    request.sku = { ...(request.sku ?? {}), capacity };
    const { body } = estate.put(target, request);
    beginOperation("compute", false, target.subscriptionId, String(body.location), estate.settlesAt(target.id), "Succeeded", finalRead(target));
    publish(undefined, { eventType: "Microsoft.Resources.ResourceWriteSuccess", operationName: `${OPERATION.scaleSet}/write`, resourceUri: target.id, subscriptionId: target.subscriptionId, caller });
  }

  const noise = createNoise({ estate, publish: (event) => emitter.emit(event), writeCapacity });

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
      putResourceGroup: (subscriptionId, name, location = "westeurope") => estate.ensureGroup(subscriptionId, name, location),
      resourceGroup: (subscriptionId, name) => estate.group(subscriptionId, name),
    },
    faults: { add: (rule) => faults.push({ ...rule, remaining: rule.times ?? Number.POSITIVE_INFINITY }), clear: () => void faults.splice(0) },
    events: emitter,
    noise,
    requestCounts: () => ({ ...counts }),
    close: async () => {
      noise.stop();
      deployments.close();
      // Event Grid's retries can wait for hours: stopping abandons waiting retries (events.ts) rather than outliving the simulator.
      await emitter.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface ListScope {
  readonly type: ParsedPath["type"];
  readonly parent?: string;
  readonly scope: string;
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
}

/** The resource types listed per subscription or resource group, by their lower-cased path segment. */
const TOP_LEVEL: Readonly<Record<string, ParsedPath["type"]>> = { galleries: "gallery", virtualmachinescalesets: "scaleSet", virtualmachines: "virtualMachine", disks: "disk" };

/** Scale sets and VMs are the Compute RP's (one api-version list); disks the Disk RP's; network resources the Network RP's; the rest the Gallery RP's. */
function apiFamilyOf(type: ParsedPath["type"]): "gallery" | "scaleSet" | "disk" | "network" {
  if (ARM_TYPE[type].startsWith("Microsoft.Network/")) return "network";
  return type === "scaleSet" || type === "virtualMachine" ? "scaleSet" : type === "disk" ? "disk" : "gallery";
}

/** The resource provider namespace of a resource (an event's `resourceProvider`). */
function providerOf(target: ParsedPath): string {
  return ARM_TYPE[target.type].split("/")[0]!;
}

/** Major.Minor.Patch compared as numbers. */
function compareVersionNames(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

function listScope(path: string): ListScope | undefined {
  const s = path.split("/").filter(Boolean);
  const t = s.map((x) => x.toLowerCase());
  if (t[0] !== "subscriptions") return undefined;
  const sub = `/subscriptions/${s[1]}`;
  // /subscriptions/{s}/providers/Microsoft.Compute/{galleries|virtualMachineScaleSets|virtualMachines|disks}
  if (t[2] === "providers" && t[3] === "microsoft.compute" && s.length === 5) {
    const type = TOP_LEVEL[t[4]!];
    if (type) return { type, scope: `${sub}/` };
  }
  if (t[2] === "resourcegroups" && t[4] === "providers" && t[5] === "microsoft.compute") {
    const rg = `${sub}/resourceGroups/${s[3]}/`;
    const where = { subscriptionId: s[1]!, resourceGroup: s[3]! };
    if (s.length === 7 && TOP_LEVEL[t[6]!]) return { type: TOP_LEVEL[t[6]!]!, scope: rg, ...where };
    if (s.length === 9 && t[6] === "galleries" && t[8] === "images") return { type: "imageDefinition", parent: s.slice(0, 8).map((x) => `/${x}`).join(""), scope: "", ...where };
    if (s.length === 11 && t[6] === "galleries" && t[8] === "images" && t[10] === "versions") return { type: "imageVersion", parent: s.slice(0, 10).map((x) => `/${x}`).join(""), scope: "", ...where };
  }
  return undefined;
}

/** The path with each segment percent-decoded, `//` collapsed and no trailing `/`; undefined when the encoding is malformed. */
function decodePath(pathname: string): string | undefined {
  try {
    return pathname.replace(/\/+/g, "/").replace(/\/$/, "").split("/").map((segment) => decodeURIComponent(segment)).join("/");
  } catch {
    return undefined;
  }
}

function withGroupUpperCased(item: Json): Json {
  return { ...item, id: String(item.id).replace(/(\/resourceGroups\/)([^/]+)/i, (_m, prefix: string, group: string) => `${prefix}${group.toUpperCase()}`) };
}

function asObject(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

const invalidContent = () => armError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.");
const groupBeingDeleted = (name: string) => armError(409, "ResourceGroupBeingDeleted", `The resource group '${name}' is in deprovisioning state and cannot perform this operation.`);
const parentNotFound = (parentId: string) => armError(404, "ParentResourceNotFound", `Can not perform requested operation on nested resource. Parent resource '${parentId}' not found.`);
const resourceNotFound = (target: ParsedPath) => {
  const typeAndName = target.id.split("/providers/")[1] ?? target.id;
  return armError(404, "ResourceNotFound", `The Resource '${typeAndName}' under resource group '${target.resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
};

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
