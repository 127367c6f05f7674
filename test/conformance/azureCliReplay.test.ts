/**
 * (d) Real Azure traffic, replayed: every interaction of Microsoft's azure-cli scenario recordings
 * in ../shared/fixtures/azure-cli-recordings/ (read its README) is sent to the simulator over HTTPS
 * as the recorded client sent it — same method, path, api-version and body, in recorded order,
 * against one simulator per recording (the resources a recording created earlier are there) — and
 * its answer is compared with Azure's:
 *
 * - the status;
 * - the long-running-operation headers: `Azure-AsyncOperation` / `Location` present exactly when
 *   Azure sent them, of the form `…/locations/{region}/capsOperations/{id}?[monitor=true&]api-version=`
 *   with the request's api-version; no `Retry-After` where Azure sent none; the write counter where
 *   Azure sent it;
 * - the poll sequence: an operation Azure reported `InProgress` is still in progress, one it reported
 *   `Succeeded` has succeeded, with the same body (`name`, `status`, `startTime`, `endTime` when done);
 * - the body, key for key and value for value, except values Azure generates: ids of operations,
 *   a gallery's unique name, a community gallery's public name and a scale set's uniqueId are
 *   checked for their form once and then stand for each other in every later interaction; times
 *   are checked to be ISO date-times.
 *
 * Time: the simulator runs on a clock the replay moves. Before each interaction the clock moves on
 * by the settling time, except before a poll Azure answered `InProgress` — so every operation is
 * still running exactly where Azure's was, and done where Azure's was. Where the recording's
 * client made a request the extraction did not keep (its notes say so), PRECONDITIONS makes it.
 *
 * Differences that are not the simulator's to fix are listed in EXPLAINED with the reason; any other
 * difference is a divergence and fails the test. The suite prints how many interactions it replayed
 * and how many diverge.
 */
