/**
 * What the Azure CLI needs from the simulated ARM around the resources (local/armSimulator/cliSurface.ts),
 * over HTTPS as az sends it, without az: OpenID discovery and the password grant at the AD FS-shaped
 * authority, a token whose caller reaches the events' claims, cloud metadata, tenants, subscriptions,
 * resource-group lists and providers; and an image-version update PUT without a source, as
 * `az sig image-version update` sends it. test/az/ drives the same through az itself.
 */
import http from "node:http";
import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startArmSimulator, type RunningArmSimulator } from "../../local/armSimulator/index.js";
import { LOCAL_SUBSCRIPTION } from "../../local/subscription.js";
import { startEventReceiver, type EventReceiver } from "../support/eventReceiver.js";

const SUB = LOCAL_SUBSCRIPTION;
let sim: RunningArmSimulator;
let receiver: EventReceiver;

beforeAll(async () => {
  receiver = await startEventReceiver();
  sim = await startArmSimulator({ settleMs: 0, eventSink: receiver.sink });
  sim.estate.putResourceGroup(SUB, "rg-one");
  sim.estate.putResourceGroup(SUB, "rg-two");
});
afterAll(async () => {
  await sim?.close();
  await receiver?.close();
});

function request(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, sim.url), { method: init.method ?? "GET", ca: sim.caCertPem, headers: init.headers ?? {} }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;

/** The password grant as MSAL sends it for `az login -u … -p …` (form body, az's client id, ARM's scope). */
const passwordGrant = (username: string) =>
  request("/adfs/oauth2/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", client_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", username, password: "anything", scope: "https://management.core.windows.net//.default offline_access openid profile" }).toString(),
  });

