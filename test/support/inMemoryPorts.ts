/**
 * In-memory adapters of every port the judging use case takes, with the same contracts as the
 * real ones (ARM answers as Azure does: lists carry no sharing profile; findings writes are
 * conditional on revision), so the judging path and its failure policy are tested in milliseconds.
 */
import { withLocalCoalescing } from "../../shared/app/localCoalescing.js";
import pino from "pino";
import { parentOf, type ResourceId } from "../../shared/domain/resourceId.js";
import type { Finding, FindingTransition } from "../../shared/domain/findings.js";
import { isMachine, referencedDefinitionKey, runningVersionKey, type GallerySnapshot, type ImageDefinitionSnapshot, type ImageReferenceTarget, type ImageVersionSnapshot, type MachineSnapshot, type ScaleSetSnapshot, type Snapshot, type VirtualMachineSnapshot } from "../../shared/domain/snapshots.js";
import { readByKind, resolveImage, type ImageReads } from "../../shared/adapters/arm/resolveImage.js";
import { ArmReadError, ConcurrentUpdateError } from "../../shared/domain/errors.js";
import { pathTo, type AccessFacts, type RoleAssignmentFact, type RoleDefinitionFact } from "../../shared/domain/access.js";
import { BUILT_IN_ROLES } from "../../local/armSimulator/builtInRoles.js";
import type {
  AccessReader,
  AlertOutbox,
  ArmInventory,
  ChangeRecord,
  Dependencies,
  FindingStore,
  OutboxAlert,
  ReadOutcome,
  RecheckQueue,
  ResourceStore,
  SnapshotRecord,
  SweepRun,
  SweepRunStore,
  CheckGate,
} from "../../shared/app/ports.js";
import { FakeClock } from "./inMemoryDigestPorts.js";
import { noTelemetry } from "../../shared/adapters/otel/telemetry.js";
import { NOW } from "./snapshotBuilders.js";
import type { ChangeQuery, FindingQuery, LineageEntry, Page } from "../../shared/app/ports.js";
import { invertedTime } from "../../shared/adapters/tables/tableKeys.js";
import { changeMatches, findingMatches } from "../../shared/app/queries.js";
import { changeTime, decodeContinuation, encodeContinuation, InvalidContinuationTokenError } from "../../shared/app/ports.js";

export type Fault = "noAccess" | "throttled" | "failed";

/** The Azure estate as snapshots, with faults per resource key or per list (`list:<parent key>`). */
export class FakeAzure {
  readonly resources = new Map<string, Snapshot>();
  readonly faults = new Map<string, Fault>();
  /** Managed disks by lower-case id: what each was created from (`creationData.galleryImageReference`). */
  readonly disks = new Map<string, ImageReferenceTarget>();
  requests = 0;
  /** While set, every read waits for it: a check "under way" for as long as a test needs. */
  hold?: Promise<void>;
  /** While set, the read budget holds reads back (before their request goes out), as ARM's budget does in a burst. */
  budgetHold?: Promise<void>;
  /** Keys read, in order. */
  readonly reads: string[] = [];
  /** While set, ARM dates each answer that finds a resource (its `Date` header) with this clock (ms). */
  armClock?: () => number;

  put(...snapshots: Snapshot[]): this {
    for (const s of snapshots) this.resources.set(s.id.key, s);
    return this;
  }
  remove(id: ResourceId): void {
    this.resources.delete(id.key);
  }
  fault(key: string, fault: Fault | undefined): void {
    if (fault) this.faults.set(key, fault);
    else this.faults.delete(key);
  }

