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
import { isGuid, tryParseResourceGroupId, tryParseResourceId, type ResourceGroupRef, type ResourceId } from "../domain/resourceId.js";
import type { Attribution } from "./ports.js";
import { kindsJudgedAgainAfter, WATCHED_OPERATIONS } from "../domain/resourceTypes.js";

export type ResourceEventAction = "write" | "delete" | "action";

export type ResourceEvent =
  | { readonly action: ResourceEventAction; readonly resourceId: ResourceId; readonly attribution: Attribution }
  /** A resource group was deleted: Azure sends this one event, none for what the group held. */
  | { readonly action: "resourceGroupDelete"; readonly resourceGroup: ResourceGroupRef; readonly attribution: Attribution }
  /**
   * Something that is no watched resource changed under `scope` (a role assignment written or
   * deleted there): the stored resources it reaches, of the kinds that declare the operation
   * (`judgedAgainAfter` in domain/resourceTypes.ts), are judged again.
   */
  | { readonly action: "scopeChange"; readonly scope: string; readonly subscriptionId: string; readonly resourceGroup?: string; readonly attribution: Attribution };

/** The subscription an accepted event is about. */
export function subscriptionOf(event: ResourceEvent): string {
  if (event.action === "resourceGroupDelete") return event.resourceGroup.subscriptionId;
  return event.action === "scopeChange" ? event.subscriptionId : event.resourceId.subscriptionId;
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

/**
 * The operations whose events gallery-watch acts on: the watched kinds' own and the indirect ones
 * (tags, resource-group delete), declared in domain/resourceTypes.ts. The Event Grid filter in
 * `infra/watch/eventSubscription.bicep` lists exactly these (a test holds the two together).
 * Everything else a subscription's system topic carries (gallery applications, scale-set
 * instances, VM and scale-set extensions, power actions (start, restart, deallocate), run
 * commands, other providers) is ignored and counted, not refused.
 * https://learn.microsoft.com/azure/event-grid/event-schema-subscriptions
 */
const WATCHED = new Set<string>(WATCHED_OPERATIONS.map((o) => o.toLowerCase()));
const TAGS_SUFFIX = /\/providers\/Microsoft\.Resources\/tags\/default$/i;
/** Event Grid event ids are GUIDs in practice; a longer one is hostile or broken. */
const MAX_EVENT_ID_CHARS = 256;

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
  // A lone UTF-16 surrogate (JSON's "\ud800") cannot be percent-encoded into a storage key, nor
  // written to a log or a card as text: such an event is hostile or broken, never Azure's.
  const malformed = illFormedText(record);
  const eventId = typeof record.id === "string" ? wellFormed(record.id.slice(0, 128)) : undefined;
  if (malformed !== undefined) return { kind: "invalid", eventId, reason: `${malformed} holds text that is not well-formed Unicode (a lone UTF-16 surrogate)` };
  if (typeof record.id === "string" && record.id.length > MAX_EVENT_ID_CHARS) {
    return { kind: "invalid", eventId, reason: `event id is ${record.id.length} characters long; at most ${MAX_EVENT_ID_CHARS} are accepted` };
  }
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
  if (d.status !== undefined && d.status.toLowerCase() !== "succeeded") {
    return { kind: "ignored", eventId: id, reason: `status '${d.status.slice(0, 40)}' is not Succeeded` };
  }
  const target = targetOf(action, d.operationName, d.resourceUri ?? subject);
  if (target.kind !== "accepted") return { ...target, eventId: id };
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
  if ("scope" in target) return { kind: "accepted", event: { action: "scopeChange", scope: target.scope, subscriptionId: target.subscriptionId, ...(target.resourceGroup ? { resourceGroup: target.resourceGroup } : {}), attribution } };
  return { kind: "accepted", event: "resourceGroup" in target ? { action: "resourceGroupDelete", resourceGroup: target.resourceGroup, attribution } : { action, resourceId: target.resourceId, attribution } };
}

type Target =
  | { readonly kind: "accepted"; readonly resourceId: ResourceId }
  | { readonly kind: "accepted"; readonly resourceGroup: ResourceGroupRef }
  | { readonly kind: "accepted"; readonly scope: string; readonly subscriptionId: string; readonly resourceGroup?: string }
  | { readonly kind: "ignored" | "invalid"; readonly reason: string };

/** What the event is about, from its operation and resource URI; the one place that knows which operations matter. */
function targetOf(action: ResourceEventAction, operationName: string, resourceUri: string): Target {
  const operation = operationName.slice(0, 120);
  const lower = operationName.toLowerCase();
  if (action === "delete" && lower === "microsoft.resources/subscriptions/resourcegroups/delete") {
    const group = tryParseResourceGroupId(resourceUri);
    return group.ok ? { kind: "accepted", resourceGroup: group.group } : { kind: "invalid", reason: `resource group id: ${group.reason}` };
  }
  const tags = lower === "microsoft.resources/tags/write";
  if (WATCHED.has(lower) && kindsJudgedAgainAfter(operationName).length > 0) {
    // A role assignment: `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`. Only
    // scopes in a subscription reach its topic; a management group's or the root's never do.
    const scope = /^(\/subscriptions\/[^/]+(?:\/.*?)?)\/providers\/Microsoft\.Authorization\/roleAssignments\/[^/]+$/i.exec(resourceUri)?.[1];
    const [, subscription, resourceGroup] = (scope === undefined ? undefined : /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?/i.exec(scope)) ?? [];
    const subscriptionId = subscription?.toLowerCase();
    if (scope === undefined || subscriptionId === undefined || !isGuid(subscriptionId)) return { kind: "invalid", reason: `'${resourceUri.slice(0, 200)}' is not a role assignment id in a subscription` };
    return { kind: "accepted", scope, subscriptionId, ...(resourceGroup ? { resourceGroup } : {}) };
  }
  if (!WATCHED.has(lower)) {
    const ours = /^Microsoft\.Compute\/(galleries|virtualMachineScaleSets|virtualMachines)(\/|$)/i.test(operationName);
    return { kind: "ignored", reason: ours ? `operation '${operation}' does not change what gallery-watch judges` : `operation '${operation}' is not a gallery, scale set or virtual machine operation` };
  }
  // The resource: data.resourceUri, else the subject. Share actions name the gallery; tag writes name the tags child.
  const raw = resourceUri.replace(/\/share$/i, "").replace(TAGS_SUFFIX, "");
  const parsed = tryParseResourceId(raw);
  if (parsed.ok) return { kind: "accepted", resourceId: parsed.id };
  // Tags on something that is not ours (a storage account, a VM) are the topic's ordinary traffic.
  if (tags) return { kind: "ignored", reason: "tags written on a resource gallery-watch does not watch" };
  return { kind: "invalid", reason: parsed.error.message };
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

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (String#isWellFormed is ES2024). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (text: string) => text.replace(new RegExp(LONE_SURROGATE.source, "g"), "\uFFFD");

/** The path of the first string (value or key) that is not well-formed UTF-16, if any. Bounded depth: deeper input is refused by size or by the schema. */
function illFormedText(value: unknown, path = "event", depth = 0): string | undefined {
  if (typeof value === "string") return LONE_SURROGATE.test(value) ? path : undefined;
  if (value === null || typeof value !== "object" || depth > 8) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const at = `${path}.${wellFormed(key.slice(0, 40))}`;
    if (LONE_SURROGATE.test(key)) return at;
    const found = illFormedText(inner, at, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
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
