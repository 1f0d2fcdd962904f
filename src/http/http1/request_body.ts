/**
 * A request body as it arrives on an HTTP/1.x connection, framed by
 * `Content-Length` or chunked: {@link BodyReader} gives it a piece at a
 * time from the connection's buffer, and leaves the bytes after it (the
 * next pipelined request) there. Malformed chunked framing or a connection
 * that ends early is a {@link BodyFramingError} (400 when the handler is
 * still reading).
 * @module
 */

import type { BodyFraming } from "./request_head.ts";

/** The connection's read side, as the body reader uses it. */
export interface BufferedInput {
  /** Bytes buffered and not taken yet. */
  buffered(): number;
  /** Takes up to `max` buffered bytes (a copy). */
  take(max: number): Uint8Array;
  /** The index of the next LF among the buffered bytes, from their start; -1 if none. */
  indexOfLf(): number;
  /** Reads more from the connection; false at its end. */
  fill(): Promise<boolean>;
}

/** The body's framing is broken, or the connection ended inside it. */
export class BodyFramingError extends Error {
  override name = "BodyFramingError";
  /** An expected failure of the request (push/push_error.ts), 400. */
  readonly kind = "invalid";
}

/** The longest chunk-size line or trailer line accepted. */
const LINE_MAX_BYTES = 4096;
const PIECE_MAX_BYTES = 64 * 1024;
const latin1 = new TextDecoder("latin1");

/** Reads one body; `next()` is undefined once it has all been read. */
export class BodyReader {
  readonly #input: BufferedInput;
  readonly #chunked: boolean;
  /** Bytes left in the body (length framing) or in the current chunk. */
  #left: number;
  #done: boolean;
  /** Chunked: whether a CRLF ends the chunk in progress. */
  #inChunk = false;
  #reading = false;

  constructor(input: BufferedInput, framing: BodyFraming) {
    this.#input = input;
    this.#chunked = framing.kind === "chunked";
    this.#left = framing.kind === "length" ? framing.length : 0;
    this.#done = framing.kind === "none";
  }

  get done(): boolean {
    return this.#done;
  }

  /** Whether a read is under way (then the body cannot be drained). */
  get reading(): boolean {
    return this.#reading;
  }

  /** The whole body when it is already buffered (length framing), else undefined. */
  takeWhole(): Uint8Array | undefined {
    if (this.#chunked || this.#done || this.#input.buffered() < this.#left) {
      return undefined;
    }
    const bytes = this.#input.take(this.#left);
    this.#left = 0;
    this.#done = true;
    return bytes;
  }

  /** The next piece of the body, or null at its end. */
  async next(): Promise<Uint8Array | null> {
    if (this.#done) return null;
    this.#reading = true;
    try {
      return this.#chunked
        ? await this.#nextChunked()
        : await this.#nextPiece();
    } finally {
      this.#reading = false;
    }
  }

  async #nextPiece(): Promise<Uint8Array> {
    if (this.#input.buffered() === 0 && !(await this.#input.fill())) {
      throw new BodyFramingError("the connection ended inside the body");
    }
    const piece = this.#input.take(Math.min(this.#left, PIECE_MAX_BYTES));
    this.#left -= piece.length;
    if (this.#left === 0 && !this.#chunked) this.#done = true;
    return piece;
  }

  async #nextChunked(): Promise<Uint8Array | null> {
    for (let guard = 0; guard < 1_000_000; guard++) {
      if (this.#left > 0) {
        const piece = await this.#nextPiece();
        if (this.#left === 0) this.#inChunk = true;
        return piece;
      }
      if (this.#inChunk) {
        if ((await this.#line()) !== "") {
          throw new BodyFramingError("a chunk does not end with CRLF");
        }
        this.#inChunk = false;
      }
      const sizeLine = await this.#line();
      const size = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(sizeLine)?.[1];
      if (size === undefined) {
        throw new BodyFramingError("invalid chunk size line");
      }
      this.#left = parseInt(size, 16);
      if (this.#left === 0) {
        // Trailers, up to the blank line; dropped.
        for (let i = 0; i < 1000 && (await this.#line()) !== ""; i++);
        this.#done = true;
        return null;
      }
    }
    throw new BodyFramingError("too many empty chunks");
  }

  /** The next line without its line ending. */
  async #line(): Promise<string> {
    for (;;) {
      const lf = this.#input.indexOfLf();
      if (lf >= 0) {
        const bytes = this.#input.take(lf + 1);
        const text = latin1.decode(bytes.subarray(0, lf));
        return text.endsWith("\r") ? text.slice(0, -1) : text;
      }
      if (this.#input.buffered() > LINE_MAX_BYTES) {
        throw new BodyFramingError("a chunk line is too long");
      }
      if (!(await this.#input.fill())) {
        throw new BodyFramingError("the connection ended inside the body");
      }
    }
  }
}

/** The body as a stream for a `Request`. */
export function bodyStream(
  reader: BodyReader,
  beforeFirstRead: () => Promise<void>,
): ReadableStream<Uint8Array> {
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        await beforeFirstRead();
      }
      const piece = await reader.next();
      if (piece === null) controller.close();
      else controller.enqueue(piece);
    },
  }, { highWaterMark: 0 });
}