import { afterAll, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { fixturesDir, readFixture, SKIP_REASON } from "../support/fixtures.js";
import { armRequest, type RawResponse } from "./armHttp.js";
import { recordValidated } from "./summary.js";

const present = fixturesDir() !== undefined;
if (!present) console.warn(SKIP_REASON);

interface Interaction {
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  readonly command: string;
  readonly requestBody?: unknown;
  readonly headers?: Record<string, string>;
  readonly body: unknown;
  readonly note?: string;
}

interface Recording {
  readonly source: { readonly path: string; readonly recorded: string };
  readonly interactions: readonly Interaction[];
}

/** The recordings' zeroed subscription (as in Microsoft's files) and resource group. */
const SUB = "00000000-0000-0000-0000-000000000000";
const RG = "clitest.rg000001";
const SETTLE_MS = 60_000;
const MANAGED_IMAGE = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/images/managedImage1`;

/** A difference the simulator is not expected to remove, with Microsoft's evidence for why. */
interface Explained {
  readonly file: string;
  /** Interaction indexes it applies to. */
  readonly at: readonly number[];
  /** The body path (`properties.storageProfile.dataDiskImages`), matched as a prefix. */
  readonly path: string;
  readonly reason: string;
}

const SOURCE_DISKS =
  "data disks come from the source managed image (managedImage1 had a 10 GB data disk in test_gallery_e2e and test_create_vm_with_shared_gallery_image, none in test_community_gallery_operations); the simulator does not model managed images, so it reports no data disk it cannot know";
const SOFT_DELETE =
  "softDeletePolicy was answered in eastus in 2021-10 only: the same api-version (2021-07-01) in eastus2 in 2022-02 (test_gallery_e2e) and centraluseuap in 2022-03 (test_community_gallery_operations) answers no softDeletePolicy; the simulator follows the later answers";
const SHARED_VERSION_2021 =
  "this 2021-10 read of a shared version carries only publishedDate; the same read of a community version with the same api-version in 2022-03 (test_community_gallery_operations #22) carries excludeFromLatest and storageProfile.osDiskImage, as GalleryRP 2025-03-03's SharedGalleryImageVersionProperties declares them; the simulator answers the later shape";

const EXPLAINED: readonly Explained[] = [
  { file: "test_gallery_e2e.json", at: [11, 12, 13, 14, 22, 31], path: "properties.storageProfile.dataDiskImages", reason: SOURCE_DISKS },
  { file: "test_gallery_e2e.json", at: [31], path: "value[0].properties.storageProfile.dataDiskImages", reason: SOURCE_DISKS },
  { file: "test_gallery_e2e.json", at: [31], path: "value[1].properties.storageProfile.dataDiskImages", reason: SOURCE_DISKS },
  { file: "test_gallery_e2e.json", at: [12], path: "value[0].properties.storageProfile.dataDiskImages", reason: SOURCE_DISKS },
  { file: "test_create_vm_with_shared_gallery_image.json", at: [8], path: "properties.storageProfile.dataDiskImages", reason: SOURCE_DISKS },
  { file: "test_create_vm_with_shared_gallery_image.json", at: [0, 2, 9, 19], path: "properties.softDeletePolicy", reason: SOFT_DELETE },
  { file: "test_create_vm_with_shared_gallery_image.json", at: [13], path: "properties.excludeFromLatest", reason: SHARED_VERSION_2021 },
  { file: "test_create_vm_with_shared_gallery_image.json", at: [13], path: "properties.storageProfile", reason: SHARED_VERSION_2021 },
];

/**
 * The recorder sanitises names in URLs and bodies (`clitest.rg000001`), but missed the upper-cased
 * resource group of test_gallery_e2e #3 (its note): that is `clitest.rg000001` upper-cased.
 */
const RECORDER_ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "test_gallery_e2e.json": { "CLITEST.RGVYTMF6YWZREJS2BXOU45OIEQTHRCGBEACJMGMAXA5CZMPPRA6OUEOAGAK43SY57HH": RG.toUpperCase() },
};

/** What the recording's client did before an interaction whose own request was not recorded (the extraction's notes). */
type Precondition = (replay: Replay) => Promise<void>;

/** `az sig image-version create --managed-image managedImage1` as the CLI sends it (the same command's request is recorded in test_community_gallery_operations #9). */
const createVersion = (gallery: string, image: string, region: string, recordedOperation: string): Precondition => async (replay) => {
  const path = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/galleries/${gallery}/images/${image}/versions/1.1.2?api-version=2021-07-01`;
  const answer = await replay.send("PUT", path, { location: region, tags: {}, properties: { publishingProfile: { targetRegions: [{ name: region }], replicaCount: 1 }, storageProfile: { source: { id: MANAGED_IMAGE } } } });
  expect(answer.status, `precondition PUT ${path}: ${answer.text}`).toBe(201);
  replay.learnOperation(recordedOperation, String(answer.headers["azure-asyncoperation"]));
};

const PRECONDITIONS: Readonly<Record<string, Readonly<Record<number, Precondition>>>> = {
  // "1.1.2 from a managed image; the PUT itself was not read"
  "test_gallery_e2e.json": { 10: createVersion("gallery_000003", "image1", "eastus2", "91132586-be4f-4909-bd87-a01a3a6aeca2") },
  "test_create_vm_with_shared_gallery_image.json": {
    6: createVersion("gellery000007", "image000008", "eastus", "c7fb5d08-bf04-4b0b-bad4-318de5237736"),
    // "scale set created (through a deployment) from imageReference.sharedGalleryImageId": the deployment is not
    // recorded, so the scale set is written with the body Azure read back (less what Azure fills in), with the
    // recording's scale-set api-version — the write must be accepted: a Generalized shared image takes an osProfile.
    15: async (replay) => {
      const recorded = replay.recording.interactions[15]!;
      const { id: _id, name: _name, type: _type, ...body } = structuredClone(recorded.body) as Record<string, any>;
      delete body.properties.provisioningState;
      delete body.properties.uniqueId;
      const path = new URL(recorded.uri).pathname;
      body.properties.virtualMachineProfile.storageProfile.imageReference.sharedGalleryImageId = replay.substitute(body.properties.virtualMachineProfile.storageProfile.imageReference.sharedGalleryImageId);
      const answer = await replay.send("PUT", `${path}?api-version=2021-07-01`, body);
      expect(answer.status, `precondition PUT ${path}: ${answer.text}`).toBe(201);
    },
  },
};

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const TIME_KEYS = new Set(["startTime", "endTime", "publishedDate"]);

interface Difference {
  readonly path: string;
  readonly what: string;
}

