import { httpFunction } from "./declaration.js";
import { runtime } from "../shared/composition.js";
import { pointInTime } from "../shared/pointInTime.js";
import { tryParseResourceId } from "../shared/domain/resourceId.js";

/** GET /api/resources/history?id=<ARM id>&asOf=<ISO time>: snapshot, changes (who) and findings at that time. */
export const resourceHistory = httpFunction("resourceHistory", ["GET"], "resources/history", async (request, context) => {
    const id = tryParseResourceId(request.query.get("id") ?? "");
    if (!id.ok) return { status: 400, jsonBody: { error: `id: ${id.error.reason}` } };
    const asOfRaw = request.query.get("asOf");
    const asOf = asOfRaw ? new Date(asOfRaw) : runtime().clock.now();
    if (Number.isNaN(asOf.getTime())) return { status: 400, jsonBody: { error: "asOf: not an ISO 8601 date/time" } };
    return { status: 200, jsonBody: await pointInTime(runtime().dependencies(context), id.id, asOf.toISOString()) };
  });
