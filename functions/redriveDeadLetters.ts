import { timerFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";
import { redriveDeadLetteredEvents } from "../shared/app/deadLetters.js";

/** Dead letters are not the end: Event Grid's dead-lettered events go through the Event Grid handler again; -poison queue messages go back on their queue once. */
export const redriveDeadLetters = timerFunction("redriveDeadLetters", "%GW_REDRIVE_SCHEDULE%", async (_timer, context) => {
    const app = runtime();
    const report = await redriveDeadLetteredEvents(app.redrive(context));
    if (report.alerted) await app.deliveryQueue.wake();
  });
