/**
 * The one place that builds real adapters from the loaded config. Settings are read and
 * validated once per process, on first use (a wrong setting stops the first invocation with a
 * ConfigError naming it). Each invocation gets fresh per-invocation parts: a child logger and an
 * ARM inventory whose definition cache lives only as long as the invocation.
 */
import { DefaultAzureCredential } from "@azure/identity";
import type { DestinationStream } from "pino";
import { loadConfig, type Config } from "./config.js";
import { createLogger, invocationLogger, type Logger } from "./logging.js";
import { computeArmInventoryFactory } from "./arm/computeArmInventory.js";
import { createTableResourceStore } from "./storage/tableResourceStore.js";
import { createTableFindingStore } from "./storage/tableFindingStore.js";
import { createQueueRecheckQueue, createQueueSweepQueue, type SweepQueue } from "./storage/queues.js";
import type { StorageConnection } from "./storage/tableClients.js";
import { createTableAlertOutbox } from "./alerts/tableAlertOutbox.js";
import { createWorkflowsTeamsNotifier } from "./alerts/workflowsTeamsNotifier.js";
import { deliverAlerts, type DeliveryFigures } from "./alerts/deliverAlerts.js";
import type { EventSettings } from "./handleResourceEvent.js";
import type { Clock, Dependencies } from "./ports.js";

export interface Runtime {
  readonly config: Config;
  readonly settings: EventSettings;
  readonly clock: Clock;
  readonly sweepQueue: SweepQueue;
  readonly log: Logger;
  /** Ports for one invocation. */
  dependencies(context: { invocationId: string; functionName: string }): Dependencies;
  /** Send what the outbox owes Teams now (also the outbox timer's job). Delivery trouble is logged, not thrown: the outbox keeps it. */
  deliverNow(context: { invocationId: string; functionName: string }): Promise<DeliveryFigures | undefined>;
}

const systemClock: Clock = { now: () => new Date() };
let current: Runtime | undefined;

let logDestination: DestinationStream | undefined;

export function runtime(): Runtime {
  current ??= build(process.env);
  return current;
}

/** Forget the built runtime (the local stack and tests change settings between runs); optionally send its logs elsewhere. */
export function resetRuntime(options: { logDestination?: DestinationStream } = {}): void {
  current = undefined;
  logDestination = options.logDestination;
}

function build(env: NodeJS.ProcessEnv): Runtime {
  const config = loadConfig(env);
  const log = createLogger({ level: config.logLevel, ...(logDestination ? { destination: logDestination } : {}) });
  const isLocalArm = /^https:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(config.arm.endpoint);
  // Loopback ARM is the simulator: any bearer token does, so no Entra ID is needed locally.
  const armCredential = isLocalArm ? localSimulatorCredential() : new DefaultAzureCredential();
  const storage: StorageConnection = "connectionString" in config.storage ? config.storage : { ...config.storage, credential: new DefaultAzureCredential() };
  const newInventory = computeArmInventoryFactory({
    credential: armCredential,
    endpoint: config.arm.endpoint,
    ...(config.arm.caCertPem ? { caCertPem: config.arm.caCertPem } : {}),
    timeoutMs: config.arm.timeoutMs,
    maxRetries: config.arm.maxRetries,
  });
  const resources = createTableResourceStore(storage, config.tablePrefix);
  const findings = createTableFindingStore(storage, config.tablePrefix);
  const outbox = createTableAlertOutbox(storage, config.tablePrefix);
  const teams = createWorkflowsTeamsNotifier({ webhookUrl: config.teams.webhookUrl, timeoutMs: config.teams.timeoutMs, maxRequestsPerSecond: config.teams.maxRequestsPerSecond });
  const criticalTeams = config.teams.criticalWebhookUrl
    ? createWorkflowsTeamsNotifier({ webhookUrl: config.teams.criticalWebhookUrl, timeoutMs: config.teams.timeoutMs, maxRequestsPerSecond: config.teams.maxRequestsPerSecond })
    : undefined;
  const recheck = createQueueRecheckQueue(storage, config.queues.recheck);
  const settings: EventSettings = {
    policy: config.policy,
    portalUrl: config.portalUrl,
    recheckDelaySeconds: config.recheck.delaySeconds,
    recheckMaxAttempts: config.recheck.maxAttempts,
    maxEventBytes: config.maxEventBytes,
  };
  return {
    config,
    settings,
    clock: systemClock,
    log,
    sweepQueue: createQueueSweepQueue(storage, config.queues.sweep),
    dependencies: (context) => ({
      arm: newInventory(),
      resources,
      findings,
      outbox,
      teams,
      recheck,
      clock: systemClock,
      log: invocationLogger(log, context),
    }),
    async deliverNow(context) {
      const invocationLog = invocationLogger(log, context);
      try {
        return await deliverAlerts({ outbox, findings, teams, clock: systemClock, log: invocationLog }, criticalTeams ? { criticalTeams } : {});
      } catch (error) {
        invocationLog.warn({ err: error }, "alert delivery deferred to the outbox timer");
        return undefined;
      }
    },
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
