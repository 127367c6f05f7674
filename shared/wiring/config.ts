/**
 * The only code that reads settings. `loadConfig(process.env)` validates every setting and
 * reports every problem at once, naming the setting and how to fix it; secret values (the
 * webhook URLs) are never echoed.
 */
import { GUID_PATTERN, isGuid, tryParseResourceGroupId } from "../domain/resourceId.js";
import { isLoopbackHost } from "../platform/loopback.js";
import { existsSync, readFileSync } from "node:fs";
import { Cron } from "croner";
import { ConfigError, type SettingProblem } from "../domain/errors.js";
import { DEFAULT_POLICY, type Policy } from "../domain/policy.js";
import { RULE_IDS, type RuleId } from "../domain/findings.js";
import { normalizeRegion } from "../domain/snapshots.js";
import { AZURE_REGIONS, nearestRegion } from "../domain/regions.js";
import type { AlertGrouping } from "../app/ports.js";
import { MAX_GROUP_ALERTS } from "../domain/alertGroups.js";

export interface Setting {
  readonly name: string;
  readonly required: boolean;
  readonly default?: string;
  readonly sample: string;
  readonly secret?: boolean;
  readonly description: string;
}

/** Every setting the app reads. README's table and local.settings.sample.json are checked against this list by a test. */
export const SETTINGS: readonly Setting[] = [
  { name: "AzureWebJobsStorage", required: true, sample: "UseDevelopmentStorage=true", secret: true, description: "Storage for tables and queues: a connection string (Azurite: `UseDevelopmentStorage=true`). In Azure use identity-based `AzureWebJobsStorage__accountName` instead." },
  { name: "AzureWebJobsStorage__accountName", required: false, sample: "", description: "Identity-based storage: the account name (managed identity; `__credential=managedidentity`, `__clientId` for a user-assigned identity). Replaces the connection string." },
  { name: "GW_WATCHED_SUBSCRIPTIONS", required: true, sample: "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f", description: "Subscription GUIDs the nightly sweep walks, comma or space separated." },
  { name: "GW_TEAMS_WEBHOOK_URL", required: true, sample: "http://127.0.0.1:7072/webhook?sig=local", secret: true, description: "Teams Workflows webhook URL (\"When a Teams webhook request is received\"). https; http only on loopback. Contains a `sig=` secret: keep it in Key Vault." },
  { name: "GW_TEAMS_CRITICAL_WEBHOOK_URL", required: false, sample: "", secret: true, description: "Optional second Workflows webhook for critical alerts." },
  { name: "GW_TEAMS_MAX_RPS", required: false, default: "4", sample: "4", description: "Most webhook requests per second (1–4; Teams throttles above ~4/s)." },
  { name: "GW_TEAMS_TIMEOUT_MS", required: false, default: "120000", sample: "120000", description: "Timeout of one webhook request (1000–240000 ms). A Workflows request trigger may take up to 120 s to answer; a send without an answer is recorded as ambiguous (owed), not repeated." },
  { name: "GW_TEAMS_RETRY_AFTER_CAP_SECONDS", required: false, default: "300", sample: "300", description: "Longest Retry-After from the webhook that is honoured; after it the next send probes (10–3600 s)." },
  { name: "GW_ENABLE_ENTRA_AUTH", required: false, default: "false", sample: "false", description: "`true` when App Service authentication (Entra ID) guards the app (infra's enableEntraAuth): the HTTP API is then `authLevel: anonymous` behind it, so callers need an Entra token and no function key. The Event Grid webhook and /admin keep their keys." },
  { name: "GW_ENTRA_CLIENT_ID", required: false, sample: "", description: "Application (client) id of the API's app registration; required with GW_ENABLE_ENTRA_AUTH=true. Tokens for `api://<id>` or `<id>` are accepted." },
  { name: "GW_FINDINGS_TOPIC_ENDPOINT", required: false, sample: "", description: "Findings feed: an Event Grid custom topic endpoint (https, e.g. `https://<topic>.<region>-1.eventgrid.azure.net/api/events`). Every finding transition is published there as a CloudEvents 1.0 event (`com.gallerywatch.finding.<kind>`), with Entra ID (the app's identity needs EventGrid Data Sender). Unset: no feed." },
  { name: "GW_FINDINGS_TOPIC_CA_CERT_FILE", required: false, sample: "", description: "PEM file of a certificate to trust for GW_FINDINGS_TOPIC_ENDPOINT only (the local stack's simulated topic)." },
  { name: "GW_ALERT_RETRY_HOURS", required: false, default: "24", sample: "24", description: "How long an undelivered alert is retried automatically (throttled, failing or refusing webhook) before it stays owed for `gallery-watch alerts resend` (1–168 h)." },
  { name: "GW_ALERT_GROUP_THRESHOLD", required: false, default: "4", sample: "4", description: "Storms become one card: this many due alerts of one kind (rule, severity, transition, caller or resource group) make one grouped card (2–1000); 0 sends one card per change always. A lone change is never held back." },
  { name: "GW_ALERT_GROUP_INTERVAL_SECONDS", required: false, default: "5", sample: "5", description: "After a grouped card, what else of that kind arrives waits this long and goes on the next grouped card (Alertmanager's group_interval; 1–300 s)." },
  { name: "GW_ARM_ENDPOINT", required: false, default: "https://management.azure.com", sample: "https://management.azure.com", description: "Azure Resource Manager endpoint (https). Sovereign clouds or the local simulator." },
  { name: "GW_ARM_CA_CERT_FILE", required: false, sample: "", description: "PEM file of a certificate to trust for GW_ARM_ENDPOINT only (the local simulator's self-signed certificate)." },
  { name: "GW_ARM_TIMEOUT_MS", required: false, default: "30000", sample: "30000", description: "Timeout of one ARM request (1000–120000 ms)." },
  { name: "GW_ARM_MAX_RETRIES", required: false, default: "3", sample: "3", description: "Retries of a throttled (429, honouring Retry-After) or failed (5xx) ARM request (0–10)." },
  { name: "GW_MAX_REGIONS", required: false, default: "2", sample: "2", description: "replication-breadth: most distinct regions a specialized version may be replicated to (1–60)." },
  { name: "GW_ALLOWED_REGIONS", required: false, default: "", sample: "westeurope,northeurope", description: "replication-breadth: regions a specialized version may use (programmatic names, e.g. `westeurope`); empty allows any." },
  { name: "GW_MAX_TOTAL_REPLICAS", required: false, default: "10", sample: "10", description: "replication-breadth: most replicas across all regions (1–1000)." },
  { name: "GW_REQUIRED_TAGS", required: false, default: "owner,approver", sample: "owner,approver", description: "governance-tags: tags required on specialized definitions and versions." },
  { name: "GW_ALLOWED_SUBSCRIPTIONS_FOR_SPECIALIZED", required: false, default: "", sample: "", description: "vm-use: subscription GUIDs where a VM may run a specialized image (a locked-down recovery or forensics subscription); a specialized VM elsewhere is high. Empty: none." },
  { name: "GW_ALLOWED_RESOURCE_GROUPS_FOR_SPECIALIZED", required: false, default: "", sample: "", description: "vm-use: resource groups where a VM may run a specialized image, as `/subscriptions/{id}/resourceGroups/{name}` ids. Empty: none." },
  { name: "GW_MAX_CLONES", required: false, default: "1", sample: "1", description: "clones: most live machines (VMs plus scale-set instances) one specialized version may run at once before they count as clones sharing one machine identity (1–10000)." },
  { name: "GW_MAX_IMAGE_USERS", required: false, default: "10", sample: "10", description: "broad-access: most principals (users, groups, service principals, managed identities) that may hold read on one specialized image definition, inherited assignments included, before it counts as too broadly usable (1–10000). A group counts as one." },
  { name: "GW_APPROVED_IMAGE_USERS", required: false, default: "", sample: "", description: "broad-access: object ids of the groups and identities approved to use specialized images, comma separated; any other principal granted read on one is high (gallery-watch's own identity, GW_APP_PRINCIPAL_ID, need not be listed). Empty: not checked." },
  { name: "GW_APP_PRINCIPAL_ID", required: false, default: "", sample: "", description: "broad-access: the object id of gallery-watch's own identity (infra sets it to its managed identity's principal id). It reads every image to watch it: while every role granting it an image only reads, it is not counted among the image's users (granted more, it counts like anyone). Empty: counted like any other principal." },
  { name: "GW_EXCEPTION_TAG", required: false, default: "gallery-watch-exception", sample: "gallery-watch-exception", description: "Name of the exception tag; value `reason=…;expires=YYYY-MM-DD[;rules=…]`." },
  { name: "GW_EXCEPTION_APPROVERS", required: false, default: "", sample: "", description: "Who may set exception tags: UPNs and/or object ids, comma separated. An exception set by anyone else, or whose setter gallery-watch could not establish, is not honoured. Empty: anyone but the person whose change raised the finding." },
  { name: "GW_DISABLED_RULES", required: false, default: "", sample: "", description: `Rules switched off, comma separated: ${RULE_IDS.join(", ")}.` },
  { name: "GW_SWEEP_SCHEDULE", required: false, default: "0 0 2 * * *", sample: "0 0 2 * * *", description: "Nightly sweep, NCRONTAB with 6 fields `{second} {minute} {hour} {day} {month} {day-of-week}` (UTC)." },
  { name: "GW_DIGEST_SCHEDULE", required: false, default: "0 0 7 * * *", sample: "0 0 7 * * *", description: "Daily digest card (open findings, what changed, expiring exceptions, sweep runs), NCRONTAB with 6 fields (UTC)." },
  { name: "GW_OUTBOX_SCHEDULE", required: false, default: "*/30 * * * * *", sample: "*/30 * * * * *", description: "How often undelivered alerts are retried (NCRONTAB, 6 fields)." },
  { name: "GW_SWEEP_QUEUE", required: false, default: "gw-sweep", sample: "gw-sweep", description: "Queue for the sweep fan-out (one message per subscription)." },
  { name: "GW_DELIVERY_QUEUE", required: false, default: "gw-deliver", sample: "gw-deliver", description: "Queue that wakes the alert sender (sendAlerts) when alerts are stored: judging never waits for Teams." },
  { name: "GW_COALESCE_WINDOW_SECONDS", required: false, default: "2", sample: "2", description: "Events for one resource within this window lead to one ARM re-read and one judgement; the first event of a quiet resource is judged at once (1–300 s)." },
  { name: "GW_RECHECK_QUEUE", required: false, default: "gw-recheck", sample: "gw-recheck", description: "Queue for re-checks of resources still provisioning." },
  { name: "GW_RECHECK_DELAY_SECONDS", required: false, default: "60", sample: "60", description: "Delay before re-reading a resource still Creating/Updating (1–3600 s)." },
  { name: "GW_RECHECK_MAX_ATTEMPTS", required: false, default: "10", sample: "10", description: "Re-checks before a never-settling resource is judged as it is (1–50)." },
  { name: "GW_DEADLETTER_CONTAINER", required: false, default: "deadletters", sample: "deadletters", description: "Blob container (in the AzureWebJobsStorage account) the Event Grid subscription dead-letters to; redriveDeadLetters re-drives what lands there." },
  { name: "GW_REDRIVE_SCHEDULE", required: false, default: "0 */5 * * * *", sample: "0 */5 * * * *", description: "How often dead-lettered events and -poison queue messages are re-driven (NCRONTAB, 6 fields)." },
  { name: "GW_TABLE_PREFIX", required: false, default: "gw", sample: "gw", description: "Prefix of the table names (letters and digits, starting with a letter, ≤ 20)." },
  { name: "GW_PORTAL_URL", required: false, default: "https://portal.azure.com", sample: "https://portal.azure.com", description: "Azure portal base for links in cards." },
  { name: "GW_MAX_EVENT_BYTES", required: false, default: "1048576", sample: "1048576", description: "Largest single event accepted; bigger ones are refused with a log line (1024–1048576)." },
  { name: "GW_LOG_LEVEL", required: false, default: "info", sample: "info", description: "pino log level: fatal, error, warn, info, debug, trace." },
  { name: "APPLICATIONINSIGHTS_CONNECTION_STRING", required: false, sample: "", secret: true, description: "Application Insights connection string: metrics and traces go there through OpenTelemetry, authenticated with the managed identity (Entra ID; it needs Monitoring Metrics Publisher). Unset: no telemetry is exported. Holds the instrumentation key." },
  { name: "GW_TELEMETRY_CONSOLE", required: false, default: "false", sample: "false", description: "`true` prints the same metrics and spans to the console (local runs); `false` does not." },
];

