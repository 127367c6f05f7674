/**
 * The events a subscription's Event Grid system topic carries for ARM operations, shaped as
 * Microsoft Learn documents them ("Azure subscription as an Event Grid source",
 * https://learn.microsoft.com/azure/event-grid/event-schema-subscriptions; the example payload is in
 * /work/shared/fixtures/eventgrid/ResourceDeleteSuccess.eventgrid.json): `data.authorization`,
 * `data.claims` with URI-style keys, `data.httpRequest`, `resourceProvider`, `resourceUri`,
 * `operationName`. An action event's subject is the resource acted on (Learn's
 * ResourceActionSuccess example: subject = the storage account, operationName `.../listKeys/action`).
 */
import { createHash, randomUUID } from "node:crypto";

export interface Caller {
  readonly name: string;
  readonly upn: string;
  readonly oid: string;
  readonly appid: string;
  readonly ipaddr: string;
}

export const DEFAULT_CALLER: Caller = { name: "Local Developer", upn: "dev@contoso.example", oid: "00000000-0000-4000-8000-00000000d0e0", appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", ipaddr: "127.0.0.1" };
export const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";

export type ArmEventType = "Microsoft.Resources.ResourceWriteSuccess" | "Microsoft.Resources.ResourceDeleteSuccess" | "Microsoft.Resources.ResourceActionSuccess";

export interface ArmEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: unknown;
  dataVersion: string;
  metadataVersion: string;
}

function claimsOf(authorization: string): Record<string, unknown> | undefined {
  const token = authorization.replace(/^Bearer\s+/i, "");
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as unknown;
    return typeof claims === "object" && claims !== null ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The caller from a bearer JWT's payload (decoded, not verified: a local stand-in for Entra ID). */
export function callerFrom(authorization: string): Caller {
  const claims = claimsOf(authorization);
  if (!claims) return DEFAULT_CALLER;
  const str = (k: string) => (typeof claims[k] === "string" ? (claims[k] as string) : undefined);
  return {
    name: str("name") ?? DEFAULT_CALLER.name,
    upn: str("upn") ?? str("unique_name") ?? DEFAULT_CALLER.upn,
    oid: str("oid") ?? DEFAULT_CALLER.oid,
    appid: str("appid") ?? DEFAULT_CALLER.appid,
    ipaddr: str("ipaddr") ?? DEFAULT_CALLER.ipaddr,
  };
}

/** Who ARM throttles: `id` keys the buckets, `label` names them in a 429's message. */
export interface Principal {
  readonly id: string;
  readonly label: string;
}

/**
 * The security principal ARM throttles by: the token's object id (`oid`), else its application id
 * (`appid`), named with its UPN when the token carries one. A token that is no JWT, or carries
 * neither id, is keyed by a SHA-256 fingerprint of it: never the token itself, which is a
 * credential and would otherwise reach a 429's message, the client's logs and its errors.
 */
export function principalFrom(authorization: string): Principal {
  const claims = claimsOf(authorization);
  const str = (name: string) => (typeof claims?.[name] === "string" && claims[name] !== "" ? (claims[name] as string) : undefined);
  const upn = str("upn") ?? str("unique_name");
  const id = str("oid") ?? str("appid") ?? `token-sha256:${createHash("sha256").update(authorization.replace(/^Bearer\s+/i, "")).digest("hex").slice(0, 16)}`;
  return { id, label: upn ? `${id} (${upn})` : id };
}

export interface EventInit {
  readonly eventType: ArmEventType;
  readonly operationName: string;
  /** The resource the operation is on (`data.resourceUri`). */
  readonly resourceUri: string;
  /** Defaults to `resourceUri`. */
  readonly subject?: string;
  readonly subscriptionId: string;
  readonly resourceProvider: string;
  readonly caller: Caller;
  readonly method: string;
  /** Path and query of the request, as ARM received it. */
  readonly requestUrl: string;
  readonly correlationId?: string;
  readonly eventTime?: Date;
}

export function armEvent(init: EventInit): ArmEvent {
  const { caller } = init;
  return {
    id: randomUUID(),
    topic: `/subscriptions/${init.subscriptionId}`,
    subject: init.subject ?? init.resourceUri,
    eventType: init.eventType,
    eventTime: (init.eventTime ?? new Date()).toISOString(),
    dataVersion: "2",
    metadataVersion: "1",
    data: {
      authorization: { scope: init.resourceUri, action: init.operationName, evidence: { role: "Contributor", principalId: caller.oid, principalType: "User" } },
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
      correlationId: init.correlationId ?? randomUUID(),
      httpRequest: { clientRequestId: randomUUID(), clientIpAddress: caller.ipaddr, method: init.method, url: `https://management.azure.com${init.requestUrl}` },
      resourceProvider: init.resourceProvider,
      resourceUri: init.resourceUri,
      operationName: init.operationName,
      status: "Succeeded",
      subscriptionId: init.subscriptionId,
      tenantId: TENANT,
    },
  };
}
