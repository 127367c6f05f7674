import { eventGridFunction } from "./declaration.js";
import { runtime } from "../shared/composition.js";
import { handleResourceEvent } from "../shared/handleResourceEvent.js";

/** Event Grid → re-read the resource in ARM → history, findings, alerts. Throws (→ Event Grid retries) only on ARM/storage trouble. */
export const eventGridResourceEvent = eventGridFunction("eventGridResourceEvent", async (event, context) => {
    const app = runtime();
    await handleResourceEvent(app.dependencies(context), app.settings, event);
    await app.deliverNow(context);
  });
