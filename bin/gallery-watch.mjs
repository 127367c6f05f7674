#!/usr/bin/env node
// The `gallery-watch` command (package.json "bin"). Plain JavaScript, so node runs it as is. In a
// checkout (the TypeScript sources and tsx, a devDependency, are there) it runs the sources, so a
// stale dist/ is never what answers; an installed package without them runs the compiled dist/.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const compiled = path.join(root, "dist", "cli", "main.js");

const sources = path.join(root, "cli", "main.ts");
let tsImport;
if (existsSync(sources)) {
  try {
    ({ tsImport } = await import("tsx/esm/api"));
  } catch {
    tsImport = undefined;
  }
}
let cli;
if (tsImport) {
  cli = await tsImport(pathToFileURL(sources).href, import.meta.url);
} else if (existsSync(compiled)) {
  cli = await import(pathToFileURL(compiled).href);
} else {
  process.stderr.write("gallery-watch: neither the sources with tsx nor a build in dist/ is here: run `npm install` (a checkout) or `npm run build`.\n");
  process.exit(1);
}
await cli.run(process.argv.slice(2));
