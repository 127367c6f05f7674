/**
 * The whole product on one machine, no Azure account: Azurite, the simulated ARM control plane,
 * a Teams inbox, a simulated Event Grid topic for the findings feed (`findingsFeed`) and the local Functions host
 * serving the same function declarations Azure runs.
 * Used by `npm start` and by the end-to-end tests.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import type { DestinationStream, Logger } from "pino";
import { startAzurite, type RunningAzurite } from "./azurite.js";
import { startArmSimulator, type RunningArmSimulator, type SimulatedResource, type ThrottleOptions } from "./armSimulator/index.js";
import { startTeamsInbox } from "./teamsInbox.js";
import { startFindingsTopic, type FindingsTopic } from "./findingsTopic.js";
import { startLocalHost } from "./host.js";
import { localEntra } from "./localEntra.js";
import { declarations } from "../functions/all.js";
import { resetRuntime } from "../shared/wiring/composition.js";
import { httpAuthLevel, SETTINGS } from "../shared/wiring/config.js";

export { LOCAL_SUBSCRIPTION } from "./subscription.js";
import { LOCAL_SUBSCRIPTION } from "./subscription.js";
import { IMAGE_USERS } from "./scenarios/caseStudies.js";

export interface LocalStackOptions {
  readonly seed?: readonly SimulatedResource[];
  readonly eventSchema?: "EventGridSchema" | "CloudEventSchemaV1_0";
  /**
   * ms a write stays Creating / Updating / Deleting in the simulator before it settles (default
   * 1500: every run exercises the "not settled yet → re-check" path, as Azure's long-running
   * operations do). Tests that need instant settling pass 0.
   */
  readonly settleMs?: number;
  /** ARM's throttling in the simulator (default: ARM's real limits); `false` switches it off (the benchmark's bursts). */
  readonly throttle?: ThrottleOptions | false;
  /** Event Grid's retry schedule compressed by this factor (default 1/100: the 10 s first retry takes 100 ms). */
  readonly eventTimeScale?: number;
  /** Extra or overriding app settings (over `localStackDefaults()`; these win even over the stack-owned ones). */
  readonly settings?: Readonly<Record<string, string>>;
  /**
   * Listen on the ecosystem's usual ports when they are free, so Storage Explorer, `func`-minded
   * tools and scripts find the stack: Azurite 10000 (blob), 10001 (queue), 10002 (table), the
   * Functions host 7071, the Teams inbox 7072 (the port local.settings.sample.json's webhook names).
   * A port in use falls back to a free one. Off by default: tests run many stacks at once; only `npm start` asks.
   */
  readonly usualPorts?: boolean;
  /**
   * Keep Azurite's data in this folder across restarts (Azurite's `--location`); the table prefix
   * then stays the same from one run to the next. Absent: everything in memory, nothing written to disk.
   */
  readonly persistLocation?: string;
  /**
   * Run the simulated Event Grid topic and publish the findings feed to it (GW_FINDINGS_TOPIC_ENDPOINT).
   * Off by default, as in a deployment without `enableFindingsTopic` (the benchmark measures that);
   * `npm start` and the feed's tests turn it on.
   */
  readonly findingsFeed?: boolean;
  readonly log: Logger;
  /** Where the functions' own logs go (default: stdout, like the Functions host). */
  readonly logDestination?: DestinationStream;
}

export type TeamsInbox = Awaited<ReturnType<typeof startTeamsInbox>>;
export type LocalHost = Awaited<ReturnType<typeof startLocalHost>>;

export interface LocalStack {
  readonly subscriptionId: string;
  readonly azurite: RunningAzurite;
  readonly arm: RunningArmSimulator;
  readonly inbox: TeamsInbox;
  /** With `findingsFeed`: the simulated Event Grid topic (GW_FINDINGS_TOPIC_ENDPOINT); the inbox serves its events as /events.json. */
  readonly topic?: FindingsTopic;
  readonly host: LocalHost;
  readonly settings: Readonly<Record<string, string>>;
  /** PEM file trusted for the simulator (for `curl --cacert`). */
  readonly caCertFile: string;
  /** The keys the local host enforces, as Azure's Functions host does (see `LocalKeys`). */
  readonly keys: LocalKeys;
  /** With GW_ENABLE_ENTRA_AUTH=true the host models App Service authentication: a token for the API (local/localEntra.ts). */
  readonly issueToken?: (claims?: Readonly<Record<string, unknown>>) => string;
  close(): Promise<void>;
}

