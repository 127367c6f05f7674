import type { FunctionDeclaration } from "./declaration.js";
import { runtime } from "../shared/composition.js";

/** Fans the sweep out: one queue message per watched subscription. */
export const nightlySweep: FunctionDeclaration = {
  name: "nightlySweep",
  trigger: { kind: "timer", schedule: "%GW_SWEEP_SCHEDULE%" },
  handler: async (_timer, context) => {
    const app = runtime();
    const runId = `${app.clock.now().toISOString()}-${context.invocationId}`;
    for (const subscriptionId of app.config.subscriptions) await app.sweepQueue.enqueue({ subscriptionId, runId });
  },
};
