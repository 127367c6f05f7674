/**
 * The ports the use cases depend on. Each is a small interface; adapters are named
 * technology + port (`computeArmInventory`, `tableResourceStore`, `workflowsTeamsNotifier`).
 * The use cases receive them as one `Dependencies` value built in `shared/wiring/composition.ts`.
 */
import type { Clock } from "../platform/clock.js";
import type { Logger } from "pino";
import type { ResourceId } from "../domain/resourceId.js";
import type { AccessFacts } from "../domain/access.js";
import type {
  GallerySnapshot,
  ImageDefinitionSnapshot,
  ImageVersionSnapshot,
  MachineSnapshot,
  ScaleSetSnapshot,
  Snapshot,
  VirtualMachineSnapshot,
} from "../domain/snapshots.js";
import type { Finding, FindingRuleId, FindingStatus, FindingTransition, Severity, TransitionKind } from "../domain/findings.js";
import type { FindingCloudEvent } from "../views/findingsFeed.js";
import type { AlertDeliveryOutcome, AlertGrouping, ArmReadOutcome, AlertState, Attribution, ChangeRecord, EventDispositionLabel, LineageEntry, OutboxAlert, OwedReason, SnapshotRecord, SweepRun, Trigger } from "../domain/records.js";
import { InvalidContinuationTokenError } from "../domain/errors.js";
/** The error family lives in domain/errors.ts; re-exported where callers (functions/, the CLI) already look. */
export { InvalidContinuationTokenError } from "../domain/errors.js";

/** The records the ports speak in are plain data (domain/records.ts); re-exported so a use case needs one import. */
export type { AlertGrouping, AlertState, Attribution, ChangeRecord, LineageEntry, OutboxAlert, OwedReason, SnapshotRecord, SweepFailure, SweepRun, Trigger } from "../domain/records.js";

// ---------------------------------------------------------------- ARM

/** The result of reading one resource from ARM. Nothing is thrown for these cases. */
export type ReadOutcome<T> =
  /**
   * `observedAt`: when the answer was read, if it was kept from an earlier read (absent: now).
   * `armTime`: ARM's date on the answer (its `Date` header, ms), when it said.
   */
  | { readonly status: "found"; readonly snapshot: T; readonly observedAt?: string; readonly armTime?: number }
  | { readonly status: "gone"; readonly id: ResourceId }
  | { readonly status: "noAccess"; readonly id: ResourceId; readonly message: string }
  | { readonly status: "throttled"; readonly id: ResourceId; readonly message: string; readonly retryAfterMs?: number }
  | { readonly status: "failed"; readonly id: ResourceId; readonly message: string; readonly cause?: unknown };

/**
 * Read-only view of the Azure estate, one per invocation or sweep run (it caches definitions and
 * version lists for its own lifetime). Reads return outcomes; list iterators throw `ArmReadError`
 * and hold at most one page in memory.
 */
export interface ReadHooks {
  /** Runs just before the read's own request (a GET, or a listing that answers several reads) goes out. */
  readonly sending?: () => void;
  /**
   * An earlier request, sent at `sentAt` (ms, our clock) and dated `armTime` by ARM (its `Date`
   * header, when known), returned this resource (a definition's listing): true when that request
   * covers every write the read is for, and so stands as the read's own; false when the read must go to ARM.
   */
  readonly answeredBy?: (sentAt: number, armTime?: number) => boolean;
  /** The read may wait a moment to share a request with others (a follow-up or re-check, not an event's first read). */
  readonly patient?: boolean;
}

