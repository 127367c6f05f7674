/**
 * Least privilege in the watched subscriptions: the custom role infra/watch/subscription.bicep
 * assigns holds exactly the Microsoft.Compute read actions of the @azure/arm-compute operations the
 * code calls, and, for broad-access, the role-assignment, role-definition and subscription reads of
 * the access reader. The calls are found in the sources, so a new call whose action the role lacks fails
 * here before it fails with 403 in Azure.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { ComputeManagementClient } from "@azure/arm-compute";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const read = (relative: string) => readFileSync(path.join(ROOT, relative), "utf8");

/**
 * The operation groups of the Compute and Authorization clients (galleries, galleryImages, …,
 * roleAssignments, roleDefinitions), from the SDKs themselves, and `subscriptions`: the
 * subscription read the access reader sends through its client's pipeline (`arm.subscriptions.get`).
 */
function operationGroups(): Set<string> {
  const credential = { getToken: () => Promise.resolve(null) };
  const groups = (client: object) => Object.keys(client).filter((key) => !["_client", "pipeline", "subscriptionId", "apiVersion", "$host", "_requestContentType", "_endpoint", "_allowInsecureConnection", "_httpClient"].includes(key) && !key.startsWith("_"));
  const compute = new ComputeManagementClient(credential, "00000000-0000-0000-0000-000000000000");
  return new Set([...groups(compute), ...ACCESS_GROUPS]);
}

/** Groups read only by the ARM adapters, whose names (`subscriptions`, `roleDefinitions`) are ordinary words elsewhere (`subscriptions.map(`). */
const ACCESS_GROUPS = new Set([...Object.keys(new AuthorizationManagementClient({ getToken: () => Promise.resolve(null) }, "00000000-0000-0000-0000-000000000000")).filter((g) => /^role(Assignments|Definitions)$/.test(g)), "subscriptions"]);

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((entry) => {
    const relative = path.join(dir, entry);
    if (statSync(path.join(ROOT, relative)).isDirectory()) return sources(relative);
    return entry.endsWith(".ts") ? [relative] : [];
  });
}

/** `<group>.<operation>(` calls on a Compute operation group in the app's code (shared/, functions/, cli/), comments stripped. */
function computeCalls(groups: Set<string>): Map<string, string> {
  const calls = new Map<string, string>();
  for (const file of [...sources("shared"), ...sources("functions"), ...sources("cli")]) {
    const code = read(file).replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
    for (const m of code.matchAll(/\.([A-Za-z]+)\.([A-Za-z]+)\(/g)) {
      if (groups.has(m[1]!) && (!ACCESS_GROUPS.has(m[1]!) || file.startsWith("shared/adapters/arm/"))) calls.set(`${m[1]}.${m[2]}`, file);
    }
  }
  return calls;
}

const role = JSON.parse(read("infra/watch/readerActions.json")) as { operations: Record<string, string> };

describe("the gallery-watch reader role", () => {
  const calls = computeCalls(operationGroups());

  it("finds the ARM reads the code performs", () => {
    // The inventory reads galleries, definitions, versions, scale sets and shared/community images.
    expect([...calls.keys()]).toEqual(expect.arrayContaining(["galleries.list", "galleryImages.get", "virtualMachineScaleSets.listAll", "sharedGalleryImages.get"]));
  });

  it("has an action for every Compute operation the code calls, and none for operations it no longer calls", () => {
    const missing = [...calls].filter(([operation]) => !(operation in role.operations)).map(([operation, file]) => `${operation} (${file})`);
    expect(missing, "add each to infra/watch/readerActions.json with the action it needs").toEqual([]);
    expect(Object.keys(role.operations).filter((operation) => !calls.has(operation)), "entries no code calls").toEqual([]);
  });

  it("grants only reads: Compute's, and for broad-access the role assignments and definitions and the subscription itself", () => {
    for (const action of Object.values(role.operations)) expect(action).toMatch(/^Microsoft\.(Compute\/[A-Za-z/]+|Authorization\/role(Assignments|Definitions)|Resources\/subscriptions)\/read$/);
  });

  it("is what subscription.bicep assigns, instead of the built-in Reader", () => {
    const bicep = read("infra/watch/subscription.bicep").replace(/^\s*\/\/.*$/gm, "");
    expect(bicep).toMatch(/loadJsonContent\('readerActions\.json'\)\.operations/);
    expect(bicep).toMatch(/resource\s+readerRole\s+'Microsoft\.Authorization\/roleDefinitions@[^']+'/);
    expect(bicep).toMatch(/roleDefinitionId:\s*readerRole\.id/);
    // acdd72a7-…: the built-in Reader role.
    expect(bicep).not.toMatch(/acdd72a7-3385-48ef-bd42-f606fba81ae7/);
  });
});