export interface Config {
  readonly storage: StorageSettings;
  readonly tablePrefix: string;
  readonly queues: { readonly recheck: string; readonly sweep: string; readonly delivery: string };
  readonly subscriptions: readonly string[];
  readonly arm: { readonly endpoint: string; readonly caCertPem?: string; readonly timeoutMs: number; readonly maxRetries: number };
  readonly teams: { readonly webhookUrl: string; readonly criticalWebhookUrl?: string; readonly maxRequestsPerSecond: number; readonly timeoutMs: number };
  /** App Service authentication (Entra ID) in front of the HTTP API: then no function keys. */
  readonly entraAuth: { readonly enabled: false } | { readonly enabled: true; readonly clientId: string };
  /**
   * The findings feed (shared/app/publishFindings.ts), when GW_FINDINGS_TOPIC_ENDPOINT is set.
   * `source` is the CloudEvents source: the function app's name (WEBSITE_SITE_NAME, set by App Service), else `local`.
   */
  readonly findingsFeed?: { readonly endpoint: string; readonly caCertPem?: string; readonly source: string };
  /** Outbox retries: the Retry-After cap and the automatic retry window. */
  readonly delivery: { readonly retryAfterCapMs: number; readonly retryWindowMs: number; readonly grouping?: AlertGrouping };
  readonly policy: Policy;
  readonly schedules: { readonly sweep: string; readonly outbox: string; readonly digest: string };
  readonly coalesceWindowSeconds: number;
  readonly recheck: { readonly delaySeconds: number; readonly maxAttempts: number };
  readonly portalUrl: string;
  readonly maxEventBytes: number;
  readonly deadLetters: { readonly container: string; readonly redriveSchedule: string };
  readonly logLevel: string;
  /** Exporters for shared/adapters/otel/telemetry.ts; neither set: telemetry is off. */
  readonly telemetry: { readonly connectionString?: string; readonly console: boolean };
}