export interface ArmInventory {
  /**
   * Dispatches on `id.kind`. A scale set comes back with its image resolved. Waits for the read
   * budget; `sending` runs just before the resource's request goes out (it may be a listing that
   * answers several reads at once).
   */
  read(id: ResourceId, hooks?: ReadHooks): Promise<ReadOutcome<Snapshot>>;
  /**
   * A read already answered holds `id` and covers a write whose event was stamped `written` (ms),
   * on ARM's clocks (domain/coverage.ts): the time ARM dated it (ms), and `read` with a hook that
   * agrees answers from it, with no request. Undefined when no such read is kept.
   */
  answeredAt?(id: ResourceId, written: number): number | undefined;
  /** With `$select=Permissions` and `$expand=SharingProfile/Groups`: the only read that carries sharing. */
  readGallery(id: ResourceId): Promise<ReadOutcome<GallerySnapshot>>;
  readImageDefinition(id: ResourceId): Promise<ReadOutcome<ImageDefinitionSnapshot>>;
  /** The version carries its definition's osState (`Unknown` when the definition could not be read). */
  readImageVersion(id: ResourceId): Promise<ReadOutcome<ImageVersionSnapshot>>;
  readScaleSet(id: ResourceId): Promise<ReadOutcome<ScaleSetSnapshot>>;
  /** With its image resolved (a VM attached from an OS disk: through the disk's gallery reference). */
  readVirtualMachine(id: ResourceId): Promise<ReadOutcome<VirtualMachineSnapshot>>;
  /** Resolve (again) what a scale set's or VM's image reference means now: `latest`, pinned, shared / community, an OS disk's version, or why not. */
  resolveImage<M extends MachineSnapshot>(machine: M): Promise<ReadOutcome<M>>;
  /** Lists carry no sharing profile: a listed gallery's sharing is `Unknown`. */
  listGalleries(subscriptionId: string): AsyncIterable<GallerySnapshot>;
  listImageDefinitions(galleryId: ResourceId): AsyncIterable<ImageDefinitionSnapshot>;
  /** Cached per inventory (the definitions' followers and the sweep ask for the same list). */
  listImageVersions(definitionId: ResourceId): AsyncIterable<ImageVersionSnapshot>;
  /** Listed scale sets carry `image: { outcome: "pending" }` until `resolveImage`. */
  listScaleSets(subscriptionId: string): AsyncIterable<ScaleSetSnapshot>;
  /** Listed VMs carry `image: { outcome: "pending" }` until `resolveImage`. */
  listVirtualMachines(subscriptionId: string): AsyncIterable<VirtualMachineSnapshot>;
  /** ARM requests this inventory has made (pages and reads), for the sweep's record. */
  requests(): number;
  /** The subscription's read budget is down to the reads kept for resources gallery-watch has recorded. */
  readsShort?(subscriptionId: string): boolean;
}

/**
 * Who can use an image (Microsoft.Authorization), for `broad-access`; one per invocation or sweep
 * run. Role definitions are read in every invocation, never kept across them: custom roles change.
 */
export interface AccessReader {
  /**
   * The role assignments that apply to `scope` — at, above and below it (ARM's list for a scope) —
   * the role definitions they name (one that no longer exists is left out: its assignments stay
   * unresolved), and the subscription's tenant. `noAccess` when gallery-watch may not read them.
   */
  readAccess(scope: ResourceId): Promise<ReadOutcome<AccessFacts>>;
}

// ---------------------------------------------------------------- history

/** Current resources, content-addressed history and the change log. */
export interface ResourceStore {
  /**
   * Record what was read. Writes a history snapshot only when the content hash differs from the
   * current one; always records the change (deduplicated by event id). Idempotent.
   */
  recordSnapshot(record: SnapshotRecord): Promise<{ readonly changed: boolean; readonly stale?: boolean }>;
  /** The resource is gone from ARM: mark current as deleted, keep its history. Idempotent. */
  recordDeletion(id: ResourceId, observedAt: string, trigger: Trigger): Promise<void>;
  /** Record a change that produced no snapshot (no access, unchanged re-read); deduplicated by event id. */
  recordChange(change: ChangeRecord): Promise<void>;
  current(key: string): Promise<Snapshot | undefined>;
  /**
   * Ids of every stored current (not deleted) resource of a subscription, optionally of one
   * resource group: what the sweep reconciles against its listing and a resource-group delete re-reads.
   * Key-range queries only (galleries → their definitions → their versions, then scale sets).
   */
  currentIn(subscriptionId: string, resourceGroup?: string): AsyncIterable<ResourceId>;
  /** Current (not deleted) children and referrers, for rule context. */
  definitionsOf(galleryKey: string): Promise<ImageDefinitionSnapshot[]>;
  versionsOf(definitionKey: string): Promise<ImageVersionSnapshot[]>;
  /** Scale sets and VMs whose image reference points at this definition (latest) or one of its versions (an OS disk's version included). */
  machinesReferencing(definitionKey: string): Promise<MachineSnapshot[]>;
  /**
   * Lineage: every scale set and VM recorded running the version, by machine key — when first
   * seen running it, and, once it runs another or is gone, when last seen (absent while it still
   * does). One partition query.
   */
  lineage(versionKey: string): Promise<LineageEntry[]>;
  /** Newest first; `asOf` gives the snapshot in force at that time first. */
  history(key: string, options?: { readonly asOf?: string; readonly limit?: number }): Promise<SnapshotRecord[]>;
  /** Newest first. */
  changes(key: string, options?: { readonly asOf?: string; readonly limit?: number }): Promise<ChangeRecord[]>;
  /**
   * Changes across resources, newest first, from the change-log index (one partition per UTC day
   * of the change): a page of at most `limit` rows and a token for the next page, present only
   * when at least one more row matches.
   */
  changesSince(query: ChangeQuery): Promise<Page<ChangeRecord>>;
  /**
   * One resource's changes up to `asOf` (by the change's time: the event's, else when it was
   * observed), newest first, `limit` at most per page; follow `continuationToken` for the rest.
   */
  changesOf(key: string, options: { readonly asOf?: string; readonly limit: number; readonly continuationToken?: string }): Promise<Page<ChangeRecord>>;
}