  inventory(): ArmInventory {
    const azure = this;
    const outcome = <T extends Snapshot>(id: ResourceId, shape: (s: T) => T = (s) => s): ReadOutcome<T> => {
      azure.requests++;
      azure.reads.push(id.key);
      const fault = azure.faults.get(id.key);
      if (fault === "noAccess") return { status: "noAccess", id, message: "403 AuthorizationFailed" };
      if (fault === "throttled") return { status: "throttled", id, message: "429 SubscriptionRequestsThrottled", retryAfterMs: 1000 };
      if (fault === "failed") return { status: "failed", id, message: "500 InternalServerError" };
      const found = azure.resources.get(id.key) as T | undefined;
      return found ? { status: "found", snapshot: shape(found), ...(azure.armClock ? { armTime: azure.armClock() } : {}) } : { status: "gone", id };
    };
    const listFault = (key: string, operation: string) => {
      azure.requests++;
      const fault = azure.faults.get(`list:${key}`);
      if (fault) throw new ArmReadError(fault, operation, key, `${fault} (injected)`, fault === "throttled" ? 1000 : undefined);
    };
    const children = <T extends Snapshot>(kind: T["kind"], parent: (s: T) => string | undefined, key: string): T[] =>
      [...azure.resources.values()].filter((s): s is T => s.kind === kind && parent(s as T) === key);
    const inherit = (v: ImageVersionSnapshot): ImageVersionSnapshot => {
      const definition = azure.resources.get(parentOf(v.id)!.key) as ImageDefinitionSnapshot | undefined;
      const blocked = azure.faults.get(parentOf(v.id)!.key);
      return { ...v, osState: definition && !blocked ? definition.osState : "Unknown" };
    };
    const reads: ImageReads = {
      definition: async (id) => outcome<ImageDefinitionSnapshot>(id),
      versions: async (definitionId) => {
        listFault(definitionId.key, "galleryImageVersions.listByGalleryImage");
        return children<ImageVersionSnapshot>("imageVersion", (v) => parentOf(v.id)?.key, definitionId.key).map(inherit);
      },
      sharedImage: async (_subscription, _kind, _location, gallery) => {
        azure.requests++;
        return { status: "noAccess", id: {} as ResourceId, message: `403 on shared gallery ${gallery}` };
      },
      diskImage: async (diskId) => {
        azure.requests++;
        const fault = azure.faults.get(diskId.toLowerCase());
        if (fault === "noAccess") return { status: "noAccess", id: {} as ResourceId, message: "403 AuthorizationFailed" };
        const disk = azure.disks.get(diskId.toLowerCase());
        return disk ? { status: "found", snapshot: disk } : { status: "gone", id: {} as ResourceId };
      },
    };
    const withImage = async <M extends MachineSnapshot>(machine: M): Promise<ReadOutcome<M>> => {
      try {
        return { status: "found", snapshot: { ...machine, image: await resolveImage(machine, reads) } };
      } catch (error) {
        if (error instanceof ArmReadError) return error.kind === "throttled" ? { status: "throttled", id: machine.id, message: error.message } : { status: "failed", id: machine.id, message: error.message };
        throw error;
      }
    };
    const inventory: ArmInventory = {
      read: async (id, hooks) => {
        await azure.budgetHold;
        hooks?.sending?.();
        return readByKind(inventory, id);
      },
      readGallery: async (id) => (await azure.hold, outcome<GallerySnapshot>(id)),
      readImageDefinition: reads.definition,
      async readImageVersion(id) {
        await azure.hold;
        const read = outcome<ImageVersionSnapshot>(id, inherit);
        const parentFault = azure.faults.get(parentOf(id)!.key);
        if (read.status === "found" && (parentFault === "throttled" || parentFault === "failed")) return parentFault === "throttled" ? { status: "throttled", id, message: "429 on definition" } : { status: "failed", id, message: "500 on definition" };
        return read;
      },
      async readScaleSet(id) {
        const read = outcome<ScaleSetSnapshot>(id);
        return read.status === "found" ? withImage(read.snapshot) : read;
      },
      async readVirtualMachine(id) {
        const read = outcome<VirtualMachineSnapshot>(id);
        return read.status === "found" ? withImage(read.snapshot) : read;
      },
      resolveImage: withImage,
      async *listGalleries(subscriptionId) {
        listFault(`/subscriptions/${subscriptionId}/galleries`, "galleries.list");
        // As Azure lists them: no sharing profile (Gallery_ListBySubscription.json).
        for (const g of [...azure.resources.values()].filter((s): s is GallerySnapshot => s.kind === "gallery" && s.id.subscriptionId === subscriptionId)) {
          yield { ...g, sharing: { permissions: "Unknown", groups: [] } };
        }
      },
      async *listImageDefinitions(galleryId) {
        listFault(galleryId.key, "galleryImages.listByGallery");
        yield* children<ImageDefinitionSnapshot>("imageDefinition", (d) => parentOf(d.id)?.key, galleryId.key);
      },
      async *listImageVersions(definitionId) {
        yield* await reads.versions(definitionId, "Unknown");
      },
      async *listScaleSets(subscriptionId) {
        listFault(`/subscriptions/${subscriptionId}/scalesets`, "virtualMachineScaleSets.listAll");
        for (const s of [...azure.resources.values()].filter((s): s is ScaleSetSnapshot => s.kind === "scaleSet" && s.id.subscriptionId === subscriptionId)) {
          yield { ...s, image: { outcome: "pending" } };
        }
      },
      async *listVirtualMachines(subscriptionId) {
        listFault(`/subscriptions/${subscriptionId}/virtualmachines`, "virtualMachines.listAll");
        for (const s of [...azure.resources.values()].filter((s): s is VirtualMachineSnapshot => s.kind === "virtualMachine" && s.id.subscriptionId === subscriptionId)) {
          yield { ...s, image: { outcome: "pending" } };
        }
      },
      requests: () => azure.requests,
    };
    return inventory;
  }
}

