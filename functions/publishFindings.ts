import { timerFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";

/** Publishes what the findings feed still owes its Event Grid topic (retries with backoff; honours Retry-After). Nothing to do without GW_FINDINGS_TOPIC_ENDPOINT. */
export const publishFindings = timerFunction("publishFindings", "%GW_OUTBOX_SCHEDULE%", async (_timer, context) => {
    await runtime().publishFindingsNow(context);
  });
