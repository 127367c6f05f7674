import type { FunctionDeclaration } from "./declaration.js";
import { runtime } from "../shared/composition.js";

/** Sends what the outbox still owes Teams (retries with backoff; honours Retry-After). */
export const deliverAlerts: FunctionDeclaration = {
  name: "deliverAlerts",
  trigger: { kind: "timer", schedule: "%GW_OUTBOX_SCHEDULE%" },
  handler: async (_timer, context) => {
    await runtime().deliverNow(context);
  },
};
