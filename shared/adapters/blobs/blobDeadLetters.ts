/**
 * Dead letters in storage: the Event Grid subscription's dead-letter blob container
 * (https://learn.microsoft.com/azure/event-grid/manage-event-delivery#set-dead-letter-location) and
 * the `<queue>-poison` queues the Functions queue trigger fills after five failed dequeues
 * (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages).
 * The only code importing `@azure/storage-blob`.
 */
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import type { TokenCredential } from "@azure/core-auth";
import { QueueClient } from "@azure/storage-queue";
import type { DeadLetterBlob, DeadLetterStore, PoisonMessage, PoisonQueues } from "../../app/deadLetterPorts.js";
import { StorageError } from "../../domain/errors.js";
import type { StorageConnection } from "../tables/tableClients.js";
import { statusOf } from "../../platform/sdkErrors.js";
import { isLoopbackUrl } from "../../platform/loopback.js";

const TIMEOUT_MS = 15_000;
/** A dead-letter blob holds one delivery batch; Event Grid batches are at most 1 MB. Bigger is not ours. */
const MAX_BLOB_BYTES = 4 * 1024 * 1024;

/** A connection string (Azurite: `UseDevelopmentStorage=true`), or the app's storage connection. */
export type BlobConnection = { readonly connectionString: string } | StorageConnection | { readonly blobEndpoint: string; readonly credential: TokenCredential };

function containerClient(conn: BlobConnection, container: string): ContainerClient {
  const retryOptions = { maxTries: 4, tryTimeoutInMs: TIMEOUT_MS };
  if ("connectionString" in conn) return BlobServiceClient.fromConnectionString(conn.connectionString, { retryOptions }).getContainerClient(container);
  // Identity-based storage names table and queue endpoints; the blob endpoint of the same account follows the same pattern
  // (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity).
  const endpoint = "blobEndpoint" in conn ? conn.blobEndpoint : conn.queueEndpoint.replace(".queue.", ".blob.");
  if (!/^https:/i.test(endpoint) && !isLoopbackUrl(endpoint)) throw new StorageError("open", container, `blob endpoint '${endpoint}' is not https`);
  return new BlobServiceClient(endpoint, conn.credential, { retryOptions }).getContainerClient(container);
}

async function storage<T>(operation: string, container: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const message = `${statusOf(error) ?? "no status"} ${(error as Error).message?.split("\n")[0] ?? ""}`.trim().slice(0, 300);
    throw new StorageError(operation, container, message, { cause: error });
  }
}

export function createBlobDeadLetterStore(conn: BlobConnection, container: string): DeadLetterStore {
  const client = containerClient(conn, container);
  let created = false;
  return {
    container,
    async write(name, events) {
      const body = JSON.stringify(events);
      if (!created) {
        // Event Grid needs the container to exist; Azurite starts empty, so the writer creates it.
        await storage("createContainer", container, () => client.createIfNotExists({ abortSignal: AbortSignal.timeout(TIMEOUT_MS) }));
        created = true;
      }
      await storage("uploadBlob", container, () =>
        client.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
          blobHTTPHeaders: { blobContentType: "application/json" },
          abortSignal: AbortSignal.timeout(TIMEOUT_MS),
        }),
      );
    },
    async list(limit) {
      const names: string[] = [];
      try {
        for await (const item of client.listBlobsFlat({ abortSignal: AbortSignal.timeout(TIMEOUT_MS) })) {
          if (names.length >= limit) break;
          names.push(item.name);
        }
      } catch (error) {
        // No container yet: Event Grid has dead-lettered nothing.
        if (statusOf(error) === 404 && names.length === 0) return [];
        return storage("listBlobs", container, () => Promise.reject(error));
      }
      return names;
    },
    async read(name) {
      const blob = client.getBlobClient(name);
      const properties = await storage("getProperties", container, () => blob.getProperties({ abortSignal: AbortSignal.timeout(TIMEOUT_MS) }));
      if ((properties.contentLength ?? 0) > MAX_BLOB_BYTES) return { name, unreadable: `blob is ${properties.contentLength} bytes; a dead-letter blob holds one batch of at most 1 MB` };
      const buffer = await storage("download", container, () => blob.downloadToBuffer(0, undefined, { abortSignal: AbortSignal.timeout(TIMEOUT_MS) }));
      return parse(name, buffer.toString("utf8"));
    },
    async settle(name) {
      await storage("deleteBlob", container, () => client.deleteBlob(name, { deleteSnapshots: "include", abortSignal: AbortSignal.timeout(TIMEOUT_MS) }).then(() => undefined));
    },
  };
}

