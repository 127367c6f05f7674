/**
 * The alert sender woken by every judged event of a burst runs one pass at a time in a process,
 * and a wake during a pass is never lost: one more pass follows.
 */
import { describe, expect, it } from "vitest";
import { oneAtATime } from "../../shared/platform/oneAtATime.js";

describe("one pass at a time, none asked for skipped", () => {
  it("wakes during a pass fold into one more pass after it; a wake after the last pass starts a new one", async () => {
    const opened: Array<() => void> = [];
    let passes = 0;
    let running = 0;
    let most = 0;
    const run = oneAtATime(async () => {
      passes++;
      most = Math.max(most, ++running);
      await new Promise<void>((resolve) => opened.push(resolve));
      running--;
      return passes;
    });
    const first = run();
    const during = [run(), run(), run()];
    expect(passes).toBe(1);
    opened.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(passes).toBe(2); // the three wakes: one more pass, not three
    opened.shift()!();
    expect(await first).toBe(2);
    expect(await Promise.all(during)).toEqual([2, 2, 2]);
    expect(most).toBe(1);
    const later = run();
    expect(passes).toBe(3);
    opened.shift()!();
    expect(await later).toBe(3);
  });

  it("a pass that fails ends the run with its error, unless a wake came meanwhile: then the next pass runs", async () => {
    let calls = 0;
    const run = oneAtATime(async (fail: boolean) => {
      calls++;
      await new Promise((resolve) => setImmediate(resolve));
      if (fail) throw new Error("Teams down");
      return calls;
    });
    await expect(run(true)).rejects.toThrow("Teams down");
    const woken = run(true);
    const during = run(false);
    expect(await woken).toBe(3);
    expect(await during).toBe(3);
  });
});
