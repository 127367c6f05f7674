/**
 * The one place that builds real adapters from the loaded config, for the Functions app and the
 * `gallery-watch` CLI alike. Settings are read and validated once per process, on first use (a
 * wrong setting stops the first invocation with a ConfigError naming it). Each invocation gets
 * fresh per-invocation parts: a child logger and an ARM inventory whose caches live only as long
 * as the invocation.
 */
import { oneAtATime } from "../platform/oneAtATime.js";
import { systemClock } from "../platform/clock.js";
import type { DestinationStream } from "pino";
import { loadConfig, type Config } from "./config.js";
import { createLogger, invocationLogger, type Logger } from "../platform/logging.js";
import { lazyAccessReaderFactory, lazyArmInventoryFactory, lazyDeadLetterPorts, lazyDefaultAzureCredential } from "./lazyAdapters.js";
import { createTableResourceStore } from "../adapters/tables/tableResourceStore.js";
import { createTableFindingStore } from "../adapters/tables/tableFindingStore.js";
import { createTableSweepRunStore } from "../adapters/tables/tableSweepRunStore.js";
import { createQueueDeliveryQueue, createQueueRecheckQueue, createQueueSweepQueue, type DeliveryQueue, type SweepQueue } from "../adapters/queues/queues.js";
import { createTablePacer } from "../adapters/tables/tablePacer.js";
import { createTableCheckGate } from "../adapters/tables/tableCheckGate.js";
import { withLocalCoalescing } from "../app/localCoalescing.js";
import type { StorageConnection } from "../adapters/tables/tableClients.js";
import { createTableAlertOutbox } from "../adapters/tables/tableAlertOutbox.js";
import { createWorkflowsTeamsNotifier } from "../adapters/teams/workflowsTeamsNotifier.js";
import { deliverAlerts, type DeliveryFigures } from "../app/deliverAlerts.js";
import { FEED_TABLE, publishFindings, withFindingsFeed, type FeedFigures } from "../app/publishFindings.js";
import { createEventGridFindingsPublisher } from "../adapters/eventgrid/eventGridFindingsPublisher.js";
import { createTableFindingActivity } from "../adapters/tables/tableFindingActivity.js";
import { createTableDigestLog } from "../adapters/tables/tableDigestLog.js";
import { findingIndexRebuild } from "../adapters/tables/tableFindingStore.js";
import { changeLogRebuild, lineageRebuild } from "../adapters/tables/tableResourceStore.js";
import { outboxIndexRebuild } from "../adapters/tables/tableAlertOutbox.js";
import { createTableReindexCheckpoints } from "../adapters/tables/tableReindexCheckpoints.js";
import type { ReindexDependencies } from "../app/reindex.js";
import { createTableReadBudget } from "../adapters/tables/tableReadBudget.js";
import { ReadBudget } from "../adapters/arm/readBudget.js";
import { handleResourceEvent, type EventSettings } from "../app/handleResourceEvent.js";
import type { DigestDependencies } from "../app/digest.js";
import type { RedriveDependencies } from "../app/deadLetters.js";
import type { Attribution, Clock, Dependencies, SweepRunStore, TeamsNotifier } from "../app/ports.js";
import type { FindingTransition } from "../domain/findings.js";
import { senderWakes } from "../app/senderWakes.js";
import { noTelemetry, startTelemetry, type Telemetry } from "../adapters/otel/telemetry.js";

export interface EventCounts {
  accepted: number;
  ignored: number;
  /** Of the ignored: events naming a subscription outside GW_WATCHED_SUBSCRIPTIONS. */
  unwatched: number;
  invalid: number;
}

type Invocation = { readonly invocationId: string; readonly functionName: string };

export interface Runtime {
  readonly config: Config;
  readonly settings: EventSettings;
  readonly clock: Clock;
  readonly sweepQueue: SweepQueue;
  /** Wakes sendAlerts: storing an alert ends an event's work; cards go out on their own worker. */
  readonly deliveryQueue: DeliveryQueue;
  readonly sweepRuns: SweepRunStore;
  readonly teams: TeamsNotifier;
  readonly log: Logger;
  /** Metrics and spans (Application Insights through OpenTelemetry, or the console, when configured). */
  readonly telemetry: Telemetry;
  /** Events this process handled, by disposition: what was ignored and refused is counted, not only logged. */
  readonly eventCounts: EventCounts;
  /** Ports for one invocation. */
  dependencies(context: Invocation): Dependencies;
  /** The daily digest's ports. */
  digest(context: Invocation, clock?: Clock): DigestDependencies;
  /** The dead-letter and poison-queue re-drive's ports; events go through the Event Grid function's handler. */
  redrive(context: Invocation): RedriveDependencies;
  /**
   * An invocation stored these transitions (their alerts staged with `attribution`): wakes
   * sendAlerts, unless a wake this process queued for a held storm group already covers every
   * alert (domain/alertGroups.ts `wakeCovers`). The findings feed is woken for them still.
   */
  alertsStored(transitions: readonly FindingTransition[], attribution: Attribution | undefined): Promise<void>;
  /** Send what the outbox owes Teams now (also the outbox timer's job). Delivery trouble is logged, not thrown: the outbox keeps it. */
  deliverNow(context: Invocation): Promise<DeliveryFigures | undefined>;
  /** Publish what the findings feed owes its Event Grid topic now; undefined when no topic is set or publishing failed (logged, retried by the timer). */
  publishFindingsNow(context: Invocation): Promise<FeedFigures | undefined>;
  /** `gallery-watch reindex`: the index tables, rebuilt from the primary tables (shared/app/reindex.ts). */
  reindex(): ReindexDependencies;
}

