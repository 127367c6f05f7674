/**
 * Storage queues: the re-check queue and the sweep fan-out. Messages are Base64-encoded JSON,
 * which is what the Functions queue trigger expects by default
 * (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#encoding).
 */
import { statusOf } from "../../platform/sdkErrors.js";
import { QueueClient } from "@azure/storage-queue";
import type { ResourceId } from "../../domain/resourceId.js";
import type { Attribution, DeliveryQueue, RecheckQueue } from "../../app/ports.js";
import { StorageError } from "../../domain/errors.js";
import type { StorageConnection } from "../tables/tableClients.js";

const queues = new Map<string, Promise<QueueClient>>();

export function openQueue(conn: StorageConnection, name: string): Promise<QueueClient> {
  const key = `${"connectionString" in conn ? conn.connectionString : conn.queueEndpoint}|${name}`;
  let queue = queues.get(key);
  if (!queue) {
    queue = (async () => {
      const retryOptions = { maxTries: 4, tryTimeoutInMs: 15_000 };
      const client =
        "connectionString" in conn
          ? new QueueClient(conn.connectionString, name, { retryOptions })
          : new QueueClient(`${conn.queueEndpoint.replace(/\/$/, "")}/${name}`, conn.credential, { retryOptions });
      await client.createIfNotExists();
      return client;
    })();
    queues.set(key, queue);
    queue.catch(() => queues.delete(key));
  }
  return queue;
}

export async function sendJson(queue: QueueClient, body: unknown, visibilityTimeoutSeconds = 0): Promise<void> {
  const send = () =>
    queue.sendMessage(Buffer.from(JSON.stringify(body)).toString("base64"), {
      visibilityTimeout: visibilityTimeoutSeconds,
      abortSignal: AbortSignal.timeout(15_000),
    });
  try {
    try {
      await send();
    } catch (error) {
      // A queue lost under a running app (a restarted Azurite, a deleted queue) is created again.
      if (statusOf(error) !== 404) throw error;
      await queue.createIfNotExists();
      await send();
    }
  } catch (error) {
    throw new StorageError("sendMessage", queue.name, (error as Error).message.split("\n")[0] ?? "", { cause: error });
  }
}

export function createQueueRecheckQueue(conn: StorageConnection, name: string): RecheckQueue {
  return {
    async schedule(id: ResourceId, delaySeconds: number, attempt: number, attribution?: Attribution) {
      await sendJson(await openQueue(conn, name), { resourceId: id.display, attempt, ...(attribution ? { attribution } : {}) }, delaySeconds);
    },
  };
}

export interface SweepQueue {
  enqueue(message: { subscriptionId: string; runId: string }): Promise<void>;
}

export function createQueueSweepQueue(conn: StorageConnection, name: string): SweepQueue {
  return { enqueue: async (message) => sendJson(await openQueue(conn, name), message) };
}

export type { DeliveryQueue } from "../../app/ports.js";

export function createQueueDeliveryQueue(conn: StorageConnection, name: string): DeliveryQueue {
  return {
    async wake(delaySeconds = 0, options = {}) {
      await sendJson(await openQueue(conn, name), { wake: true, ...(options.feedOnly ? { feedOnly: true } : {}) }, delaySeconds);
    },
  };
}
