/**
 * The azd wiring, read as text (no Azure, no Bicep CLI here): what `azd up` runs and deploys
 * exists in this checkout, every parameter azd passes is one main.bicep declares, and the Bicep
 * sets every app setting the code needs, with values the app's own validation accepts.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import ignore from "ignore";
import { loadConfig, SETTINGS } from "../../shared/wiring/config.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const read = (relative: string) => readFileSync(path.join(ROOT, relative), "utf8");

// ---------------------------------------------------------------------------------------------
// azure.yaml: the small subset azd templates use (a mapping of mappings), read with regexes.
// ---------------------------------------------------------------------------------------------

interface AzdService {
  readonly name: string;
  readonly fields: Readonly<Record<string, string>>;
}

function scalar(value: string): string {
  const v = value.replace(/\s+#.*$/, "").trim();
  return /^(["']).*\1$/.test(v) ? v.slice(1, -1) : v;
}

function azureYaml(): { name: string | undefined; services: AzdService[]; hookCommands: string[] } {
  const lines = read("azure.yaml").split(/\r?\n/).filter((l) => !/^\s*(#|$)/.test(l));
  const name = lines.map((l) => /^name:\s*(.+)$/.exec(l)?.[1]).find(Boolean);
  const services: AzdService[] = [];
  const start = lines.findIndex((l) => /^services:\s*$/.test(l));
  if (start >= 0) {
    for (let i = start + 1; i < lines.length && /^\s/.test(lines[i]!); i++) {
      const service = /^ {2}([A-Za-z0-9_-]+):\s*$/.exec(lines[i]!);
      if (!service) continue;
      const fields: Record<string, string> = {};
      for (let j = i + 1; j < lines.length && /^ {4}/.test(lines[j]!); j++) {
        const field = /^ {4}([A-Za-z]+):\s*(\S.*)$/.exec(lines[j]!);
        if (field) fields[field[1]!] = scalar(field[2]!);
      }
      services.push({ name: service[1]!, fields });
    }
  }
  const hookCommands = lines.map((l) => /^\s+run:\s*(.+)$/.exec(l)?.[1]).filter((c): c is string => c !== undefined).map(scalar);
  return { name, services, hookCommands };
}

// ---------------------------------------------------------------------------------------------
// Bicep: declarations and object literals, enough for the files in infra/.
// ---------------------------------------------------------------------------------------------

function bicepFiles(dir = "infra"): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((entry) => {
    const relative = path.join(dir, entry);
    if (statSync(path.join(ROOT, relative)).isDirectory()) return bicepFiles(relative);
    return entry.endsWith(".bicep") ? [relative] : [];
  });
}

/** Bicep with comments blanked out (string contents kept: `'https://…'` is not a comment). */
function withoutComments(bicep: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < bicep.length; i++) {
    const c = bicep[i]!;
    if (inString) {
      out += c;
      if (c === "\\") out += bicep[++i] ?? "";
      else if (c === "'") inString = false;
    } else if (c === "'") {
      inString = true;
      out += c;
    } else if (c === "/" && bicep[i + 1] === "/") {
      while (i < bicep.length && bicep[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && bicep[i + 1] === "*") {
      const end = bicep.indexOf("*/", i + 2);
      i = end < 0 ? bicep.length : end + 1;
    } else out += c;
  }
  return out;
}

/** The text of the `{ … }` literal that starts at the first `{` after `from`, braces balanced outside strings. */
function objectLiteralAfter(bicep: string, from: number): string {
  const open = bicep.indexOf("{", from);
  let depth = 0;
  let inString = false;
  for (let i = open; i < bicep.length; i++) {
    const c = bicep[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === "'") inString = false;
    } else if (c === "'") inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return bicep.slice(open, i + 1);
  }
  throw new Error(`unbalanced object literal at ${open}`);
}

/** Top-level `key: value` lines of an object literal (one property per line, as in infra/). */
function topLevelProperties(literal: string): Map<string, string> {
  const properties = new Map<string, string>();
  let depth = 0;
  for (const line of literal.split("\n")) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*?)\s*$/.exec(line);
    if (depth === 1 && match) properties.set(match[1]!, match[2]!);
    depth += (line.replace(/'(?:[^'\\]|\\.)*'/g, "").match(/[{[(]/g) ?? []).length;
    depth -= (line.replace(/'(?:[^'\\]|\\.)*'/g, "").match(/[}\])]/g) ?? []).length;
  }
  return properties;
}

