/**
 * Writes a `Response` to an HTTP/1.x connection: a body that arrives in one
 * chunk goes with a `Content-Length` in the same write as the head (as Go
 * sends it); a longer one is sent chunked (HTTP/1.1) or up to the close of
 * the connection (HTTP/1.0), each chunk written before the next is read, so
 * a streamed scrape holds one chunk at a time. Also the whole answer of a
 * refused request ({@link closingAnswer}).
 * @module
 */

import { STATUS_TEXT } from "./status_text.ts";

/** Where the bytes go: a `Deno.Conn` or a test's stand-in. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<number>;
}

/** What {@link writeResponse} needs to know of the request. */
export interface AnswerTo {
  readonly head: boolean;
  readonly minor: 0 | 1;
  /** Whether the connection stays open: adds `Connection: close` if not. */
  readonly keepAlive: boolean;
}

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");
/** Bodies and chunks up to this size share the write of their framing. */
const JOINED_MAX_BYTES = 128 * 1024;

let dateSecond = -1;
let dateText = "";

/** `Date: …` for now, computed once a second. */
function dateLine(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = `date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateText;
}

/** Writes all of `bytes`. */
export async function writeAll(
  sink: ByteSink,
  bytes: Uint8Array,
): Promise<void> {
  let at = await sink.write(bytes);
  while (at < bytes.length) at += await sink.write(bytes.subarray(at));
}

function headOf(
  status: number,
  headers: Headers,
  framing: string,
  keepAlive: boolean,
): string {
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ""}\r\n`;
  headers.forEach((value, name) => {
    if (
      name === "content-length" || name === "transfer-encoding" ||
      name === "connection"
    ) return;
    head += `${name}: ${value}\r\n`;
  });
  head += dateLine();
  head += framing;
  if (!keepAlive) head += "connection: close\r\n";
  return head + "\r\n";
}

/**
 * Buffers for answers of one write (head and body), reused once written: a
 * new buffer per answer costs more than the rest of writing it (V8 keeps
 * the bytes of an array over 64 bytes outside its heap). As many as writes
 * are under way at once, up to {@link POOL_MAX} kept.
 */
const pool: Uint8Array[] = [];
const POOL_MAX = 64;
const POOLED_BYTES = 16 * 1024;
/** Room left for the head before a first chunk held in a pooled buffer. */
const HEAD_ROOM = 2048;
const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * `head` (one byte per code unit: header values are ByteStrings) then
 * `body` in one buffer, pooled when it fits (give it back with
 * {@link release}).
 */
function packed(
  head: string,
  body: Uint8Array | undefined,
  tail: Uint8Array | undefined,
): Uint8Array {
  const bodyBytes = body?.length ?? 0;
  const size = head.length + bodyBytes + (tail?.length ?? 0);
  const out = size <= POOLED_BYTES
    ? pool.pop() ?? new Uint8Array(POOLED_BYTES)
    : new Uint8Array(size);
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  if (body !== undefined) out.set(body, head.length);
  if (tail !== undefined) out.set(tail, head.length + bodyBytes);
  return out.subarray(0, size);
}

/** Gives a pooled buffer back (any view of it; others are left alone). */
function release(bytes: Uint8Array | undefined): void {
  if (
    bytes !== undefined && bytes.buffer.byteLength === POOLED_BYTES &&
    pool.length < POOL_MAX
  ) {
    pool.push(new Uint8Array(bytes.buffer, 0, POOLED_BYTES));
  }
}

/** Writes `head`, `body` and `tail` in one write. */
async function writePacked(
  sink: ByteSink,
  head: string,
  body?: Uint8Array,
  tail?: Uint8Array,
): Promise<void> {
  const bytes = packed(head, body, tail);
  let at = await sink.write(bytes);
  while (at < bytes.length) at += await sink.write(bytes.subarray(at));
  // Not given back if the write failed: the runtime may still hold it.
  release(bytes);
}

