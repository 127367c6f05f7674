import { httpFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";
import { InvalidContinuationTokenError } from "../shared/app/ports.js";
import { findingQueryFrom, InvalidQueryError, listFindings, parseLimit } from "../shared/app/queries.js";

/**
 * GET /api/findings?state=open,escalated|all&rule=&severity=&subscription=&since=<ISO or 7d>&limit=<1..1000, default 100>&continuationToken=
 * → `{ items, continuationToken }`: the current findings across resources, newest update first.
 * The token is present only when more match; pass it back unchanged for the next page.
 */
export const findings = httpFunction("findings", ["GET"], "findings", async (request, context) => {
  const q = (name: string) => request.query.get(name) ?? undefined;
  try {
    const deps = runtime().dependencies(context);
    const query = findingQueryFrom({ state: q("state"), rule: q("rule"), severity: q("severity"), subscription: q("subscription"), since: q("since") }, deps.clock.now());
    const token = q("continuationToken");
    const page = await listFindings(deps, query, { limit: parseLimit(q("limit")), ...(token ? { continuationToken: token } : {}) });
    return { status: 200, jsonBody: { items: page.items, continuationToken: page.continuationToken ?? null } };
  } catch (error) {
    if (error instanceof InvalidQueryError || error instanceof InvalidContinuationTokenError) return { status: 400, jsonBody: { error: error.message } };
    throw error;
  }
});
