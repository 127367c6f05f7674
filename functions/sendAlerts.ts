import { queueFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";
import { wakesFeedOnly } from "../shared/app/inputs.js";

/**
 * Posts the cards the outbox owes Teams when judging stored alerts: event processing never waits for Teams' 4 requests/s.
 * The findings feed is published beside them, on its own outbox: neither waits for the other.
 */
export const sendAlerts = queueFunction("sendAlerts", "%GW_DELIVERY_QUEUE%", async (message, context) => {
    const app = runtime();
    await Promise.all([wakesFeedOnly(message) ? undefined : app.deliverNow(context), app.publishFindingsNow(context)]);
  });
