/**
 * Microsoft's published REST specs and examples live beside the repository in
 * `../shared/fixtures` (reference data: read there, never copied in). Suites that need them skip,
 * with a message, when they are absent.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../../../shared/fixtures");

export function fixturesDir(): string | undefined {
  return existsSync(path.join(ROOT, "azure-rest-api-specs")) ? ROOT : undefined;
}

export const SKIP_REASON = `Microsoft's REST spec fixtures not found at ${ROOT} (../shared is absent): conformance checks skipped`;

export function readFixture<T = any>(relative: string): T {
  return JSON.parse(readFileSync(path.join(ROOT, relative), "utf8")) as T;
}

export function listFixtures(folder: string): string[] {
  return readdirSync(path.join(ROOT, folder)).filter((f) => f.endsWith(".json")).sort().map((f) => `${folder}/${f}`);
}
