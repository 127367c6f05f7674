#!/usr/bin/env node
/**
 * `npm run package`: builds the deployable function app in `dist/package/`:
 *
 *   dist/package/
 *     host.json                    copied from the repo root
 *     package.json                 "type": "module", "main" → the bundle, no dependencies
 *     dist/functions/index.js      functions/index.ts and everything it imports, one ESM bundle
 *     dist/functions/chunks/*.js   code loaded only by dynamic import() (loaded when first needed)
 *
 * Why a bundle: the unbundled entry resolves and compiles ~900 files at cold start; one minified
 * file loads several times faster (`npm run bench -- --only coldstart` measures both). Everything
 * is bundled, so the package needs no `node_modules` and no `npm install` on the way to Azure:
 * the only import left outside is `@azure/functions-core`, which the Functions Node.js worker
 * itself provides (https://learn.microsoft.com/azure/azure-functions/functions-reference-node).
 *
 * The build also writes `dist/package.meta.json` (esbuild's metafile, outside the package) so a
 * test can check that no dev-only package was bundled.
 *
 * Plain JavaScript so it runs with `node` alone. Exits non-zero if anything but Node built-ins
 * and the host-supplied modules is left unresolved in the output.
 */
import { builtinModules } from "node:module";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "package");
/** Same relative path as the root package.json's `main`, so both read alike. */
const main = "dist/functions/index.js";

/** Modules the Functions host supplies at run time; bundling them would break the worker link. */
const HOST_SUPPLIED = ["@azure/functions-core"];

/**
 * Bundled ESM has no `require`, `__filename` or `__dirname`, yet some CommonJS dependencies
 * call `require()` for Node built-ins at run time (and `@azure/functions` requires
 * `@azure/functions-core`); the banner gives them real ones.
 */
const BANNER = [
  'import { createRequire as __gwCreateRequire } from "module";',
  'import { fileURLToPath as __gwFileURLToPath } from "url";',
  'import { dirname as __gwDirname } from "path";',
  "const require = __gwCreateRequire(import.meta.url);",
  "const __filename = __gwFileURLToPath(import.meta.url);",
  "const __dirname = __gwDirname(__filename);",
].join(" ");

export async function buildPackage({ quiet = false } = {}) {
  const started = performance.now();
  const devOnly = { lockfile: JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")).packages ?? {}, left: new Set() };
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { index: "functions/index.ts" },
    outdir: join(out, dirname(main)),
    entryNames: "[name]",
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    // Dynamic import() becomes its own chunk, loaded only by the function that needs it.
    splitting: true,
    platform: "node",
    target: "node22",
    format: "esm",
    minify: true,
    // Error names come from `new.target.name` (shared/domain/errors.ts) and appear in logs and cards.
    keepNames: true,
    banner: { js: BANNER },
    external: HOST_SUPPLIED,
    metafile: true,
    logLevel: "warning",
    legalComments: "eof",
    plugins: [leaveOutDevOnly(devOnly)],
  });

  const unexpected = unresolvedImports(result.metafile);
  if (unexpected.length > 0) {
    throw new Error(`the bundle still imports ${unexpected.join(", ")}: bundle them or ship them in dist/package/node_modules`);
  }

  cpSync(join(root, "host.json"), join(out, "host.json"));
  const rootPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const deployed = {
    name: rootPackage.name,
    version: rootPackage.version,
    description: rootPackage.description,
    private: true,
    type: "module",
    main,
    // Everything is bundled: nothing to install, and no devDependencies by construction.
    dependencies: {},
  };
  writeFileSync(join(out, "package.json"), `${JSON.stringify(deployed, null, 2)}\n`);
  writeFileSync(join(root, "dist", "package.meta.json"), JSON.stringify(result.metafile));

  if (!quiet && devOnly.left.size > 0) {
    console.log(`package: left out dev-only ${[...devOnly.left].sort().join(", ")} (absent in production too; their importers must cope)`);
  }
  const size = folderSize(out);
  const report = { folder: relative(root, out), bytes: size.bytes, files: size.files, ms: Math.round(performance.now() - started) };
  if (!quiet) {
    console.log(`package: ${report.folder}/ — ${report.bytes} bytes (${(report.bytes / 1024 / 1024).toFixed(2)} MiB) in ${report.files} files, built in ${report.ms} ms`);
  }
  return report;
}

/**
 * A package the lockfile marks `"dev": true` is not installed by `npm ci --omit=dev`, so the
 * bundle must not contain it just because it sits in the developer's node_modules (`debug`, for
 * one, optionally requires `supports-color`). It becomes a module that throws MODULE_NOT_FOUND,
 * exactly as in a production install: an optional `require` inside try/catch copes, and a hard
 * import fails the package test instead of production.
 */
function leaveOutDevOnly(devOnly) {
  return {
    name: "leave-out-dev-only",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === "resolving" || args.path.startsWith("node:") || builtinModules.includes(args.path) || HOST_SUPPLIED.includes(args.path)) return undefined;
        const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: "resolving" });
        if (resolved.errors.length > 0 || resolved.external || !resolved.path) return undefined;
        const key = lockfileKey(resolved.path);
        if (!key || devOnly.lockfile[key]?.dev !== true) return resolved;
        devOnly.left.add(args.path);
        return { path: args.path, namespace: "dev-only" };
      });
      build.onLoad({ filter: /.*/, namespace: "dev-only" }, (args) => ({
        contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}' (a devDependency, not in the production package)`)}), { code: "MODULE_NOT_FOUND" });`,
        loader: "js",
      }));
    },
  };
}

/** `node_modules/a/node_modules/b` for any file of package b under a (as package-lock.json names it), even through a symlinked node_modules. */
function lockfileKey(file) {
  const normalised = file.split("\\").join("/");
  const from = normalised.indexOf("node_modules/");
  return from < 0 ? undefined : /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)/.exec(normalised.slice(from))?.[1];
}

/** Bare imports the bundle left to run time that are neither Node built-ins nor host-supplied. */
function unresolvedImports(metafile) {
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const left = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external) continue;
      if (builtins.has(imported.path) || HOST_SUPPLIED.includes(imported.path)) continue;
      left.add(imported.path);
    }
  }
  return [...left].sort();
}

function folderSize(folder) {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    bytes += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
    files++;
  }
  return { bytes, files };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await buildPackage({ quiet: process.argv.includes("--quiet") });
  } catch (error) {
    console.error(`package: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
