/**
 * The one clock. Use cases read the time through `Clock` (a port: tests pass a fixed or virtual
 * one); code that paces or backs off (the Teams pacer, the read budget, the pacing slot) also
 * waits, through `Sleeper`. Nothing else calls `new Date()` / `Date.now()` / `setTimeout` for
 * time it decides on.
 */
export interface Clock {
  now(): Date;
}

/** Milliseconds since the epoch, and a wait: what pacers and budgets need. */
export interface Sleeper {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = { now: () => new Date() };

export const systemSleeper: Sleeper = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };
