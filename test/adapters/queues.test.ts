/** The re-check and sweep queues against the real Azurite the test run starts. */
import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { QueueClient } from "@azure/storage-queue";
import { createQueueRecheckQueue } from "../../shared/adapters/queues/queues.js";
import { decodeRecheckMessage } from "../../shared/app/inputs.js";
import { aVersion } from "../support/snapshotBuilders.js";

const connectionString = () => inject("azuriteConnectionString");

describe("queues", () => {
  it("a queue deleted under a running app (a restarted Azurite, a deleted queue) is created again on the next send", async () => {
    const name = `q${randomUUID().replace(/-/g, "").slice(0, 20)}`;
    const recheck = createQueueRecheckQueue({ connectionString: connectionString() }, name);
    await recheck.schedule(aVersion().id, 0, 1);
    const queue = new QueueClient(connectionString(), name);
    await queue.delete();

    await recheck.schedule(aVersion().id, 0, 2);

    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 5 });
    expect(receivedMessageItems.map((m) => decodeRecheckMessage(m.messageText).attempt)).toEqual([2]);
  });
});
