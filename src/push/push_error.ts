/**
 * Expected failures of a push, as one typed error whose `kind` maps to an
 * HTTP status in one table (style §5). Messages are written for the person
 * who pushed; where the Pushgateway's wording is part of the contract (spec
 * §1.6) it is reproduced exactly.
 * @module
 */

export type PushErrorKind =
  | "invalid" // bad grouping key or body: 400, nothing recorded but history
  | "inconsistent" // refused by a rule (timestamps, consistency): 400, failure time set
  | "too_large" // over a size limit: 413
  | "unavailable"; // the database cannot be written right now: 503

export const STATUS_FOR = {
  invalid: 400,
  inconsistent: 400,
  too_large: 413,
  unavailable: 503,
} as const satisfies Record<PushErrorKind, number>;

export class PushError extends Error {
  override name = "PushError";
  readonly kind: PushErrorKind;
  constructor(kind: PushErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

/** The prefix the Pushgateway puts before every validation failure (spec §3). */
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
