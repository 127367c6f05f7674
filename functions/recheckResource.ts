import { decodeQueueMessage, queueFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";
import { checkCoalesced } from "../shared/app/admission.js";
import { decodeRecheckMessage, parseResourceId } from "../shared/app/inputs.js";

/** A resource still provisioning, or one whose events were coalesced, is read again after a delay. */
export const recheckResource = queueFunction("recheckResource", "%GW_RECHECK_QUEUE%", async (message, context) => {
    const app = runtime();
    const decoded = decodeQueueMessage(decodeRecheckMessage, message, context);
    if (!decoded) return;
    const { resourceId, attempt, attribution } = decoded;
    const outcome = await checkCoalesced(app.dependencies(context), app.settings, parseResourceId(resourceId), { source: "recheck", attempt, ...(attribution ? { attribution } : {}) });
    await app.alertsStored(outcome.transitions, attribution);
  });
