/**
 * The ARM reader over the real @azure/arm-compute client against the simulated control plane
 * over HTTPS: mapping, `latest` resolution, and the typed outcome for every fault the simulator
 * can inject.
 */
import https from "node:https";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { localDevCredential } from "../../local/localCredential.js";
import { armWrite } from "../../local/armWrite.js";
import { computeArmInventoryFactory } from "../../shared/adapters/arm/computeArmInventory.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import { ArmReadError } from "../../shared/domain/errors.js";

const SUB = "5f1d2c3b-4a59-4e7d-8c6b-9a0b1c2d3e4f";
const base = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute`;
const def = `${base}/galleries/gal/images/def`;
const version = (v: string, props: Record<string, unknown> = {}) => ({
  id: `${def}/versions/${v}`,
  body: { location: "westeurope", properties: { publishingProfile: { targetRegions: [{ name: "West Europe" }, { name: "East US", regionalReplicaCount: 2 }], excludeFromLatest: false, ...props } } },
});
const scaleSet = (name: string, imageReference: Record<string, unknown>) => ({
  id: `${base}/virtualMachineScaleSets/${name}`,
  body: { location: "westeurope", sku: { name: "Standard_D2s_v5", capacity: 4 }, properties: { orchestrationMode: "Uniform", virtualMachineProfile: { storageProfile: { imageReference } } } },
});

let sim: RunningArmSimulator;
const reader = (timeoutMs = 2000) => computeArmInventoryFactory({ credential: localDevCredential(), endpoint: sim.url, caCertPem: sim.caCertPem, timeoutMs, maxRetries: 2 })();
const id = (raw: string) => parseResourceId(raw);

beforeAll(async () => {
  sim = await startArmSimulator({
    pageSize: 2,
    seed: [
      { id: `${base}/galleries/gal`, body: { location: "westeurope", properties: {} } },
      { id: def, body: { location: "westeurope", tags: { owner: "o" }, properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: "o", sku: "s" }, endOfLifeDate: "2027-01-01T00:00:00Z" } } },
      version("1.0.0"),
      version("1.1.0"),
      version("1.2.0", { targetRegions: [{ name: "West Europe", excludeFromLatest: true }, { name: "East US" }] }),
      version("2.0.0", { excludeFromLatest: true }),
      version("0.9.0"),
      scaleSet("latest", { id: def }),
      scaleSet("pinned", { id: `${def}/versions/1.0.0` }),
      scaleSet("shared", { sharedGalleryImageId: "/SharedGalleries/other-tenant-gallery/Images/img/Versions/1.0.0" }),
      scaleSet("market", { publisher: "Canonical", offer: "ubuntu-24_04-lts", sku: "server", version: "latest" }),
    ],
  });
});
afterAll(async () => sim?.close());
beforeEach(() => sim.faults.clear());

describe("mapping and resolution", () => {
  it("reads a version with its definition's osState and regions normalised, the same snapshot a list gives (no replicationStatus, so event and sweep never rewrite each other)", async () => {
    const outcome = await reader().readImageVersion(id(`${def}/versions/1.0.0`));
    expect(outcome.status).toBe("found");
    if (outcome.status !== "found") return;
    expect(outcome.snapshot).toMatchObject({ kind: "imageVersion", version: "1.0.0", osState: "Specialized", excludeFromLatest: false, provisioningState: "Succeeded" });
    expect(outcome.snapshot.targetRegions.map((t) => [t.region, t.regionalReplicaCount])).toEqual([["westeurope", undefined], ["eastus", 2]]);
    const listed: unknown[] = [];
    for await (const v of reader().listImageVersions(id(def))) if (v.version === "1.0.0") listed.push(v);
    expect(listed).toEqual([outcome.snapshot]);
  });

  it("reads a definition once however many of its versions are read", async () => {
    const before = sim.requestCounts()["GET imageDefinition"] ?? 0;
    const inventory = reader();
    for (const v of ["1.0.0", "1.1.0", "0.9.0"]) await inventory.readImageVersion(id(`${def}/versions/${v}`));
    expect((sim.requestCounts()["GET imageDefinition"] ?? 0) - before).toBe(1);
  });

  it("resolves latest by ARM's rule: highest version not excluded, honouring the scale set region's own exclusion", async () => {
    const outcome = await reader().readScaleSet(id(`${base}/virtualMachineScaleSets/latest`));
    expect(outcome.status === "found" && outcome.snapshot.image).toEqual({ outcome: "resolved", definitionId: def, osState: "Specialized", versionId: `${def}/versions/1.1.0` });
  });

  it("resolves a pinned version, marks unreadable shared images unresolvable, and marketplace images as not from a gallery", async () => {
    const read = async (name: string) => {
      const o = await reader().readScaleSet(id(`${base}/virtualMachineScaleSets/${name}`));
      return o.status === "found" ? o.snapshot : undefined;
    };
    expect((await read("pinned"))?.image).toMatchObject({ outcome: "resolved", versionId: `${def}/versions/1.0.0`, osState: "Specialized" });
    const shared = await read("shared");
    expect(shared?.imageReference.kind).toBe("sharedGallery");
    expect(shared?.image).toMatchObject({ outcome: "unresolvable", reason: expect.stringContaining("shared gallery image could not be read") });
    expect((await read("market"))?.image).toEqual({ outcome: "notGalleryImage" });
    expect((await read("market"))?.capacity).toBe(4);
  });

  it("reads gallery sharing after a share action", async () => {
    await armWrite(sim, { name: "Sam", upn: "sam@contoso.example" }, "POST", `${base}/galleries/gal/share`, { operationType: "Add", groups: [{ type: "Subscriptions", ids: ["11111111-2222-3333-4444-555555555555"] }] });
    const outcome = await reader().readGallery(id(`${base}/galleries/gal`));
    expect(outcome.status === "found" && outcome.snapshot.sharing).toEqual({ permissions: "Groups", groups: [{ type: "Subscriptions", ids: ["11111111-2222-3333-4444-555555555555"] }] });
    await armWrite(sim, { name: "Sam", upn: "sam@contoso.example" }, "POST", `${base}/galleries/gal/share`, { operationType: "Reset" });
  });

  it("follows nextLink across pages", async () => {
    const before = sim.requestCounts()["LIST imageVersion"] ?? 0;
    const listed: string[] = [];
    for await (const v of reader().listImageVersions(id(def))) listed.push(v.version);
    expect(listed.sort()).toEqual(["0.9.0", "1.0.0", "1.1.0", "1.2.0", "2.0.0"]);
    expect((sim.requestCounts()["LIST imageVersion"] ?? 0) - before).toBe(3);
  });
});

describe("a definition's listing answering reads of its versions", () => {
  it("carries ARM's Date from its first page: a later read of a write stamped 10 s or more before it is answered without a request; one stamped later is not", async () => {
    const inventory = reader();
    const versions = ["1.0.0", "1.1.0", "0.9.0"].map((v) => id(`${def}/versions/${v}`));
    // Patient reads (re-checks) gather into one listing of the definition (two pages of two here).
    const outcomes = await Promise.all(versions.map((v) => inventory.read(v, { patient: true })));
    expect(outcomes.map((o) => o.status)).toEqual(["found", "found", "found"]);
    const before = inventory.requests();
    const dated = inventory.answeredAt?.(versions[0]!, Date.now() - 60_000);
    // HTTP dates are whole seconds, so ARM's date may be up to 1 s behind ours.
    expect(dated).toBeGreaterThan(Date.now() - 30_000);
    expect(inventory.answeredAt?.(versions[0]!, Date.now())).toBeUndefined();
    expect(inventory.answeredAt?.(id(`${def}/versions/7.7.7`), Date.now() - 60_000)).toBeUndefined();
    const answered = await inventory.read(versions[0]!, { answeredBy: () => true });
    expect(answered).toMatchObject({ status: "found", snapshot: { version: "1.0.0" } });
    expect(inventory.requests()).toBe(before);
  });
});

describe("what a check remembers of a read: ARM's date on its answer, and listings shared for latest", () => {
  it("a subject read (a scale set's GET, a version's) carries ARM's Date header on its answer", async () => {
    const inventory = reader();
    for (const subject of [`${base}/virtualMachineScaleSets/latest`, `${def}/versions/1.0.0`]) {
      const outcome = await inventory.read(id(subject));
      expect(outcome.status).toBe("found");
      // HTTP dates are whole seconds: ARM's may be up to 1 s behind ours.
      expect(outcome.status === "found" ? outcome.armTime : undefined).toBeGreaterThan(Date.now() - 5_000);
    }
  });

  it("scale sets following one definition, checked side by side, resolve latest with one listing of its versions", async () => {
    // Two invocations of one process (one factory, as the app has).
    const factory = computeArmInventoryFactory({ credential: localDevCredential(), endpoint: sim.url, caCertPem: sim.caCertPem, timeoutMs: 2000, maxRetries: 2 });
    const [first, second] = [factory(), factory()];
    const before = sim.requestCounts()["LIST imageVersion"] ?? 0;
    const outcomes = await Promise.all([first.read(id(`${base}/virtualMachineScaleSets/latest`)), second.read(id(`${base}/virtualMachineScaleSets/latest`))]);
    expect(outcomes.map((o) => (o.status === "found" && o.snapshot.kind === "scaleSet" && o.snapshot.image.outcome === "resolved" ? o.snapshot.image.versionId : o.status))).toEqual([`${def}/versions/1.1.0`, `${def}/versions/1.1.0`]);
    // Five versions, two a page: one listing is three requests.
    expect((sim.requestCounts()["LIST imageVersion"] ?? 0) - before).toBe(3);
    // A check that begins after that listing went out lists again: never served an earlier answer.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await factory().read(id(`${base}/virtualMachineScaleSets/latest`));
    expect((sim.requestCounts()["LIST imageVersion"] ?? 0) - before).toBe(6);
  });
});

describe("outcomes for injected faults", () => {
  const gallery = () => reader(800).readGallery(id(`${base}/galleries/gal`));
  it.each([
    ["latency beyond the timeout", { kind: "latency", latencyMs: 3000 }, "failed"],
    ["a 429 with a short Retry-After, once", { kind: "throttle", retryAfterSeconds: 1, times: 1 }, "found"],
    ["a 500, once", { kind: "error", status: 500, times: 1 }, "found"],
    ["a 500, always", { kind: "error", status: 500 }, "failed"],
    ["a 503, always", { kind: "error", status: 503 }, "failed"],
    ["a 403", { kind: "error", status: 403 }, "noAccess"],
    ["a 404", { kind: "error", status: 404 }, "gone"],
    ["a dropped connection, always", { kind: "drop" }, "failed"],
  ] as const)("%s → %s", async (_label, fault, status) => {
    sim.faults.add({ ...fault, path: "/galleries/gal" });
    expect((await gallery()).status).toBe(status);
  });

  it("a scale set whose image definition ARM throttles is itself throttled — never 'unresolvable' on a guess", async () => {
    sim.faults.add({ kind: "throttle", retryAfterSeconds: 3600, method: "GET", path: /\/images\/def$/i });
    const outcome = await reader().readScaleSet(id(`${base}/virtualMachineScaleSets/latest`));
    expect(outcome).toMatchObject({ status: "throttled", retryAfterMs: 3_600_000 });
  });

  it("a scale set whose image definition answers 403 carries a noAccess resolution naming it (a blind spot, not a verdict)", async () => {
    sim.faults.add({ kind: "error", status: 403, method: "GET", path: /\/images\/def$/i });
    const outcome = await reader().readScaleSet(id(`${base}/virtualMachineScaleSets/latest`));
    expect(outcome.status === "found" && outcome.snapshot.image).toMatchObject({ outcome: "noAccess", definitionId: def });
  });

  it("does not wait out a long Retry-After inside a function: throttled, with when to come back", async () => {
    sim.faults.add({ kind: "throttle", retryAfterSeconds: 3600, path: "/galleries/gal" });
    const outcome = await gallery();
    expect(outcome).toMatchObject({ status: "throttled", retryAfterMs: 3_600_000 });
  });

  it("a failing list throws a typed, retryable ArmReadError naming the operation", async () => {
    sim.faults.add({ kind: "error", status: 500, path: "/versions" });
    const listing = async () => {
      for await (const _ of reader(800).listImageVersions(id(def))) void _;
    };
    const error = await listing().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmReadError);
    expect((error as ArmReadError).operation).toBe("galleryImageVersions.listByGalleryImage");
    expect((error as ArmReadError).retryable).toBe(true);
  });

  it("trusts the simulator's certificate only through the CA given, never process-wide", async () => {
    const plain = await new Promise<string>((resolve) => {
      https.get(`${sim.url}/subscriptions/${SUB}?api-version=1`, () => resolve("connected")).on("error", (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
    });
    expect(plain).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);
  });
});
