/** The re-check, sweep and delivery queues against the real Azurite the test run starts. */
import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { QueueClient } from "@azure/storage-queue";
import { createQueueDeliveryQueue, createQueueRecheckQueue } from "../../shared/adapters/queues/queues.js";
import { decodeRecheckMessage, wakesFeedOnly } from "../../shared/app/inputs.js";
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

  it("a wake of the alert senders says when only the findings feed has something new; any other message wakes both", async () => {
    const name = `q${randomUUID().replace(/-/g, "").slice(0, 20)}`;
    const delivery = createQueueDeliveryQueue({ connectionString: connectionString() }, name);
    await delivery.wake();
    await delivery.wake(0, { feedOnly: true });
    const { receivedMessageItems } = await new QueueClient(connectionString(), name).receiveMessages({ numberOfMessages: 5 });
    expect(receivedMessageItems.map((m) => wakesFeedOnly(m.messageText))).toEqual([false, true]);
    for (const other of ["", "not json", { wake: true, feedOnly: "yes" }, null]) expect(wakesFeedOnly(other)).toBe(false);
  });
});
