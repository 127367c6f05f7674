import { queueFunction } from "./declaration.js";
import { runtime } from "../shared/composition.js";

/** Posts the cards the outbox owes Teams when judging stored alerts: event processing never waits for Teams' 4 requests/s. */
export const sendAlerts = queueFunction("sendAlerts", "%GW_DELIVERY_QUEUE%", async (_message, context) => {
    await runtime().deliverNow(context);
  });
