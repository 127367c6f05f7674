/** Where the CLI reads from: --storage-account reads gallery-watch's storage in Azure with the signed-in identity, no connection string. */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveSettings } from "../../cli/settings.js";

describe("CLI settings", () => {
  it("--storage-account uses the account's endpoints with DefaultAzureCredential, ignoring a connection string, and needs no Teams webhook to read", () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), "gw-cli-"));
    const env = { GW_WATCHED_SUBSCRIPTIONS: "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f", AzureWebJobsStorage: "UseDevelopmentStorage=true", GALLERY_WATCH_STACK_FILE: path.join(cwd, "none.json") };
    const source = resolveSettings(env, cwd, "stgallerywatch");
    expect(source.config.storage).toMatchObject({ tableEndpoint: "https://stgallerywatch.table.core.windows.net", queueEndpoint: "https://stgallerywatch.queue.core.windows.net" });
    expect(source.description).toContain("signed-in identity");
  });

  it("--storage-account still names a missing or wrong setting, as the app would", () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), "gw-cli-"));
    expect(() => resolveSettings({ GALLERY_WATCH_STACK_FILE: path.join(cwd, "none.json") }, cwd, "stgallerywatch")).toThrow(/GW_WATCHED_SUBSCRIPTIONS/);
  });
});