function parse(name: string, text: string): DeadLetterBlob {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed)) return { name, events: parsed };
    if (parsed !== null && typeof parsed === "object") return { name, events: [parsed] };
    return { name, unreadable: `blob holds a JSON ${typeof parsed}, not events` };
  } catch (error) {
    return { name, unreadable: `blob is not JSON: ${(error as Error).message.slice(0, 120)}` };
  }
}

function queueClient(conn: StorageConnection, name: string): QueueClient {
  const retryOptions = { maxTries: 4, tryTimeoutInMs: TIMEOUT_MS };
  return "connectionString" in conn
    ? new QueueClient(conn.connectionString, name, { retryOptions })
    : new QueueClient(`${conn.queueEndpoint.replace(/\/$/, "")}/${name}`, conn.credential, { retryOptions });
}

/** Queue messages are Base64 JSON, as the Functions queue trigger expects by default (see shared/adapters/queues/queues.ts). */
const encode = (body: unknown) => Buffer.from(typeof body === "string" ? body : JSON.stringify(body)).toString("base64");
function decode(text: string): unknown {
  const raw = Buffer.from(text, "base64").toString("utf8");
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function createQueuePoisonQueues(conn: StorageConnection): PoisonQueues {
  return {
    async sweep(queue, limit, decide) {
      const poison = queueClient(conn, `${queue}-poison`);
      const target = queueClient(conn, queue);
      const requeued: string[] = [];
      const left: string[] = [];
      let found: number;
      try {
        found = (await poison.getProperties({ abortSignal: AbortSignal.timeout(TIMEOUT_MS) })).approximateMessagesCount ?? 0;
      } catch (error) {
        if (statusOf(error) === 404) return { found: 0, requeued, left }; // nothing was ever poisoned
        return storage("getProperties", poison.name, () => Promise.reject(error));
      }
      if (found === 0) return { found, requeued, left };
      // Received (not peeked) so the copy can be deleted; 30 s invisibility covers the re-enqueue.
      const { receivedMessageItems } = await storage("receiveMessages", poison.name, () =>
        poison.receiveMessages({ numberOfMessages: Math.min(32, Math.max(1, limit)), visibilityTimeout: 30, abortSignal: AbortSignal.timeout(TIMEOUT_MS) }),
      );
      for (const item of receivedMessageItems) {
        const message: PoisonMessage = { messageId: item.messageId, dequeueCount: item.dequeueCount, body: decode(item.messageText) };
        const back = decide(message);
        if (back === undefined) {
          // Leave it: visible again at once, for the next look (and for people).
          await storage("updateMessage", poison.name, () => poison.updateMessage(item.messageId, item.popReceipt, undefined, 0, { abortSignal: AbortSignal.timeout(TIMEOUT_MS) }));
          left.push(item.messageId);
          continue;
        }
        await storage("sendMessage", target.name, () => target.sendMessage(encode(back), { abortSignal: AbortSignal.timeout(TIMEOUT_MS) }));
        await storage("deleteMessage", poison.name, () => poison.deleteMessage(item.messageId, item.popReceipt, { abortSignal: AbortSignal.timeout(TIMEOUT_MS) }));
        requeued.push(item.messageId);
      }
      return { found, requeued, left };
    },
  };
}
