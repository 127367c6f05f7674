/**
 * Turns one delivered Event Grid item (Event Grid schema or CloudEvents 1.0) into a
 * `ResourceEvent` we act on, or says why not. Nothing here throws for bad input: a malformed or
 * hostile event is acknowledged with a reason, never retried (Event Grid would retry it for 24 h).
 *
 * The event is only a hint — ARM is the truth: delivery is at-least-once, unordered and may
 * precede the settled state of a long-running PUT
 * (https://learn.microsoft.com/azure/event-grid/delivery-and-retry).
 */
import { EventGridDeserializer } from "@azure/eventgrid";
import { z } from "zod";
import { tryParseResourceId, type ResourceId } from "../domain/resourceId.js";
import type { Attribution } from "../ports.js";

export type ResourceEventAction = "write" | "delete" | "action";

export interface ResourceEvent {
  readonly action: ResourceEventAction;
  readonly resourceId: ResourceId;
  readonly attribution: Attribution;
}

export type EventDisposition =
  | { readonly kind: "accepted"; readonly event: ResourceEvent }
  /** Well-formed, just not ours (other providers, other event types): counted, not logged as a problem. */
  | { readonly kind: "ignored"; readonly eventId?: string; readonly reason: string }
  /** Malformed or hostile: one clear log line, acknowledged. */
  | { readonly kind: "invalid"; readonly eventId?: string; readonly reason: string };

const EVENT_ACTIONS: Readonly<Record<string, ResourceEventAction>> = {
  "Microsoft.Resources.ResourceWriteSuccess": "write",
  "Microsoft.Resources.ResourceDeleteSuccess": "delete",
  "Microsoft.Resources.ResourceActionSuccess": "action",
};

/** Operations we watch; everything else under Microsoft.Compute is ignored. */
const WATCHED_OPERATION = /^Microsoft\.Compute\/(galleries|virtualMachineScaleSets)(\/|$)/i;
/** Actions that change what we judge; other actions (e.g. VMSS restart) are ignored. */
const WATCHED_ACTION = /^Microsoft\.Compute\/galleries\/share\/action$/i;

const CLAIM = {
  name: ["name", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"],
  upn: ["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "upn", "unique_name"],
  appId: ["appid", "azp"],
  objectId: ["http://schemas.microsoft.com/identity/claims/objectidentifier", "oid"],
  ip: ["ipaddr"],
} as const;

const short = z.string().max(2048);
const ResourceEventData = z.object({
  operationName: short,
  resourceUri: short.optional(),
  status: short.optional(),
  correlationId: short.optional(),
  claims: z.record(z.string(), z.unknown()).optional(),
  httpRequest: z.object({ clientIpAddress: short.optional(), method: short.optional() }).passthrough().optional(),
  authorization: z
    .object({ evidence: z.object({ role: short.optional() }).passthrough().optional() })
    .passthrough()
    .optional(),
});

const deserializer = new EventGridDeserializer();

/**
 * Classify one delivered event. `maxBytes` bounds what we accept (Event Grid's own limit is 1 MB per event).
 */
export async function classifyEvent(raw: unknown, maxBytes: number): Promise<EventDisposition> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { kind: "invalid", reason: `expected one event object, got ${Array.isArray(raw) ? "an array" : raw === null ? "null" : typeof raw}` };
  }
  const record = raw as Record<string, unknown>;
  const eventId = typeof record.id === "string" ? record.id.slice(0, 128) : undefined;
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(raw));
  } catch (error) {
    return { kind: "invalid", eventId, reason: `event is not serialisable JSON: ${(error as Error).message}` };
  }
  if (size > maxBytes) return { kind: "invalid", eventId, reason: `event is ${size} bytes; at most ${maxBytes} are accepted` };

  const envelope = await readEnvelope(record);
  if ("reason" in envelope) return { kind: "invalid", eventId, reason: envelope.reason };
  const { id, type, time, subject, data } = envelope;

  const action = EVENT_ACTIONS[type];
  if (action === undefined) return { kind: "ignored", eventId: id, reason: `event type '${type.slice(0, 120)}' is not watched` };

  const parsed = ResourceEventData.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: "invalid", eventId: id, reason: `data.${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}` };
  }
  const d = parsed.data;
  if (!WATCHED_OPERATION.test(d.operationName)) {
    return { kind: "ignored", eventId: id, reason: `operation '${d.operationName.slice(0, 120)}' is not a gallery or scale set operation` };
  }
  if (action === "action" && !WATCHED_ACTION.test(d.operationName)) {
    return { kind: "ignored", eventId: id, reason: `action '${d.operationName.slice(0, 120)}' does not change what gallery-watch judges` };
  }
  if (d.status !== undefined && d.status.toLowerCase() !== "succeeded") {
    return { kind: "ignored", eventId: id, reason: `status '${d.status.slice(0, 40)}' is not Succeeded` };
  }

  // The resource: data.resourceUri, else the subject. Share actions name the gallery.
  const resourceIdRaw = (d.resourceUri ?? subject).replace(/\/share$/i, "");
  const idParse = tryParseResourceId(resourceIdRaw);
  if (!idParse.ok) {
    // A child we do not watch (e.g. VMSS instances, extensions) is legitimate noise, not an attack.
    if (/\/virtualMachineScaleSets\/[^/]+\/.+/i.test(resourceIdRaw)) {
      return { kind: "ignored", eventId: id, reason: "scale set child resource" };
    }
    return { kind: "invalid", eventId: id, reason: idParse.error.message };
  }

  const claims = d.claims ?? {};
  const attribution: Attribution = prune({
    eventId: id,
    eventType: type,
    eventTime: time,
    operationName: d.operationName,
    correlationId: d.correlationId,
    callerName: claim(claims, CLAIM.name),
    callerUpn: claim(claims, CLAIM.upn),
    callerAppId: claim(claims, CLAIM.appId),
    callerObjectId: claim(claims, CLAIM.objectId),
    clientIp: d.httpRequest?.clientIpAddress ?? claim(claims, CLAIM.ip),
    httpMethod: d.httpRequest?.method,
    role: d.authorization?.evidence?.role,
  });
  return { kind: "accepted", event: { action, resourceId: idParse.id, attribution } };
}

interface Envelope {
  id: string;
  type: string;
  time: string;
  subject: string;
  data: unknown;
}

/** Validate the envelope with @azure/eventgrid's deserializers (it checks required fields and types). */
async function readEnvelope(record: Record<string, unknown>): Promise<Envelope | { reason: string }> {
  try {
    if (record.specversion !== undefined) {
      const [event] = await deserializer.deserializeCloudEvents(record);
      if (!event) return { reason: "empty CloudEvent" };
      return { id: event.id, type: event.type, time: isoTime(event.time), subject: event.subject ?? "", data: event.data };
    }
    // The Functions host hands eventTime over as a string; the deserializer wants the wire shape.
    const [event] = await deserializer.deserializeEventGridEvents(record);
    if (!event) return { reason: "empty Event Grid event" };
    return { id: event.id, type: event.eventType, time: isoTime(event.eventTime), subject: event.subject, data: event.data };
  } catch (error) {
    return { reason: `not a valid ${record.specversion !== undefined ? "CloudEvents 1.0" : "Event Grid schema"} event: ${String((error as Error).message).slice(0, 200)}` };
  }
}

function isoTime(time: Date | undefined): string {
  return time instanceof Date && !Number.isNaN(time.getTime()) ? time.toISOString() : "";
}

function claim(claims: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = claims[key];
    if (typeof value === "string" && value.length > 0) return value.slice(0, 256);
  }
  return undefined;
}

function prune<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== "")) as T;
}