interface Row {
  snapshot: Snapshot;
  contentHash: string;
  observedAt: string;
  deleted: boolean;
}

export class MemoryResourceStore implements ResourceStore {
  readonly rows = new Map<string, Row>();
  readonly historyRows: Array<SnapshotRecord> = [];
  readonly changeRows: ChangeRecord[] = [];
  /** Version key → machine key → its lineage entry (as the table adapter's `lineage~` partitions). */
  readonly lineageRows = new Map<string, Map<string, { -readonly [K in keyof LineageEntry]: LineageEntry[K] }>>();

  /** As the table adapter: a machine found running a version it did not run before starts (or resumes) that row and ends the one it ran. */
  private indexLineage(machine: ResourceId, kind: LineageEntry["kind"], previous: string | undefined, next: string | undefined, at: string) {
    if (previous === next) return;
    const previousRow = previous ? this.lineageRows.get(previous)?.get(machine.key) : undefined;
    if (previousRow) previousRow.lastSeen = at;
    if (!next) return;
    const rows = this.lineageRows.get(next) ?? new Map();
    this.lineageRows.set(next, rows);
    const row = rows.get(machine.key);
    if (row) delete row.lastSeen;
    else rows.set(machine.key, { machineId: machine.display, kind, firstSeen: at });
  }

