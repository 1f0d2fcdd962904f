/**
 * Bounds on single tokens of a push body, checked by the parsers as they
 * meet each token, so that no name, label value or number longer than any
 * acceptable one is ever copied into a string (docs/security.md, "Limits"). A body of
 * `--storage.max-body-bytes` may still be one long HELP text: that is
 * stored, so it is bounded only by the body size.
 *
 * Pure data and one error type; the codecs know nothing of flags, so the
 * limits come in as numbers and the error carries what the message needs.
 * @module
 */

/** What the parsers refuse as soon as they see it. */
export interface TokenLimits {
  /** Longest label name, in UTF-8 bytes. */
  readonly maxLabelNameBytes: number;
  /**
   * Longest label value, in UTF-8 bytes; also the longest metric name (in
   * Prometheus a metric name is the value of the label `__name__`).
   */
  readonly maxLabelValueBytes: number;
}

/** No limits: what a codec uses when it is not told any. */
export const NO_TOKEN_LIMITS: TokenLimits = {
  maxLabelNameBytes: Infinity,
  maxLabelValueBytes: Infinity,
};

/**
 * Longest sample value or timestamp token read. A float64 written out
 * exactly needs at most 767 significant digits and 324 leading zeros
 * (about 1,100 characters); nothing longer is a useful float literal, and a
 * 58 MB run of digits must not be turned into a string to find that out.
 */
export const MAX_NUMBER_BYTES = 4096;

/** Bytes of an overlong token quoted in an error message. */
export const QUOTED_PREFIX_BYTES = 64;

/** What was too long: the refusal's `pushvault_push_refused_total` reason. */
export type TokenTooLongReason = "label_name_too_long" | "label_value_too_long";

/**
 * A label name, label value or metric name over its limit. `label` is
 * undefined for a metric name; `bytes` is the token's length in UTF-8
 * bytes. The push pipeline turns it into its answer (push/limits.ts).
 */
export class TokenTooLongError extends Error {
  override name = "TokenTooLongError";
  readonly reason: TokenTooLongReason;
  /** The metric the token belongs to ("" before its name is known). */
  readonly metric: string;
  /** The label (its name, or the start of it); undefined for a metric name. */
  readonly label: string | undefined;
  readonly bytes: number;
  readonly limit: number;
  constructor(
    init: {
      reason: TokenTooLongReason;
      metric: string;
      label: string | undefined;
      bytes: number;
      limit: number;
    },
  ) {
    super(
      `${
        init.label === undefined
          ? "metric name"
          : init.reason === "label_name_too_long"
          ? "label name"
          : "label value"
      } of ${init.bytes} bytes, more than the limit of ${init.limit}`,
    );
    this.reason = init.reason;
    this.metric = init.metric;
    this.label = init.label;
    this.bytes = init.bytes;
    this.limit = init.limit;
  }
}

/** UTF-8 length of `s` without encoding it. */
export function utf8Length(s: string): number {
  let n = s.length;
  // Every UTF-16 unit is at least one byte; only non-ASCII adds more.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (
      c >= 0xd800 && c <= 0xdbff &&
      (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      // A surrogate pair: 2 units, 4 bytes.
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}
