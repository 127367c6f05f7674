import { isGuid } from "../shared/app/inputs.js";
import { httpFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";
import { imageInventory, MAX_INVENTORY_LIMIT, OS_STATE_FILTERS, type OsStateFilter } from "../shared/app/inventory.js";
import { InvalidContinuationTokenError } from "../shared/app/ports.js";
import { InvalidQueryError, parseOptionalLimit } from "../shared/app/queries.js";


/**
 * GET /api/images?osState=Specialized|Generalized|all&subscription=<id>&limit=<n>&continuationToken=<t>:
 * the image inventory from the store (definitions, versions, regions and replicas, sharing, end of
 * life, excludeFromLatest, the scale sets using each, open findings), paged by definition.
 * Default osState: Specialized (which also lists definitions whose osState could not be read).
 */
export const images = httpFunction("images", ["GET"], "images", async (request, context) => {
  const app = runtime();
  const osStateRaw = request.query.get("osState") ?? "Specialized";
  const osState = OS_STATE_FILTERS.find((f) => f.toLowerCase() === osStateRaw.toLowerCase()) as OsStateFilter | undefined;
  if (!osState) return { status: 400, jsonBody: { error: `osState: one of ${OS_STATE_FILTERS.join(", ")}` } };
  const subscription = request.query.get("subscription")?.toLowerCase();
  if (subscription !== undefined && !isGuid(subscription)) return { status: 400, jsonBody: { error: "subscription: a subscription GUID" } };
  if (subscription !== undefined && !app.config.subscriptions.includes(subscription)) {
    return { status: 400, jsonBody: { error: `subscription: ${subscription} is not watched (GW_WATCHED_SUBSCRIPTIONS)` } };
  }
  const continuationToken = request.query.get("continuationToken") ?? undefined;
  try {
    // The same limit parser as every query (shared/app/queries.ts).
    const limit = parseOptionalLimit(request.query.get("limit"), MAX_INVENTORY_LIMIT);
    const page = await imageInventory(app.dependencies(context), {
      subscriptions: subscription ? [subscription] : app.config.subscriptions,
      osState,
      ...(limit !== undefined ? { limit } : {}),
      ...(continuationToken ? { continuationToken } : {}),
    });
    return { status: 200, jsonBody: { osState, ...page } };
  } catch (error) {
    if (error instanceof InvalidQueryError || error instanceof InvalidContinuationTokenError) return { status: 400, jsonBody: { error: error.message } };
    throw error;
  }
});
