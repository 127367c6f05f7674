/**
 * Times on the command line, as the Azure CLI takes them: an ISO 8601 date or date-time (UTC when
 * no offset is given), or a duration back from now: `7d`, `12h`, `30m`, `2w`, `1d12h`.
 * The parsing itself is `shared/app/queries.ts`'s, so the HTTP API reads `?since=` the same way.
 */
import { InvalidArgumentError } from "commander";
import { InvalidQueryError, parseDuration, parseTimeOrDuration } from "../shared/app/queries.js";

export { parseDuration, parseTimeOrDuration };

/** A commander argument parser: the option's value as an ISO UTC time, or a usage error saying what is accepted. */
export function timeArgument(now: () => Date): (value: string) => string {
  return (value) => {
    try {
      return parseTimeOrDuration(value, now());
    } catch (error) {
      if (error instanceof InvalidQueryError) throw new InvalidArgumentError(`${error.reason}.`);
      throw error;
    }
  };
}
