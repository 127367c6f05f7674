/**
 * The resource store against the real Azurite, behind a small proxy that fails one table's
 * writes: a storage failure between the history row and the current row must never leave a
 * current state whose history is lost (the retry would find it unchanged and write none); and a
 * change row, once written, is not written again when the same event comes back.
 */
import http from "node:http";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTableResourceStore } from "../../shared/adapters/tables/tableResourceStore.js";
import { contentHashOf } from "../../shared/domain/contentHash.js";
import type { Trigger } from "../../shared/app/ports.js";
import { aVersion, regions } from "../support/snapshotBuilders.js";

let proxy: http.Server;
let failing: RegExp | undefined;
let tableUrl: URL;
let proxied: string;

beforeAll(async () => {
  const real = inject("azuriteConnectionString");
  tableUrl = new URL(/TableEndpoint=([^;]+)/.exec(real)![1]!);
  proxy = http.createServer((req, res) => {
    // A storage outage for one table: the request is answered 503 (the SDK retries, then gives up).
    if (failing?.test(req.url ?? "") && req.method !== "GET") {
      req.resume();
      res.writeHead(503, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ "odata.error": { code: "ServerBusy", message: { value: "injected outage" } } }));
    }
    const upstream = http.request({ host: tableUrl.hostname, port: tableUrl.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const port = (proxy.address() as AddressInfo).port;
  proxied = real.replace(/TableEndpoint=[^;]+/, `TableEndpoint=http://127.0.0.1:${port}${tableUrl.pathname}`);
});
afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

describe("tableResourceStore under a storage failure", () => {
  it("a write that fails between history and the current row is completed by the retry: the new state is in history", { timeout: 60_000 }, async () => {
    const prefix = `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const store = createTableResourceStore({ connectionString: proxied }, prefix);
    const trigger: Trigger = { source: "event", attribution: { eventId: "e1", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-24T10:00:00Z" } };
    const before = aVersion();
    await store.recordSnapshot({ snapshot: before, contentHash: contentHashOf(before), observedAt: "2026-11-24T10:00:00.000Z", trigger });

    const after = aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") });
    const write = (observedAt: string) => store.recordSnapshot({ snapshot: after, contentHash: contentHashOf(after), observedAt, trigger: { ...trigger, attribution: { ...trigger.attribution, eventId: "e2" } } });
    failing = new RegExp(`/${prefix}Snapshots`, "i");
    await expect(write("2026-11-24T10:05:00.000Z")).rejects.toThrow();
    failing = undefined;
    // The platform retries the event: a new read, a new observation time.
    await write("2026-11-24T10:05:30.000Z");

    const current = await store.current(after.id.key);
    const history = await store.history(after.id.key);
    expect(contentHashOf(current!)).toBe(contentHashOf(after));
    expect(history[0]?.contentHash).toBe(contentHashOf(after));
    expect(history.map((h) => h.contentHash)).toContain(contentHashOf(before));
  });

  it("the same event delivered again records its change with no request, while a failed change write is retried in full", { timeout: 60_000 }, async () => {
    const prefix = `t${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const store = createTableResourceStore({ connectionString: proxied }, prefix);
    const version = aVersion();
    const change = (eventId: string) => ({ resourceKey: version.id.key, resourceId: version.id.display, action: "coalesced" as const, observedAt: "2026-11-24T10:00:01.000Z", trigger: { source: "event" as const, attribution: { eventId, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-24T10:00:00Z" } } });
    await store.recordChange(change("e1"));
    failing = new RegExp(`/${prefix}Change`, "i");
    try {
      // Written once: Event Grid's second delivery needs nothing from storage, even in an outage.
      await store.recordChange(change("e1"));
      // Never written: the outage reaches the caller, so the platform retries the event.
      await expect(store.recordChange(change("e2"))).rejects.toThrow();
    } finally {
      failing = undefined;
    }
    await store.recordChange(change("e2"));
    const recorded = await store.changes(version.id.key);
    expect(recorded.map((c) => (c.trigger.source === "event" ? c.trigger.attribution.eventId : "")).sort()).toEqual(["e1", "e2"]);
  });
});

