/**
 * The records the app stores and shows: who changed what (attribution, triggers, snapshots and
 * changes), the alerts owed, the sweep runs, and the closed lists of outcomes the telemetry and
 * the views speak of. Plain data, shared by the use cases (app/ports.ts speaks in them), the views
 * and the adapters.
 */
import type { Snapshot } from "./snapshots.js";
import type { FindingTransition, TransitionKind } from "./findings.js";

// ---------------------------------------------------------------- history

/** Who did it and how, from the event. Only what attribution needs; nothing else of the claims. */
export interface Attribution {
  readonly eventId: string;
  readonly eventType: string;
  readonly eventTime: string;
  readonly operationName?: string;
  readonly correlationId?: string;
  readonly callerName?: string;
  readonly callerUpn?: string;
  readonly callerAppId?: string;
  readonly callerObjectId?: string;
  readonly clientIp?: string;
  readonly httpMethod?: string;
  readonly role?: string;
}

/** A machine that ran an image version (lineage): first seen running it, and last seen (absent: it still does). */
export interface LineageEntry {
  readonly machineId: string;
  readonly kind: "scaleSet" | "virtualMachine";
  readonly firstSeen: string;
  readonly lastSeen?: string;
}

/** Why a resource was (re)read: an event with its attribution, a scheduled re-check, or the sweep. */
export type Trigger =
  | { readonly source: "event"; readonly attribution: Attribution }
  | { readonly source: "recheck"; readonly attempt: number; readonly attribution?: Attribution }
  | { readonly source: "sweep"; readonly runId: string };

export interface SnapshotRecord {
  readonly snapshot: Snapshot;
  /** sha-256 of the canonical snapshot JSON. */
  readonly contentHash: string;
  readonly observedAt: string;
  readonly trigger: Trigger;
  /**
   * The content hash of the stored state this snapshot was derived from (a follower re-resolved
   * from the store, not re-read). If the stored state has moved on since, the snapshot is stale:
   * nothing is written and `stale` says so.
   */
  readonly basis?: string;
}

export interface ChangeRecord {
  readonly resourceKey: string;
  readonly resourceId: string;
  /** `written`, `deleted`, `shared`, `unchanged`, `noAccess`, … */
  readonly action: string;
  readonly observedAt: string;
  readonly contentHash?: string;
  readonly trigger: Trigger;
}

/**
 * Rows the pipeline records about itself, not changes anyone made: `provisioning` (read while ARM
 * was still provisioning; the follow-up read records the result) and `coalesced` (an event folded
 * into a check already running). Kept in history; `changes` lists them only when asked (`all`).
 */
export const PIPELINE_ACTIONS: readonly string[] = ["provisioning", "coalesced"];

export function isPipelineInternal(change: Pick<ChangeRecord, "action">): boolean {
  return PIPELINE_ACTIONS.includes(change.action);
}

// ---------------------------------------------------------------- alerts

/**
 * staged: written before its finding transition is stored; pending: owed to Teams and being sent;
 * owed: sending ran into something a person should see (see `OwedReason`), still owed, never
 * dropped; `failed`: rows of older versions (given up), treated as owed.
 */
export type AlertState = "staged" | "pending" | "delivered" | "owed" | "failed";

/**
 * refused: the webhook answered a 4xx other than 408/429 (e.g. 404 while the flow is off); it is
 * retried with a capped backoff within the retry window. ambiguous: a send got no answer, so the
 * card may be in the channel; it is not sent again until a person says so (`gallery-watch alerts
 * resend`). expired: the retry window ran out. Ambiguous and expired alerts wait for a person.
 */
export type OwedReason = "refused" | "ambiguous" | "expired";

export interface OutboxAlert {
  /** Deterministic: `${fingerprint}:${after.revision}` so a retried transition never makes a second alert. */
  readonly alertId: string;
  readonly transition: FindingTransition;
  readonly state: AlertState;
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly createdAt: string;
  readonly deliveredAt?: string;
  readonly lastError?: string;
  /** Who changed the resource, for the card's "who". */
  readonly attribution?: Attribution;
  /** Why the alert is owed (state `owed`), and since when. */
  readonly owedReason?: OwedReason;
  readonly owedSince?: string;
  /** When a send of this alert got no answer: a later card says it may repeat that one. */
  readonly ambiguousAt?: string;
  /** When a person last asked to resend it: its retry window starts here instead of at createdAt. */
  readonly retrySince?: string;
  /** Set by `claimDue` on alerts claimed to go out together on one grouped card (their group key, shared/domain/alertGroups.ts). */
  readonly groupKey?: string;
}

/** Storm grouping at claim time (shared/domain/alertGroups.ts). */
export interface AlertGrouping {
  /** Alerts of one key due at once that make a grouped card (≥ 2). */
  readonly threshold: number;
  /** Alertmanager's group_interval: the least time between two grouped cards of one key. */
  readonly intervalMs: number;
  /** Most alerts one grouped card carries; the rest go on the next. */
  readonly maxAlerts: number;
}

// ---------------------------------------------------------------- sweep runs

/** Something a sweep run could not list or read, after its bounded retries. */
export interface SweepFailure {
  /** What could not be read: a subscription, gallery, definition or scale set id. */
  readonly resourceId: string;
  /** The ARM operation, e.g. `galleryImages.listByGallery`. */
  readonly operation: string;
  /** `noAccess`, `throttled` or `failed`, with ARM's message. */
  readonly reason: string;
}

/** The record of one sweep of one subscription (`<prefix>SweepRuns`). */
export interface SweepRun {
  readonly runId: string;
  readonly subscriptionId: string;
  readonly startedAt: string;
  /** Absent while the run is under way. */
  readonly finishedAt?: string;
  /** `partial`: finished, but some parts could not be read (see `failures`). */
  readonly status: "running" | "succeeded" | "partial" | "failed";
  readonly seen: { readonly galleries: number; readonly definitions: number; readonly versions: number; readonly scaleSets: number; readonly virtualMachines: number };
  /** ARM requests the run made (lists, pages and reads). */
  readonly armRequests: number;
  readonly snapshotsWritten: number;
  readonly transitions: Readonly<Partial<Record<TransitionKind, number>>>;
  /** Stored resources the listing no longer returned, re-read by id and found gone. */
  readonly reconciled: number;
  readonly failures: readonly SweepFailure[];
}

// ---------------------------------------------------------------- outcomes

export const DISPOSITIONS = ["accepted", "ignored", "invalid"] as const;
export type EventDispositionLabel = (typeof DISPOSITIONS)[number];

export const ARM_OUTCOMES = ["found", "gone", "noAccess", "throttled", "failed"] as const;
export type ArmReadOutcome = (typeof ARM_OUTCOMES)[number];

/** owed: parked for a refusal (retried) or after the retry window; ambiguous: a send without an answer (owed, not repeated). */
export const ALERT_OUTCOMES = ["delivered", "retried", "owed", "ambiguous", "failed"] as const;
export type AlertDeliveryOutcome = (typeof ALERT_OUTCOMES)[number];
