/**
 * An Event Grid endpoint for adapter tests: a plain HTTP server on loopback that keeps every event
 * the simulated ARM delivers to it (Event Grid schema: a JSON array per request), in arrival order.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { EventSink } from "../../local/armSimulator/events.js";

export interface EventReceiver {
  /** What to pass as the simulator's `eventSink`. */
  readonly sink: EventSink;
  /** The events received since the last `clear()`. */
  readonly events: any[];
  clear(): void;
  close(): Promise<void>;
}

export async function startEventReceiver(): Promise<EventReceiver> {
  const events: any[] = [];
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      events.push(...(JSON.parse(text) as unknown[]));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    sink: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, schema: "EventGridSchema" },
    events,
    clear: () => void events.splice(0),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