/** One page of a listing. `continuationToken` is opaque and present only when more rows match. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly continuationToken?: string;
}

/**
 * Tokens are a position, not a snapshot: the sort key of the last row returned, so the next page
 * starts right after it. Rows are never skipped or repeated between pages unless they move.
 */
export function encodeContinuation(after: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after }), "utf8").toString("base64url");
}

export function decodeContinuation(token: string | undefined): string | undefined {
  if (token === undefined || token === "") return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { v?: unknown; after?: unknown };
    if (parsed.v === 1 && typeof parsed.after === "string" && parsed.after.length > 0) return parsed.after;
  } catch {
    // fall through
  }
  throw new InvalidContinuationTokenError();
}

/** The time of a change: the event's time when an event caused it, else when it was observed. */
export function changeTime(change: Pick<ChangeRecord, "observedAt" | "trigger">): string {
  return change.trigger.source === "event" ? change.trigger.attribution.eventTime || change.observedAt : change.observedAt;
}

export interface ChangeQuery {
  /** ISO time: changes at or after it. */
  readonly since: string;
  /** ISO time: changes before it (default: no upper bound). */
  readonly until?: string;
  /** Case-insensitive: the caller's UPN, app id, object id or display name. */
  readonly caller?: string;
  /** Case-insensitive resource group name. */
  readonly resourceGroup?: string;
  readonly limit: number;
  readonly continuationToken?: string;
}

// ---------------------------------------------------------------- findings

export interface FindingStore {
  forResource(resourceKey: string): Promise<Finding[]>;
  /** Store the `after` of each transition; conditional on `before.revision` (throws ConcurrentUpdateError). */
  apply(transitions: readonly FindingTransition[]): Promise<void>;
  /** Findings not resolved, optionally of one rule. */
  open(options?: { readonly ruleId?: string }): Promise<Finding[]>;
  /** Findings as they stood at a time (from the finding's own history rows). */
  asOf(resourceKey: string, at: string): Promise<Finding[]>;
  /**
   * Current findings across resources from the status index (one partition per status), newest
   * `updatedAt` first; the other filters are exact (subscription and severity case-insensitive).
   * A page holds at most `limit` findings; `continuationToken` is present only when more match.
   */
  query(query: FindingQuery): Promise<Page<Finding>>;
}

export interface FindingQuery {
  /** Which statuses; at least one. */
  readonly states: readonly FindingStatus[];
  readonly ruleId?: string;
  readonly severity?: Severity;
  readonly subscriptionId?: string;
  /** ISO time: findings updated at or after it. */
  readonly since?: string;
  readonly limit: number;
  readonly continuationToken?: string;
}

// ---------------------------------------------------------------- alerts

/** Wakes the alert senders (sendAlerts) through a queue; the message carries nothing but what to run, the outbox holds the alerts. */
export interface DeliveryQueue {
  /**
   * `delaySeconds`: wake them then (a storm's group held until its interval ends). `feedOnly`:
   * only the findings feed has something new (the cards are covered by a wake already queued).
   */
  wake(delaySeconds?: number, options?: { readonly feedOnly?: boolean }): Promise<void>;
}

/**
 * Claimed alerts; `heldUntil`: the earliest time a key held back by grouping comes due again;
 * `holds`: every key the claim leaves held (one just grouped too), with the time its hold ends.
 */
export type ClaimedAlerts = OutboxAlert[] & { readonly heldUntil?: string; readonly holds?: ReadonlyMap<string, string> };

