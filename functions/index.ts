/**
 * Entry point for the Azure Functions host: registers every declaration with `app.*`.
 * Trigger settings stay `%SETTING%` expressions; the host resolves them from app settings.
 */
import { app } from "@azure/functions";
import { declarations } from "./all.js";
import { httpAuthLevel } from "../shared/wiring/config.js";

const authLevel = httpAuthLevel(process.env);

for (const d of declarations) {
  switch (d.trigger.kind) {
    case "eventGrid":
      app.eventGrid(d.name, { handler: d.handler as Parameters<typeof app.eventGrid>[1]["handler"] });
      break;
    case "timer":
      app.timer(d.name, { schedule: d.trigger.schedule, runOnStartup: d.trigger.runOnStartup ?? false, handler: d.handler as Parameters<typeof app.timer>[1]["handler"] });
      break;
    case "storageQueue":
      app.storageQueue(d.name, { queueName: d.trigger.queueName, connection: d.trigger.connection, handler: d.handler as Parameters<typeof app.storageQueue>[1]["handler"] });
      break;
    case "http":
      app.http(d.name, { methods: [...d.trigger.methods], route: d.trigger.route, authLevel, handler: d.handler as Parameters<typeof app.http>[1]["handler"] });
      break;
  }
}
