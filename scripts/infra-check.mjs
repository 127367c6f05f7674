#!/usr/bin/env node
/**
 * `npm run infra:check`: compiles and lints every .bicep file under infra/ with Microsoft's Bicep
 * CLI, builds main.bicep against main.parameters.json as azd fills it in, and checks that the
 * compiled event-subscription template the postdeploy hook deploys is current. Exits non-zero on
 * any compiler or linter error or warning (infra/bicepconfig.json says which rules are relaxed, and
 * why).
 *
 * The Bicep CLI comes from NuGet (package Azure.Bicep.CommandLine.<rid>, pinned below), restored by
 * the .NET SDK into NuGet's global packages folder (~/.nuget/packages, or $NUGET_PACKAGES): the
 * first run downloads it once, later runs find it there and start at once. Nothing else downloads.
 *
 * Plain JavaScript so it runs with `node` alone.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const BICEP_VERSION = "0.49.2";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const infra = join(root, "infra");

/** NuGet runtime identifier of this machine: Bicep ships one self-contained package per platform. */
function runtimeId() {
  const os = { linux: "linux", darwin: "osx", win32: "win" }[process.platform];
  const arch = { x64: "x64", arm64: "arm64" }[process.arch];
  if (!os || !arch) fail(`no Bicep CLI package for ${process.platform}/${process.arch}`);
  return `${os}-${arch}`;
}

function fail(message) {
  console.error(`infra:check: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  return spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
}

/** The Bicep binary, restored from NuGet on first use. */
function bicep() {
  const rid = runtimeId();
  const packageId = `Azure.Bicep.CommandLine.${rid}`;
  const packages = process.env.NUGET_PACKAGES || join(homedir(), ".nuget", "packages");
  const binary = join(packages, packageId.toLowerCase(), BICEP_VERSION, "tools", process.platform === "win32" ? "bicep.exe" : "bicep");
  if (!existsSync(binary)) {
    const dotnet = run("dotnet", ["--version"]);
    if (dotnet.error || dotnet.status !== 0) {
      fail(
        `the .NET SDK is missing (no \`dotnet\` on PATH). infra:check restores Microsoft's Bicep CLI ` +
          `(NuGet package ${packageId} ${BICEP_VERSION}) with it. Install the .NET SDK ` +
          `(https://learn.microsoft.com/dotnet/core/install/) and run \`npm run infra:check\` again.`,
      );
    }
    // A throwaway project whose only job is to make NuGet download the package (PackageDownload
    // fetches a package without referencing it), targeting the SDK's own framework so nothing else
    // is downloaded: https://learn.microsoft.com/nuget/consume-packages/packagedownload-functionality
    const project = mkdtempSync(join(tmpdir(), "gallery-watch-bicep-"));
    try {
      writeFileSync(
        join(project, "bicep.csproj"),
        `<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net${dotnet.stdout.trim().split(".")[0]}.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="${packageId}" Version="[${BICEP_VERSION}]" /></ItemGroup>
</Project>
`,
      );
      console.log(`infra:check: restoring ${packageId} ${BICEP_VERSION} from NuGet into ${packages}`);
      mkdirSync(packages, { recursive: true });
      const restore = run("dotnet", ["restore", join(project, "bicep.csproj"), "--packages", packages, "--nologo"], { stdio: "inherit" });
      if (restore.status !== 0) fail(`dotnet restore of ${packageId} ${BICEP_VERSION} failed (exit ${restore.status})`);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
    if (!existsSync(binary)) fail(`${packageId} ${BICEP_VERSION} restored, but ${binary} is missing`);
  }
  if (process.platform !== "win32" && (statSync(binary).mode & 0o111) === 0) chmodSync(binary, 0o755);
  return binary;
}

/** Bicep's "file(line,col) : Level rule: message" diagnostics; compile/lint print them on stderr. */
function diagnostics(output) {
  return output
    .split(/\r?\n/)
    .map((line) => /^(.+)\((\d+),(\d+)\) : (Error|Warning|Info) ([^:]+): (.*)$/.exec(line))
    .filter(Boolean)
    .map(([, file, line, column, level, code, message]) => ({ file: relative(root, file), line: Number(line), column: Number(column), level, code, message }));
}

function bicepFiles(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) return bicepFiles(full);
    return entry.endsWith(".bicep") ? [full] : [];
  });
}

/**
 * main.parameters.json as azd passes it: `${NAME}` replaced by the azd environment's value
 * (an empty value drops the parameter, so the Bicep default applies), then converted to the
 * parameter's declared type. The environment below is what README.md "Deploying" sets.
 */
