/**
 * `npm start` takes the person's settings: the environment over local.settings.json over the
 * local stack's defaults, validated before anything starts; the stack keeps its own storage, ARM
 * and webhook and says so; `--persist` / GW_LOCAL_PERSIST keeps Azurite's data in `.azurite/`,
 * and without it nothing is written to the folder it runs in.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { TableClient, TableServiceClient } from "@azure/data-tables";
import { afterEach, describe, expect, it } from "vitest";
import { npmStart, startScript } from "./npmStartHarness.js";
import { startAzurite, type RunningAzurite } from "../../local/azurite.js";

// Any free ports: the stop tests in npmStart.test.ts run at the same time and check that the usual ones are released.
const ANY_PORTS = { GW_LOCAL_USUAL_PORTS: "false" };

describe("npm start's settings", () => {
  const dirs: string[] = [];
  let azurite: RunningAzurite | undefined;
  afterEach(async () => {
    await azurite?.stop();
    azurite = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "gw-npm-start-"));
    dirs.push(dir);
    return dir;
  };

  it("stops with the validation message naming every bad setting, and a non-zero exit, before starting anything", async () => {
    const run = npmStart([], { GW_MAX_REGIONS: "abc", GW_RECHECK_DELAY_SECONDS: "0", GW_LOCAL_PERSIST: "maybe" });
    const code = await run.exited;
    expect(code).not.toBe(0);
    const out = run.output();
    expect(out).toContain("gallery-watch cannot start: 3 setting(s) need fixing");
    expect(out).toMatch(/GW_MAX_REGIONS: 'abc' is not a whole number between 1 and 60/);
    expect(out).toMatch(/GW_RECHECK_DELAY_SECONDS: '0'/);
    expect(out).toMatch(/GW_LOCAL_PERSIST: 'maybe' is neither true nor false/);
    expect(out).not.toContain("Simulated ARM:");
  }, 60_000);

  it("judges with the environment over local.settings.json (GW_MAX_REGIONS=5: five regions raise nothing), keeps its own storage / ARM / webhook, writes nothing where it runs", async () => {
    const cwd = tempDir();
    writeFileSync(
      path.join(cwd, "local.settings.json"),
      JSON.stringify({
        IsEncrypted: false,
        Values: {
          GW_MAX_REGIONS: "3",
          GW_RECHECK_MAX_ATTEMPTS: "7",
          GW_TEAMS_MAX_RPS: "",
          AzureWebJobsStorage: "UseDevelopmentStorage=true",
          GW_ARM_ENDPOINT: "https://management.azure.com",
          GW_TEAMS_WEBHOOK_URL: "https://prod-00.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=fake-file-sig",
        },
      }),
    );
    const run = startScript(["--once"], { cwd, env: { ...ANY_PORTS, GW_MAX_REGIONS: "5" } });
    expect(await run.exited).toBe(0);
    const out = run.output();
    expect(out).toMatch(/^ {2}GW_MAX_REGIONS=5 {3}\(from the environment\)$/m);
    expect(out).toMatch(/^ {2}GW_RECHECK_MAX_ATTEMPTS=7 {3}\(from local\.settings\.json\)$/m);
    expect(out).toMatch(/uses its own AzureWebJobsStorage, GW_ARM_ENDPOINT, GW_TEAMS_WEBHOOK_URL .* from local\.settings\.json are not used here/);
    expect(out).not.toContain("fake-file-sig");
    // The gateway image goes to five regions: with 5 allowed, no replication-breadth finding opens or resolves.
    expect(out).toMatch(/Priya adds three more regions[^\n]*\n[^\n]*\n {4}cards: {4}none/);
    expect(out).toMatch(/findings:\s+7 opened, 0 escalated, 0 de-escalated, 2 excepted, 0 reopened, 3 resolved/);
    expect(out).toMatch(/cards delivered:\s+12/);
    expect(out).toContain("Storage data is in memory only");
    expect(readdirSync(cwd)).toEqual(["local.settings.json"]);
  }, 150_000);

  it("--persist, or GW_LOCAL_PERSIST=true, keeps Azurite's data in .azurite/ across restarts", async () => {
    const cwd = tempDir();
    const first = startScript(["--persist", "--once"], { cwd, env: ANY_PORTS });
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain("Storage data is kept in .azurite/ across restarts");
    const second = startScript(["--once"], { cwd, env: { ...ANY_PORTS, GW_LOCAL_PERSIST: "true" } });
    expect(await second.exited).toBe(0);
    expect(second.output()).toContain("Storage data is kept in .azurite/");
    expect(readdirSync(cwd)).toContain(".azurite");

    // Both runs stored under the same tables; a fresh Azurite on the folder finds them.
    azurite = await startAzurite({ location: path.join(cwd, ".azurite") });
    const service = TableServiceClient.fromConnectionString(azurite.connectionString, { allowInsecureConnection: true });
    const tables: string[] = [];
    for await (const table of service.listTables()) tables.push(table.name!);
    expect(tables.filter((t) => t.startsWith("gw")).length).toBeGreaterThan(0);
    let rows = 0;
    for (const table of tables) {
      const client = TableClient.fromConnectionString(azurite.connectionString, table, { allowInsecureConnection: true });
      for await (const _ of client.listEntities()) rows++;
    }
    expect(rows).toBeGreaterThan(0);
  }, 200_000);
});
