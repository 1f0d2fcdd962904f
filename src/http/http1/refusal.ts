/**
 * What both listeners say and report about a request refused before the
 * handler (docs/security.md, Limits): the message of a head over
 * `--web.max-header-bytes`, and the record given to the caller to count.
 * @module
 */

/**
 * The default of `--web.max-header-bytes`: Go's `http.DefaultMaxHeaderBytes`,
 * which is what bounds the Pushgateway.
 */
export const MAX_HEAD_BYTES = 1024 * 1024;

/** What the HTTP layer refused, for the caller to count. */
export interface RefusedRequest {
  readonly status: 400 | 408 | 414 | 431;
  /** "" if the request line was not readable. */
  readonly method: string;
  /** The request target as far as it was received, cut to 256 characters. */
  readonly target: string;
}

/** The message of a 414 (the URL ran over) or 431 (the headers did). */
export function headRefusalMessage(
  status: 414 | 431,
  maxHeaderBytes: number,
): string {
  const what = status === 414 ? "URI too long" : "request headers too large";
  return `${what}: the request line and headers may be at most ${maxHeaderBytes} bytes (--web.max-header-bytes)`;
}