export interface AlertOutbox {
  /** Insert as `staged` if absent (idempotent by alertId). Nothing is sent until `release`. */
  enqueue(alerts: ReadonlyArray<Pick<OutboxAlert, "alertId" | "transition" | "attribution">>, now: string): Promise<void>;
  /** The transitions were stored: write the alerts as pending (re-creating a row a losing concurrent invocation discarded). */
  release(alerts: ReadonlyArray<Pick<OutboxAlert, "alertId" | "transition" | "attribution">>, now: string): Promise<void>;
  /** The transitions lost a concurrent write: remove rows that are still staged. */
  discard(alertIds: readonly string[]): Promise<void>;
  /** Staged alerts created before `before` (an invocation died between the two writes). */
  staged(before: string): Promise<OutboxAlert[]>;
  /**
   * Pending alerts whose nextAttemptAt has come, oldest first; claims them with a lease so two
   * senders do not both send. With `grouping`, a key with a storm's backlog is claimed whole (up
   * to `maxAlerts`, beyond `limit`), its alerts marked with `groupKey`, and a key whose last
   * grouped card is younger than the interval is held back (`heldUntil`).
   */
  claimDue(now: string, limit: number, leaseMs: number, grouping?: AlertGrouping): Promise<ClaimedAlerts>;
  markDelivered(alertId: string, at: string): Promise<void>;
  markRetry(alertId: string, nextAttemptAt: string, error: string): Promise<void>;
  /**
   * Park as owed (kept, listed, never dropped). With `nextAttemptAt` it stays claimable then (a
   * refusal retried with backoff); without, it waits for `resend`.
   */
  markOwed(alertId: string, owed: { readonly at: string; readonly reason: OwedReason; readonly error: string; readonly nextAttemptAt?: string }): Promise<void>;
  /** Give claimed alerts back unsent (their lease would run out before a send could finish). */
  unclaim(alertIds: readonly string[]): Promise<void>;
  /** A person asks to send an owed (or old failed) alert again now; false when it is not owed. */
  resend(alertId: string, now: string): Promise<boolean>;
  /** All alerts, newest first (delivery log). */
  list(options?: { readonly state?: AlertState; readonly limit?: number }): Promise<OutboxAlert[]>;
}

/** Teams (Workflows webhook) delivery of one message. */
export interface TeamsNotifier {
  /** Throws AlertDeliveryError (with retryAfterMs when the receiver gave one). */
  send(payload: unknown, alertId: string): Promise<void>;
  /** The longest one `send` may take: a sender starts a send only if its lease outlasts it. */
  readonly timeoutMs?: number;
}

// ---------------------------------------------------------------- sweep runs

export interface SweepRunStore {
  /** Insert or replace the run's record (called at start and at the end; idempotent). */
  record(run: SweepRun): Promise<void>;
  get(subscriptionId: string, runId: string): Promise<SweepRun | undefined>;
  /** Newest first; `since` bounds startedAt. */
  list(options?: { readonly since?: string; readonly subscriptionId?: string; readonly limit?: number }): Promise<SweepRun[]>;
}

// ---------------------------------------------------------------- scheduling, time

export interface RecheckQueue {
  /** Re-read `id` after `delaySeconds` (the resource was still provisioning). */
  schedule(id: ResourceId, delaySeconds: number, attempt: number, attribution?: Attribution): Promise<void>;
}

/**
 * Coalescing across instances: one row per resource with a check under way. The first event of a
 * quiet resource runs at once; events arriving while a check runs (or is queued) only make sure
 * one follow-up check is queued. ARM is re-read, so one check after the last change covers them all.
 */
export interface CheckGate {
  /** `run`: check now, then `leave`. `coalesced`: a check is under way; `queueFollowUp` says this caller must queue the one follow-up. */
  enter(key: string, now: string): Promise<{ readonly kind: "run"; readonly token: string } | { readonly kind: "coalesced"; readonly queueFollowUp: boolean }>;
  /** A queued follow-up or re-check starts: it owns the row from now on. */
  takeOver(key: string, now: string): Promise<string>;
  /**
   * The check ended. `done`: the row holds the coalescing window, so events in it queue one
   * follow-up; `pending`: a re-check is already queued (still provisioning), later events fold
   * into it; `failed`: the row goes, so the platform's retry runs at once.
   */
  leave(key: string, token: string, ended: "done" | "pending" | "failed"): Promise<void>;
}

