/**
 * Progress of the long commands (sweep --wait, report, reindex) on stderr: a bar when stderr is a
 * terminal (cli-progress, a kept library that handles terminal width and redraw throttling), and
 * otherwise a plain line per change, at most one a second, so a log file stays readable.
 */
import { SingleBar } from "cli-progress";
import type { CliContext, CliIo } from "./context.js";

/** A cli-progress bar drawn on the CLI's stderr. `format` uses cli-progress placeholders ({bar}, {value}, {total}, {percentage}) and the payload's. */
export function terminalBar(io: CliIo, format: string): SingleBar {
  const stream = { write: (chunk: string) => (io.stderr(chunk), true), isTTY: true, columns: process.stderr.columns ?? 100 } as unknown as NodeJS.WritableStream;
  return new SingleBar({ stream, format, hideCursor: false, clearOnComplete: false, barsize: 24 });
}

export interface Progress {
  /** `done` of `total` so far, and a line that says what is happening. */
  update(done: number, total: number, line: string): void;
  stop(): void;
}

export function progressDisplay(ctx: CliContext): Progress {
  if (ctx.io.interactive) {
    let bar: SingleBar | undefined;
    return {
      update(done, total, line) {
        if (!bar) {
          bar = terminalBar(ctx.io, `[{bar}] {line}`);
          bar.start(Math.max(total, 1), done, { line });
        }
        if (total !== bar.getTotal()) bar.setTotal(Math.max(total, 1));
        bar.update(done, { line });
      },
      stop() {
        bar?.stop();
      },
    };
  }
  let shown = "";
  let shownAt = Number.NEGATIVE_INFINITY;
  return {
    update(done, total, line) {
      const at = ctx.io.clock.now().getTime();
      if (line === shown || (at - shownAt < 1000 && done < total)) return;
      ctx.note(line);
      shown = line;
      shownAt = at;
    },
    stop: () => undefined,
  };
}