  async lineage(versionKey: string) {
    return [...(this.lineageRows.get(versionKey) ?? new Map()).entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, row]) => ({ ...row }));
  }

  async recordSnapshot(record: SnapshotRecord) {
    const current = this.rows.get(record.snapshot.id.key);
    if (record.basis !== undefined && current && (current.deleted || (current.contentHash !== record.basis && current.contentHash !== record.contentHash))) {
      await this.recordChange({ resourceKey: record.snapshot.id.key, resourceId: record.snapshot.id.display, action: "stale", observedAt: record.observedAt, contentHash: record.contentHash, trigger: record.trigger });
      return { changed: false, stale: true };
    }
    const changed = !current || current.deleted || current.contentHash !== record.contentHash;
    if (changed) {
      const snapshot = record.snapshot;
      if (isMachine(snapshot)) this.indexLineage(snapshot.id, snapshot.kind, current && !current.deleted && isMachine(current.snapshot) ? runningVersionKey(current.snapshot) : undefined, runningVersionKey(snapshot), record.observedAt);
      this.rows.set(record.snapshot.id.key, { snapshot: record.snapshot, contentHash: record.contentHash, observedAt: record.observedAt, deleted: false });
      this.historyRows.push(record);
    }
    if (changed || record.trigger.source !== "sweep") {
      await this.recordChange({ resourceKey: record.snapshot.id.key, resourceId: record.snapshot.id.display, action: changed ? "written" : "unchanged", observedAt: record.observedAt, contentHash: record.contentHash, trigger: record.trigger });
    }
    return { changed };
  }
  async recordDeletion(id: ResourceId, observedAt: string, trigger: SnapshotRecord["trigger"]) {
    const current = this.rows.get(id.key);
    if (current && !current.deleted && isMachine(current.snapshot)) this.indexLineage(id, current.snapshot.kind, runningVersionKey(current.snapshot), undefined, observedAt);
    if (current) current.deleted = true;
    await this.recordChange({ resourceKey: id.key, resourceId: id.display, action: "deleted", observedAt, trigger });
  }
  async recordChange(change: ChangeRecord) {
    const eventId = change.trigger.source === "event" ? change.trigger.attribution.eventId : undefined;
    if (eventId && this.changeRows.some((c) => c.resourceKey === change.resourceKey && c.trigger.source === "event" && c.trigger.attribution.eventId === eventId)) return;
    this.changeRows.push(change);
  }
  async current(key: string) {
    const row = this.rows.get(key);
    return row && !row.deleted ? row.snapshot : undefined;
  }
  async *currentIn(subscriptionId: string, resourceGroup?: string) {
    for (const row of this.rows.values()) {
      const id = row.snapshot.id;
      if (!row.deleted && id.subscriptionId === subscriptionId && (resourceGroup === undefined || id.resourceGroup.toLowerCase() === resourceGroup.toLowerCase())) yield id;
    }
  }
  async definitionsOf(galleryKey: string) {
    return this.live().filter((s): s is ImageDefinitionSnapshot => s.kind === "imageDefinition" && parentOf(s.id)?.key === galleryKey);
  }
  async versionsOf(definitionKey: string) {
    return this.live().filter((s): s is ImageVersionSnapshot => s.kind === "imageVersion" && parentOf(s.id)?.key === definitionKey);
  }
  async machinesReferencing(definitionKey: string) {
    return this.live().filter((s): s is MachineSnapshot => isMachine(s) && referencedDefinitionKey(s) === definitionKey);
  }
  async history(key: string, options: { readonly asOf?: string; readonly limit?: number } = {}) {
    // As the table adapter: newest first, and with `asOf` the snapshot in force then comes first.
    const rows = this.historyRows.filter((h) => h.snapshot.id.key === key && (options.asOf === undefined || h.observedAt <= options.asOf)).reverse();
    return options.limit === undefined ? rows : rows.slice(0, options.limit);
  }
  async changes(key: string) {
    return this.changeRows.filter((c) => c.resourceKey === key).reverse();
  }
  /** As the table adapter's change log: newest first by the change's time, filters as `changeMatches`, the token a position. */
  async changesSince(query: ChangeQuery): Promise<Page<ChangeRecord>> {
    const ordered = this.changeRows
      .map((change, order) => ({ change, key: `${invertedTime(changeTime(change))}~${change.resourceKey}~${String(order).padStart(8, "0")}` }))
      .filter((c) => changeMatches(query, c.change))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return pageAfter(ordered, query.limit, query.continuationToken);
  }
  private live(): Snapshot[] {
    return [...this.rows.values()].filter((r) => !r.deleted).map((r) => r.snapshot);
  }
  /** As the table adapter: by the change's time (event time, else observed), newest first; the token is a position. */
  async changesOf(key: string, options: { readonly asOf?: string; readonly limit: number; readonly continuationToken?: string }) {
    const all = this.changeRows
      .map((change, order) => ({ change, order, time: changeTime(change) }))
      .filter((c) => c.change.resourceKey === key && (options.asOf === undefined || c.time <= options.asOf))
      .sort((a, b) => (a.time === b.time ? b.order - a.order : a.time < b.time ? 1 : -1));
    const after = decodeContinuation(options.continuationToken);
    const start = after === undefined ? 0 : Number(after);
    if (!Number.isInteger(start) || start < 0) throw new InvalidContinuationTokenError();
    const page = all.slice(start, start + options.limit).map((c) => c.change);
    return { items: page, ...(start + options.limit < all.length ? { continuationToken: encodeContinuation(String(start + options.limit)) } : {}) };
  }
}