function declaredParams(bicep: string): Map<string, { readonly type: string; readonly defaultValue?: string }> {
  const params = new Map<string, { type: string; defaultValue?: string }>();
  for (const m of withoutComments(bicep).matchAll(/^param\s+([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z]+)(?:\s*=\s*(.+))?$/gm)) {
    params.set(m[1]!, m[3] === undefined ? { type: m[2]! } : { type: m[2]!, defaultValue: m[3].trim() });
  }
  return params;
}

function declaredVars(bicep: string): Map<string, string> {
  return new Map([...withoutComments(bicep).matchAll(/^var\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
}

const MAIN = withoutComments(read("infra/main.bicep"));
const FUNCTION = withoutComments(read("infra/app/function.bicep"));

/** GW_* settings main.bicep builds (`var baseAppSettings = { … }`), name → Bicep expression. */
function mainAppSettings(): Map<string, string> {
  const at = MAIN.search(/^var\s+baseAppSettings\s*=/m);
  expect(at, "infra/main.bicep declares `var baseAppSettings = { … }`").toBeGreaterThanOrEqual(0);
  return topLevelProperties(objectLiteralAfter(MAIN, at));
}

/** Settings function.bicep adds to them in its `appsettings` config (`union(appSettings, { … })`). */
function functionAppSettings(): Map<string, string> {
  const config = FUNCTION.search(/name:\s*'appsettings'/);
  expect(config, "infra/app/function.bicep has an appsettings config").toBeGreaterThanOrEqual(0);
  const union = FUNCTION.indexOf("union(appSettings,", config);
  expect(union, "the appsettings config is union(appSettings, { … })").toBeGreaterThan(config);
  return topLevelProperties(objectLiteralAfter(FUNCTION, union));
}

function allAppSettings(): Map<string, string> {
  return new Map([...mainAppSettings(), ...functionAppSettings()]);
}

/** The value a setting gets when every parameter keeps its default; undefined when only Azure knows it. */
function resolve(expression: string): string | undefined {
  const literal = /^'([^'$]*)'$/.exec(expression);
  if (literal) return literal[1];
  const params = declaredParams(MAIN);
  const vars = declaredVars(MAIN);
  const reference = /^(?:string\()?([A-Za-z_][A-Za-z0-9_]*)\)?$/.exec(expression)?.[1];
  if (reference === undefined) return undefined;
  const source = params.get(reference)?.defaultValue ?? vars.get(reference);
  return source === undefined ? undefined : resolve(source) ?? (/^-?\d+$/.test(source) ? source : undefined);
}

/** `%NAME%` binding expressions in the trigger declarations of functions/*.ts (string literals, not comments). */
function bindingExpressions(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of readdirSync(path.join(ROOT, "functions")).filter((f) => f.endsWith(".ts"))) {
    const code = read(`functions/${file}`).replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (const m of code.matchAll(/["']%([A-Za-z0-9_]+)%["']/g)) found.set(m[1]!, `functions/${file}`);
  }
  return found;
}

/**
 * Whether azd reads `contents` as excluding the directory node_modules at the project root: azd
 * strips a UTF-8 BOM and asks a gitignore matcher (github.com/denormal/go-gitignore)
 * `Relative("node_modules", isDir=true)`. npm `ignore` implements the same gitignore rules; a
 * trailing slash asks about a directory.
 */
function azdExcludesNodeModules(contents: string): boolean {
  return ignore().add(contents.replace(/^\uFEFF/, "")).ignores("node_modules/");
}

// ---------------------------------------------------------------------------------------------

describe("azure.yaml", () => {
  const yaml = azureYaml();
  const packageJson = JSON.parse(read("package.json")) as { scripts?: Record<string, string> };

  it("names the project and an api service that azd deploys from this checkout to a Node function app", () => {
    expect(yaml.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    const api = yaml.services.find((s) => s.name === "api");
    expect(api, "services.api").toBeDefined();
    expect(api!.fields).toMatchObject({ host: "function", language: "js" });
    const project = path.join(ROOT, api!.fields.project ?? "");
    expect(existsSync(path.join(project, "package.json")), `${api!.fields.project}/package.json`).toBe(true);
    expect(existsSync(path.join(project, "host.json")), `${api!.fields.project}/host.json`).toBe(true);
    expect(api!.fields.dist, "dist: the folder npm run package writes").toBe("dist/package");
  });

  it("runs only npm scripts that package.json defines, the production package among them", () => {
    expect(yaml.hookCommands.length).toBeGreaterThan(0);
    for (const command of yaml.hookCommands) {
      const script = /^npm run ([A-Za-z0-9:_-]+)$/.exec(command)?.[1];
      expect(script, `hook '${command}' runs an npm script`).toBeDefined();
      expect(Object.keys(packageJson.scripts ?? {}), `package.json scripts has '${script}' (azure.yaml hook)`).toContain(script);
    }
    expect(yaml.hookCommands).toContain("npm run package");
  });

  it("deploys the package as built, with no .funcignore that makes azd refuse `remoteBuild: false`", () => {
    // azd reads <project>/.funcignore with a gitignore library and refuses `remoteBuild: false`
    // when it ignores the directory node_modules (Azure/azure-dev, resolveFunctionAppRemoteBuild).
    const api = yaml.services.find((s) => s.name === "api");
    expect(api?.fields.remoteBuild).toBe("false");
    const funcignore = path.join(ROOT, api?.fields.project ?? ".", ".funcignore");
    const contents = existsSync(funcignore) ? readFileSync(funcignore, "utf8") : undefined;
    expect(contents === undefined ? false : azdExcludesNodeModules(contents), `${path.relative(ROOT, funcignore)} excludes node_modules`).toBe(false);
  });

  it("evaluates an ignore file as azd does, patterns that exclude node_modules only by implication included", () => {
    // The cases of azd's own test matrix (TestResolveFunctionAppRemoteBuild_JavaScriptMatrix), and
    // the root .funcignore this repository had, which excluded node_modules through "/*".
    expect(azdExcludesNodeModules("node_modules\n")).toBe(true);
    expect(azdExcludesNodeModules("dist\n")).toBe(false);
    expect(azdExcludesNodeModules("/*\n!/host.json\n!/package.json\n!/dist/\n")).toBe(true);
    expect(azdExcludesNodeModules("\uFEFFnode_modules/\n")).toBe(true);
    expect(azdExcludesNodeModules("*.js.map\nnode_modules/@types/\n")).toBe(false);
    expect(azdExcludesNodeModules("**/node_modules\n!node_modules\n")).toBe(false);
  });
});

describe("infra/main.parameters.json", () => {
  const parameters = (JSON.parse(read("infra/main.parameters.json")) as { parameters: Record<string, { value?: unknown }> }).parameters;
  const declared = declaredParams(MAIN);

  it("passes only parameters main.bicep declares, each from an azd environment variable", () => {
    for (const [name, parameter] of Object.entries(parameters)) {
      expect([...declared.keys()], `main.bicep declares param '${name}'`).toContain(name);
      expect(parameter.value, `${name} comes from the azd environment`).toMatch(/^\$\{[A-Z][A-Z0-9_]*\}$/);
    }
  });

  it("supplies every main.bicep parameter that has no default, so azd asks for nothing it cannot map", () => {
    const required = [...declared].filter(([, p]) => p.defaultValue === undefined).map(([name]) => name);
    expect(required.length).toBeGreaterThan(0);
    for (const name of required) expect(Object.keys(parameters), `main.parameters.json passes '${name}'`).toContain(name);
    expect(parameters.environmentName?.value).toBe("${AZURE_ENV_NAME}");
    expect(parameters.location?.value).toBe("${AZURE_LOCATION}");
  });

  it("keeps the webhook URLs secure parameters (never in deployment history or logs)", () => {
    for (const name of ["teamsWebhookUrl", "teamsCriticalWebhookUrl"]) {
      expect(MAIN, `@secure() param ${name}`).toMatch(new RegExp(`@secure\\(\\)\\s*(?:@description\\([^\\n]*\\)\\s*)?param\\s+${name}\\s+string`));
    }
  });
});

describe("infra Bicep", () => {
  it("references only module files that exist", () => {
    const missing: string[] = [];
    let modules = 0;
    for (const file of bicepFiles()) {
      for (const m of withoutComments(read(file)).matchAll(/^\s*module\s+[A-Za-z_][A-Za-z0-9_]*\s+'([^']+)'/gm)) {
        if (/^(br|ts)[:/]/.test(m[1]!)) continue; // registry and template-spec modules live elsewhere
        modules++;
        if (!existsSync(path.resolve(ROOT, path.dirname(file), m[1]!))) missing.push(`${file} → ${m[1]}`);
      }
    }
    expect(modules).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it("sets every required setting and every %NAME% binding expression the functions use", () => {
    const settings = allAppSettings();
    const missing: string[] = [];
    for (const setting of SETTINGS.filter((s) => s.required)) {
      // In Azure the host and the app use identity-based storage instead of a connection string:
      // https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
      const names = setting.name === "AzureWebJobsStorage" ? ["AzureWebJobsStorage__accountName"] : [setting.name];
      if (!names.some((n) => settings.has(n))) missing.push(`${setting.name} (required in shared/wiring/config.ts)`);
    }
    const bindings = bindingExpressions();
    expect(bindings.size).toBeGreaterThan(0);
    for (const [name, file] of bindings) if (!settings.has(name)) missing.push(`${name} (%${name}% in ${file})`);
    expect(missing).toEqual([]);
  });

  it("connects host storage and Application Insights with the managed identity, not keys", () => {
    const settings = functionAppSettings();
    expect(settings.get("AzureWebJobsStorage__credential")).toBe("'managedidentity'");
    expect(settings.get("AzureWebJobsStorage__clientId")).toBe("identityClientId");
    expect(settings.get("APPLICATIONINSIGHTS_CONNECTION_STRING")).toBeDefined();
    expect(settings.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING")).toBe("'Authorization=AAD;ClientId=${identityClientId}'");
    expect([...allAppSettings().keys()].filter((k) => /^AzureWebJobsStorage$|ConnectionString$|AccountKey/i.test(k))).toEqual([]);
  });

  it("writes settings the app's own validation accepts when every parameter keeps its default", () => {
    const env: Record<string, string> = {};
    for (const [name, expression] of allAppSettings()) {
      const value = resolve(expression) ?? SETTINGS.find((s) => s.name === name)?.sample;
      if (value !== undefined) env[name] = value;
    }
    env.AzureWebJobsStorage__accountName = "stgwexample";
    // Values only Azure knows (the subscription list, Key Vault references) get the samples:
    expect(Object.keys(env)).toEqual(expect.arrayContaining(["GW_WATCHED_SUBSCRIPTIONS", "GW_TEAMS_WEBHOOK_URL", "GW_RECHECK_QUEUE"]));
    expect(() => loadConfig(env)).not.toThrow();
  });

  it("creates every queue and the dead-letter container the settings name", () => {
    const settings = mainAppSettings();
    const storageCall = objectLiteralAfter(MAIN, MAIN.search(/^module\s+storage\s/m));
    const createdQueues = (/queueNames:\s*\[([^\]]*)\]/.exec(storageCall)?.[1] ?? "").split(/[\s,]+/).filter(Boolean).map((q) => resolve(q));
    const namedQueues = [...settings].filter(([name]) => /^GW_[A-Z]+_QUEUE$/.test(name)).map(([, expression]) => resolve(expression));
    expect(namedQueues.length).toBeGreaterThan(0);
    expect(createdQueues.sort()).toEqual(namedQueues.sort());
    // One name for the container Event Grid writes to, the one storage creates and the one the app reads.
    const container = settings.get("GW_DEADLETTER_CONTAINER");
    expect(container).toBeDefined();
    expect(/deadLetterContainer:\s*(\S+)/.exec(storageCall)?.[1]).toBe(container);
    // The postdeploy hook gives the event subscriptions the container main.bicep outputs.
    expect(MAIN).toMatch(new RegExp(`^output GW_DEADLETTER_CONTAINER_NAME string = ${container}$`, "m"));
  });

  it("creates the app's resource group itself, so azd up needs no az group create", () => {
    expect(MAIN).toMatch(/^targetScope\s*=\s*'subscription'/m);
    expect(MAIN).toMatch(/^resource\s+rg\s+'Microsoft\.Resources\/resourceGroups@[^']+'\s*=/m);
    for (const m of MAIN.matchAll(/^module\s+(\w+)\s+'app\/[^']+'\s*=/gm)) {
      expect(objectLiteralAfter(MAIN, m.index), `module ${m[1]} is deployed into the app's resource group`).toMatch(/^\s*scope:\s*rg$/m);
    }
    expect(MAIN).toMatch(/^output AZURE_RESOURCE_GROUP string = rg\.name$/m);
  });

  it("wires each watched subscription at subscription scope, and its Event Grid subscription after the code is deployed", () => {
    const watch = MAIN.slice(MAIN.search(/^module\s+watch\s/m));
    expect(watch).toMatch(/^module\s+watch\s+'watch\/subscription\.bicep'\s*=\s*\[for\s+(\w+)\s+in\s+watchedIds:/);
    expect(objectLiteralAfter(watch, 0)).toMatch(/scope:\s*subscription\(\w+\)/);
    expect(withoutComments(read("infra/watch/subscription.bicep"))).toMatch(/^targetScope\s*=\s*'subscription'/m);
    // Nothing in the provisioning points Event Grid at the function (it does not exist yet on a
    // first `azd up`): the postdeploy hook deploys the compiled eventSubscription.bicep instead.
    for (const file of bicepFiles()) {
      expect(withoutComments(read(file)).match(/module\s+\w+\s+'[^']*eventSubscription\.bicep'/g) ?? [], `${file} deploys no eventSubscription.bicep`).toEqual([]);
    }
    expect(read("azure.yaml")).toMatch(/^hooks:\n(?:\s+#.*\n)*\s+postdeploy:\n\s+posix:\n\s+shell: sh\n\s+run: npm run infra:connect-event-grid$/m);
  });

  it("has the postdeploy hook deploy one event subscription per watched subscription, with the parameters the template declares", () => {
    const topics = [
      { subscriptionId: "00000000-0000-0000-0000-000000000001", resourceGroup: "rg-gallery-watch-events", topic: "gallery-watch-00000000-0000-0000-0000-000000000001", created: true },
      { subscriptionId: "00000000-0000-0000-0000-000000000002", resourceGroup: "rg-events", topic: "subscription-events", created: false },
    ];
    const env = {
      ...process.env,
      GW_SYSTEM_TOPICS: JSON.stringify(topics),
      AZURE_FUNCTION_APP_ID: "/subscriptions/s/resourceGroups/rg-gw/providers/Microsoft.Web/sites/func-gw",
      AZURE_STORAGE_ACCOUNT_ID: "/subscriptions/s/resourceGroups/rg-gw/providers/Microsoft.Storage/storageAccounts/stgw",
      GW_DEADLETTER_CONTAINER_NAME: "eventgrid-deadletter",
    };
    const run = spawnSync(process.execPath, [path.join(ROOT, "scripts/connect-event-grid.mjs"), "--dry-run"], { env, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const planned = JSON.parse(run.stdout) as { subscriptionId: string; args: string[] }[];
    expect(planned.map((p) => p.subscriptionId)).toEqual(topics.map((t) => t.subscriptionId));
    const template = JSON.parse(read("infra/watch/eventSubscription.json")) as { parameters: Record<string, unknown> };
    for (const [i, { args }] of planned.entries()) {
      expect(args.slice(0, 3)).toEqual(["deployment", "group", "create"]);
      expect(args[args.indexOf("--resource-group") + 1]).toBe(topics[i]!.resourceGroup);
      expect(args[args.indexOf("--template-file") + 1]).toBe(path.join(ROOT, "infra/watch/eventSubscription.json"));
      const start = args.indexOf("--parameters") + 1;
      const passed = Object.fromEntries(args.slice(start, args.findIndex((a, k) => k >= start && a.startsWith("--"))).map((a) => a.split(/=(.*)/s).slice(0, 2) as [string, string]));
      expect(Object.keys(passed).sort()).toEqual(Object.keys(template.parameters).sort());
      expect(passed).toMatchObject({ topicName: topics[i]!.topic, functionAppId: env.AZURE_FUNCTION_APP_ID, deadLetterContainer: "eventgrid-deadletter" });
    }
    // Outside azd (no outputs in the environment) it says what is missing instead of failing later.
    const bare = spawnSync(process.execPath, [path.join(ROOT, "scripts/connect-event-grid.mjs"), "--dry-run"], { env: { PATH: process.env.PATH }, encoding: "utf8" });
    expect(bare.status).toBe(1);
    expect(bare.stderr).toMatch(/GW_SYSTEM_TOPICS is not set/);
  });
});

describe("host.json telemetry", () => {
  const host = JSON.parse(read("host.json")) as { telemetryMode?: string; logging?: { applicationInsights?: unknown } };

  it("emits the host's telemetry through OpenTelemetry, as Learn documents for Flex Consumption, without the classic SDK's sampling section", () => {
    // "Use OpenTelemetry with Azure Functions": telemetryMode in host.json; the classic
    // logging.applicationInsights settings do not apply in that mode (Azure/azure-functions-host#11366).
    expect(host.telemetryMode).toBe("OpenTelemetry");
    expect(host.logging?.applicationInsights).toBeUndefined();
    expect(read("infra/app/function.bicep")).toMatch(/runtime: \{ name: 'node'/);
    expect(read("infra/app/function.bicep")).toMatch(/sku: \{ tier: 'FlexConsumption'/);
  });

  it("keeps the worker's logs relayed by the host (no WorkerOpenTelemetryEnabled capability): the pino lines on stdout are the traces the queries read", () => {
    const code = readdirSync(path.join(ROOT, "functions")).filter((f) => f.endsWith(".ts")).map((f) => read(`functions/${f}`)).join("\n") + read("shared/adapters/otel/telemetry.ts");
    expect(code).not.toMatch(/WorkerOpenTelemetryEnabled/);
  });
});
