/**
 * Faults a local receiver (the Teams inbox, the simulated Event Grid topic) plays back in order:
 * the next N requests fail with a status (and a Retry-After), get no answer, or answer slowly.
 * Tests and a person's curl script them; the receiver takes one of each per request.
 */
export type InjectedStatus = 400 | 401 | 403 | 404 | 408 | 429 | 500 | 503;

export interface FaultControl {
  /** The next `count` requests are answered `status` (with Retry-After when given), and nothing is kept. */
  failNext(count: number, status: InjectedStatus, retryAfterSeconds?: number): void;
  /** The next `count` requests get no answer for `ms`, then the connection is dropped (nothing kept). */
  hangNext(count: number, ms: number): void;
  /** The next `count` requests are kept, then answered only after `ms`. */
  slowNext(count: number, ms: number): void;
}

export interface ScriptedFaults {
  readonly control: FaultControl;
  nextHang(): number | undefined;
  nextFailure(): { status: number; retryAfterSeconds?: number } | undefined;
  nextSlow(): number | undefined;
}

export function scriptedFaults(): ScriptedFaults {
  const failures: Array<{ status: number; retryAfterSeconds?: number }> = [];
  const hangs: number[] = [];
  const slows: number[] = [];
  const repeat = (count: number, push: () => void) => {
    for (let i = 0; i < count; i++) push();
  };
  return {
    control: {
      failNext: (count, status, retryAfterSeconds) => repeat(count, () => failures.push({ status, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) })),
      hangNext: (count, ms) => repeat(count, () => hangs.push(ms)),
      slowNext: (count, ms) => repeat(count, () => slows.push(ms)),
    },
    nextHang: () => hangs.shift(),
    nextFailure: () => failures.shift(),
    nextSlow: () => slows.shift(),
  };
}
