import { timerFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";
import { sendDigest } from "../shared/app/digest.js";

/** The daily digest card; sent once per UTC day however often the timer fires. Throws (logged by the host) if Teams refuses it. */
export const nightlyDigest = timerFunction("nightlyDigest", "%GW_DIGEST_SCHEDULE%", async (_timer, context) => {
    await sendDigest(runtime().digest(context));
  });