/** The gate as the judging use case sees it: also told when a check's ARM read goes out (see localCoalescing.ts). */
export interface CoalescingGate extends CheckGate {
  /** As CheckGate's, told the event's `eventTime` (ARM's stamp) when the caller is an event. */
  enter(key: string, now: string, eventTime?: string): ReturnType<CheckGate["enter"]>;
  /**
   * The check holding `token` sends its ARM read now, or (`sentAt`, this process's clock) takes a
   * read that went out then: events for the resource from here on are not covered by it. With
   * `sentAt`, false (and nothing changes) unless that read was sent after every event the check
   * stands for (its own, or one folded into it) was received by this process, or ARM dated the
   * read's answer (`armTime`, its `Date` header, ms) well after every one of them was written.
   */
  reading(key: string, token: string, sentAt?: number, armTime?: number): boolean;
  /** A queued re-check starts; `written`: the latest `eventTime` (ms) of the events it stands for, when `release` knew it. */
  takeOver(key: string, now: string, written?: number): Promise<string>;
  /**
   * `key` is put off for `seconds` (reads are short and gallery-watch has not recorded it): true
   * when this caller is to queue the re-check, false while one queued by this process is pending,
   * so the event folds into it (the re-check reads after it arrived). `renew`: the put-off
   * re-check itself, putting the resource off once more. `event`: the event's id and time, for `release`.
   */
  holdOff(key: string, seconds: number, renew: boolean, event?: { readonly eventId: string; readonly eventTime: string }): boolean;
  /**
   * A check of `key` goes ahead: events from here on go through the gate, not into a put-off
   * re-check. Returns the latest `eventTime` (ms) of the events put off here when `by` (the
   * re-check's event id) is the put-off re-check this process queued: it stands for exactly those.
   */
  release(key: string, by?: string): number | undefined;
  /**
   * Event Grid delivered `eventId` again (at-least-once): true when this process has already taken
   * that event, so whatever its first delivery led to (a read sent after it arrived, a follow-up or
   * a put-off re-check) covers it. False the first time, and again after `forget`.
   */
  redelivered(eventId: string): boolean;
  /** The event's handling failed: the platform's retry of it must be handled, not taken for a duplicate. */
  forget(eventId: string): void;
  /**
   * A check of `key` is judging a kept answer ARM dated `armTime` (ms): until `done` is called, an
   * event it covers (`answered`) folds into it; after `done(true)` (its verdict is stored) too.
   */
  judgingAnswer(key: string, armTime: number): (stored: boolean) => void;
  /**
   * A check of `key` in this process is judging, or has judged and stored a verdict on, an answer
   * ARM dated well after a write stamped `written` (ms, domain/coverage.ts): an event for that
   * write needs no read of its own. Only the latest judged answer per resource is remembered.
   */
  answered(key: string, written: number): boolean;
  /** As CheckGate's; `armTime`: ARM's date on the answer the check judged and stored a verdict on (ms), when it said. */
  leave(key: string, token: string, ended: "done" | "pending" | "failed", armTime?: number): Promise<void>;
}

/** The one clock (platform/clock.ts), a port of every use case. */
export type { Clock } from "../platform/clock.js";

// ---------------------------------------------------------------- telemetry

/** Ids a span carries so the operator can find one event's work (span attributes only, never metric attributes). */
export interface SpanIds {
  /** Event Grid `data.correlationId`: ARM's correlation id of the operation that caused the event. */
  readonly correlationId?: string;
  readonly eventId?: string;
  readonly resourceId?: string;
}

/** The calls the use cases make. Every method is cheap, synchronous (except `withSpan`) and never throws. */
export interface Telemetry {
  /** One event classified: accepted, ignored or refused (`invalid`). `reason` may be the human text; the metric keeps a bounded code. */
  eventHandled(disposition: EventDispositionLabel, reason?: string): void;
  /**
   * One ARM read ended with `outcome`. `operation` is a code-shaped name (`galleries.get`), never
   * an id. A `throttled` outcome also counts one `gallerywatch.arm.throttles`.
   */
  armRead(operation: string, outcome: ArmReadOutcome): void;
  /** ARM answered 429 and the reader's retry absorbed it (the read went on). Together with `armRead(…, "throttled")` this counts every 429 once. */
  armThrottled(operation: string): void;
  /** A stored finding transition (opened, resolved, …) of a rule at a severity. */
  findingTransition(kind: TransitionKind, ruleId: FindingRuleId, severity: Severity): void;
  /** One Teams delivery attempt of one alert. */
  alertDelivery(outcome: AlertDeliveryOutcome): void;
  /** A finished sweep run (runs still `running` are not counted): its duration and its failed parts. */
  sweepRun(run: SweepRun): void;
  /**
   * Runs `fn` in a span named `name`, a child of the active context. The ids become span
   * attributes (scrubbed, truncated); an error is recorded (scrubbed) and rethrown.
   */
  withSpan<T>(name: string, ids: SpanIds, fn: () => Promise<T>): Promise<T>;
}


