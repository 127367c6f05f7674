/**
 * What the shell (functions/, the local host) hands the use cases, checked at the door: queue
 * messages (Base64 JSON, as the Functions queue trigger expects by default:
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#encoding)
 * and resource ids from a query string. Bad input is an `InvalidEventError` (one log line, never
 * retried), so functions/ reach the domain's parsers and error only through here.
 */
import { z } from "zod";
import type { Attribution } from "../domain/records.js";
import { InvalidEventError } from "../domain/errors.js";

export { InvalidEventError } from "../domain/errors.js";
export { isGuid, parseResourceId, tryParseResourceId } from "../domain/resourceId.js";

/** The Functions runtime hands over the decoded message, JSON-parsed when it parses. */
function messageObject(message: unknown): unknown {
  if (typeof message !== "string") return message;
  try {
    return JSON.parse(message);
  } catch {
    try {
      return JSON.parse(Buffer.from(message, "base64").toString());
    } catch {
      return message;
    }
  }
}

const Attribution = z.object({ eventId: z.string(), eventType: z.string(), eventTime: z.string() }).passthrough();
const RecheckMessage = z.object({ resourceId: z.string().max(1024), attempt: z.number().int().min(0).max(1000), attribution: Attribution.optional() });
const SweepMessage = z.object({ subscriptionId: z.string().uuid(), runId: z.string().max(200) });

function decode<T>(schema: z.ZodType<T>, kind: string, message: unknown): T {
  const parsed = schema.safeParse(messageObject(message));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidEventError(undefined, `${kind} message: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

export function decodeRecheckMessage(message: unknown): { resourceId: string; attempt: number; attribution?: Attribution } {
  return decode(RecheckMessage, "re-check", message) as { resourceId: string; attempt: number; attribution?: Attribution };
}

/** A wake of the alert senders (any message wakes both), but `{ feedOnly: true }` wakes only the findings feed's. */
export function wakesFeedOnly(message: unknown): boolean {
  const body = messageObject(message);
  return typeof body === "object" && body !== null && (body as { feedOnly?: unknown }).feedOnly === true;
}

export function decodeSweepMessage(message: unknown): { subscriptionId: string; runId: string } {
  return decode(SweepMessage, "sweep", message);
}
