/** The simulated ARM's own contract: what real ARM refuses, it refuses; events carry the caller. */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { armWrite } from "../../local/armWrite.js";

const SUB = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d";
const gallery = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal`;
let sim: RunningArmSimulator;
let received: Array<{ headers: http.IncomingHttpHeaders; body: any }> = [];
let receiver: http.Server;

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      received.push({ headers: req.headers, body: JSON.parse(text) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  sim = await startArmSimulator({ settleMs: 300, eventSink: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, schema: "EventGridSchema" } });
  // ARM refuses writes into a resource group that does not exist (ResourceGroupNotFound).
  sim.estate.putResourceGroup(SUB, "rg");
});
afterAll(async () => {
  await sim?.close();
  receiver?.close();
});

const raw = (path: string, init: { method?: string; auth?: boolean } = {}) =>
  new Promise<{ status: number; body: any }>((resolve, reject) => {
    const url = new URL(path, sim.url);
    const req = https.request(url, { method: init.method ?? "GET", ca: sim.caCertPem, headers: init.auth === false ? {} : { authorization: "Bearer x" } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on("error", reject);
    req.end();
  });



describe("simulated ARM", () => {
  const caller = { name: "Priya Patel", upn: "priya@contoso.example" };

  it("creates (201), reports provisioning until settled, updates (200), and emits a write event naming the caller from the JWT", async () => {
    received = [];
    const created = await armWrite(sim, caller, "PUT", gallery, { location: "westeurope", properties: {} });
    expect(created.status).toBe(201);
    expect((created.body as any).properties.provisioningState).toBe("Creating");
    await new Promise((r) => setTimeout(r, 400));
    expect((await raw(`${gallery}?api-version=2025-03-03`)).body.properties.provisioningState).toBe("Succeeded");
    expect((await armWrite(sim, caller, "PUT", gallery, { location: "westeurope", properties: {} })).status).toBe(200);
    await sim.events.idle();
    expect(received).toHaveLength(2);
    expect(received[0]!.headers["aeg-event-type"]).toBe("Notification");
    expect(received[0]!.body[0]).toMatchObject({ eventType: "Microsoft.Resources.ResourceWriteSuccess", subject: gallery, data: { operationName: "Microsoft.Compute/galleries/write", claims: { name: "Priya Patel" } } });
  });

  it.each([
    ["no api-version", `${gallery}`, {}, 400, "MissingApiVersionParameter"],
    ["no bearer token", `${gallery}?api-version=2025-03-03`, { auth: false }, 401, "AuthenticationFailed"],
    ["a missing resource", `${gallery}/images/nope?api-version=2025-03-03`, {}, 404, "ResourceNotFound"],
  ])("refuses %s like ARM", async (_label, path, init, status, code) => {
    const response = await raw(path, init);
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });

  it("refuses a child without its parent, and deleting a gallery that still holds images", async () => {
    await expect(armWrite(sim, caller, "PUT", `${gallery}/images/def/versions/1.0.0`, { location: "westeurope", properties: {} })).rejects.toThrow(/404.*ParentResourceNotFound/);
    await armWrite(sim, caller, "PUT", `${gallery}/images/def`, { location: "westeurope", properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: "o", sku: "s" } } });
    await expect(armWrite(sim, caller, "DELETE", gallery)).rejects.toThrow(/409/);
  });

  it("delivers duplicates and, when held, newest first", async () => {
    received = [];
    sim.events.setDuplicates(3);
    await armWrite(sim, caller, "PUT", `${gallery}/images/def`, { location: "westeurope", properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: "o", sku: "s" } } });
    await sim.events.idle();
    expect(new Set(received.map((r) => r.body[0].id)).size).toBe(1);
    expect(received).toHaveLength(3);
    sim.events.setDuplicates(1);
    received = [];
    sim.events.holdForReorder(true);
    await armWrite(sim, caller, "PUT", gallery, { location: "westeurope", tags: { step: "1" }, properties: {} });
    await armWrite(sim, caller, "DELETE", `${gallery}/images/def`);
    await sim.events.flush();
    sim.events.holdForReorder(false);
    expect(received.map((r) => r.body[0].eventType)).toEqual(["Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Resources.ResourceWriteSuccess"]);
  });
});
