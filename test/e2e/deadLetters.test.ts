/**
 * Dead letters are not the end. A delivery the host refuses with 400 is not retried by Event Grid
 * but dead-lettered to blob storage (https://learn.microsoft.com/azure/event-grid/delivery-and-retry#dead-letter-events);
 * the `redriveDeadLetters` timer re-drives it through the Event Grid handler, and the resource ends up
 * stored. Messages the queue trigger gave up on (`<queue>-poison`,
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages)
 * go back on their queue once, and are counted and named in the logs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { QueueClient } from "@azure/storage-queue";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { CALLERS, rg } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";
import { createBlobDeadLetterStore } from "../../shared/adapters/blobs/blobDeadLetters.js";
import { REDRIVEN_MARK } from "../../shared/app/deadLetters.js";

let stack: LocalStack;
const lines: Array<Record<string, any>> = [];

beforeAll(async () => {
  const logDestination = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, any>) };
  stack = await startLocalStack({ seed: caseStudySeed(undefined, new Date()), log: pino({ level: "silent" }), logDestination });
  // Event Grid's schedule a thousand times faster; dead letters into the stack's Azurite.
  stack.arm.events.configure({ timeScale: 1 / 1000, deadLetter: { connectionString: stack.azurite.connectionString, container: stack.settings.GW_DEADLETTER_CONTAINER! } });
});
afterAll(async () => {
  await stack?.close();
});

const deadLetters = () => createBlobDeadLetterStore({ connectionString: stack.azurite.connectionString }, stack.settings.GW_DEADLETTER_CONTAINER!);
/** Every blob in the stack's dead-letter container, read through the adapter. */
async function deadLetterBlobs() {
  const store = deadLetters();
  return Promise.all((await store.list(100)).map((name) => store.read(name)));
}

