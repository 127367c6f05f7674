/**
 * `npm start` as a person runs it: the summary, the URLs and a curl line that works; and however
 * it is stopped (Ctrl-C, SIGTERM to npm as an IDE or `timeout` sends it, SIGTERM to the process
 * group as a supervisor sends it), nothing is left: no process, no listener, no temporary folder.
 */
import { readFileSync } from "node:fs";
import https from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { descendants, killAll, npmStart, printed, startScript, waitForNothingLeft } from "./npmStartHarness.js";

/** GET with the CA file and the token exactly as `npm start` printed them in its curl line. */
function getAsPrinted(output: string): Promise<{ status: number; body: string }> {
  const m = /curl -sS --cacert (\S+) -H "Authorization: Bearer ([^"]+)" "([^"]+)"/.exec(output);
  if (!m) throw new Error(`no curl example printed; output:\n${output}`);
  const [, ca, token, url] = m;
  return new Promise((resolve, reject) => {
    https
      .get(url!, { ca: readFileSync(ca!), headers: { authorization: `Bearer ${token}` } }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

describe("npm start", () => {
  let started: number[] = [];
  afterEach(() => {
    // Hygiene when a test failed half-way: nothing it started may outlive it.
    killAll(started);
    started = [];
  });

  it("replays the case studies and prints the summary, the URLs, the subscription and a curl example", async () => {
    const run = startScript(["--once"]);
    expect(await run.exited).toBe(0);
    const out = run.output();
    expect(out).toMatch(/^Teams inbox: http:\/\/127\.0\.0\.1:\d+$/m);
    expect(out).toMatch(/^Simulated ARM: https:\/\/127\.0\.0\.1:\d+$/m);
    expect(out).toMatch(/^Azurite: blob http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1, queue http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1, table http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/m);
    // The replay's 12 writes (each exception is an approver's tag on someone else's change: separation of duties), and the OS disks the 2 VMs get, whose events gallery-watch ignores.
    expect(out).toMatch(/events processed:\s+15 \(0 failed and retried\)/);
    expect(out).toMatch(/findings:\s+8 opened, 0 escalated, 0 de-escalated, 2 excepted, 0 reopened, 4 resolved/);
    expect(out).toMatch(/cards delivered:\s+14/);
    expect(out).toMatch(/feed events:\s+14 /); // one CloudEvent per transition on the simulated Event Grid topic
    expect(out).toMatch(/events judged:\s+13 accepted, 2 ignored \(0 from unwatched subscriptions\), 0 refused/);
    expect(out).toMatch(/^Subscription: [0-9a-f-]{36}$/m);
    expect(out).toMatch(/curl -sS --cacert \S+simulated-arm-ca\.pem -H "Authorization: Bearer [\w-]+\.[\w-]+\." "https:\/\/127\.0\.0\.1:\d+\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/rg-plant\/.*\/gateway-os\/versions\/1\.0\.0\?api-version=2025-03-03"/);
  }, 150_000);

  const ways = [
    { name: "SIGTERM to the npm process (an IDE, `timeout`, a supervisor)", stop: (pid: number) => process.kill(pid, "SIGTERM") },
    { name: "Ctrl-C (SIGINT to the terminal's process group)", stop: (pid: number) => process.kill(-pid, "SIGINT") },
    { name: "SIGTERM to the process group", stop: (pid: number) => process.kill(-pid, "SIGTERM") },
  ];
  it.each(ways)("keeps running for a person to explore; $name leaves no process, listener or temporary folder", async ({ stop }) => {
    const run = npmStart();
    const pid = run.child.pid!;
    started.push(-pid);
    await run.until(/Ctrl-C stops everything/);
    const stack = printed(run.output());

    // It is there to be used: the inbox shows the cards, the printed curl line reads the gateway version.
    const cards = (await (await fetch(`${stack.inbox}/cards.json`)).json()) as unknown[];
    expect(cards).toHaveLength(14);
    expect(await (await fetch(`${stack.inbox}/`)).text()).toContain("gallery-watch — Teams inbox");
    const read = await getAsPrinted(run.output());
    expect(read.status).toBe(200);
    expect(JSON.parse(read.body)).toMatchObject({ name: "1.0.0" });
    // The printed host keys work, and the host refuses what comes without them, as Azure's does.
    const api = /curl -sS -H "x-functions-key: (\S+)" "(http:\/\/127\.0\.0\.1:\d+\/api\/findings)"/.exec(run.output())!;
    expect((await fetch(api[2]!)).status).toBe(401);
    expect((await fetch(api[2]!, { headers: { "x-functions-key": api[1]! } })).status).toBe(200);
    const webhook = /"(http:\/\/127\.0\.0\.1:\d+\/runtime\/webhooks\/eventgrid\?functionName=eventGridResourceEvent)&code=(\S+)"/.exec(run.output())!;
    const delivery = { method: "POST", headers: { "aeg-event-type": "Notification", "content-type": "application/json" }, body: "[]" };
    expect((await fetch(webhook[1]!, delivery)).status).toBe(401);
    expect((await fetch(`${webhook[1]}&code=${webhook[2]}`, delivery)).status).toBe(200);

    const before = descendants(pid);
    // npm, its shell, the start script and Azurite at least.
    expect(before.some((p) => p.cmdline.includes("azurite"))).toBe(true);
    started.push(...before.map((p) => p.pid));
    stop(pid);
    expect(await waitForNothingLeft(before, stack)).toEqual([]);
    expect(run.output()).toMatch(/stopping …/);
  }, 150_000);
});
