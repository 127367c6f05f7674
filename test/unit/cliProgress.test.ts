/** Progress of the long commands: a bar on a terminal, plain lines (at most one a second, the last always) in a pipe or a log. */
import { describe, expect, it } from "vitest";
import { progressDisplay } from "../../cli/progress.js";
import type { CliContext } from "../../cli/context.js";

function ctx(interactive: boolean, now: () => number) {
  let stderr = "";
  const notes: string[] = [];
  const context = { io: { interactive, stderr: (c: string) => void (stderr += c), clock: { now: () => new Date(now()) } }, note: (l: string) => void notes.push(l) } as unknown as CliContext;
  return { context, notes, stderr: () => stderr };
}

describe("progress display", () => {
  it("draws a bar that fills as the work is done, on a terminal", () => {
    const t = ctx(true, () => 0);
    const progress = progressDisplay(t.context);
    progress.update(0, 4, "report: reading findings");
    progress.update(4, 4, "report: reading changes: 4/4 resources");
    progress.stop();
    expect(t.stderr()).toContain("report: reading changes: 4/4 resources");
    expect(t.stderr()).toMatch(/\[=+\]/);
    expect(t.notes).toEqual([]);
  });

  it("writes lines, not escape codes, elsewhere: at most one a second, and always the finished one", () => {
    let now = 0;
    const t = ctx(false, () => now);
    const progress = progressDisplay(t.context);
    progress.update(0, 3, "0/3");
    now = 200;
    progress.update(1, 3, "1/3"); // within the second: skipped
    now = 1300;
    progress.update(2, 3, "2/3");
    now = 1400;
    progress.update(3, 3, "3/3"); // finished: shown at once
    progress.stop();
    expect(t.notes).toEqual(["0/3", "2/3", "3/3"]);
    expect(t.stderr()).toBe("");
  });
});
