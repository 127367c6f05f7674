/**
 * The local Functions host's queue trigger fetches as the Functions host does: a batch of
 * `batchSize` (16, host.json), and the next batch once the messages still in progress are down to
 * `newBatchThreshold` (half the batch size by default). Learn, "Azure Queue storage trigger for
 * Azure Functions", host.json settings. One slow message does not hold back the ones behind it.
 */
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { pino } from "pino";
import { QueueClient } from "@azure/storage-queue";
import { startLocalHost, type LocalHost } from "../../local/host.js";
import type { FunctionDeclaration } from "../../functions/declaration.js";

const queueName = `hostq${Date.now().toString(36)}`;
const handled: string[] = [];
let releaseSlow!: () => void;
const slow = new Promise<void>((resolve) => (releaseSlow = resolve));

const declarations: FunctionDeclaration[] = [
  {
    name: "onMessage",
    trigger: { kind: "storageQueue", queueName, connection: "AzureWebJobsStorage" },
    handler: async (message: unknown) => {
      if (message === "slow") await slow;
      handled.push(String(message));
    },
  },
];

let host: LocalHost;
let queue: QueueClient;

beforeAll(async () => {
  const connection = inject("azuriteConnectionString");
  queue = new QueueClient(connection, queueName);
  await queue.createIfNotExists();
  // The slow one first, so it is in the first batch; then more than a batch behind it.
  await queue.sendMessage(Buffer.from(JSON.stringify("slow")).toString("base64"));
  for (let n = 0; n < 24; n++) await queue.sendMessage(Buffer.from(JSON.stringify(`fast-${n}`)).toString("base64"));
  host = await startLocalHost({ declarations, settings: {}, storageConnectionString: connection, log: pino({ level: "silent" }) });
});
afterAll(async () => {
  releaseSlow();
  await host?.close();
  await queue?.delete().catch(() => undefined);
});

it("messages beyond the first batch are handled while a message of that batch is still in progress", async () => {
  const deadline = Date.now() + 15_000;
  while (handled.length < 24 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  // The old host waited for its whole batch of 16: the nine messages behind it waited for the slow one.
  expect(handled.filter((m) => m.startsWith("fast-")).sort()).toEqual(Array.from({ length: 24 }, (_, n) => `fast-${n}`).sort());
  expect(handled).not.toContain("slow");
  releaseSlow();
  while (!handled.includes("slow") && Date.now() < deadline + 5_000) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(handled).toContain("slow");
});
