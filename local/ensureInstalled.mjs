// Runs before `npm start` and `npm test`: on a fresh clone (or after the lockfile changed) install
// from the lockfile first, so the README's two commands work on their own. Plain JS: no dependencies.
import { execSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const installed = "node_modules/.package-lock.json";
const stale = !existsSync(installed) || statSync(installed).mtimeMs < statSync("package-lock.json").mtimeMs;
if (stale) {
  console.log("gallery-watch: installing dependencies from package-lock.json (npm ci) …");
  execSync("npm ci --no-audit --no-fund", { stdio: "inherit" });
}