/**
 * Writes `response`; resolves once it is all written, and returns whether
 * the connection may carry another request (false when the body had to be
 * delimited by closing). Throws when the connection fails; the body is then
 * cancelled.
 */
export async function writeResponse(
  sink: ByteSink,
  response: Response,
  to: AnswerTo,
): Promise<boolean> {
  const { status } = response;
  const bodiless = status === 204 || status === 304 || status < 200;
  const body = response.body;
  if (body === null || to.head || bodiless) {
    if (body !== null) await body.cancel();
    const framing = body === null && !bodiless ? "content-length: 0\r\n" : "";
    await writePacked(
      sink,
      headOf(status, response.headers, framing, to.keepAlive),
    );
    return to.keepAlive;
  }
  const reader = body.getReader();
  // The first chunk, copied (the runtime may reuse a chunk once the next is
  // read) after room for the head when it fits a pooled buffer, so that a
  // body of one chunk and its head go out in one write without another copy.
  let held: Uint8Array | undefined;
  try {
    const first = await reader.read();
    let firstBytes: Uint8Array = EMPTY;
    if (!first.done) {
      const n = first.value.length;
      if (n <= POOLED_BYTES - HEAD_ROOM) {
        held = pool.pop() ?? new Uint8Array(POOLED_BYTES);
        firstBytes = held.subarray(HEAD_ROOM, HEAD_ROOM + n);
        firstBytes.set(first.value);
      } else {
        firstBytes = first.value.slice();
      }
    }
    const second = first.done ? first : await reader.read();
    if (second.done) {
      const head = headOf(
        status,
        response.headers,
        `content-length: ${firstBytes.length}\r\n`,
        to.keepAlive,
      );
      if (held !== undefined && head.length <= HEAD_ROOM) {
        const from = HEAD_ROOM - head.length;
        for (let i = 0; i < head.length; i++) {
          held[from + i] = head.charCodeAt(i);
        }
        await writeAll(
          sink,
          held.subarray(from, HEAD_ROOM + firstBytes.length),
        );
      } else if (firstBytes.length <= JOINED_MAX_BYTES) {
        await writePacked(sink, head, firstBytes);
      } else {
        await writePacked(sink, head);
        await writeAll(sink, firstBytes);
      }
      release(held);
      held = undefined;
      return to.keepAlive;
    }
    const chunked = to.minor === 1;
    const keepAlive = to.keepAlive && chunked;
    await writePacked(
      sink,
      headOf(
        status,
        response.headers,
        chunked ? "transfer-encoding: chunked\r\n" : "",
        keepAlive,
      ),
    );
    const send = async (chunk: Uint8Array) => {
      if (chunk.length === 0) return;
      if (!chunked) return await writeAll(sink, chunk);
      const size = `${chunk.length.toString(16)}\r\n`;
      if (chunk.length > JOINED_MAX_BYTES) {
        await writeAll(sink, encoder.encode(size));
        await writeAll(sink, chunk);
        await writeAll(sink, CRLF);
        return;
      }
      // One write, one segment: the framing does not go apart from its data.
      await writePacked(sink, size, chunk, CRLF);
    };
    await send(firstBytes);
    release(held);
    held = undefined;
    let next: ReadableStreamReadResult<Uint8Array> = second;
    while (!next.done) {
      await send(next.value);
      next = await reader.read();
    }
    if (chunked) await writeAll(sink, LAST_CHUNK);
    // The lock is not released: the stream has ended, and releasing it
    // costs an Error object per answer.
    return keepAlive;
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  }
}

/** A whole answer that closes the connection (a refused request). */
export function closingAnswer(
  status: number,
  headers: readonly (readonly [string, string])[],
  body: string | Uint8Array,
): Uint8Array {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ""}\r\n`;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === "content-length" || lower === "connection") continue;
    head += `${name}: ${value}\r\n`;
  }
  head +=
    `Content-Length: ${bytes.length}\r\nConnection: close\r\n${dateLine()}\r\n`;
  const out = new Uint8Array(head.length + bytes.length);
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  out.set(bytes, head.length);
  return out;
}