export class MemoryFindingStore implements FindingStore {
  readonly findings = new Map<string, Finding>();
  readonly applied: FindingTransition[] = [];
  async forResource(resourceKey: string) {
    return [...this.findings.values()].filter((f) => f.resourceKey === resourceKey);
  }
  async apply(transitions: readonly FindingTransition[]) {
    for (const t of transitions) {
      if ((this.findings.get(t.fingerprint)?.revision ?? 0) !== (t.before?.revision ?? 0)) throw new ConcurrentUpdateError("apply", "findings", "revision moved");
    }
    for (const t of transitions) {
      this.findings.set(t.fingerprint, t.after);
      this.applied.push(t);
    }
  }
  async open(options: { ruleId?: string } = {}) {
    return [...this.findings.values()].filter((f) => f.status !== "resolved" && (!options.ruleId || f.ruleId === options.ruleId));
  }
  async asOf() {
    return [];
  }
  /** As the table adapter's status index: newest updatedAt first (then fingerprint), filters as `findingMatches`. */
  async query(query: FindingQuery): Promise<Page<Finding>> {
    const ordered = [...this.findings.values()]
      .filter((f) => findingMatches(query, f))
      .map((f) => ({ item: f, key: `${invertedTime(f.updatedAt)}~${f.fingerprint}` }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return pageAfter(ordered.map((o) => ({ change: o.item, key: o.key })), query.limit, query.continuationToken);
  }
  /** The finding of `ruleId` on `id`, if any. */
  of(ruleId: string, id: ResourceId): Finding | undefined {
    return [...this.findings.values()].find((f) => f.ruleId === ruleId && f.resourceKey === id.key);
  }
}

/** One page after the token's position of rows sorted by `key`; a token only when more rows follow. */
function pageAfter<T>(ordered: ReadonlyArray<{ change: T; key: string }>, limit: number, token: string | undefined): Page<T> {
  const after = decodeContinuation(token);
  const rest = after === undefined ? ordered : ordered.filter((o) => o.key > after);
  const page = rest.slice(0, limit);
  return rest.length > limit ? { items: page.map((o) => o.change), continuationToken: encodeContinuation(page[page.length - 1]!.key) } : { items: page.map((o) => o.change) };
}

export class MemoryOutbox implements AlertOutbox {
  readonly alerts = new Map<string, OutboxAlert>();
  async enqueue(alerts: ReadonlyArray<Pick<OutboxAlert, "alertId" | "transition" | "attribution">>, now: string) {
    for (const a of alerts) if (!this.alerts.has(a.alertId)) this.alerts.set(a.alertId, { ...a, state: "staged", attempts: 0, nextAttemptAt: now, createdAt: now });
  }
  async release(alerts: ReadonlyArray<Pick<OutboxAlert, "alertId" | "transition" | "attribution">>, now: string) {
    for (const a of alerts) this.alerts.set(a.alertId, { ...(this.alerts.get(a.alertId) ?? { ...a, attempts: 0, nextAttemptAt: now, createdAt: now }), state: "pending" });
  }
  async discard(alertIds: readonly string[]) {
    for (const id of alertIds) if (this.alerts.get(id)?.state === "staged") this.alerts.delete(id);
  }
  async staged() {
    return [...this.alerts.values()].filter((a) => a.state === "staged");
  }
  async claimDue() {
    return [];
  }
  async markDelivered() {}
  async markRetry() {}
  async markOwed() {}
  async unclaim() {}
  async resend() {
    return false;
  }
  async list() {
    return [...this.alerts.values()];
  }
}

/** The coalescing gate with the table adapter's contract: every decision is conditional on the row's version; a finished check holds its window. */
export class MemoryCheckGate implements CheckGate {
  readonly rows = new Map<string, { version: number; claimedAt: string; followUp: boolean; until?: string }>();
  private versions = 0;
  constructor(private readonly clock: { now(): Date }, private readonly windowMs = 2_000) {}
  async enter(key: string, now: string) {
    const row = this.rows.get(key);
    if (!row || (row.until !== undefined && row.until <= now)) {
      this.rows.set(key, { version: ++this.versions, claimedAt: now, followUp: false });
      return { kind: "run" as const, token: String(this.versions) };
    }
    if (row.followUp) return { kind: "coalesced" as const, queueFollowUp: false };
    this.rows.set(key, { ...row, version: ++this.versions, followUp: true });
    return { kind: "coalesced" as const, queueFollowUp: true };
  }
  async takeOver(key: string, now: string) {
    this.rows.set(key, { version: ++this.versions, claimedAt: now, followUp: false });
    return String(this.versions);
  }
  async leave(key: string, token: string, ended: "done" | "pending" | "failed") {
    const row = this.rows.get(key);
    if (!row || String(row.version) !== token) return;
    if (ended === "failed") this.rows.delete(key);
    else if (ended === "pending") this.rows.set(key, { ...row, version: ++this.versions, followUp: true });
    else this.rows.set(key, { ...row, version: ++this.versions, until: new Date(this.clock.now().getTime() + this.windowMs).toISOString() });
  }
}

export class MemorySweepRuns implements SweepRunStore {
  readonly runs = new Map<string, SweepRun>();
  async record(run: SweepRun) {
    this.runs.set(`${run.subscriptionId}|${run.runId}`, run);
  }
  async get(subscriptionId: string, runId: string) {
    return this.runs.get(`${subscriptionId}|${runId}`);
  }
  /** As the Table store: newest first by start, `since` bounding startedAt, one subscription's, at most `limit`. */
  async list(options: { readonly since?: string; readonly subscriptionId?: string; readonly limit?: number } = {}) {
    const runs = [...this.runs.values()]
      .filter((r) => (options.since === undefined || r.startedAt >= options.since) && (options.subscriptionId === undefined || r.subscriptionId === options.subscriptionId))
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    return options.limit === undefined ? runs : runs.slice(0, options.limit);
  }
}

/**
 * Role assignments and definitions as ARM answers them for a scope: the assignments at, above and
 * below it, the roles they name (built-in Reader / Contributor / Owner, and any put here), the tenant.
 */
export class MemoryAccess implements AccessReader {
  readonly assignments = new Map<string, RoleAssignmentFact>();
  readonly roles = new Map<string, RoleDefinitionFact>(BUILT_IN_ROLES.map((r) => [r.name, { id: `/providers/Microsoft.Authorization/roleDefinitions/${r.name}`, roleName: r.roleName, permissions: [{ actions: r.actions, notActions: r.notActions }] }]));
  tenantId = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  fault?: Fault;
  reads = 0;

  assign(scope: string, name: string, principalId: string, role: string, principalType = "ServicePrincipal"): RoleAssignmentFact {
    const fact = { id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, scope, principalId, principalType, roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${role}` };
    this.assignments.set(fact.id.toLowerCase(), fact);
    return fact;
  }
  unassign(id: string): void {
    this.assignments.delete(id.toLowerCase());
  }
  async readAccess(scope: ResourceId): Promise<ReadOutcome<AccessFacts>> {
    this.reads++;
    if (this.fault === "noAccess") return { status: "noAccess", id: scope, message: "roleAssignments.listForScope: 403 AuthorizationFailed" };
    if (this.fault) return { status: this.fault, id: scope, message: `roleAssignments.listForScope: ${this.fault}` };
    const assignments = [...this.assignments.values()].filter((a) => pathTo(a.scope, scope.display) !== undefined);
    const named = new Set(assignments.map((a) => a.roleDefinitionId.split("/").pop()!.toLowerCase()));
    return { status: "found", snapshot: { assignments, roleDefinitions: [...this.roles.entries()].filter(([name]) => named.has(name)).map(([, r]) => r), tenantId: this.tenantId } };
  }
}

export interface World {
  readonly azure: FakeAzure;
  /** Who can use the images: the role assignments the judging path reads beside a specialized definition. */
  readonly access: MemoryAccess;
  readonly resources: MemoryResourceStore;
  readonly findings: MemoryFindingStore;
  readonly outbox: MemoryOutbox;
  readonly rechecks: Array<{ id: string; attempt: number }>;
  readonly sweepRuns: MemorySweepRuns;
  readonly gate: MemoryCheckGate;
  readonly clock: FakeClock;
  /** Fresh ports for one invocation (a new ARM inventory, as in the Functions app). */
  deps(): Dependencies;
}

export function aWorld(): World {
  const azure = new FakeAzure();
  const access = new MemoryAccess();
  const resources = new MemoryResourceStore();
  const findings = new MemoryFindingStore();
  const outbox = new MemoryOutbox();
  const rechecks: Array<{ id: string; attempt: number }> = [];
  const sweepRuns = new MemorySweepRuns();
  const clock = new FakeClock(NOW);
  const gate = new MemoryCheckGate(clock);
  const coalescing = withLocalCoalescing(gate, clock);
  const recheck: RecheckQueue = { schedule: async (id, _delay, attempt) => void rechecks.push({ id: id.display, attempt }) };
  const log = pino({ level: "silent" });
  return {
    azure,
    access,
    resources,
    findings,
    outbox,
    rechecks,
    sweepRuns,
    gate,
    clock,
    deps: () => ({ arm: azure.inventory(), access, resources, findings, outbox, recheck, sweepRuns, gate: coalescing, telemetry: noTelemetry, clock, log, teams: { send: async () => undefined } }),
  };
}
