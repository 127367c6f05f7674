import { timerFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";

/** Fans the sweep out: one queue message per watched subscription. */
export const nightlySweep = timerFunction("nightlySweep", "%GW_SWEEP_SCHEDULE%", async (_timer, context) => {
    const app = runtime();
    const runId = `${app.clock.now().toISOString()}-${context.invocationId}`;
    for (const subscriptionId of app.config.subscriptions) await app.sweepQueue.enqueue({ subscriptionId, runId });
  });
