import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, SETTINGS } from "../../shared/wiring/config.js";
import { ConfigError } from "../../shared/domain/errors.js";

const valid = {
  AzureWebJobsStorage: "UseDevelopmentStorage=true",
  GW_WATCHED_SUBSCRIPTIONS: "7D2F3C1A-5B8E-4F6D-9A0C-1E2B3C4D5E6F, 7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f",
  GW_TEAMS_WEBHOOK_URL: "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=FAKE-SIG-0001",
};

function problems(env: Record<string, string>): Array<{ setting: string; problem: string; fix: string }> {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe("loadConfig", () => {
  it("accepts the minimal settings and fills defaults", () => {
    const config = loadConfig(valid);
    expect(config.subscriptions).toEqual(["7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f"]);
    expect(config.policy.maxRegions).toBe(2);
    expect(config.policy.requiredTags).toEqual(["owner", "approver"]);
    expect(config.arm.endpoint).toBe("https://management.azure.com");
    expect(config.schedules.sweep).toBe("0 0 2 * * *");
    expect("connectionString" in config.storage && config.storage.connectionString).toContain("devstoreaccount1");
  });

  it.each<[string, string, readonly string[] | "problem"]>([
    ["unset: anyone but the raiser", "", []],
    ["UPNs and object ids, lower-cased, de-duplicated", "Sam.Okafor@Contoso.com, 7B2E1D3F-4C5E-4F6A-9B0C-1D2E3F4A5B6C;sam.okafor@contoso.com", ["sam.okafor@contoso.com", "7b2e1d3f-4c5e-4f6a-9b0c-1d2e3f4a5b6c"]],
    ["a guest UPN", "jo_fabrikam.com#EXT#@contoso.onmicrosoft.com", ["jo_fabrikam.com#ext#@contoso.onmicrosoft.com"]],
    ["a display name is no identity", "Sam Okafor", "problem"],
    ["an app id-like word", "approvers-group", "problem"],
  ])("GW_EXCEPTION_APPROVERS %s", (_what, value, expected) => {
    if (expected === "problem") {
      const found = problems({ ...valid, GW_EXCEPTION_APPROVERS: value });
      expect(found.map((p) => p.setting)[0]).toBe("GW_EXCEPTION_APPROVERS");
      expect(found[0]!.problem).toContain("is neither a UPN nor an object id");
    } else {
      expect(loadConfig({ ...valid, GW_EXCEPTION_APPROVERS: value }).policy.exceptionApprovers).toEqual(expected);
    }
  });

  it("the findings feed is off unless GW_FINDINGS_TOPIC_ENDPOINT is set, and then only to an https URL", () => {
    expect(loadConfig(valid).findingsFeed).toBeUndefined();
    const endpoint = "https://gw-findings.westeurope-1.eventgrid.azure.net/api/events";
    expect(loadConfig({ ...valid, GW_FINDINGS_TOPIC_ENDPOINT: endpoint, WEBSITE_SITE_NAME: "func-gw-prod" }).findingsFeed).toEqual({ endpoint, source: "/gallery-watch/func-gw-prod" });
    expect(loadConfig({ ...valid, GW_FINDINGS_TOPIC_ENDPOINT: endpoint }).findingsFeed?.source).toBe("/gallery-watch/local");
    expect(problems({ ...valid, GW_FINDINGS_TOPIC_ENDPOINT: "http://gw-findings.westeurope-1.eventgrid.azure.net/api/events" }).map((p) => p.setting)).toEqual(["GW_FINDINGS_TOPIC_ENDPOINT"]);
    expect(problems({ ...valid, GW_FINDINGS_TOPIC_ENDPOINT: "not a url" }).map((p) => p.setting)).toEqual(["GW_FINDINGS_TOPIC_ENDPOINT"]);
    expect(problems({ ...valid, GW_FINDINGS_TOPIC_ENDPOINT: endpoint, GW_FINDINGS_TOPIC_CA_CERT_FILE: "/nonexistent/ca.pem" }).map((p) => p.setting)).toEqual(["GW_FINDINGS_TOPIC_CA_CERT_FILE"]);
  });

  it("Entra auth needs the API's client id; the delivery caps and window are read", () => {
    expect(problems({ ...valid, GW_ENABLE_ENTRA_AUTH: "true" }).map((p) => p.setting)).toEqual(["GW_ENTRA_CLIENT_ID"]);
    expect(problems({ ...valid, GW_ENABLE_ENTRA_AUTH: "maybe" }).map((p) => p.setting)).toEqual(["GW_ENABLE_ENTRA_AUTH"]);
    expect(loadConfig({ ...valid, GW_ENABLE_ENTRA_AUTH: "true", GW_ENTRA_CLIENT_ID: "5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f" }).entraAuth).toEqual({ enabled: true, clientId: "5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f" });
    expect(loadConfig(valid).entraAuth).toEqual({ enabled: false });
    expect(loadConfig(valid).delivery).toEqual({ retryAfterCapMs: 300_000, retryWindowMs: 24 * 3_600_000, grouping: { threshold: 4, intervalMs: 5_000, maxAlerts: 500 } });
    expect(loadConfig(valid).teams.timeoutMs).toBe(120_000);
    expect(problems({ ...valid, GW_TEAMS_RETRY_AFTER_CAP_SECONDS: "3600000" }).map((p) => p.setting)).toEqual(["GW_TEAMS_RETRY_AFTER_CAP_SECONDS"]);
  });

  it("storm grouping: threshold and interval are read, 0 switches grouping off, 1 is refused", () => {
    expect(loadConfig({ ...valid, GW_ALERT_GROUP_THRESHOLD: "10", GW_ALERT_GROUP_INTERVAL_SECONDS: "30" }).delivery.grouping).toEqual({ threshold: 10, intervalMs: 30_000, maxAlerts: 500 });
    expect(loadConfig({ ...valid, GW_ALERT_GROUP_THRESHOLD: "0" }).delivery.grouping).toBeUndefined();
    expect(problems({ ...valid, GW_ALERT_GROUP_THRESHOLD: "1" }).map((p) => p.setting)).toEqual(["GW_ALERT_GROUP_THRESHOLD"]);
    expect(problems({ ...valid, GW_ALERT_GROUP_INTERVAL_SECONDS: "0" }).map((p) => p.setting)).toEqual(["GW_ALERT_GROUP_INTERVAL_SECONDS"]);
  });

  it("uses identity-based storage when only the account name is given", () => {
    const { AzureWebJobsStorage: _, ...rest } = valid;
    const config = loadConfig({ ...rest, AzureWebJobsStorage__accountName: "gwprodstore" });
    expect(config.storage).toEqual({ tableEndpoint: "https://gwprodstore.table.core.windows.net", queueEndpoint: "https://gwprodstore.queue.core.windows.net" });
  });

  it.each([
    ["GW_WATCHED_SUBSCRIPTIONS", { GW_WATCHED_SUBSCRIPTIONS: "" }, /is missing/],
    ["GW_WATCHED_SUBSCRIPTIONS", { GW_WATCHED_SUBSCRIPTIONS: "my-subscription" }, /not a subscription GUID/],
    ["GW_MAX_REGIONS", { GW_MAX_REGIONS: "two" }, /'two' is not a whole number between 1 and 60/],
    ["GW_MAX_REGIONS", { GW_MAX_REGIONS: "0" }, /between 1 and 60/],
    ["GW_TEAMS_MAX_RPS", { GW_TEAMS_MAX_RPS: "10" }, /between 1 and 4/],
    ["GW_ALLOWED_SUBSCRIPTIONS_FOR_SPECIALIZED", { GW_ALLOWED_SUBSCRIPTIONS_FOR_SPECIALIZED: "forensics-lab" }, /'forensics-lab' is not a subscription GUID/],
    ["GW_ALLOWED_RESOURCE_GROUPS_FOR_SPECIALIZED", { GW_ALLOWED_RESOURCE_GROUPS_FOR_SPECIALIZED: "rg-recovery" }, /'rg-recovery' is not a resource group id/],
    ["GW_MAX_CLONES", { GW_MAX_CLONES: "0" }, /between 1 and 10000/],
    ["GW_MAX_IMAGE_USERS", { GW_MAX_IMAGE_USERS: "0" }, /between 1 and 10000/],
    ["GW_APPROVED_IMAGE_USERS", { GW_APPROVED_IMAGE_USERS: "11111111-0000-4000-8000-000000000001, pipeline-sp" }, /'pipeline-sp' is not an object id/],
    ["GW_ALLOWED_REGIONS", { GW_ALLOWED_REGIONS: "westeurope, westeurop" }, /'westeurop' is not an Azure region/],
    ["GW_TEAMS_WEBHOOK_URL", { GW_TEAMS_WEBHOOK_URL: "http://teams.example.com/hook?sig=abc" }, /not an https URL/],
    ["GW_TEAMS_WEBHOOK_URL", { GW_TEAMS_WEBHOOK_URL: "" }, /is missing/],
    ["GW_ARM_ENDPOINT", { GW_ARM_ENDPOINT: "http://management.azure.com" }, /not an https URL/],
    ["GW_SWEEP_SCHEDULE", { GW_SWEEP_SCHEDULE: "0 2 * * *" }, /has 5 fields; Azure Functions timers use NCRONTAB with 6/],
    ["GW_SWEEP_SCHEDULE", { GW_SWEEP_SCHEDULE: "0 0 25 * * *" }, /not a valid schedule/],
    ["GW_DISABLED_RULES", { GW_DISABLED_RULES: "lifecycle, repliction-breadth" }, /'repliction-breadth' is not a rule/],
    ["GW_ARM_CA_CERT_FILE", { GW_ARM_CA_CERT_FILE: "/nonexistent/ca.pem" }, /does not exist/],
    ["GW_TABLE_PREFIX", { GW_TABLE_PREFIX: "gw-prod" }, /not valid/],
    ["GW_LOG_LEVEL", { GW_LOG_LEVEL: "verbose" }, /not a log level/],
    ["AzureWebJobsStorage", { AzureWebJobsStorage: "" }, /is missing/],
  ])("names %s when it is wrong", (setting, override, message) => {
    const found = problems({ ...valid, ...override });
    const p = found.find((x) => x.setting === setting);
    expect(p?.problem).toMatch(message);
    expect(p?.fix.length).toBeGreaterThan(5);
  });

  it("vm-use and clones: where specialized VMs may run (lower-cased, as ids compare) and how many machines one version may run (default 1)", () => {
    const sub = "7D2F3C1A-5B8E-4F6D-9A0C-1E2B3C4D5E6F";
    const config = loadConfig({ ...valid, GW_ALLOWED_SUBSCRIPTIONS_FOR_SPECIALIZED: sub, GW_ALLOWED_RESOURCE_GROUPS_FOR_SPECIALIZED: `/subscriptions/${sub}/resourceGroups/RG-Recovery` });
    expect(config.policy.allowedSubscriptionsForSpecialized).toEqual([sub.toLowerCase()]);
    expect(config.policy.allowedResourceGroupsForSpecialized).toEqual([`/subscriptions/${sub.toLowerCase()}/resourcegroups/rg-recovery`]);
    expect(config.policy.maxClones).toBe(1);
    expect(loadConfig({ ...valid, GW_MAX_CLONES: "3" }).policy.maxClones).toBe(3);
  });

  it("broad-access: how many principals may use one specialized image (default 10) and which are approved (object ids, lower-cased, de-duplicated; unset: not checked)", () => {
    expect(loadConfig(valid).policy).toMatchObject({ maxImageUsers: 10, approvedImageUsers: [] });
    const config = loadConfig({ ...valid, GW_MAX_IMAGE_USERS: "6", GW_APPROVED_IMAGE_USERS: "1F0E2D3C-4B5A-4968-8776-655443322110, 1f0e2d3c-4b5a-4968-8776-655443322110;33333333-0000-4000-8000-000000000003" });
    expect(config.policy.maxImageUsers).toBe(6);
    expect(config.policy.approvedImageUsers).toEqual(["1f0e2d3c-4b5a-4968-8776-655443322110", "33333333-0000-4000-8000-000000000003"]);
  });

  it("suggests the nearest region name", () => {
    expect(problems({ ...valid, GW_ALLOWED_REGIONS: "westeurop" })[0]?.fix).toContain("did you mean 'westeurope'");
  });

  it("reports every bad setting at once, and never echoes the webhook secret", () => {
    let error: unknown;
    try {
      loadConfig({ ...valid, GW_MAX_REGIONS: "x", GW_SWEEP_SCHEDULE: "* * *", GW_TEAMS_WEBHOOK_URL: "http://evil.example.com/?sig=FAKE-SIG-0001" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect((error as ConfigError).problems.map((p) => p.setting).sort()).toEqual(["GW_MAX_REGIONS", "GW_SWEEP_SCHEDULE", "GW_TEAMS_WEBHOOK_URL"]);
    expect(message).toContain("3 setting(s) need fixing");
    expect(message).not.toContain("FAKE-SIG-0001");
  });

  it("every setting is in local.settings.sample.json and in the README's settings table", () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const sample = JSON.parse(readFileSync(path.join(root, "local.settings.sample.json"), "utf8")) as { Values: Record<string, string> };
    const readme = readFileSync(path.join(root, "README.md"), "utf8");
    for (const s of SETTINGS) {
      expect(Object.keys(sample.Values)).toContain(s.name);
      expect(readme).toContain(`| \`${s.name}\` |`);
    }
    // The sample itself is a valid configuration.
    expect(() => loadConfig(sample.Values)).not.toThrow();
  });
});
