/**
 * The one vocabulary of expected failures: every error a request may be
 * refused with carries a `kind`, and {@link STATUS_FOR} maps each kind to
 * its HTTP status in one table (http/errors.ts writes the response).
 * Messages are written for the person who pushed; where the Pushgateway's
 * wording is part of the contract (docs/compatibility.md, Error responses)
 * it is reproduced exactly.
 *
 * Errors of layers below this one (the exposition codecs, decompression)
 * carry a `kind` of their own without importing this module: any `Error`
 * with a `kind` from this table is an expected failure.
 * @module
 */

export type ErrorKind =
  | "invalid" // bad grouping key, header or body: 400, nothing recorded but history
  | "inconsistent" // refused by a rule (timestamps, consistency): 400, failure time set
  | "bad_query" // a bad query parameter of the JSON API: 400, changes nothing
  | "timeout" // the body did not arrive in time: 408
  | "conflict" // a push of the other kind to a group (aggregating or replacing): 409
  | "too_large" // over a size limit: 413
  | "unavailable" // cannot be done right now (database, queue, shutdown): 503
  | "store_full"; // the store's series limit: 507

/** Kept for the push's name of the same union. */
export type PushErrorKind = ErrorKind;

export const STATUS_FOR = {
  invalid: 400,
  inconsistent: 400,
  bad_query: 400,
  timeout: 408,
  conflict: 409,
  too_large: 413,
  unavailable: 503,
  store_full: 507,
} as const satisfies Record<ErrorKind, number>;

/** The JSON API's `errorType` of each kind (Prometheus's names). */
export const API_ERROR_TYPE = {
  invalid: "bad_data",
  inconsistent: "bad_data",
  bad_query: "bad_data",
  timeout: "timeout",
  conflict: "bad_data",
  too_large: "bad_data",
  unavailable: "unavailable",
  store_full: "unavailable",
} as const satisfies Record<ErrorKind, string>;

export class PushError extends Error {
  override name = "PushError";
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

/** Why a push was refused, as counted in `pushvault_push_refused_total`. */
export type PushRefusal =
  | "body_too_large"
  | "too_many_series"
  | "label_name_too_long"
  | "label_value_too_long"
  | "store_full"
  | "read_timeout"
  | "unavailable";

/** A push over a limit: a {@link PushError} that also names its refusal. */
export class LimitError extends PushError {
  override name = "LimitError";
  /** The status its kind answers with. */
  readonly status: (typeof STATUS_FOR)[ErrorKind];
  readonly reason: PushRefusal;
  constructor(kind: ErrorKind, reason: PushRefusal, message: string) {
    super(kind, message);
    this.status = STATUS_FOR[kind];
    this.reason = reason;
  }
}

/** An expected failure: an `Error` whose `kind` is in the table. */
export interface KindedError extends Error {
  readonly kind: ErrorKind;
}

/** `error` as an expected failure, or undefined for a bug. */
export function expectedError(error: unknown): KindedError | undefined {
  if (!(error instanceof Error)) return undefined;
  const kind = (error as { kind?: unknown }).kind;
  return typeof kind === "string" && Object.hasOwn(STATUS_FOR, kind)
    ? error as KindedError
    : undefined;
}

/** The prefix the Pushgateway puts before every validation failure. */
export const INCONSISTENT_PREFIX =
  "pushed metrics are invalid or inconsistent with existing metrics: ";

/** Builds the "inconsistent" error with the Pushgateway's message shape. */
export function inconsistent(problems: readonly string[]): PushError {
  const detail = problems.length === 1
    ? problems[0]
    : `${problems.length} errors occurred:\n${
      problems.map((p) => `* ${p}`).join("\n")
    }`;
  return new PushError("inconsistent", INCONSISTENT_PREFIX + detail);
}
