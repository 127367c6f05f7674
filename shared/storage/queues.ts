/**
 * Storage queues: the re-check queue and the sweep fan-out. Messages are Base64-encoded JSON,
 * which is what the Functions queue trigger expects by default
 * (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#encoding).
 */
import { QueueClient } from "@azure/storage-queue";
import { z } from "zod";
import type { ResourceId } from "../domain/resourceId.js";
import type { Attribution, RecheckQueue } from "../ports.js";
import { InvalidEventError, StorageError } from "../errors.js";
import type { StorageConnection } from "./tableClients.js";

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
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      await queue.createIfNotExists();
      await send();
    }
  } catch (error) {
    throw new StorageError("sendMessage", queue.name, (error as Error).message.split("\n")[0] ?? "", { cause: error });
  }
}

/** The Functions runtime hands over the decoded message, JSON-parsed when it parses. */
function messageObject(message: unknown): unknown {
  if (typeof message !== "string") return message;
  try {
    return JSON.parse(message);
  } catch {
    try {
      return JSON.parse(Buffer.from(message, "base64").toString());
    } catch {
      return message;
    }
  }
}

const Attribution = z.object({ eventId: z.string(), eventType: z.string(), eventTime: z.string() }).passthrough();
const RecheckMessage = z.object({ resourceId: z.string().max(1024), attempt: z.number().int().min(0).max(1000), attribution: Attribution.optional() });
const SweepMessage = z.object({ subscriptionId: z.string().uuid(), runId: z.string().max(200) });

function decode<T>(schema: z.ZodType<T>, kind: string, message: unknown): T {
  const parsed = schema.safeParse(messageObject(message));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidEventError(undefined, `${kind} message: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

export function decodeRecheckMessage(message: unknown): { resourceId: string; attempt: number; attribution?: Attribution } {
  return decode(RecheckMessage, "re-check", message) as { resourceId: string; attempt: number; attribution?: Attribution };
}

export function decodeSweepMessage(message: unknown): { subscriptionId: string; runId: string } {
  return decode(SweepMessage, "sweep", message);
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

/** Wakes the alert sender: the message carries nothing, the outbox holds the alerts. */
export interface DeliveryQueue {
  /** `delaySeconds`: wake it then (a storm's group held until its interval ends). */
  wake(delaySeconds?: number): Promise<void>;
}

export function createQueueDeliveryQueue(conn: StorageConnection, name: string): DeliveryQueue {
  return {
    async wake(delaySeconds = 0) {
      await sendJson(await openQueue(conn, name), { wake: true }, delaySeconds);
    },
  };
}
