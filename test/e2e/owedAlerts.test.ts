/**
 * `gallery-watch alerts owed` / `alerts resend` as a person runs them, against a local stack whose
 * Teams inbox misbehaves: the owed card is listed with its reason, and a resend delivers it once,
 * saying it may repeat the send that got no answer.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { CALLERS, ids } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { runCli } from "../support/processes.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "gallery-watch-owed-"));
let s: LocalStack;
beforeAll(async () => {
  s = await startLocalStack({ seed: caseStudySeed(undefined, new Date()), log: pino({ level: "silent" }), settings: { GW_OUTBOX_SCHEDULE: "*/1 * * * * *", GW_TEAMS_TIMEOUT_MS: "1000" } });
});
afterAll(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (args: readonly string[]) => runCli(args, { cwd: dir, settings: s.settings });

describe("gallery-watch alerts", () => {
  it("lists an ambiguous send as owed and resends it once on request, the card saying it may repeat the earlier one", async () => {
    expect(JSON.parse((await cli(["alerts", "owed", "--output", "json"])).stdout)).toEqual([]);
    s.inbox.faults.slowNext(1, 3000); // the card is posted, the answer comes after the 1 s timeout
    const body = structuredClone(s.arm.estate.get(ids(s).plantVersion)) as Record<string, any>;
    body.properties.publishingProfile.targetRegions = ["West Europe", "North Europe", "East US"].map((name) => ({ name, regionalReplicaCount: 1 }));
    await armWrite(s.arm, CALLERS.priya, "PUT", ids(s).plantVersion, { location: body.location, tags: body.tags, properties: body.properties });
    let owed: Array<Record<string, any>> = [];
    const deadline = Date.now() + 30_000;
    while (owed.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      owed = JSON.parse((await cli(["alerts", "owed", "--output", "json"])).stdout) as Array<Record<string, any>>;
    }
    expect(owed).toHaveLength(1);
    expect(owed[0]).toMatchObject({ Reason: "ambiguous", Rule: "replication-breadth", Severity: "high" });
    await new Promise((r) => setTimeout(r, 3000)); // outbox runs meanwhile: nothing is re-sent on its own
    expect(s.inbox.attempts()).toHaveLength(1);

    const table = await cli(["alerts", "owed"]);
    expect(table.stdout).toContain(owed[0]!.AlertId);
    expect(table.stderr).toContain("look in the channel");

    const resent = await cli(["alerts", "resend", owed[0]!.AlertId, "--output", "json"]);
    expect(resent.code).toBe(0);
    // Sent by the CLI itself, or by the stack's outbox timer if it claimed it first: once either way.
    expect(JSON.parse(resent.stdout)).toMatchObject({ resent: 1, stillOwed: 0, alertIds: [owed[0]!.AlertId] });
    const sentDeadline = Date.now() + 10_000;
    while (s.inbox.cards().length < 2 && Date.now() < sentDeadline) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 2000));
    expect(s.inbox.cards()).toHaveLength(2);
    expect(JSON.stringify(s.inbox.cards()[1]!.card)).toContain("may have posted this card already");
    expect(JSON.parse((await cli(["alerts", "owed", "--output", "json"])).stdout)).toEqual([]);

    const again = await cli(["alerts", "resend", owed[0]!.AlertId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("not owed");
    expect((await cli(["alerts", "resend"])).code).toBe(2);
  }, 120_000);
});