describe("the simulated ARM serves what the Azure CLI needs", () => {
  it("publishes an AD FS authority (OpenID discovery) whose issuer is itself, so MSAL asks no Microsoft host", async () => {
    const { status, body } = await request("/adfs/.well-known/openid-configuration");
    expect(status).toBe(200);
    expect(body).toMatchObject({ issuer: `${sim.url}/adfs`, token_endpoint: `${sim.url}/adfs/oauth2/token`, authorization_endpoint: `${sim.url}/adfs/oauth2/authorize` });
  });

  it("issues a token naming the user for the password grant; a write with it carries that user in the event's claims", async () => {
    const { status, body } = await passwordGrant("priya.patel@contoso.example");
    expect(status).toBe(200);
    expect(body.token_type).toBe("Bearer");
    const access = claimsOf(body.access_token);
    expect(access).toMatchObject({ aud: "https://management.core.windows.net/", name: "Priya Patel", upn: "priya.patel@contoso.example", appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46" });
    // MSAL checks the id token's issuer and audience (its client id).
    expect(claimsOf(body.id_token)).toMatchObject({ iss: `${sim.url}/adfs`, aud: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", upn: "priya.patel@contoso.example" });
    // The same user gets the same object id on every sign-in (history keeps one caller).
    expect(claimsOf((await passwordGrant("priya.patel@contoso.example")).body.access_token).oid).toBe(access.oid);

    receiver.clear();
    const galleryId = `/subscriptions/${SUB}/resourceGroups/rg-one/providers/Microsoft.Compute/galleries/galToken`;
    const written = await request(`${galleryId}?api-version=2022-03-03`, { method: "PUT", headers: { authorization: `Bearer ${body.access_token}`, "content-type": "application/json" }, body: JSON.stringify({ location: "westeurope" }) });
    expect(written.status).toBe(201);
    await sim.events.idle();
    const event = receiver.events.find((e) => e.subject === galleryId);
    expect(event.data.claims).toMatchObject({ name: "Priya Patel", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "priya.patel@contoso.example", "http://schemas.microsoft.com/identity/claims/objectidentifier": access.oid });

    const refreshed = await request("/adfs/oauth2/token", { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: body.refresh_token, scope: "https://management.core.windows.net//.default" }).toString() });
    expect(refreshed.status).toBe(200);
    expect(claimsOf(refreshed.body.access_token)).toMatchObject({ upn: "priya.patel@contoso.example" });
  });

  it("refuses a grant it cannot serve with an OAuth error, not a 5xx", async () => {
    const refused = await request("/adfs/oauth2/token", { method: "POST", body: "grant_type=client_credentials&client_id=x&client_secret=y" });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("unsupported_grant_type");
    const noUser = await request("/adfs/oauth2/token", { method: "POST", body: "grant_type=password&client_id=x" });
    expect(noUser.status).toBe(400);
    expect(noUser.body.error).toBe("invalid_request");
  });

  it("serves the cloud metadata az cloud register reads (one cloud for 2015-01-01, a list from 2019-05-01)", async () => {
    const one = await request("/metadata/endpoints?api-version=2015-01-01");
    expect(one.status).toBe(200);
    expect(one.body.authentication).toMatchObject({ loginEndpoint: `${sim.url}/adfs`, audiences: expect.arrayContaining(["https://management.core.windows.net/"]) });
    const list = await request("/metadata/endpoints?api-version=2019-05-01");
    expect(list.body[0]).toMatchObject({ name: "GalleryWatchLocal", resourceManager: `${sim.url}/` });
  });

  it("lists tenants, subscriptions and resource groups, and gets a subscription, as ARM answers them with a bearer token", async () => {
    const auth = { authorization: "Bearer x" };
    expect((await request("/tenants?api-version=2022-09-01", { headers: auth })).body.value).toEqual([expect.objectContaining({ tenantId: expect.any(String), tenantCategory: "Home" })]);
    const subscriptions = await request("/subscriptions?api-version=2022-09-01", { headers: auth });
    expect(subscriptions.body.value).toEqual(expect.arrayContaining([expect.objectContaining({ subscriptionId: SUB, state: "Enabled", id: `/subscriptions/${SUB}` })]));
    expect((await request(`/subscriptions/${SUB}?api-version=2022-09-01`, { headers: auth })).body.subscriptionId).toBe(SUB);
    const unknown = await request("/subscriptions/00000000-0000-0000-0000-000000000001?api-version=2022-09-01", { headers: auth });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("SubscriptionNotFound");
    const groups = await request(`/subscriptions/${SUB}/resourcegroups?api-version=2022-09-01`, { headers: auth });
    expect(groups.body.value.map((g: { name: string }) => g.name)).toEqual(expect.arrayContaining(["rg-one", "rg-two"]));
    // ARM's own checks still apply: no token, no answer.
    expect((await request("/subscriptions?api-version=2022-09-01")).status).toBe(401);
    expect((await request("/tenants", { headers: auth })).status).toBe(400);
  });

  it("lists a provider's resource types with the api-versions the simulator accepts (az resource picks one from it)", async () => {
    const compute = await request(`/subscriptions/${SUB}/providers/Microsoft.Compute?api-version=2022-09-01`, { headers: { authorization: "Bearer x" } });
    expect(compute.status).toBe(200);
    const types = compute.body.resourceTypes as Array<{ resourceType: string; apiVersions: string[] }>;
    expect(types.find((t) => t.resourceType === "galleries/images/versions")?.apiVersions).toContain("2025-03-03");
    expect(types.find((t) => t.resourceType === "virtualMachineScaleSets")?.apiVersions).toContain("2025-04-01");
    expect(types.find((t) => t.resourceType === "virtualMachines")?.apiVersions).toContain("2026-03-01");
    expect(types.find((t) => t.resourceType === "disks")?.apiVersions).toContain("2025-01-02");
    expect((await request(`/subscriptions/${SUB}/providers/Microsoft.Nothing?api-version=2022-09-01`, { headers: { authorization: "Bearer x" } })).status).toBe(404);
  });

  it("accepts an image-version update PUT without storageProfile.source, as Azure does (az sig image-version update sends none; test_gallery_e2e.json)", async () => {
    const auth = { authorization: "Bearer x", "content-type": "application/json" };
    const gallery = `/subscriptions/${SUB}/resourceGroups/rg-two/providers/Microsoft.Compute/galleries/galUpdate`;
    const put = (path: string, body: unknown) => request(`${path}?api-version=2022-03-03`, { method: "PUT", headers: auth, body: JSON.stringify(body) });
    expect((await put(gallery, { location: "westeurope" })).status).toBe(201);
    expect((await put(`${gallery}/images/def`, { location: "westeurope", properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: "o", sku: "s" } } })).status).toBe(201);
    const version = `${gallery}/images/def/versions/1.0.0`;
    const source = { id: `/subscriptions/${SUB}/resourceGroups/rg-two/providers/Microsoft.Compute/images/capture` };
    expect((await put(version, { location: "westeurope", properties: { storageProfile: { source }, publishingProfile: { targetRegions: [{ name: "westeurope" }] } } })).status).toBe(201);
    const updated = await put(version, { location: "westeurope", properties: { storageProfile: {}, publishingProfile: { targetRegions: [{ name: "westeurope" }, { name: "uksouth" }] } } });
    expect(updated.status).toBe(200);
    expect(updated.body.properties.publishingProfile.targetRegions).toHaveLength(2);
    // A create still needs its source.
    expect((await put(`${gallery}/images/def/versions/1.0.1`, { location: "westeurope", properties: { storageProfile: {} } })).status).toBe(400);
  });

  it("answers a running operation's poll with a short Retry-After when asked (npm start's stack), so az does not wait its default 30 s", async () => {
    const slow = await startArmSimulator({ settleMs: 60_000, throttle: false, pollRetryAfterSeconds: 1 });
    try {
      slow.estate.putResourceGroup(SUB, "rg-slow");
      const gallery = `/subscriptions/${SUB}/resourceGroups/rg-slow/providers/Microsoft.Compute/galleries/galSlow`;
      const written = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
        const req = https.request(new URL(`${gallery}?api-version=2022-03-03`, slow.url), { method: "PUT", ca: slow.caCertPem, headers: { authorization: "Bearer x", "content-type": "application/json" } }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.headers));
        });
        req.on("error", reject);
        req.end(JSON.stringify({ location: "westeurope" }));
      });
      const poll = await new Promise<{ headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => {
        https
          .get(String(written["azure-asyncoperation"]), { ca: slow.caCertPem, headers: { authorization: "Bearer x" } }, (res) => {
            let text = "";
            res.on("data", (c: Buffer) => (text += c.toString()));
            res.on("end", () => resolve({ headers: res.headers, body: JSON.parse(text) }));
          })
          .on("error", reject);
      });
      expect(poll.body.status).toBe("InProgress");
      expect(poll.headers["retry-after"]).toBe("1");
    } finally {
      await slow.close();
    }
  });
});
