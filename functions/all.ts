/** Every function of the app: registered with `app.*` by index.ts and served by local/host.ts. */
import type { FunctionDeclaration } from "./declaration.js";
import { eventGridResourceEvent } from "./eventGridResourceEvent.js";
import { recheckResource } from "./recheckResource.js";
import { deliverAlerts } from "./deliverAlerts.js";
import { sendAlerts } from "./sendAlerts.js";
import { publishFindings } from "./publishFindings.js";
import { nightlySweep } from "./nightlySweep.js";
import { nightlyDigest } from "./nightlyDigest.js";
import { sweepSubscription } from "./sweepSubscription.js";
import { resourceHistory } from "./resourceHistory.js";
import { images } from "./images.js";
import { findings } from "./findings.js";
import { changes } from "./changes.js";
import { redriveDeadLetters } from "./redriveDeadLetters.js";

export const declarations: readonly FunctionDeclaration[] = [
  eventGridResourceEvent,
  recheckResource,
  deliverAlerts,
  sendAlerts,
  publishFindings,
  nightlySweep,
  nightlyDigest,
  sweepSubscription,
  resourceHistory,
  images,
  findings,
  changes,
  redriveDeadLetters,
];