export interface Dependencies {
  readonly arm: ArmInventory;
  /** Absent: who can use an image is not read, and `broad-access` reaches no verdict. */
  readonly access?: AccessReader;
  readonly resources: ResourceStore;
  readonly findings: FindingStore;
  readonly outbox: AlertOutbox;
  readonly teams: TeamsNotifier;
  readonly recheck: RecheckQueue;
  readonly sweepRuns: SweepRunStore;
  readonly gate: CoalescingGate;
  /** Metrics and spans (shared/adapters/otel/telemetry.ts); `noTelemetry` where none is wanted. */
  readonly telemetry: Telemetry;
  readonly clock: Clock;
  readonly log: Logger;
}

// ---------------------------------------------------------------- the daily digest

/** Findings whose stored state changed at or after a time, whatever their status (resolved ones too). */
export interface FindingActivity {
  changedSince(since: string): Promise<Finding[]>;
}

export interface DigestRecord {
  readonly digestId: string;
  /** The UTC day the digest covers up to, `YYYY-MM-DD`. */
  readonly period: string;
  readonly claimedAt: string;
  /** The content covered findings and runs up to this time; the next digest starts here. */
  readonly until?: string;
  readonly sentAt?: string;
}

export type ClaimResult =
  /** `claim` is an opaque proof of ownership for `markSent` / `release`. */
  | { readonly outcome: "claimed"; readonly claim: string }
  | { readonly outcome: "sent"; readonly record: DigestRecord }
  | { readonly outcome: "inProgress"; readonly record: DigestRecord };

/** `<prefix>Digests`: which digests were claimed and sent. */
export interface DigestLog {
  /**
   * Insert a claim for `digestId` if there is none. An unsent claim older than `staleBefore` is
   * taken over (conditionally: of two takers, one wins). `force` takes the row whatever its state.
   */
  claim(record: Pick<DigestRecord, "digestId" | "period" | "claimedAt">, options: { readonly staleBefore: string; readonly force?: boolean }): Promise<ClaimResult>;
  /** Record the send. A claim taken over meanwhile is left to its new owner (returns false). */
  markSent(digestId: string, claim: string, sent: { readonly sentAt: string; readonly until: string }): Promise<boolean>;
  /** Give the claim back after a failed send. */
  release(digestId: string, claim: string): Promise<void>;
  /** The newest digest of a period before `period` that was sent. */
  previousSent(period: string): Promise<DigestRecord | undefined>;
}

// ---------------------------------------------------------------- reindex

/** One index, rebuilt from its primary table one page at a time. */
export interface IndexRebuild {
  /** The index's name in reports and checkpoints, e.g. "FindingIndex". */
  readonly name: string;
  /** Rows the scan will visit (for a progress bar; a keys-only pass). */
  count(): Promise<number>;
  /** Scan one page of primary rows after `continuation` (undefined: the start) and write the index rows they lack. */
  rebuildPage(continuation: string | undefined): Promise<{ readonly scanned: number; readonly rebuilt: number; readonly continuation?: string }>;
}

export interface ReindexCheckpoint {
  /** Where the scan continues; absent once the pass is complete. */
  readonly continuation?: string;
  readonly scanned: number;
  readonly rebuilt: number;
  readonly startedAt: string;
  readonly completedAt?: string;
}

export interface ReindexCheckpoints {
  read(name: string): Promise<ReindexCheckpoint | undefined>;
  write(name: string, checkpoint: ReindexCheckpoint): Promise<void>;
}

// ---------------------------------------------------------------- findings feed

/** An Event Grid topic (or anything that takes CloudEvents 1.0 in batches). */
export interface FindingsPublisher {
  /** One request with every event; throws AlertDeliveryError (retryAfterMs, permanent, ambiguous). */
  publish(events: readonly FindingCloudEvent[], batchId: string): Promise<void>;
  /** The longest one `publish` may take: a sender starts one only if its lease outlasts it. */
  readonly timeoutMs: number;
}