const SAMPLE_AZD_ENV = {
  AZURE_ENV_NAME: "gallery-watch-prod",
  AZURE_LOCATION: "westeurope",
  AZURE_PRINCIPAL_ID: "00000000-0000-0000-0000-0000000000aa",
  AZURE_PRINCIPAL_TYPE: "User",
  GW_WATCHED_SUBSCRIPTIONS: "00000000-0000-0000-0000-000000000001,00000000-0000-0000-0000-000000000002",
  GW_EXISTING_SYSTEM_TOPICS: '{"00000000-0000-0000-0000-000000000002":{"resourceGroup":"rg-events","name":"subscription-events"}}',
  GW_TEAMS_WEBHOOK_URL: "https://example.invalid/workflows/webhook",
  GW_MAX_REGIONS: "3",
  GW_ENABLE_ENTRA_AUTH: "false",
};

function bicepLiteral(value) {
  if (typeof value === "string") return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return `json(${bicepLiteral(JSON.stringify(value))})`;
}

function paramsFileFor(template) {
  const file = JSON.parse(readFileSync(join(infra, "main.parameters.json"), "utf8"));
  const declared = template.parameters ?? {};
  const lines = [`using './main.bicep'`, ""];
  for (const [name, { value }] of Object.entries(file.parameters)) {
    const substituted = String(value).replace(/\$\{([A-Z0-9_]+)\}/g, (_, variable) => SAMPLE_AZD_ENV[variable] ?? "");
    if (substituted === "") continue;
    const type = declared[name]?.type?.toLowerCase();
    const typed = type === "int" ? Number(substituted) : type === "bool" ? substituted === "true" : type === "object" || type === "array" ? JSON.parse(substituted) : substituted;
    lines.push(`param ${name} = ${bicepLiteral(typed)}`);
  }
  return lines.join("\n") + "\n";
}

function main() {
  const binary = bicep();
  const version = run(binary, ["--version"]).stdout.trim();
  const files = bicepFiles(infra);
  const found = [];

  // Build compiles (type, property and API-version checks against the compiler's Azure type
  // index); lint adds the linter rules. One process each for all files.
  const out = mkdtempSync(join(tmpdir(), "gallery-watch-bicep-out-"));
  try {
    const build = run(binary, ["build", "--pattern", "infra/**/*.bicep", "--outdir", out], { cwd: root });
    found.push(...diagnostics(build.stderr));
    if (build.status !== 0 && !found.some((d) => d.level === "Error")) fail(`bicep build failed (exit ${build.status}): ${build.stderr}`);
    const lint = run(binary, ["lint", "--pattern", "infra/**/*.bicep"], { cwd: root });
    found.push(...diagnostics(lint.stderr));
    if (lint.status !== 0 && !found.some((d) => d.level === "Error")) fail(`bicep lint failed (exit ${lint.status}): ${lint.stderr}`);

    // main.bicep with the parameters azd passes.
    const template = JSON.parse(readFileSync(join(out, "main.json"), "utf8"));
    const params = join(infra, ".infra-check.bicepparam");
    writeFileSync(params, paramsFileFor(template));
    try {
      const built = run(binary, ["build-params", params, "--stdout"], { cwd: root });
      found.push(...diagnostics(built.stderr));
      if (built.status !== 0 && !found.some((d) => d.level === "Error")) fail(`bicep build-params failed (exit ${built.status}): ${built.stderr}`);
    } finally {
      rmSync(params, { force: true });
    }

    // The postdeploy hook deploys the compiled event-subscription template with `az`, so the
    // deployer needs no Bicep; it must be what the .bicep compiles to today.
    const compiled = join(infra, "watch", "eventSubscription.json");
    const fresh = readFileSync(join(out, "watch", "eventSubscription.json"), "utf8");
    if (process.argv.includes("--write")) writeFileSync(compiled, fresh);
    else if (!existsSync(compiled) || readFileSync(compiled, "utf8") !== fresh) {
      found.push({ file: "infra/watch/eventSubscription.json", line: 1, column: 1, level: "Error", code: "stale", message: "is not what infra/watch/eventSubscription.bicep compiles to: run `npm run infra:check -- --write`" });
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }

  const unique = [...new Map(found.map((d) => [`${d.file}:${d.line}:${d.column}:${d.code}`, d])).values()];
  for (const d of unique) console.log(`${d.file}(${d.line},${d.column}) ${d.level} ${d.code}: ${d.message}`);
  const errors = unique.filter((d) => d.level === "Error").length;
  const warnings = unique.filter((d) => d.level === "Warning").length;
  console.log(`infra:check: ${files.length} Bicep files built and linted, main.bicep built with main.parameters.json; ${version}; ${errors} errors, ${warnings} warnings`);
  process.exit(errors + warnings === 0 ? 0 : 1);
}

main();
