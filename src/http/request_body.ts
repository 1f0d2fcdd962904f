/**
 * Reads a request's body within `--storage.max-body-bytes` and
 * `--web.read-timeout`. A small body framed by `Content-Length` is read in
 * one piece (`Request.bytes()`): it cannot grow past its declared length
 * (Deno's HTTP answers 400 to a request that also says `Transfer-Encoding`,
 * tests/security/limits_test.ts), and one read costs a 10-series push about
 * 3% less main-thread time than a stream and its reads. Everything else is
 * read as a stream with the limit checked as it arrives
 * ({@link readBodyLimited}).
 * @module
 */

import { BodyTooLargeError } from "../exposition/decompress.ts";
import type { ReadDeadline } from "./read_deadline.ts";
import { SLICE_MS } from "./sliced_stream.ts";
import { nextTurn } from "../event_loop.ts";

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

/** Largest read asked of a byte stream: one op, one copy, into the body. */
const READ_BYTES = 1024 * 1024;

/**
 * Reads a request body into one array. Throws BodyTooLargeError as soon as
 * more than `maxBytes` arrived (and cancels the stream), so it never holds
 * more than the limit plus one read; throws the deadline's error (and
 * cancels the stream) if the body has not ended in time. A null stream is an
 * empty body. `expectedBytes` (a declared Content-Length) sizes the buffer,
 * so that a body of its declared length owns its whole buffer and is handed
 * to the push worker without a copy.
 *
 * A request's body (a byte stream) is read straight into that buffer, a
 * megabyte at a time at most; other streams chunk by chunk. Reads that
 * arrive back to back would keep the HTTP thread for the whole body (a
 * 55 MiB one held it 50 ms at a time, 160 ms in all), so after
 * {@link SLICE_MS} of reading it lets the event loop run before it goes on.
 */
export async function readBodyLimited(
  stream: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  deadline?: ReadDeadline,
  expectedBytes?: number,
): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const byob = byobReader(stream);
  const reader = byob ?? stream.getReader();
  let expired: Error | undefined;
  const unwatch = deadline?.watch((error) => {
    expired = error;
    // Ends the pending read with `done`.
    reader.cancel().catch(() => {});
  });
  try {
    const body = byob === undefined
      ? await readChunks(reader as ChunkReader, maxBytes, expectedBytes)
      : await readInto(byob, maxBytes, expectedBytes);
    if (expired) throw expired;
    return body;
  } catch (error) {
    throw expired ?? error;
  } finally {
    unwatch?.();
    // The lock is not released: the stream has ended or is cancelled, and
    // releasing it costs an Error object per request (a few % of a push).
  }
}

type ChunkReader = ReadableStreamDefaultReader<Uint8Array>;

/** A BYOB reader of `stream`, or undefined when it is not a byte stream. */
function byobReader(
  stream: ReadableStream<Uint8Array>,
): ReadableStreamBYOBReader | undefined {
  try {
    return stream.getReader({ mode: "byob" });
  } catch {
    return undefined;
  }
}

/** Lets the event loop run once `slice.started` is SLICE_MS old. */
async function yieldIfLong(slice: { started: number }): Promise<void> {
  if (performance.now() - slice.started < SLICE_MS) return;
  await nextTurn();
  slice.started = performance.now();
}

/**
 * A byte stream read into one growing buffer. When the buffer is full, a
 * small read tells the end of the body from more of it, so that a body of
 * its declared length is never copied into a larger buffer.
 */
async function readInto(
  reader: ReadableStreamBYOBReader,
  maxBytes: number,
  expectedBytes: number | undefined,
): Promise<Uint8Array> {
  let buffer = new ArrayBuffer(capacity(expectedBytes, 0, maxBytes));
  let spare = new ArrayBuffer(SPARE_BYTES);
  let total = 0;
  const slice = { started: performance.now() };
  // Bounded: every turn adds bytes, and past maxBytes it throws.
  for (;;) {
    if (total < buffer.byteLength) {
      const room = Math.min(buffer.byteLength - total, READ_BYTES);
      const { done, value } = await reader.read(
        new Uint8Array(buffer, total, room),
      );
      if (value !== undefined) buffer = value.buffer as ArrayBuffer;
      if (done) break;
      total += value.length;
    } else {
      const { done, value } = await reader.read(new Uint8Array(spare));
      if (value !== undefined) spare = value.buffer as ArrayBuffer;
      if (done) break;
      if (total + value.length > maxBytes) {
        await reader.cancel();
        throw new BodyTooLargeError(maxBytes);
      }
      const grown = new ArrayBuffer(
        capacity(undefined, total + value.length, maxBytes),
      );
      const bytes = new Uint8Array(grown);
      bytes.set(new Uint8Array(buffer, 0, total));
      bytes.set(value, total);
      buffer = grown;
      total += value.length;
    }
    await yieldIfLong(slice);
  }
  return new Uint8Array(buffer, 0, total);
}

/** What a full buffer reads to see whether the body goes on. */
const SPARE_BYTES = 64 * 1024;

/**
 * Any other stream, chunk by chunk, each chunk copied as it arrives
 * (joining the chunks of a 55 MB body at its end held the HTTP thread for
 * 0.2 s at once).
 */
async function readChunks(
  reader: ChunkReader,
  maxBytes: number,
  expectedBytes: number | undefined,
): Promise<Uint8Array> {
  let first: Uint8Array | undefined;
  let buffer: Uint8Array | undefined;
  let total = 0;
  const slice = { started: performance.now() };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.length > maxBytes) {
      await reader.cancel();
      throw new BodyTooLargeError(maxBytes);
    }
    if (first === undefined) {
      first = value; // a body of one chunk is not copied
    } else {
      if (buffer === undefined) {
        buffer = new Uint8Array(
          capacity(expectedBytes, total + value.length, maxBytes),
        );
        buffer.set(first);
      } else if (total + value.length > buffer.length) {
        const grown = new Uint8Array(
          capacity(undefined, total + value.length, maxBytes),
        );
        grown.set(buffer.subarray(0, total));
        buffer = grown;
      }
      buffer.set(value, total);
    }
    total += value.length;
    await yieldIfLong(slice);
  }
  if (buffer !== undefined) return buffer.subarray(0, total);
  return first ?? new Uint8Array(0);
}

/** Room for `needed` bytes: the declared length, else twice as much. */
function capacity(
  declared: number | undefined,
  needed: number,
  maxBytes: number,
): number {
  if (declared !== undefined && declared >= needed && declared <= maxBytes) {
    return declared;
  }
  return Math.min(Math.max(needed * 2, 64 * 1024), maxBytes);
}