class Replay {
  /** Recorded generated value → the simulator's, longest first when applied. */
  private readonly substitutions = new Map<string, string>();
  /** Recorded operation id → the simulator's status URL (no query). */
  private readonly operationUrls = new Map<string, string>();
  private now = Date.parse("2026-12-01T08:00:00Z");
  readonly clock = { now: () => this.now, advance: (ms: number) => void (this.now += ms) };
  sim!: RunningArmSimulator;

  constructor(
    readonly file: string,
    readonly recording: Recording,
  ) {
    for (const [recorded, ours] of Object.entries(RECORDER_ALIASES[file] ?? {})) this.substitutions.set(recorded, ours);
  }

  async start(): Promise<void> {
    this.sim = await startArmSimulator({ clock: this.clock.now, settleMs: SETTLE_MS });
    // The recordings' test harness created the resource group (not part of the extraction).
    this.sim.estate.putResourceGroup(SUB, RG, "eastus");
  }

  send(method: string, pathAndQuery: string, body?: unknown): Promise<RawResponse> {
    return armRequest(this.sim, method, `${this.sim.url}${pathAndQuery}`, body === undefined ? {} : { body });
  }

  substitute(value: string): string {
    let out = value;
    for (const [recorded, ours] of [...this.substitutions].sort((a, b) => b[0].length - a[0].length)) out = out.split(recorded).join(ours);
    return out;
  }

  learn(recorded: string, ours: string): void {
    if (recorded !== ours) this.substitutions.set(recorded, ours);
  }

  learnOperation(recordedId: string, ourUrl: string): void {
    const ours = /\/(?:caps)?[oO]perations\/([^/?]+)/.exec(ourUrl)?.[1];
    if (!ours) throw new Error(`not an operation URL: ${ourUrl}`);
    this.learn(recordedId, ours);
    this.operationUrls.set(recordedId, ourUrl.split("?")[0]!);
  }

  /** The request this interaction makes against the simulator: the recorded path and query, generated values substituted, operation polls sent to our operation. */
  requestFor(interaction: Interaction): string | undefined {
    const url = new URL(interaction.uri);
    const operation = /\/capsOperations\/([^/]+)$/i.exec(url.pathname)?.[1];
    if (operation) {
      const ours = this.operationUrls.get(operation);
      return ours ? `${new URL(ours).pathname}${url.search}` : undefined;
    }
    return this.substitute(`${url.pathname}${url.search}`);
  }

  /** Headers: the LRO headers Azure sent, in form, and none it did not send. */
  compareHeaders(interaction: Interaction, answer: RawResponse, apiVersion: string): Difference[] {
    const differences: Difference[] = [];
    const recorded = interaction.headers ?? {};
    for (const name of ["azure-asyncoperation", "location"] as const) {
      const theirs = recorded[name];
      const ours = answer.headers[name] as string | undefined;
      if (!theirs && ours) differences.push({ path: `header ${name}`, what: `sent '${ours}', Azure sent none` });
      if (theirs && !ours) differences.push({ path: `header ${name}`, what: `missing (Azure: '${theirs}')` });
      if (!theirs || !ours) continue;
      const region = /\/locations\/([^/]+)\//.exec(theirs)![1]!;
      const monitor = name === "location" ? "monitor=true&" : "";
      const form = new RegExp(`^${escape(this.sim.url)}/subscriptions/${SUB}/providers/Microsoft\\.Compute/locations/${escape(region)}/capsOperations/(${UUID})\\?${monitor}api-version=${escape(apiVersion)}$`, "i");
      const match = form.exec(ours);
      if (!match) differences.push({ path: `header ${name}`, what: `'${ours}' is not of the form of Azure's '${theirs}'` });
      else if (name === "azure-asyncoperation") this.learnOperation(/capsOperations\/([^?]+)/.exec(theirs)![1]!, ours);
    }
    if (answer.headers["retry-after"] !== undefined && recorded["retry-after"] === undefined) differences.push({ path: "header retry-after", what: `sent ${String(answer.headers["retry-after"])}, Azure sent none` });
    for (const [name, value] of Object.entries(recorded)) {
      if (name.startsWith("x-ms-ratelimit-") && !/^\d+$/.test(String(answer.headers[name] ?? ""))) differences.push({ path: `header ${name}`, what: `missing (Azure: ${value})` });
    }
    // Today's ARM answers every read with its counters (the recordings predate them; Learn's throttling page wins).
    if (interaction.method === "GET" && !/^\d+$/.test(String(answer.headers["x-ms-ratelimit-remaining-subscription-global-reads"] ?? ""))) differences.push({ path: "header x-ms-ratelimit-remaining-subscription-global-reads", what: "missing on a read" });
    return differences;
  }

