/**
 * Which alerts belong on one card: those for the same resource from the same change. One
 * invocation judges a change at one instant (`transition.at` = the evaluation's time) under one
 * event (its attribution's `eventId`); the nightly sweep and re-checks have no event, so there the
 * resource and the instant decide.
 */
import type { OutboxAlert } from "./records.js";

export function changeKey(alert: Pick<OutboxAlert, "transition" | "attribution">): string {
  return JSON.stringify([alert.transition.after.resourceKey, alert.transition.at, alert.attribution?.eventId ?? null]);
}
