import { timerFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";

/** Sends what the outbox still owes Teams (retries with backoff; honours Retry-After). */
export const deliverAlerts = timerFunction("deliverAlerts", "%GW_OUTBOX_SCHEDULE%", async (_timer, context) => {
    await runtime().deliverNow(context);
  });