let current: Runtime | undefined;

let logDestination: DestinationStream | undefined;

export function runtime(): Runtime {
  current ??= buildRuntime(loadConfig(process.env));
  return current;
}

/** Forget the built runtime (the local stack and tests change settings between runs); optionally send its logs elsewhere. */
export function resetRuntime(options: { logDestination?: DestinationStream } = {}): void {
  current = undefined;
  logDestination = options.logDestination;
}

/**
 * A runtime over an already validated config (the CLI resolves its own settings); `log` replaces
 * the app's logger. `readOnlyStorage` (the CLI's read commands) creates no table and writes nothing.
 */
export function buildRuntime(config: Config, options: { readonly log?: Logger; readonly readOnlyStorage?: boolean } = {}): Runtime {
  const log = options.log ?? createLogger({ level: config.logLevel, ...(logDestination ? { destination: logDestination } : {}) });
  const isLocalArm = /^https:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(config.arm.endpoint);
  // Loopback ARM is the simulator: any bearer token does, so no Entra ID is needed locally.
  // @azure/identity, @azure/arm-compute and @azure/storage-blob load on first use, not at cold start (lazyAdapters.ts).
  const azureCredential = lazyDefaultAzureCredential();
  const armCredential = isLocalArm ? localSimulatorCredential() : azureCredential;
  const storage: StorageConnection = {
    ...("connectionString" in config.storage ? config.storage : { ...config.storage, credential: azureCredential }),
    ...(options.readOnlyStorage ? { readOnly: true } : {}),
  };
  const armOptions = {
    credential: armCredential,
    endpoint: config.arm.endpoint,
    ...(config.arm.caCertPem ? { caCertPem: config.arm.caCertPem } : {}),
    timeoutMs: config.arm.timeoutMs,
    maxRetries: config.arm.maxRetries,
    // One principal, one ARM read bucket, however many instances run: the budget is kept in storage
    // (shared/adapters/arm/readBudget.ts), and role-assignment reads draw on it too.
    readBudget: new ReadBudget({ shared: createTableReadBudget(storage, config.tablePrefix) }),
  };
  const newInventory = lazyArmInventoryFactory(armOptions);
  const newAccessReader = lazyAccessReaderFactory(armOptions);
  const resources = createTableResourceStore(storage, config.tablePrefix);
  const findings = createTableFindingStore(storage, config.tablePrefix);
  const outbox = createTableAlertOutbox(storage, config.tablePrefix);
  // The findings feed: a second outbox channel, staged in the same judging step as the cards.
  const feed = config.findingsFeed ? createTableAlertOutbox(storage, config.tablePrefix, FEED_TABLE) : undefined;
  const judgingOutbox = feed ? withFindingsFeed(outbox, feed) : outbox;
  const feedPublisher = config.findingsFeed
    ? createEventGridFindingsPublisher({
        endpoint: config.findingsFeed.endpoint,
        // Loopback is the local stack's simulated topic: any bearer token does.
        credential: /^https:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(config.findingsFeed.endpoint) ? localSimulatorCredential() : azureCredential,
        ...(config.findingsFeed.caCertPem ? { caCertPem: config.findingsFeed.caCertPem } : {}),
      })
    : undefined;
  // Paced per webhook across every instance (one conditional row each), not per process.
  const notifier = (webhookUrl: string) =>
    createWorkflowsTeamsNotifier({ webhookUrl, timeoutMs: config.teams.timeoutMs, pace: createTablePacer(storage, config.tablePrefix, webhookUrl, config.teams.maxRequestsPerSecond).pace });
  const teams = notifier(config.teams.webhookUrl);
  const criticalTeams = config.teams.criticalWebhookUrl ? notifier(config.teams.criticalWebhookUrl) : undefined;
  const recheck = createQueueRecheckQueue(storage, config.queues.recheck);
  const sweepRuns = createTableSweepRunStore(storage, config.tablePrefix);
  const gate = withLocalCoalescing(createTableCheckGate(storage, config.tablePrefix, config.coalesceWindowSeconds * 1000), systemClock);
  const telemetry = deferredTelemetry(config, log);
  const findingActivity = createTableFindingActivity(storage, config.tablePrefix);
  const digests = createTableDigestLog(storage, config.tablePrefix);
  const settings: EventSettings = {
    policy: config.policy,
    portalUrl: config.portalUrl,
    recheckDelaySeconds: config.recheck.delaySeconds,
    recheckMaxAttempts: config.recheck.maxAttempts,
    coalesceWindowSeconds: config.coalesceWindowSeconds,
    maxEventBytes: config.maxEventBytes,
    watchedSubscriptions: new Set(config.subscriptions),
  };
  const deliveryQueue = createQueueDeliveryQueue(storage, config.queues.delivery);
  const wakes = senderWakes(deliveryQueue, systemClock, { feed: feed !== undefined });
  return {
    config,
    settings,
    clock: systemClock,
    log,
    sweepQueue: createQueueSweepQueue(storage, config.queues.sweep),
    deliveryQueue,
    sweepRuns,
    teams,
    eventCounts: { accepted: 0, ignored: 0, unwatched: 0, invalid: 0 },
    telemetry,
    digest: (context, clock = systemClock) => ({ findings, findingActivity, sweepRuns, owedAlerts: outbox, digests, teams, clock, log: invocationLogger(log, context) }),
    redrive(context) {
      const deps = this.dependencies(context);
      return {
        ...lazyDeadLetterPorts(storage, config.deadLetters.container),
        queues: [config.queues.recheck, config.queues.sweep],
        clock: systemClock,
        log: deps.log,
        handle: (event) => handleResourceEvent(deps, settings, event),
      };
    },
    dependencies: (context) => ({
      arm: newInventory(),
      access: newAccessReader(),
      resources,
      findings,
      outbox: judgingOutbox,
      teams,
      recheck,
      sweepRuns,
      gate,
      telemetry,
      clock: systemClock,
      log: invocationLogger(log, context),
    }),
    reindex: () => ({
      indexes: [findingIndexRebuild(storage, config.tablePrefix), changeLogRebuild(storage, config.tablePrefix), outboxIndexRebuild(storage, config.tablePrefix), lineageRebuild(storage, config.tablePrefix)],
      checkpoints: createTableReindexCheckpoints(storage, config.tablePrefix),
      clock: systemClock,
    }),
    alertsStored: (transitions, attribution) => wakes.alertsStored(transitions, attribution),
    publishFindingsNow: oneAtATime(async (context: Invocation) => {
      if (!feed || !feedPublisher || !config.findingsFeed) return undefined;
      const invocationLog = invocationLogger(log, context);
      try {
        return await publishFindings({ feed, findings, publisher: feedPublisher, source: config.findingsFeed.source, clock: systemClock, log: invocationLog }, config.delivery);
      } catch (error) {
        invocationLog.warn({ err: error }, "findings feed publishing deferred to its timer");
        return undefined;
      }
    }),
    // Woken by judged events with alerts (a queue message each, none while a wake queued for their
    // held storm group covers them: app/senderWakes.ts): one pass at a time per process, and a wake
    // during a pass runs one more after it (platform/oneAtATime.ts).
    deliverNow: oneAtATime(async (context: Invocation) => {
      const invocationLog = invocationLogger(log, context);
      try {
        const figures = await deliverAlerts({ outbox, findings, teams, clock: systemClock, log: invocationLog }, { ...config.delivery, ...(criticalTeams ? { criticalTeams } : {}) });
        // A storm's stragglers wait for their group's interval: a sender wakes when it ends (app/senderWakes.ts).
        await wakes.passed(figures);
        // One outcome per alert and attempt: an ambiguous send is owed too, but counted as ambiguous only.
        for (const [outcome, n] of [["delivered", figures.delivered], ["retried", figures.retried], ["owed", figures.owed - figures.ambiguous], ["ambiguous", figures.ambiguous]] as const) for (let i = 0; i < n; i++) telemetry.alertDelivery(outcome);
        return figures;
      } catch (error) {
        invocationLog.warn({ err: error }, "alert delivery deferred to the outbox timer");
        return undefined;
      }
    }),
  };
}

/**
 * Telemetry starts asynchronously (the Azure Monitor distro is loaded only when a connection
 * string is set); until it is up, what happens is not recorded rather than held back.
 */
function deferredTelemetry(config: Config, log: Logger): Telemetry {
  let active: Telemetry = noTelemetry;
  void startTelemetry(config, undefined, { log }).then((started) => (active = started));
  return {
    eventHandled: (...args) => active.eventHandled(...args),
    armRead: (...args) => active.armRead(...args),
    armThrottled: (...args) => active.armThrottled(...args),
    findingTransition: (...args) => active.findingTransition(...args),
    alertDelivery: (...args) => active.alertDelivery(...args),
    sweepRun: (...args) => active.sweepRun(...args),
    withSpan: (name, ids, fn) => active.withSpan(name, ids, fn),
  };
}

/** An unsigned JWT naming gallery-watch itself, accepted only by the local simulator. */
function localSimulatorCredential() {
  return {
    async getToken() {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const now = Math.floor(Date.now() / 1000);
      return { token: `${encode({ alg: "none" })}.${encode({ name: "gallery-watch", exp: now + 3600 })}.local`, expiresOnTimestamp: (now + 3600) * 1000 };
    },
  };
}
