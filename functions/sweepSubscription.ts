import { decodeQueueMessage, queueFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";
import { decodeSweepMessage } from "../shared/app/inputs.js";
import { sweepSubscription as sweep } from "../shared/app/sweepSubscription.js";

/** Sweeps one subscription (a message from nightlySweep). Throws on ARM trouble so the queue retries it. */
export const sweepSubscription = queueFunction("sweepSubscription", "%GW_SWEEP_QUEUE%", async (message, context) => {
    const app = runtime();
    const decoded = decodeQueueMessage(decodeSweepMessage, message, context);
    if (!decoded) return;
    const { subscriptionId, runId } = decoded;
    app.telemetry.sweepRun(await sweep(app.dependencies(context), app.settings, subscriptionId, runId));
    await app.deliveryQueue.wake();
  });
