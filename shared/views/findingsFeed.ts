/**
 * Findings as events (pure): one CloudEvents 1.0 event per finding transition, for an Event Grid
 * custom topic that a SIEM (Microsoft Sentinel through Event Hubs) or anything else subscribes to.
 *
 * - `id` is the alert id (`fingerprint:revision`): the same transition always makes the same id, so
 *   a consumer that sees an event again (a retried publish) can drop it. CloudEvents 1.0 §id:
 *   "Consumers MAY assume that Events with identical source and id are duplicates."
 * - `type` is `com.gallerywatch.finding.<transition kind>` (opened, escalated, deescalated,
 *   excepted, reopened, resolved: the transitions that also make a card; `changed` makes neither,
 *   unless it is an exception tag refused by separation of duties, which makes both).
 * - `subject` is the resource id, so Event Grid subscriptions can filter on it (subjectBeginsWith).
 * - `data` is the finding after the transition, with what it was before and who changed the
 *   resource, as stored (the caller's claims from the Activity Log event).
 */
import type { Attribution, OutboxAlert } from "../domain/records.js";
import type { ExceptionVerdict, FactValue, FindingStatus, Severity, TransitionKind } from "../domain/findings.js";

export const FINDING_EVENT_TYPE_PREFIX = "com.gallerywatch.finding.";
/** Event Grid accepts at most 1 MB per publish request ("Azure Event Grid quotas and limits": event batch size 1 MB). */
export const MAX_BATCH_BYTES = 1_000_000;

export interface FindingEventData {
  readonly transition: TransitionKind;
  readonly fingerprint: string;
  readonly revision: number;
  readonly rule: string;
  readonly severity: Severity;
  readonly status: FindingStatus;
  readonly summary: string;
  readonly resourceId: string;
  readonly resourceKind: string;
  readonly facts: Readonly<Record<string, FactValue>>;
  readonly firstSeenAt: string;
  readonly updatedAt: string;
  readonly resolvedAt?: string;
  /** The exception tag as judged (active, expired or invalid). */
  readonly exception?: ExceptionVerdict;
  readonly before?: { readonly severity: Severity; readonly status: FindingStatus; readonly facts: Readonly<Record<string, FactValue>> };
  /** Who changed the resource (absent when the sweep found it): the Activity Log caller and claims as stored. */
  readonly attribution?: Attribution;
}

/** A CloudEvents 1.0 event in its JSON format ("JSON Event Format for CloudEvents - Version 1.0"). */
export interface FindingCloudEvent {
  readonly specversion: "1.0";
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly time: string;
  readonly datacontenttype: "application/json";
  readonly data: FindingEventData;
}

export function findingEvent(alert: Pick<OutboxAlert, "alertId" | "transition" | "attribution">, source: string): FindingCloudEvent {
  const { kind, before, after } = alert.transition;
  return {
    specversion: "1.0",
    id: alert.alertId,
    source,
    type: `${FINDING_EVENT_TYPE_PREFIX}${kind}`,
    subject: after.resourceId,
    time: alert.transition.at,
    datacontenttype: "application/json",
    data: {
      transition: kind,
      fingerprint: after.fingerprint,
      revision: after.revision,
      rule: after.ruleId,
      severity: after.severity,
      status: after.status,
      summary: after.summary,
      resourceId: after.resourceId,
      resourceKind: after.resourceKind,
      facts: after.facts,
      firstSeenAt: after.firstSeenAt,
      updatedAt: after.updatedAt,
      ...(after.resolvedAt ? { resolvedAt: after.resolvedAt } : {}),
      ...(after.exception ? { exception: after.exception } : {}),
      ...(before ? { before: { severity: before.severity, status: before.status, facts: before.facts } } : {}),
      ...(alert.attribution ? { attribution: alert.attribution } : {}),
    },
  };
}

/**
 * Why `event` is not a valid CloudEvents 1.0 event in JSON format, or undefined. Checks the
 * required context attributes (id, source, specversion, type: non-empty strings; specversion
 * "1.0"), the optional ones' types (time RFC 3339, subject non-empty), and attribute names
 * (lower-case letters and digits). Used by the local topic to refuse what Event Grid would.
 */
export function cloudEventProblem(event: unknown): string | undefined {
  if (!event || typeof event !== "object" || Array.isArray(event)) return "an event must be a JSON object";
  const e = event as Record<string, unknown>;
  for (const name of ["id", "source", "specversion", "type"]) {
    if (typeof e[name] !== "string" || (e[name] as string).length === 0) return `required attribute '${name}' is missing or not a non-empty string`;
  }
  if (e.specversion !== "1.0") return `specversion '${String(e.specversion)}' is not 1.0`;
  if (e.subject !== undefined && (typeof e.subject !== "string" || e.subject.length === 0)) return "subject must be a non-empty string";
  if (e.time !== undefined && (typeof e.time !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(e.time))) return "time must be an RFC 3339 timestamp";
  if (e.datacontenttype !== undefined && typeof e.datacontenttype !== "string") return "datacontenttype must be a string";
  if (e.data !== undefined && e.data_base64 !== undefined) return "data and data_base64 are mutually exclusive";
  for (const name of Object.keys(e)) if (name !== "data_base64" && !/^[a-z0-9]{1,20}$/.test(name)) return `attribute name '${name.slice(0, 40)}' is not lower-case letters and digits`;
  return undefined;
}

/** Events in publish order, split so no request body exceeds `maxBytes` (one event over it goes alone). */
export function batchesBySize<T>(events: readonly T[], maxBytes = MAX_BATCH_BYTES): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 2;
  for (const event of events) {
    const size = Buffer.byteLength(JSON.stringify(event)) + 1;
    if (current.length > 0 && bytes + size > maxBytes) {
      batches.push(current);
      current = [];
      bytes = 2;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