async function history(id: string): Promise<Record<string, any>> {
  const response = await fetch(`${stack.host.url}/api/resources/history?id=${encodeURIComponent(id)}`, { headers: { "x-functions-key": stack.keys.function } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, any>;
}

function queue(name: string): QueueClient {
  return new QueueClient(stack.azurite.connectionString, name);
}

describe("dead-lettered events", () => {
  it("a delivery refused with 400 lands in the dead-letter container; redriveDeadLetters stores the resource and removes the blob", async () => {
    const gallery = `${rg(stack, "rg-forensics")}/galleries/deadLetterGallery`;
    // A proxy in front of the app strips aeg-event-type: the host answers 400, which Event Grid never retries.
    stack.arm.events.omitHeadersOnce(["aeg-event-type"]);
    await armWrite(stack.arm, CALLERS.sam, "PUT", gallery, { location: "westeurope", tags: { owner: "forensics" }, properties: { description: "dead-letter drill" } });
    await stack.arm.events.idle();
    const dead = stack.arm.events.deadLettered.filter((d) => d.subject === gallery);
    expect(dead).toMatchObject([{ reason: "UndeliverableDueToClientError", attempts: 1, lastHttpStatusCode: 400 }]);
    expect(stack.arm.events.sent.map((s) => s.id)).not.toContain(dead[0]!.id);
    // Never stored: the history API says so (404) rather than answering an empty, clean-looking 200.
    expect((await fetch(`${stack.host.url}/api/resources/history?id=${encodeURIComponent(gallery)}`, { headers: { "x-functions-key": stack.keys.function } })).status).toBe(404);

    const blobs = await deadLetterBlobs();
    expect(blobs).toHaveLength(1);
    expect(blobs[0]!.events![0]).toMatchObject({ subject: gallery, deadLetterReason: "UndeliverableDueToClientError", lastHttpStatusCode: 400, deliveryAttempts: 1 });

    await stack.host.invoke("redriveDeadLetters");
    await waitUntilQuiet(stack);
    const view = await history(gallery);
    expect(view.snapshot.snapshot.kind).toBe("gallery");
    // The re-driven event is attributed to its caller, whether its re-read judged it at once or after a re-check (the write was still settling).
    expect(view.changes[0]).toMatchObject({ trigger: { attribution: { callerUpn: CALLERS.sam.upn } } });
    expect(view.changes.some((c: { trigger: { source: string } }) => c.trigger.source === "event")).toBe(true);
    expect(await deadLetterBlobs()).toEqual([]);
    const warning = lines.find((l) => l.functionName === "redriveDeadLetters" && l.deadLettered !== undefined);
    expect(warning).toMatchObject({ level: 40, deadLettered: 1, reasons: { UndeliverableDueToClientError: 1 } });

    // Nothing left: the next run finds nothing and says nothing.
    const before = lines.length;
    await stack.host.invoke("redriveDeadLetters");
    expect(lines.slice(before).filter((l) => l.deadLettered !== undefined)).toEqual([]);
  });

  it("a blob whose event still cannot be handled stays for the next run", async () => {
    const store = deadLetters();
    const gallery = `${rg(stack, "rg-forensics")}/galleries/throttledGallery`;
    stack.arm.estate.put({ id: gallery, body: { location: "westeurope", properties: {} } });
    await store.write("GALLERY-WATCH-TEST/GALLERY-WATCH/2025/01/01/00/11111111-1111-4111-8111-111111111111.json", [
      {
        id: "6f1f2e3d-4c5b-4a69-8877-665544332211",
        topic: `/subscriptions/${stack.subscriptionId}`,
        subject: gallery,
        eventType: "Microsoft.Resources.ResourceWriteSuccess",
        eventTime: new Date().toISOString(),
        dataVersion: "2",
        metadataVersion: "1",
        data: { operationName: "Microsoft.Compute/galleries/write", resourceUri: gallery, status: "Succeeded" },
        deadLetterReason: "MaxDeliveryAttemptsExceeded",
        deliveryAttempts: 30,
        lastDeliveryOutcome: "ServiceUnavailable",
        lastHttpStatusCode: 503,
        publishTime: new Date().toISOString(),
        lastDeliveryAttemptTime: new Date().toISOString(),
      },
    ]);
    // ARM throttles every read of it: the handler throws, as it does for Event Grid to retry.
    stack.arm.faults.add({ kind: "throttle", retryAfterSeconds: 1, method: "GET", path: "/galleries/throttledGallery", times: 1000 });
    await stack.host.invoke("redriveDeadLetters");
    expect(await store.list(10)).toEqual(["GALLERY-WATCH-TEST/GALLERY-WATCH/2025/01/01/00/11111111-1111-4111-8111-111111111111.json"]);
    stack.arm.faults.clear();
    await stack.host.invoke("redriveDeadLetters");
    await waitUntilQuiet(stack);
    expect(await store.list(10)).toEqual([]);
    expect((await history(gallery)).snapshot.snapshot.kind).toBe("gallery");
  });
});

describe("poison queue messages", () => {
  it("go back on their queue once, and a message poisoned again stays, counted and logged with its id", async () => {
    const recheck = stack.settings.GW_RECHECK_QUEUE!;
    const poison = queue(`${recheck}-poison`);
    await poison.createIfNotExists();
    const gallery = `${rg(stack, "rg-forensics")}/galleries/forensicsGallery`;
    const encode = (body: unknown) => Buffer.from(JSON.stringify(body)).toString("base64");
    const fresh = await poison.sendMessage(encode({ resourceId: gallery, attempt: 1 }));
    const again = await poison.sendMessage(encode({ resourceId: gallery, attempt: 1, [REDRIVEN_MARK]: "2025-01-01T00:00:00.000Z" }));
    const before = stack.host.stats().invocations.recheckResource?.succeeded ?? 0;

    await stack.host.invoke("redriveDeadLetters");
    await waitUntilQuiet(stack);

    expect(stack.host.stats().invocations.recheckResource?.succeeded).toBe(before + 1);
    const left = await poison.peekMessages({ numberOfMessages: 32 });
    expect(left.peekedMessageItems.map((m) => m.messageId)).toEqual([again.messageId]);
    const warning = lines.find((l) => l.queue === `${recheck}-poison`);
    expect(warning).toMatchObject({ level: 40, poisonMessages: 2, requeued: [fresh.messageId], left: [again.messageId] });
    expect(String(warning!.msg)).toContain(again.messageId);
  });
});
