/**
 * A pass that needs running again whenever it is asked for, but never twice at once in a process:
 * the alert sender woken by every judged event of a burst (one queue message each). A call while
 * a pass runs asks for one more pass after it (with the latest caller's arguments) and shares its
 * end; calls meanwhile fold into that one. Nothing asked for is skipped: a pass that had already
 * read what it works on when it was asked is followed by a whole new one, even if it failed.
 */
export function oneAtATime<A extends unknown[], T>(pass: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  let running: Promise<T> | undefined;
  let again: A | undefined;
  const loop = async (args: A): Promise<T> => {
    try {
      for (;;) {
        again = undefined;
        let result: T;
        try {
          result = await pass(...args);
        } catch (error) {
          if (again === undefined) throw error;
          args = again;
          continue;
        }
        if (again === undefined) return result;
        args = again;
      }
    } finally {
      running = undefined;
    }
  };
  return (...args: A) => {
    if (running) {
      again = args;
      return running;
    }
    return (running = loop(args));
  };
}