  /** Bodies key for key and value for value; generated values learned on first sight, then substituted. */
  compareBody(recorded: unknown, ours: unknown, path = ""): Difference[] {
    const at = (key: string | number) => (typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key);
    if (typeof recorded === "string") {
      if (typeof ours !== "string") return [{ path, what: `expected a string like '${recorded}', got ${JSON.stringify(ours)}` }];
      const key = path.split(".").pop() ?? "";
      if (TIME_KEYS.has(key)) return ISO_TIME.test(ours) ? [] : [{ path, what: `'${ours}' is not an ISO date-time` }];
      const expected = this.substitute(recorded);
      if (expected === ours) return [];
      const generated = this.generated(path, recorded, ours);
      if (generated === true) return [];
      return [{ path, what: generated || `'${ours}' where Azure answered '${recorded}'` }];
    }
    if (Array.isArray(recorded)) {
      if (!Array.isArray(ours)) return [{ path, what: `expected an array, got ${JSON.stringify(ours)}` }];
      if (recorded.length !== ours.length) return [{ path, what: `${ours.length} items where Azure answered ${recorded.length}` }];
      return recorded.flatMap((item, i) => this.compareBody(item, ours[i], at(i)));
    }
    if (typeof recorded === "object" && recorded !== null) {
      if (typeof ours !== "object" || ours === null || Array.isArray(ours)) return [{ path, what: `expected an object, got ${JSON.stringify(ours)}` }];
      const r = recorded as Record<string, unknown>;
      const o = ours as Record<string, unknown>;
      const missing = Object.keys(r).filter((k) => !(k in o)).map((k) => ({ path: at(k), what: "missing" }));
      const extra = Object.keys(o).filter((k) => !(k in r)).map((k) => ({ path: at(k), what: `not in Azure's answer: ${JSON.stringify(o[k])}` }));
      return [...missing, ...extra, ...Object.keys(r).filter((k) => k in o).flatMap((k) => this.compareBody(r[k], o[k], at(k)))];
    }
    return recorded === ours ? [] : [{ path, what: `${JSON.stringify(ours)} where Azure answered ${JSON.stringify(recorded)}` }];
  }

