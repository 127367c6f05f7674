/**
 * The read budget hears today's ARM through the real transport: Microsoft's 2025 recorded read
 * answers carry `x-ms-ratelimit-remaining-subscription-global-reads` and no per-principal count,
 * and the lower of the two is believed (shared/adapters/arm/readBudget.ts). A small HTTPS server answers
 * a gallery GET with the headers under test.
 */
import https from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "selfsigned";
import { computeArmInventoryFactory } from "../../shared/adapters/arm/computeArmInventory.js";
import { ReadBudget } from "../../shared/adapters/arm/readBudget.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import { localDevCredential } from "../../local/localCredential.js";

const SUB = "00000000-0000-0000-0000-000000000000";
const GALLERY = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal`;
let headers: Record<string, string> = {};
let server: https.Server;
let url = "";
let ca = "";

beforeAll(async () => {
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keySize: 2048,
    algorithm: "sha256",
    extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] }],
  } as Parameters<typeof generate>[1]);
  ca = pems.cert;
  server = https.createServer({ key: pems.private, cert: pems.cert }, (_req, res) => {
    res.writeHead(200, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify({ id: GALLERY, name: "gal", type: "Microsoft.Compute/galleries", location: "westeurope", properties: { sharingProfile: { permissions: "Private" }, provisioningState: "Succeeded" } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function readWith(answer: Record<string, string>): Promise<number> {
  headers = answer;
  const budget = new ReadBudget();
  const arm = computeArmInventoryFactory({ credential: localDevCredential(), endpoint: url, caCertPem: ca, readBudget: budget, maxRetries: 0 })();
  expect((await arm.readGallery(parseResourceId(GALLERY))).status).toBe("found");
  return budget.available(SUB);
}

describe("ARM's remaining-reads headers", () => {
  it("a global count alone (today's answers) is believed when it is lower than our own", async () => {
    expect(await readWith({ "x-ms-ratelimit-remaining-subscription-global-reads": "3" })).toBeLessThan(3 + 1); // + what refilled since (25/s)
  });

  it("with both, the lower binds: the per-principal count under a roomy global one, the global one when other principals spent it", async () => {
    expect(await readWith({ "x-ms-ratelimit-remaining-subscription-reads": "7", "x-ms-ratelimit-remaining-subscription-global-reads": "3749" })).toBeLessThan(7 + 1);
    expect(await readWith({ "x-ms-ratelimit-remaining-subscription-reads": "240", "x-ms-ratelimit-remaining-subscription-global-reads": "4" })).toBeLessThan(4 + 1);
  });

  it("a roomy global count leaves our own count alone", async () => {
    const left = await readWith({ "x-ms-ratelimit-remaining-subscription-global-reads": "3749" });
    expect(left).toBeGreaterThan(240);
    expect(left).toBeLessThanOrEqual(250);
  });
});
