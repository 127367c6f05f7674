import { httpFunction } from "./declaration.js";
import { runtime } from "../shared/wiring/composition.js";
import { MAX_CHANGE_LIMIT, pointInTime, UnknownResourceError } from "../shared/app/pointInTime.js";
import { tryParseResourceId } from "../shared/app/inputs.js";
import { InvalidContinuationTokenError } from "../shared/app/ports.js";
import { InvalidQueryError, parseOptionalLimit, parseTimeOrDuration } from "../shared/app/queries.js";

/**
 * GET /api/resources/history?id=<ARM id>&asOf=<ISO time>&limit=<n>&continuationToken=<t>: the
 * snapshot in force, whether the resource was deleted by then (and by whom), every change up to
 * `asOf` (paged: follow `continuationToken`), and the findings as they stood.
 * 404 for an id gallery-watch never stored: an empty answer would read as "exists and clean".
 */
export const resourceHistory = httpFunction("resourceHistory", ["GET"], "resources/history", async (request, context) => {
  const id = tryParseResourceId(request.query.get("id") ?? "");
  if (!id.ok) return { status: 400, jsonBody: { error: `id: ${id.error.reason}` } };
  const asOfRaw = request.query.get("asOf");
  let asOf: string;
  let limit: number | undefined;
  try {
    // The same times and limits the CLI and the other queries take (shared/app/queries.ts): ISO 8601, or a duration back from now (7d, 12h).
    asOf = asOfRaw ? parseTimeOrDuration(asOfRaw, runtime().clock.now(), "asOf") : runtime().clock.now().toISOString();
    limit = parseOptionalLimit(request.query.get("limit"), MAX_CHANGE_LIMIT);
  } catch (error) {
    if (error instanceof InvalidQueryError) return { status: 400, jsonBody: { error: error.message } };
    throw error;
  }
  const continuationToken = request.query.get("continuationToken") ?? undefined;
  try {
    const view = await pointInTime(runtime().dependencies(context), id.id, asOf, {
      ...(limit !== undefined ? { limit } : {}),
      ...(continuationToken ? { continuationToken } : {}),
    });
    return { status: 200, jsonBody: view };
  } catch (error) {
    if (error instanceof UnknownResourceError) return { status: 404, jsonBody: { error: error.message, resourceId: error.resourceId } };
    if (error instanceof InvalidContinuationTokenError) return { status: 400, jsonBody: { error: error.message } };
    throw error;
  }
});
