/**
 * Every error gallery-watch throws, in one place. Each carries the context a person needs
 * (resource id, operation, setting) and the underlying `cause`. Errors never log themselves:
 * the shell that catches them decides.
 *
 * Throw when the platform should retry (throttling, 5xx, storage down); return a value when
 * the input should be acknowledged (a malformed event, a deleted resource).
 */

export class GalleryWatchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An ARM id that is malformed or hostile. */
export class InvalidResourceIdError extends GalleryWatchError {
  constructor(
    readonly idPreview: string,
    readonly reason: string,
  ) {
    super(`invalid resource id '${idPreview}': ${reason}`);
  }
}

export interface SettingProblem {
  /** The app setting's name, e.g. `GW_MAX_REGIONS`. */
  readonly setting: string;
  /** What is wrong with the value given. */
  readonly problem: string;
  /** How to fix it. */
  readonly fix: string;
}

/** Start-up settings are missing or wrong; lists every problem at once. */
export class ConfigError extends GalleryWatchError {
  constructor(readonly problems: readonly SettingProblem[]) {
    super(
      `gallery-watch cannot start: ${problems.length} setting(s) need fixing:\n` +
        problems.map((p) => `  - ${p.setting}: ${p.problem}. Fix: ${p.fix}`).join("\n"),
    );
  }
}

export type ArmFailureKind = "noAccess" | "throttled" | "failed";

/** An ARM call failed in a way the caller cannot treat as an outcome (e.g. inside a list). */
export class ArmReadError extends GalleryWatchError {
  constructor(
    readonly kind: ArmFailureKind,
    readonly operation: string,
    readonly resourceId: string,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(`ARM ${operation} on '${resourceId}' ${kind}: ${message}`, options);
  }

  /** Throttling and server failures are worth a platform retry; missing access is not. */
  get retryable(): boolean {
    return this.kind !== "noAccess";
  }
}

/** Table Storage (or another store) failed; carries the table and operation. */
export class StorageError extends GalleryWatchError {
  constructor(
    readonly operation: string,
    readonly table: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`storage ${operation} on table '${table}' failed: ${message}`, options);
  }
}

/** A stored row changed under us (optimistic concurrency): re-read and retry. */
export class ConcurrentUpdateError extends StorageError {}

/** An incoming event that cannot be processed; it is acknowledged, counted and logged, never retried. */
export class InvalidEventError extends GalleryWatchError {
  constructor(
    readonly eventId: string | undefined,
    readonly reason: string,
  ) {
    super(`invalid event${eventId ? ` '${eventId}'` : ""}: ${reason}`);
  }
}

/** A Teams webhook delivery failed; `retryAfterMs` when the receiver said when to come back. */
export class AlertDeliveryError extends GalleryWatchError {
  constructor(
    readonly alertId: string,
    readonly status: number | undefined,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown; permanent?: boolean; ambiguous?: boolean },
  ) {
    super(`alert '${alertId}' delivery failed${status ? ` (HTTP ${status})` : ""}: ${message}`, options);
    this.permanent = options?.permanent ?? false;
    this.ambiguous = options?.ambiguous ?? false;
  }

  /** The receiver refused the message itself (4xx other than 408/429): sending the same again now cannot help. */
  readonly permanent: boolean;
  /** The request left but no answer came (timeout, connection lost mid-request): the card may or may not be posted. */
  readonly ambiguous: boolean;
}

export function isGalleryWatchError(error: unknown): error is GalleryWatchError {
  return error instanceof GalleryWatchError;
}

// ---------------------------------------------------------------- bad input to queries and exports

/** gallery-watch has no snapshot and no change for this id: it never watched it (or the id is mistyped). */
export class UnknownResourceError extends GalleryWatchError {
  constructor(readonly resourceId: string) {
    super(`gallery-watch has never stored ${resourceId}: no snapshot and no change. Check the id (the sweep stores every resource it can read in GW_WATCHED_SUBSCRIPTIONS).`);
  }
}

/** A query parameter or option that cannot mean anything: a 400 for the API, exit 2 for the CLI. */
export class InvalidQueryError extends GalleryWatchError {
  constructor(
    readonly parameter: string,
    readonly reason: string,
  ) {
    super(`${parameter}: ${reason}`);
  }
}

/** A continuation token this store did not issue (or one garbled in transit): the caller's mistake, a 400. */
export class InvalidContinuationTokenError extends GalleryWatchError {
  constructor() {
    super("continuationToken: not a token this listing issued; start again without it");
  }
}

/** The tag names Azure Policy's `tags['…']` field syntax cannot carry. */
export class UnsupportedExceptionTagError extends GalleryWatchError {
  constructor(tag: string) {
    super(`the exception tag '${tag}' contains ' [ or ], which Azure Policy's tags['<name>'] field syntax cannot express; choose another GW_EXCEPTION_TAG`);
  }
}

/** Nothing known to be Specialized: a rule listing nothing would deny nothing (and `anyOf: []` is no valid condition). */
export class NoSpecializedDefinitionsError extends GalleryWatchError {
  constructor(readonly unknown: readonly string[]) {
    super(
      "gallery-watch knows no Specialized image definition in its store, so there is nothing for a policy to deny" +
        (unknown.length > 0 ? ` (${unknown.length} definition(s) have an osState it could not read)` : "") +
        ". Run `gallery-watch sweep --wait` first.",
    );
  }
}
