import { eventGridFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";
import { handleResourceEvent } from "../shared/app/handleResourceEvent.js";

/** Event Grid → re-read the resource in ARM → history, findings, alerts. Throws (→ Event Grid retries) only on ARM/storage trouble. */
export const eventGridResourceEvent = eventGridFunction("eventGridResourceEvent", async (event, context) => {
    const app = runtime();
    const result = await handleResourceEvent(app.dependencies(context), app.settings, event);
    app.eventCounts[result.disposition]++;
    app.telemetry.eventHandled(result.disposition, result.unwatched ? "unwatched subscription" : undefined);
    if (result.unwatched) app.eventCounts.unwatched++;
    // Storing the alerts ends this event's work: sendAlerts posts the cards (paced for Teams), the outbox timer retries.
    if (result.outcome) await app.alertsStored(result.outcome.transitions, result.attribution);
  });
