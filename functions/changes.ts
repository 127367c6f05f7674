import { httpFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";
import { InvalidContinuationTokenError } from "../shared/app/ports.js";
import { changeQueryFrom, InvalidQueryError, listChanges, parseLimit } from "../shared/app/queries.js";

/**
 * GET /api/changes?since=<ISO or 7d, default 7d>&until=&caller=<UPN, app id, object id or name>&resourceGroup=&all=<true: also the pipeline's own provisioning/coalesced rows>&limit=<1..1000, default 100>&continuationToken=
 * → `{ items, continuationToken }`: who changed what across resources, newest first.
 * The token is present only when more match; pass it back unchanged for the next page.
 */
export const changes = httpFunction("changes", ["GET"], "changes", async (request, context) => {
  const q = (name: string) => request.query.get(name) ?? undefined;
  try {
    const deps = runtime().dependencies(context);
    const query = changeQueryFrom({ since: q("since"), until: q("until"), caller: q("caller"), resourceGroup: q("resourceGroup"), all: q("all") }, deps.clock.now());
    const token = q("continuationToken");
    const page = await listChanges(deps, query, { limit: parseLimit(q("limit")), ...(token ? { continuationToken: token } : {}) });
    return { status: 200, jsonBody: { items: page.items, continuationToken: page.continuationToken ?? null } };
  } catch (error) {
    if (error instanceof InvalidQueryError || error instanceof InvalidContinuationTokenError) return { status: 400, jsonBody: { error: error.message } };
    throw error;
  }
});
