#!/usr/bin/env node
// The `gallery-watch` command (package.json "bin"). Plain JavaScript, so node runs it as is:
// it loads the compiled CLI from dist/ when the package was built, and otherwise the TypeScript
// sources through tsx (a devDependency, present in a checkout).
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const compiled = path.join(root, "dist", "cli", "main.js");

let cli;
if (existsSync(compiled)) {
  cli = await import(pathToFileURL(compiled).href);
} else {
  let tsImport;
  try {
    ({ tsImport } = await import("tsx/esm/api"));
  } catch {
    process.stderr.write("gallery-watch: dist/ is missing and tsx is not installed: run `npm run build` or `npm install` first.\n");
    process.exit(1);
  }
  cli = await tsImport(pathToFileURL(path.join(root, "cli", "main.ts")).href, import.meta.url);
}
await cli.run(process.argv.slice(2));