/**
 * The host keys of a local stack, new for every stack like a new function app's
 * (https://learn.microsoft.com/azure/azure-functions/function-keys-how-to): a function key for the
 * `authLevel: "function"` HTTP API (`x-functions-key` header or `?code=`), the Event Grid
 * extension's system key `eventgrid_extension` (the simulated Event Grid delivers with it as
 * `?code=`, as a real subscription's endpoint URL does), and the master key for `/admin`. A request
 * without the right key is 401 and runs nothing.
 */
export interface LocalKeys {
  readonly function: string;
  readonly eventGridSystem: string;
  readonly master: string;
}

const newKey = () => randomBytes(32).toString("base64url");

/** How long a simulated write takes to settle unless a caller asks otherwise. */
export const DEFAULT_SETTLE_MS = 1500;

/** The ecosystem's usual local ports (Azurite's defaults; `func start`'s 7071). */
export const USUAL_PORTS = { blob: 10000, queue: 10001, table: 10002, host: 7071, inbox: 7072 } as const;

/**
 * Settings the stack sets itself because they point at its own parts: Azurite, the simulated ARM
 * and its certificate, the Teams inbox. A person's value for one of these (from local.settings.json
 * or the environment) would send the local run to real Azure or a real Teams channel.
 */
export const STACK_OWNED_SETTINGS = [
  "AzureWebJobsStorage",
  "AzureWebJobsStorage__accountName",
  "GW_ARM_ENDPOINT",
  "GW_ARM_CA_CERT_FILE",
  "GW_TEAMS_WEBHOOK_URL",
  "GW_TEAMS_CRITICAL_WEBHOOK_URL",
  "GW_FINDINGS_TOPIC_ENDPOINT",
  "GW_FINDINGS_TOPIC_CA_CERT_FILE",
] as const;

/**
 * The app settings a local stack uses unless told otherwise: the app's own defaults, then what
 * suits a local run (the case studies' subscription, re-checks after 2 s, outbox every 2 s, quiet
 * logs, a table prefix of its own unless the data persists).
 */
