/**
 * Noise cannot starve signal: `forged` events for resources ARM has never shown (scale sets and
 * image versions in a watched subscription) arrive at the Event Grid endpoint while one genuine
 * change is made to a version gallery-watch has recorded. ARM's read limits are on (250 burst,
 * 25/s). Figures: the genuine change's write → card, and the rows written for the forged ones.
 */
import pLimit from "p-limit";
import { pino } from "pino";
import { startLocalStack } from "../local/stack.js";
import { armWrite } from "../local/armWrite.js";
import { ARM_LIMITS } from "../local/armSimulator/throttle.js";
import { waitUntilQuiet } from "../local/quiet.js";
import { runtime } from "../shared/wiring/composition.js";

export async function benchNoise(forged: number): Promise<Record<string, string | number>> {
  const throttle = { reads: ARM_LIMITS.reads, writes: { burst: 1_000_000, perSecond: 1_000_000 } };
  const stack = await startLocalStack({ log: pino({ level: "silent" }), settleMs: 0, throttle, settings: { GW_LOG_LEVEL: "silent" } });
  try {
    const sub = stack.subscriptionId;
    const rg = `/subscriptions/${sub}/resourceGroups/rg-noise/providers/Microsoft.Compute`;
    const definition = `${rg}/galleries/noiseGallery/images/def`;
    const version = `${definition}/versions/1.0.0`;
    const caller = { name: "Bench", upn: "bench@contoso.example" };
    const body = (regions: string[]) => ({
      location: "westeurope",
      tags: { owner: "o", approver: "a" },
      properties: { publishingProfile: { targetRegions: regions.map((name) => ({ name })), excludeFromLatest: true, endOfLifeDate: "2027-06-30T00:00:00Z" }, storageProfile: { source: { virtualMachineId: `/subscriptions/${sub}/resourceGroups/rg-capture/providers/Microsoft.Compute/virtualMachines/vm` } } },
    });
    stack.arm.estate.putResourceGroup(sub, "rg-noise");
    await armWrite(stack.arm, caller, "PUT", `${rg}/galleries/noiseGallery`, { location: "westeurope", properties: {} });
    await armWrite(stack.arm, caller, "PUT", definition, { location: "westeurope", tags: { owner: "o", approver: "a" }, properties: { osType: "Linux", osState: "Specialized", identifier: { publisher: "p", offer: "o", sku: "s" } } });
    await armWrite(stack.arm, caller, "PUT", version, body(["West Europe"]));
    await waitUntilQuiet(stack, 60_000);
    // The genuine change comes to a quiet resource: past the coalescing window of its last check.
    await new Promise((r) => setTimeout(r, 3_000));
    const cardsBefore = stack.inbox.cards().length;

    // Half scale sets (a GET each), half versions under the recorded definition (a listing answers many).
    const forgedIds = Array.from({ length: forged }, (_, n) => (n % 2 === 0 ? `${rg}/virtualMachineScaleSets/forged-${n}` : `${definition}/versions/9.${Math.floor(n / 1000)}.${n % 1000}`));
    const event = (n: number) => ({
      id: `forged-${n}`,
      topic: `/subscriptions/${sub}`,
      subject: forgedIds[n],
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      eventTime: new Date().toISOString(),
      dataVersion: "2",
      metadataVersion: "1",
      data: { operationName: n % 2 === 0 ? "Microsoft.Compute/virtualMachineScaleSets/write" : "Microsoft.Compute/galleries/images/versions/write", resourceUri: forgedIds[n], status: "Succeeded", claims: { name: "Forger" } },
    });
    const limit = pLimit(64);
    const started = performance.now();
    const flood = Promise.all(
      forgedIds.map((_, n) =>
        limit(() => fetch(stack.host.eventGridUrl("eventGridResourceEvent"), { method: "POST", headers: { "content-type": "application/json", "aeg-event-type": "Notification" }, body: JSON.stringify([event(n)]) }).then((r) => r.arrayBuffer())),
      ),
    );
    // The genuine change, a second into the flood.
    await new Promise((r) => setTimeout(r, 1_000));
    const writtenAt = Date.now();
    await armWrite(stack.arm, caller, "PUT", version, body(["West Europe", "North Europe", "East US", "West US"]));
    const deadline = Date.now() + 120_000;
    while (stack.inbox.cards().length === cardsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const cardSeconds = (Date.now() - writtenAt) / 1000;
    // Where the time went: the genuine write's event as the simulated Event Grid posted it and the host acknowledged it.
    const genuine = stack.arm.events.sent.filter((e) => e.subject.toLowerCase() === version.toLowerCase()).at(-1);
    const since = (iso: string | undefined) => (iso === undefined ? "?" : ((Date.parse(iso) - writtenAt) / 1000).toFixed(1));
    await flood;
    const deliveredSeconds = (performance.now() - started) / 1000;
    await stack.host.idle(600_000);
    const absorbedSeconds = (performance.now() - started) / 1000;

    let rows = 0;
    let token: string | undefined;
    do {
      const page = await runtime().dependencies({ invocationId: "bench", functionName: "bench" }).resources.changesSince({ since: new Date(Date.now() - 3_600_000).toISOString(), caller: "Forger", limit: 1000, ...(token ? { continuationToken: token } : {}) });
      rows += page.items.length;
      token = page.continuationToken;
    } while (token);
    const got = stack.inbox.cards().length > cardsBefore;
    return {
      "forged events (resources ARM never showed)": forged,
      "genuine change's write → card during the flood": `${got ? cardSeconds.toFixed(1) : "none"} s   target ≤ 5`,
      "genuine event posted / acknowledged after the write": `${since(genuine?.postedAt)} s / ${since(genuine?.deliveredAt)} s`,
      "forged events delivered in": `${deliveredSeconds.toFixed(1)} s`,
      "forged events absorbed (re-checks included) in": `${absorbedSeconds.toFixed(1)} s`,
      "change rows written for forged resources": `${rows}   target 0`,
    };
  } finally {
    await stack.close();
  }
}
