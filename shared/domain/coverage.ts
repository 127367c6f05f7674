/**
 * When a read covers a write on Azure's clocks alone: ARM dated the read's answer (its `Date`
 * header) at least ARM_TIME_MARGIN_MS after the write's event was stamped (`eventTime`: Event
 * Grid's resource events are stamped by ARM, "the time the event is generated based on the
 * provider's UTC time", Learn: "Azure Event Grid event schema"). The margin is wider than the
 * ±5 s of skew gallery-watch tolerates between two Azure stamps. gallery-watch's own clock is
 * never compared with either (see app/localCoalescing.ts for the rule on our clock).
 */
export const ARM_TIME_MARGIN_MS = 10_000;

/** `armTime`: ARM's date on the read's answer (ms); `written`: the latest `eventTime` (ms) the read must cover, Infinity when unknown. */
export function coveredOnArmClock(armTime: number | undefined, written: number): boolean {
  return armTime !== undefined && Number.isFinite(written) && written + ARM_TIME_MARGIN_MS <= armTime;
}

/** An event's `eventTime` as ms, Infinity when absent or unreadable (nothing is covered on ARM's clock then). */
export function writtenAt(eventTime: string | undefined): number {
  const ms = eventTime === undefined ? Number.NaN : Date.parse(eventTime);
  return Number.isFinite(ms) ? ms : Infinity;
}
