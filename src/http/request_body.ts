/**
 * Reads a request's body within `--storage.max-body-bytes` and
 * `--web.read-timeout`. A small body framed by `Content-Length` is read in
 * one piece (`Request.bytes()`): it cannot grow past its declared length
 * (Deno's HTTP answers 400 to a request that also says `Transfer-Encoding`,
 * tests/security/limits_test.ts), and one read costs a 10-series push about 3% less main-thread time than a
 * stream and its reads. Everything else is read as a stream with
 * the limit checked as it arrives (exposition/decompress.ts).
 * @module
 */

import { readBodyLimited } from "../exposition/decompress.ts";
import type { ReadDeadline } from "./read_deadline.ts";

/**
 * Bodies up to this many declared bytes are read whole. A stalled one stays
 * with its connection after the timeout has answered it (a read in one piece
 * cannot be cancelled), so this also bounds what such a body holds.
 */
export const WHOLE_BODY_MAX_BYTES = 64 * 1024;

/** The body as bytes; throws BodyTooLargeError or the deadline's error. */
export function readRequestBody(
  request: Request,
  maxBytes: number,
  deadline: ReadDeadline | undefined,
): Promise<Uint8Array> {
  const length = declaredLength(request.headers.get("content-length"));
  // `request.body` is not looked at first: the getter makes a stream.
  if (
    length === undefined || length > Math.min(maxBytes, WHOLE_BODY_MAX_BYTES)
  ) {
    return readBodyLimited(request.body, maxBytes, deadline, length);
  }
  const whole = request.bytes();
  if (deadline === undefined) return whole;
  return new Promise((resolve, reject) => {
    const unwatch = deadline.watch((error) => {
      // The read goes on until the body arrives or the connection closes.
      whole.catch(() => {});
      reject(error);
    });
    whole.then(resolve, reject).finally(unwatch);
  });
}

/** `Content-Length` as a number; undefined when absent or not a plain count. */
function declaredLength(value: string | null): number | undefined {
  if (value === null || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}