  /** Values Azure generates: checked for their form the first time, then substituted. `true` when learned; a message when the form is wrong. */
  private generated(path: string, recorded: string, ours: string): true | string | undefined {
    const forms: Array<[RegExp, (ours: string) => boolean]> = [
      // Gallery unique name: `{subscription}-{GALLERY NAME UPPER-CASED}` (GalleryRP.json GalleryIdentifier.uniqueName; Gallery_Get.json).
      [/(^|\.)identifier\.uniqueName$/, (o) => new RegExp(`^${SUB}-[A-Z0-9_.-]+$`).test(o)],
      // Community public name: `{publicNamePrefix}-{uuid}`.
      [/communityGalleryInfo\.publicNames\[\d+\]$/, (o) => new RegExp(`^${escape(recorded.replace(new RegExp(`-${UUID}$`), ""))}-${UUID}$`).test(o)],
      // A scale set's uniqueId.
      [/(^|\.)properties\.uniqueId$/, (o) => new RegExp(`^${UUID}$`).test(o)],
      // The operation id in an operation's body.
      [/^name$/, (o) => new RegExp(`^${UUID}$`).test(o) && new RegExp(`^${UUID}$`).test(recorded)],
    ];
    for (const [where, form] of forms) {
      if (!where.test(path)) continue;
      if (!form(ours)) return `'${ours}' is not of the form of Azure's generated '${recorded}'`;
      this.learn(recorded, ours);
      return true;
    }
    return undefined;
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const FILES = ["test_gallery_e2e.json", "test_community_gallery_operations.json", "test_create_vm_with_shared_gallery_image.json"] as const;
const totals = { replayed: 0, diverging: 0, explained: 0 };

describe.skipIf(!present)("Microsoft's recorded Azure traffic replayed against the simulator (azure-cli-recordings)", () => {
  afterAll(() => {
    console.log(`azure-cli recordings: ${totals.replayed} interactions replayed, ${totals.diverging} diverge, ${totals.explained} differences explained (see EXPLAINED in ${import.meta.filename.split("/").slice(-2).join("/")})`);
  });

  for (const file of FILES) {
    it(`${file}: every interaction answers as Azure did`, async ({ task }) => {
      const recording = readFixture<Recording>(`azure-cli-recordings/${file}`);
      const replay = new Replay(file, recording);
      await replay.start();
      const divergences: string[] = [];
      let explained = 0;
      try {
        for (const [index, interaction] of recording.interactions.entries()) {
          const url = new URL(interaction.uri);
          const apiVersion = url.searchParams.get("api-version")!;
          const recordedStatus = (interaction.body as { status?: string } | undefined)?.status;
          const isPoll = /\/capsOperations\//i.test(url.pathname);
          await PRECONDITIONS[file]?.[index]?.(replay);
          if (!(isPoll && recordedStatus === "InProgress")) replay.clock.advance(SETTLE_MS + 1);
          const request = replay.requestFor(interaction);
          if (request === undefined) {
            divergences.push(`#${index} ${interaction.method} ${url.pathname} (${interaction.command}): a poll of an operation the simulator never announced in Azure's form`);
            continue;
          }
          const answer = await replay.send(interaction.method, request, interaction.requestBody);
          const differences: Difference[] = [];
          if (answer.status !== interaction.status) differences.push({ path: "status", what: `${answer.status} where Azure answered ${interaction.status}: ${answer.text.slice(0, 300)}` });
          differences.push(...replay.compareHeaders(interaction, answer, apiVersion));
          const recordedBody = interaction.body === "" ? undefined : interaction.body;
          if (recordedBody === undefined) {
            if (answer.text !== "") differences.push({ path: "body", what: `Azure's answer was empty, ours: ${answer.text.slice(0, 200)}` });
          } else differences.push(...replay.compareBody(recordedBody, answer.body));
          for (const difference of differences) {
            const reason = EXPLAINED.find((e) => e.file === file && e.at.includes(index) && difference.path.startsWith(e.path));
            if (reason) explained++;
            else divergences.push(`#${index} ${interaction.method} ${url.pathname} (${interaction.command}) ${difference.path}: ${difference.what}`);
          }
        }
      } finally {
        await replay.sim.close();
      }
      totals.replayed += recording.interactions.length;
      totals.diverging += divergences.length;
      totals.explained += explained;
      expect(divergences, `${file} (${recording.source.recorded}): divergences from Azure's recorded answers`).toEqual([]);
      recordValidated(task, "recorded interactions", recording.interactions.length, `replayed ${file}: ${recording.interactions.length} recorded Azure interactions over HTTPS in order, 0 diverge (status, LRO headers, poll sequence, bodies; ${explained} differences explained in azureCliReplay.test.ts)`);
    });
  }

  it("the comparison is not vacuous: a changed status, header or body value is a divergence", async () => {
    const recording = readFixture<Recording>("azure-cli-recordings/test_gallery_e2e.json");
    const replay = new Replay("test_gallery_e2e.json", recording);
    await replay.start();
    try {
      const put = recording.interactions[0]!;
      expect(replay.compareBody(put.body, { ...(put.body as object), location: "westus" })).toEqual([{ path: "location", what: "'westus' where Azure answered 'eastus2'" }]);
      expect(replay.compareBody(put.body, { ...(put.body as object), extra: 1 }).map((d) => d.path)).toEqual(["extra"]);
      const fakeAnswer = { status: 201, headers: { "azure-asyncoperation": `${replay.sim.url}/x`, location: `${replay.sim.url}/y` }, body: undefined, text: "" } as RawResponse;
      expect(replay.compareHeaders(put, fakeAnswer, "2021-07-01").map((d) => d.path)).toEqual(["header azure-asyncoperation", "header location"]);
    } finally {
      await replay.sim.close();
    }
  });
});
