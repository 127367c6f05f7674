/**
 * ARM's error envelope: `{ error: { code, message, target?, details? } }` — the `ErrorResponse` of
 * ARM's common types and `CloudError` / `ApiError` of Compute's
 * (/work/shared/fixtures/azure-rest-api-specs/compute-common-types-v1/common.json).
 */
export interface ArmErrorDetail {
  readonly code: string;
  readonly message: string;
  readonly target?: string;
  readonly details?: readonly ArmErrorDetail[];
}

/** A refusal, ready to send: status, ARM error body, extra headers. */
export interface ArmFailure {
  readonly status: number;
  readonly body: { readonly error: ArmErrorDetail };
  readonly headers?: Readonly<Record<string, string>>;
}

export function armError(status: number, code: string, message: string, target?: string, details?: readonly ArmErrorDetail[]): ArmFailure {
  return { status, body: { error: { code, message, ...(target !== undefined ? { target } : {}), ...(details && details.length > 0 ? { details } : {}) } } };
}

export function isArmFailure(value: unknown): value is ArmFailure {
  return typeof value === "object" && value !== null && "status" in value && "body" in value && typeof (value as { body: { error?: unknown } }).body?.error === "object";
}