export function localStackDefaults(options: { readonly persist?: boolean } = {}): Record<string, string> {
  const defaults = Object.fromEntries(SETTINGS.filter((s) => s.default !== undefined).map((s) => [s.name, s.default!]));
  return {
    ...defaults,
    GW_WATCHED_SUBSCRIPTIONS: LOCAL_SUBSCRIPTION,
    // The forensics lab's locked-down scope (local/scenarios/replay.ts): its workstations may run specialized images.
    GW_ALLOWED_RESOURCE_GROUPS_FOR_SPECIALIZED: `/subscriptions/${LOCAL_SUBSCRIPTION}/resourceGroups/rg-forensics-lab`,
    // Who may use the specialized images (broad-access): the SaaS team's on-call group (local/scenarios/replay.ts).
    GW_APPROVED_IMAGE_USERS: IMAGE_USERS.saasOnCall,
    GW_ARM_TIMEOUT_MS: "10000",
    GW_RECHECK_DELAY_SECONDS: "2",
    GW_OUTBOX_SCHEDULE: "*/2 * * * * *",
    // Persisted data is found again under the same table names; otherwise each stack has its own.
    GW_TABLE_PREFIX: options.persist ? defaults.GW_TABLE_PREFIX! : `gw${Math.random().toString(36).slice(2, 8)}`,
    GW_LOG_LEVEL: "warn",
  };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => options.log.warn({ err: error }, "cleanup failed"));
  };
  try {
    const usual = options.usualPorts === true;
    const location = options.persistLocation ? { location: options.persistLocation } : {};
    const azurite = usual
      ? await startAzurite({ ...location, ports: { blob: await portOr0(USUAL_PORTS.blob), queue: await portOr0(USUAL_PORTS.queue), table: await portOr0(USUAL_PORTS.table) } })
          // Taken between the check and Azurite's listen: any free ports, then.
          .catch(() => startAzurite(location))
      : await startAzurite(location);
    cleanups.push(() => azurite.stop());
    const topic = options.findingsFeed ? await startFindingsTopic() : undefined;
    if (topic) cleanups.push(() => topic.close());
    const feed = () => (topic?.events() ?? []).map((r) => ({ receivedAt: r.receivedAt, ...r.event })).reverse();
    const inbox = usual ? await startTeamsInbox({ port: await portOr0(USUAL_PORTS.inbox), feed }).catch(() => startTeamsInbox({ feed })) : await startTeamsInbox({ feed });
    cleanups.push(() => inbox.close());
    const hostPort = usual && (await isFree(USUAL_PORTS.host)) ? USUAL_PORTS.host : await freePort();
    const keys: LocalKeys = { function: newKey(), eventGridSystem: newKey(), master: newKey() };
    const arm = await startArmSimulator({
      seed: options.seed ?? [],
      settleMs: options.settleMs ?? DEFAULT_SETTLE_MS,
      // A person's az against this stack polls each second rather than every 30 s (Azure sends no Retry-After).
      pollRetryAfterSeconds: 1,
      ...(options.throttle !== undefined ? { throttle: options.throttle } : {}),
      eventDelivery: {
        timeScale: options.eventTimeScale ?? 1 / 100,
        log: options.log,
        deadLetter: { connectionString: azurite.connectionString, container: options.settings?.GW_DEADLETTER_CONTAINER ?? "deadletters" },
      },
      eventSink: {
        url: `http://127.0.0.1:${hostPort}/runtime/webhooks/eventgrid?functionName=eventGridResourceEvent&code=${keys.eventGridSystem}`,
        schema: options.eventSchema ?? "EventGridSchema",
      },
    });
    cleanups.push(() => arm.close());
    const dir = await mkdtemp(path.join(os.tmpdir(), "gallery-watch-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const caCertFile = path.join(dir, "simulated-arm-ca.pem");
    await writeFile(caCertFile, arm.caCertPem);
    const topicCaFile = topic ? path.join(dir, "simulated-topic-ca.pem") : "";
    if (topic) await writeFile(topicCaFile, topic.caCertPem);

    const owned: Record<(typeof STACK_OWNED_SETTINGS)[number], string> = {
      AzureWebJobsStorage: azurite.connectionString,
      AzureWebJobsStorage__accountName: "",
      GW_ARM_ENDPOINT: arm.url,
      GW_ARM_CA_CERT_FILE: caCertFile,
      GW_TEAMS_WEBHOOK_URL: inbox.webhookUrl,
      GW_TEAMS_CRITICAL_WEBHOOK_URL: "",
      GW_FINDINGS_TOPIC_ENDPOINT: topic?.endpoint ?? "",
      GW_FINDINGS_TOPIC_CA_CERT_FILE: topicCaFile,
    };
    const settings: Record<string, string> = {
      ...localStackDefaults({ persist: options.persistLocation !== undefined }),
      ...owned,
      ...options.settings,
    };
    // The functions read their settings from the environment, as on Azure.
    const previous = { ...process.env };
    Object.assign(process.env, settings);
    cleanups.push(async () => {
      for (const key of Object.keys(settings)) {
        if (previous[key] === undefined) delete process.env[key];
        else process.env[key] = previous[key];
      }
      resetRuntime();
    });
    resetRuntime(options.logDestination ? { logDestination: options.logDestination } : {});

    const entra = httpAuthLevel(settings) === "anonymous" ? localEntra(settings.GW_ENTRA_CLIENT_ID ?? "") : undefined;
    const host = await startLocalHost({
      declarations,
      settings: { ...process.env },
      port: hostPort,
      storageConnectionString: azurite.connectionString,
      log: options.log,
      functionKeys: [keys.function],
      eventGridSystemKey: keys.eventGridSystem,
      masterKey: keys.master,
      ...(entra ? { easyAuth: entra.model } : {}),
    });
    cleanups.push(() => host.close());
    return { subscriptionId: LOCAL_SUBSCRIPTION, azurite, arm, inbox, ...(topic ? { topic } : {}), host, settings, caCertFile, keys, ...(entra ? { issueToken: entra.issueToken } : {}), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Whether nothing listens on this loopback port now. */
export function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function portOr0(port: number): Promise<number> {
  return (await isFree(port)) ? port : 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