const AZURITE =
  "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";

/** Where tables and queues live: a connection string, or endpoints reached with the managed identity. */
export type StorageSettings = { readonly connectionString: string } | { readonly tableEndpoint: string; readonly queueEndpoint: string };

/**
 * The `authLevel` of the HTTP functions, read at registration (before the whole config is loaded):
 * `anonymous` behind App Service authentication, which then rejects calls without a valid Entra
 * token before they reach the host ("Use App Service authentication" with Functions:
 * https://learn.microsoft.com/azure/azure-functions/security-concepts , "Enable App Service Authentication/Authorization"),
 * else `function` (a function key). Only exactly `true` switches keys off.
 */
export function httpAuthLevel(env: Readonly<Record<string, string | undefined>>): "anonymous" | "function" {
  return env.GW_ENABLE_ENTRA_AUTH?.trim().toLowerCase() === "true" ? "anonymous" : "function";
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const problems: SettingProblem[] = [];
  const problem = (setting: string, what: string, fix: string) => problems.push({ setting, problem: what, fix });
  const raw = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? SETTINGS.find((s) => s.name === name)?.default : value;
  };
  const int = (name: string, min: number, max: number): number => {
    const value = raw(name) ?? "";
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || n < min || n > max) {
      problem(name, `'${value.slice(0, 40)}' is not a whole number between ${min} and ${max}`, `set it to a number in that range, e.g. ${SETTINGS.find((s) => s.name === name)?.default ?? min}`);
      return min;
    }
    return n;
  };
  const list = (name: string) => (raw(name) ?? "").split(/[\s,;]+/).filter((s) => s.length > 0);
  const url = (name: string, opts: { required: boolean; allowLoopbackHttp: boolean; secret?: boolean }): string | undefined => {
    const value = raw(name);
    if (!value) {
      if (opts.required) problem(name, "is missing", name.includes("TEAMS") ? "create a Teams Workflows webhook (\"When a Teams webhook request is received\") and set its URL" : "set it");
      return undefined;
    }
    const shown = opts.secret ? "the value" : `'${value.slice(0, 80)}'`;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      problem(name, `${shown} is not a URL`, "set a full https:// URL");
      return undefined;
    }
    const loopback = isLoopbackHost(parsed.hostname);
    if (parsed.protocol !== "https:" && !(opts.allowLoopbackHttp && loopback && parsed.protocol === "http:")) {
      problem(name, `${shown} is not an https URL${opts.allowLoopbackHttp ? " (http is accepted only on loopback)" : ""}`, "use the https:// URL");
      return undefined;
    }
    return value;
  };
  const schedule = (name: string): string => {
    const value = raw(name) ?? "";
    const fields = value.split(/\s+/).filter(Boolean);
    if (fields.length !== 6) {
      problem(name, `'${value}' has ${fields.length} fields; Azure Functions timers use NCRONTAB with 6: {second} {minute} {hour} {day} {month} {day-of-week}`, `e.g. '${SETTINGS.find((s) => s.name === name)?.default}'`);
      return value;
    }
    try {
      new Cron(value, { paused: true }).stop();
    } catch (error) {
      problem(name, `'${value}' is not a valid schedule: ${(error as Error).message}`, `e.g. '${SETTINGS.find((s) => s.name === name)?.default}'`);
    }
    return value;
  };
  /** Storm grouping (shared/domain/alertGroups.ts): threshold 0 switches it off. */
  const grouping = (): { grouping?: AlertGrouping } => {
    const threshold = raw("GW_ALERT_GROUP_THRESHOLD") === "0" ? 0 : int("GW_ALERT_GROUP_THRESHOLD", 2, 1000);
    const intervalMs = int("GW_ALERT_GROUP_INTERVAL_SECONDS", 1, 300) * 1000;
    return threshold === 0 ? {} : { grouping: { threshold, intervalMs, maxAlerts: MAX_GROUP_ALERTS } };
  };
  const name = (setting: string, pattern: RegExp, rule: string): string => {
    const value = raw(setting) ?? "";
    if (!pattern.test(value)) problem(setting, `'${value.slice(0, 60)}' is not valid`, rule);
    return value;
  };

  // Storage
  let storage: StorageSettings = { connectionString: AZURITE };
  const connectionString = raw("AzureWebJobsStorage");
  const accountName = raw("AzureWebJobsStorage__accountName");
  if (connectionString) {
    if (connectionString === "UseDevelopmentStorage=true") storage = { connectionString: AZURITE };
    else if (!/AccountName=|TableEndpoint=|SharedAccessSignature=/i.test(connectionString)) problem("AzureWebJobsStorage", "is not a storage connection string", "set a connection string, `UseDevelopmentStorage=true` for Azurite, or use AzureWebJobsStorage__accountName with a managed identity");
    else storage = { connectionString };
  } else if (accountName) {
    if (!/^[a-z0-9]{3,24}$/.test(accountName)) problem("AzureWebJobsStorage__accountName", `'${accountName}' is not a storage account name`, "3–24 lower-case letters and digits");
    const tableEndpoint = raw("AzureWebJobsStorage__tableServiceUri") ?? `https://${accountName}.table.core.windows.net`;
    const queueEndpoint = raw("AzureWebJobsStorage__queueServiceUri") ?? `https://${accountName}.queue.core.windows.net`;
    storage = { tableEndpoint, queueEndpoint };
  } else {
    problem("AzureWebJobsStorage", "is missing (and AzureWebJobsStorage__accountName is not set either)", "set `UseDevelopmentStorage=true` locally, or AzureWebJobsStorage__accountName with a managed identity in Azure");
  }

  // Subscriptions
  const subscriptions = [...new Set(list("GW_WATCHED_SUBSCRIPTIONS").map((s) => s.toLowerCase()))];
  if (subscriptions.length === 0) problem("GW_WATCHED_SUBSCRIPTIONS", "is missing", "list the subscription GUIDs to watch, comma separated");
  for (const s of subscriptions) if (!isGuid(s)) problem("GW_WATCHED_SUBSCRIPTIONS", `'${s.slice(0, 60)}' is not a subscription GUID`, "use ids like 7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f (az account list -o table)");

  // ARM
  const endpoint = url("GW_ARM_ENDPOINT", { required: true, allowLoopbackHttp: false }) ?? "https://management.azure.com";
  /** A PEM certificate file named by `setting`, or undefined when unset. */
  function pemFile(setting: string, what: string): string | undefined {
    const file = raw(setting);
    if (!file) return undefined;
    if (!existsSync(file)) {
      problem(setting, `file '${file}' does not exist`, `point it at ${what}, or unset it for real Azure`);
      return undefined;
    }
    const pem = readFileSync(file, "utf8");
    if (!pem.includes("BEGIN CERTIFICATE")) problem(setting, `file '${file}' holds no PEM certificate`, "use a PEM file (-----BEGIN CERTIFICATE-----)");
    return pem;
  }
  const caCertPem = pemFile("GW_ARM_CA_CERT_FILE", "the simulator's PEM certificate");

  // Teams
  const webhookUrl = url("GW_TEAMS_WEBHOOK_URL", { required: true, allowLoopbackHttp: true, secret: true }) ?? "";
  const criticalWebhookUrl = url("GW_TEAMS_CRITICAL_WEBHOOK_URL", { required: false, allowLoopbackHttp: true, secret: true });

  // Findings feed
  const feedEndpoint = url("GW_FINDINGS_TOPIC_ENDPOINT", { required: false, allowLoopbackHttp: false });
  const feedCaPem = pemFile("GW_FINDINGS_TOPIC_CA_CERT_FILE", "the local stack's topic certificate");
  const site = env.WEBSITE_SITE_NAME?.trim();
  const findingsFeed = feedEndpoint ? { endpoint: feedEndpoint, ...(feedCaPem ? { caCertPem: feedCaPem } : {}), source: `/gallery-watch/${site && /^[A-Za-z0-9-]{1,60}$/.test(site) ? site : "local"}` } : undefined;

  // Policy
  const allowedRegions = list("GW_ALLOWED_REGIONS").map(normalizeRegion);
  for (const region of allowedRegions) {
    if (!AZURE_REGIONS.has(region)) problem("GW_ALLOWED_REGIONS", `'${region}' is not an Azure region`, `use programmatic names; did you mean '${nearestRegion(region)}'?`);
  }
  const disabled = list("GW_DISABLED_RULES").map((r) => r.toLowerCase());
  for (const rule of disabled) if (!(RULE_IDS as readonly string[]).includes(rule)) problem("GW_DISABLED_RULES", `'${rule}' is not a rule`, `use any of: ${RULE_IDS.join(", ")}`);
  const requiredTags = list("GW_REQUIRED_TAGS");
  for (const tag of requiredTags) if (!/^[^<>%&\\?/]{1,512}$/.test(tag)) problem("GW_REQUIRED_TAGS", `'${tag.slice(0, 60)}' is not a valid tag name`, "tag names may not contain < > % & \\ ? /");
  const allowedSubscriptionsForSpecialized = [...new Set(list("GW_ALLOWED_SUBSCRIPTIONS_FOR_SPECIALIZED").map((s) => s.toLowerCase()))];
  for (const s of allowedSubscriptionsForSpecialized) if (!isGuid(s)) problem("GW_ALLOWED_SUBSCRIPTIONS_FOR_SPECIALIZED", `'${s.slice(0, 60)}' is not a subscription GUID`, "use ids like 7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f (az account list -o table)");
  const allowedResourceGroupsForSpecialized = [...new Set(list("GW_ALLOWED_RESOURCE_GROUPS_FOR_SPECIALIZED"))].flatMap((g) => {
    const parsed = tryParseResourceGroupId(g);
    if (parsed.ok) return [`/subscriptions/${parsed.group.subscriptionId}/resourcegroups/${parsed.group.resourceGroup.toLowerCase()}`];
    problem("GW_ALLOWED_RESOURCE_GROUPS_FOR_SPECIALIZED", `'${g.slice(0, 120)}' is not a resource group id (${parsed.reason})`, "use ids like /subscriptions/7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f/resourceGroups/rg-recovery");
    return [];
  });
  const approvedImageUsers = [...new Set(list("GW_APPROVED_IMAGE_USERS").map((s) => s.toLowerCase()))];
  const appPrincipalId = raw("GW_APP_PRINCIPAL_ID")?.trim().toLowerCase() || undefined;
  if (appPrincipalId !== undefined && !isGuid(appPrincipalId)) problem("GW_APP_PRINCIPAL_ID", `'${appPrincipalId.slice(0, 60)}' is not an object id`, "use the principal id of gallery-watch's managed identity (az identity show --query principalId)");
  for (const s of approvedImageUsers) if (!isGuid(s)) problem("GW_APPROVED_IMAGE_USERS", `'${s.slice(0, 60)}' is not an object id`, "list the object ids of groups and identities, comma separated (az ad group show --group <name> --query id; az identity show --query principalId)");
  const exceptionTag = name("GW_EXCEPTION_TAG", /^[^<>%&\\?/\s]{1,512}$/, "a tag name without spaces or < > % & \\ ? /");
  const exceptionApprovers = [...new Set(list("GW_EXCEPTION_APPROVERS").map((a) => a.toLowerCase()))];
  for (const approver of exceptionApprovers) {
    if (!isGuid(approver) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(approver)) problem("GW_EXCEPTION_APPROVERS", `'${approver.slice(0, 60)}' is neither a UPN nor an object id`, "list UPNs (sam.okafor@contoso.com) and/or object ids (az ad user show --id <upn> --query id), comma separated");
  }

  const logLevel = raw("GW_LOG_LEVEL") ?? "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) problem("GW_LOG_LEVEL", `'${logLevel}' is not a log level`, "use fatal, error, warn, info, debug or trace");

  // Telemetry. The connection string carries the instrumentation key: problems never echo it.
  const insights = raw("APPLICATIONINSIGHTS_CONNECTION_STRING");
  if (insights && !new RegExp(`(^|;)\\s*InstrumentationKey=${GUID_PATTERN}\\s*(;|$)`, "i").test(insights)) {
    problem("APPLICATIONINSIGHTS_CONNECTION_STRING", "the value is not an Application Insights connection string (no InstrumentationKey=<GUID>)", "copy the connection string from the Application Insights resource's Overview page, or unset it to turn telemetry off");
  }
  const telemetryConsole = (raw("GW_TELEMETRY_CONSOLE") ?? "false").toLowerCase();
  if (!["true", "false"].includes(telemetryConsole)) problem("GW_TELEMETRY_CONSOLE", `'${telemetryConsole.slice(0, 20)}' is not true or false`, "set true to print telemetry to the console, or false");

  const entraAuthValue = (raw("GW_ENABLE_ENTRA_AUTH") ?? "false").toLowerCase();
  if (!["true", "false"].includes(entraAuthValue)) problem("GW_ENABLE_ENTRA_AUTH", `'${entraAuthValue.slice(0, 20)}' is not true or false`, "set true when App Service authentication guards the app, else false");
  const entraClientId = raw("GW_ENTRA_CLIENT_ID");
  if (entraAuthValue === "true" && !(entraClientId && isGuid(entraClientId))) problem("GW_ENTRA_CLIENT_ID", entraClientId ? `'${entraClientId.slice(0, 40)}' is not a GUID` : "is missing while GW_ENABLE_ENTRA_AUTH is true", "set the application (client) id of the API's app registration");

  const config: Config = {
    storage,
    tablePrefix: name("GW_TABLE_PREFIX", /^[A-Za-z][A-Za-z0-9]{0,19}$/, "letters and digits, starting with a letter, at most 20"),
    queues: {
      recheck: name("GW_RECHECK_QUEUE", /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "3–63 lower-case letters, digits and single hyphens"),
      sweep: name("GW_SWEEP_QUEUE", /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "3–63 lower-case letters, digits and single hyphens"),
      delivery: name("GW_DELIVERY_QUEUE", /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "3–63 lower-case letters, digits and single hyphens"),
    },
    subscriptions,
    arm: { endpoint, ...(caCertPem ? { caCertPem } : {}), timeoutMs: int("GW_ARM_TIMEOUT_MS", 1000, 120_000), maxRetries: int("GW_ARM_MAX_RETRIES", 0, 10) },
    teams: { webhookUrl, ...(criticalWebhookUrl ? { criticalWebhookUrl } : {}), maxRequestsPerSecond: int("GW_TEAMS_MAX_RPS", 1, 4), timeoutMs: int("GW_TEAMS_TIMEOUT_MS", 1000, 240_000) },
    ...(findingsFeed ? { findingsFeed } : {}),
    entraAuth: entraAuthValue === "true" && entraClientId ? { enabled: true, clientId: entraClientId } : { enabled: false },
    delivery: { retryAfterCapMs: int("GW_TEAMS_RETRY_AFTER_CAP_SECONDS", 10, 3600) * 1000, retryWindowMs: int("GW_ALERT_RETRY_HOURS", 1, 168) * 3_600_000, ...grouping() },
    policy: {
      maxRegions: int("GW_MAX_REGIONS", 1, 60),
      allowedRegions,
      maxTotalReplicas: int("GW_MAX_TOTAL_REPLICAS", 1, 1000),
      requiredTags,
      allowedSubscriptionsForSpecialized,
      allowedResourceGroupsForSpecialized,
      maxClones: int("GW_MAX_CLONES", 1, 10_000),
      maxImageUsers: int("GW_MAX_IMAGE_USERS", 1, 10_000),
      approvedImageUsers,
      ...(appPrincipalId ? { appPrincipalId } : {}),
      exceptionTag,
      exceptionApprovers,
      enabledRules: new Set<RuleId>([...DEFAULT_POLICY.enabledRules].filter((r) => !disabled.includes(r))),
      // Validated below as `portalUrl`; an invalid value fails the whole config, so the raw value is safe here.
      portalUrl: raw("GW_PORTAL_URL") ?? "https://portal.azure.com",
    },
    schedules: { sweep: schedule("GW_SWEEP_SCHEDULE"), outbox: schedule("GW_OUTBOX_SCHEDULE"), digest: schedule("GW_DIGEST_SCHEDULE") },
    coalesceWindowSeconds: int("GW_COALESCE_WINDOW_SECONDS", 1, 300),
    recheck: { delaySeconds: int("GW_RECHECK_DELAY_SECONDS", 1, 3600), maxAttempts: int("GW_RECHECK_MAX_ATTEMPTS", 1, 50) },
    portalUrl: url("GW_PORTAL_URL", { required: true, allowLoopbackHttp: false }) ?? "https://portal.azure.com",
    maxEventBytes: int("GW_MAX_EVENT_BYTES", 1024, 1_048_576),
    deadLetters: { container: name("GW_DEADLETTER_CONTAINER", /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "a blob container name: 3–63 lower-case letters, digits and single hyphens"), redriveSchedule: schedule("GW_REDRIVE_SCHEDULE") },
    logLevel,
    telemetry: { ...(insights ? { connectionString: insights } : {}), console: telemetryConsole === "true" },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
