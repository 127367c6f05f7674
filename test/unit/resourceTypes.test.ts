/**
 * Resource kinds are declared once, as data (shared/domain/resourceTypes.ts). What a kind is —
 * its parent, its ARM operations, what changes it, what its verdict depends on and what depends
 * on it — is read from the table; a new `kind === "…"` branch elsewhere is knowledge spread again.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { descendantKindsOf, INDIRECT_OPERATIONS, RESOURCE_TYPES, resourceType, rootKindOf, WATCHED_OPERATIONS } from "../../shared/domain/resourceTypes.js";
import { enclosingOf, parentOf, parseResourceId, type ResourceKind } from "../../shared/domain/resourceId.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SUB = "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f";
const GALLERY = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g1`;
const IDS: Record<ResourceKind, string> = {
  gallery: GALLERY,
  imageDefinition: `${GALLERY}/images/base`,
  imageVersion: `${GALLERY}/images/base/versions/1.0.0`,
  scaleSet: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web`,
  virtualMachine: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/drill-01`,
};

/**
 * Files that still branch on a resource kind, and how often. The table, the id syntax and the
 * rules are where kinds are spelled out; everywhere else the number may only go down. When you
 * remove a branch, lower its number here; when this fails on a new one, derive it from the table.
 */
const KIND_BRANCH_BUDGET: Readonly<Record<string, number>> = {
  "shared/adapters/arm/computeArmInventory.ts": 2,
  "shared/adapters/arm/snapshotMapping.ts": 2,
  "shared/adapters/tables/tableResourceStore.ts": 1,
  "shared/app/checkResource.ts": 8,
  "shared/app/inventory.ts": 2,
  "shared/app/pointInTime.ts": 3,
  "shared/app/queries.ts": 1,
  "shared/domain/exceptions.ts": 1,
  "shared/domain/judgeable.ts": 3,
  "shared/domain/policyExport.ts": 2,
};
/** Where kinds are declared: the table, the id syntax of each kind, and the rules. */
const KIND_HOMES = /^shared\/domain\/(resourceTypes\.ts|resourceId\.ts|rules\/)/;
const KIND_BRANCH = /kind\s*[!=]==?\s*"(gallery|imageDefinition|imageVersion|scaleSet|virtualMachine)"|case\s+"(gallery|imageDefinition|imageVersion|scaleSet|virtualMachine)"\s*:/g;

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(path.join(ROOT, rel)).isDirectory()) return sources(rel);
    return rel.endsWith(".ts") ? [rel] : [];
  });
}

describe("resource kinds, declared once", () => {
  it("every kind has one row, parents first, and each parent is itself a declared kind", () => {
    const kinds = RESOURCE_TYPES.map((t) => t.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect([...kinds].sort()).toEqual((Object.keys(IDS) as ResourceKind[]).sort());
    RESOURCE_TYPES.forEach((t, i) => {
      if (t.parent) expect(kinds.indexOf(t.parent)).toBeLessThan(i);
    });
  });

  it("a kind's parent in the table is the parent its ids have", () => {
    for (const t of RESOURCE_TYPES) {
      const parent = parentOf(parseResourceId(IDS[t.kind]));
      expect(parent?.kind).toBe(t.parent);
      expect(resourceType(t.kind)).toBe(t);
    }
    expect(enclosingOf(parseResourceId(IDS.imageVersion), "imageDefinition")?.display).toBe(IDS.imageDefinition);
    expect(enclosingOf(parseResourceId(IDS.scaleSet), "imageDefinition")).toBeUndefined();
  });

  it("what a verdict depends on and what depends on it name each other", () => {
    for (const t of RESOURCE_TYPES) for (const d of t.dependents) {
      // A dependent is judged again when this kind changes: its verdict reads this kind or its parent.
      const reads = resourceType(d).dependsOn;
      expect(reads.some((k) => k === t.kind || k === t.parent || resourceType(k).parent === t.kind || t.parent === k), `${d} depends on ${t.kind}`).toBe(true);
    }
  });

  it("the listings: galleries hold definitions and versions, scale sets and VMs stand alone", () => {
    expect(rootKindOf("imageVersion")).toBe("gallery");
    expect(rootKindOf("scaleSet")).toBe("scaleSet");
    expect(rootKindOf("virtualMachine")).toBe("virtualMachine");
    expect(descendantKindsOf("gallery")).toEqual(["imageDefinition", "imageVersion"]);
  });

  it("the watched operations are the kinds' own operations and the indirect ones, each once", () => {
    expect(new Set(WATCHED_OPERATIONS.map((o) => o.toLowerCase())).size).toBe(WATCHED_OPERATIONS.length);
    for (const t of RESOURCE_TYPES) for (const op of t.watchedOperations) expect(op.startsWith(`${t.armType}/`), op).toBe(true);
    expect(WATCHED_OPERATIONS).toEqual(expect.arrayContaining([...INDIRECT_OPERATIONS]));
  });

  it("the reader role grants each kind's list and get, as `<armType>/read`", () => {
    const role = JSON.parse(readFileSync(path.join(ROOT, "infra/watch/readerActions.json"), "utf8")) as { operations: Record<string, string> };
    for (const t of RESOURCE_TYPES) for (const op of [t.arm.list, t.arm.get]) expect(role.operations[op], op).toBe(`${t.armType}/read`);
  });

  it("no new `kind === …` branch outside the table, the id syntax and the rules", () => {
    const found: Record<string, number> = {};
    for (const file of [...sources("shared"), ...sources("functions"), ...sources("cli")]) {
      if (KIND_HOMES.test(file)) continue;
      const count = [...readFileSync(path.join(ROOT, file), "utf8").matchAll(KIND_BRANCH)].length;
      if (count > 0) found[file] = count;
    }
    expect(found).toEqual(KIND_BRANCH_BUDGET);
  });
});
