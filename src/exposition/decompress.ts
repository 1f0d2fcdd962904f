/**
 * Request bodies: undoing their `Content-Encoding` (docs/compatibility.md,
 * Compression; newest behaviour); http/request_body.ts reads them.
 * The encoding is compared case-insensitively; `gzip` and `snappy` (the Snappy
 * *framed* format, as `snzip` and Go's `snappy.NewReader` speak it) are
 * decoded; anything else (`identity`, absent, unknown) passes through, as in
 * `decodeRequest` in prometheus/pushgateway `main.go`.
 *
 * Work is bounded: decompression stops as soon as the output would pass
 * `maxBytes` (a gzip bomb is never inflated in full) and throws
 * {@link BodyTooLargeError}. Corrupt input throws {@link DecompressionError}
 * with Go's wording where it matters to clients (`EOF`, `unexpected EOF`,
 * `gzip: invalid header`, `snappy: corrupt input`). No HTTP, no logging.
 * @module
 */

import { errorMessage } from "../error_message.ts";
import { nextTurn } from "../event_loop.ts";
import { inflateGzip } from "./gunzip.ts";
import { concatBytes } from "../bytes.ts";

/** A compressed body that cannot be decoded (answered with 400). */
export class DecompressionError extends Error {
  override name = "DecompressionError";
  /** Answered as a bad body (push/push_error.ts). */
  readonly kind = "invalid";
  /** The Content-Encoding whose decoding failed. */
  readonly encoding: "gzip" | "snappy";
  constructor(
    encoding: "gzip" | "snappy",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.encoding = encoding;
  }
}

/** A body, or its decompressed form, larger than the configured limit. */
export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
  /** Answered as over a size limit (push/push_error.ts). */
  readonly kind = "too_large";
  /** The limit in bytes. */
  readonly limit: number;
  constructor(limit: number, what = "request body") {
    super(`${what} exceeds the limit of ${limit} bytes`);
    this.limit = limit;
  }
}

export interface DecompressOptions {
  /** Largest decompressed size accepted, in bytes. */
  readonly maxBytes: number;
}

/**
 * Undoes `contentEncoding` (case-insensitive `gzip` or `snappy`; anything
 * else is taken as identity). Throws DecompressionError for corrupt input and
 * BodyTooLargeError when the result would exceed `maxBytes`, without
 * decompressing further.
 */
export async function decompressBody(
  body: Uint8Array,
  contentEncoding: string | null,
  options: DecompressOptions,
): Promise<Uint8Array> {
  switch (contentEncoding?.toLowerCase()) {
    case "gzip":
      return await gunzipLimited(body, options.maxBytes);
    case "snappy":
      return await decodeSnappyFramed(body, options.maxBytes);
    default:
      // The Pushgateway ignores encodings it does not know (main.go,
      // decodeRequest), so `deflate` or `br` bodies reach the parser as-is.
      if (body.length > options.maxBytes) {
        throw new BodyTooLargeError(options.maxBytes);
      }
      return body;
  }
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  return concatBytes(chunks, total);
}

// ---------------------------------------------------------------------------
// gzip

const GZIP_HEADER_LENGTH = 10;

/**
 * node:zlib rather than DecompressionStream: like Go's gzip.Reader it reads
 * concatenated members (`cat a.gz b.gz`) and tells truncation from a bad
 * checksum. Inflating stops at the limit (gunzip.ts).
 */
async function gunzipLimited(
  body: Uint8Array,
  maxBytes: number,
): Promise<Uint8Array> {
  checkGzipHeader(body);
  let result: Uint8Array | undefined;
  try {
    result = await inflateGzip(body, maxBytes);
  } catch (error) {
    throw new DecompressionError("gzip", goGzipMessage(error), {
      cause: error,
    });
  }
  if (result === undefined) {
    throw new BodyTooLargeError(maxBytes, "decompressed request body");
  }
  return result;
}

/** Go's gzip.NewReader errors for a header it cannot read. */
function checkGzipHeader(body: Uint8Array): void {
  if (body.length === 0) throw new DecompressionError("gzip", "EOF");
  if (body.length < GZIP_HEADER_LENGTH) {
    throw new DecompressionError("gzip", "unexpected EOF");
  }
  // ID1, ID2 and CM (8 = deflate), RFC 1952 §2.3.1.
  if (body[0] !== 0x1f || body[1] !== 0x8b || body[2] !== 8) {
    throw new DecompressionError("gzip", "gzip: invalid header");
  }
}

/** zlib's messages in the words of Go's compress/gzip and compress/flate. */
function goGzipMessage(error: unknown): string {
  const message = errorMessage(error);
  switch (message) {
    case "unexpected end of file":
      return "unexpected EOF";
    case "incorrect data check":
    case "incorrect length check":
      return "gzip: invalid checksum";
    case "incorrect header check":
    case "unknown compression method":
    case "unknown header flags set":
    case "header crc mismatch":
      // Also what follows the last member when it is not another member.
      return "gzip: invalid header";
    default:
      return `flate: corrupt input (${message})`;
  }
}

// ---------------------------------------------------------------------------
// Snappy, framing format
// (https://github.com/google/snappy/blob/main/framing_format.txt)

const SNAPPY_CORRUPT = "snappy: corrupt input";
const SNAPPY_UNSUPPORTED = "snappy: unsupported input";
const STREAM_IDENTIFIER = [0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]; // "sNaPpY"
/** Largest uncompressed chunk (framing format §4.2, §4.3). */
const MAX_BLOCK_SIZE = 65536;
/** Largest chunk Go's reader accepts: MaxEncodedLen(65536) + CRC. */
const MAX_CHUNK_LENGTH = 76490 + 4;

/** Chunks (up to 64 KiB each) decoded between two turns of the event loop. */
const SNAPPY_CHUNKS_AT_ONCE = 16;

function snappyError(message: string): DecompressionError {
  return new DecompressionError("snappy", message);
}

/**
 * Decodes a Snappy framed stream, checking every CRC. Mirrors Go's
 * `snappy.Reader`: the stream identifier must come first, an empty body is
 * an empty result, reserved unskippable chunks are unsupported, padding and
 * reserved skippable chunks are skipped. Decoding is JavaScript on the HTTP
 * thread, so it lets other requests in after every {@link SNAPPY_CHUNKS_AT_ONCE}
 * chunks: a body of 64 MiB must not hold the thread for its whole decoding.
 */
async function decodeSnappyFramed(
  body: Uint8Array,
  maxBytes: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let pos = 0;
  let sawIdentifier = false;
  for (let n = 1; pos < body.length; n++) {
    if (n % SNAPPY_CHUNKS_AT_ONCE === 0) {
      await nextTurn();
    }
    if (body.length - pos < 4) throw snappyError(SNAPPY_CORRUPT);
    const type = body[pos] ?? 0;
    const length = (body[pos + 1] ?? 0) | (body[pos + 2] ?? 0) << 8 |
      (body[pos + 3] ?? 0) << 16;
    pos += 4;
    if (!sawIdentifier && type !== 0xff) throw snappyError(SNAPPY_CORRUPT);
    sawIdentifier = true;
    if (length > MAX_CHUNK_LENGTH) throw snappyError(SNAPPY_UNSUPPORTED);
    if ((type === 0x00 || type === 0x01) && length < 4) {
      throw snappyError(SNAPPY_CORRUPT);
    }
    if (body.length - pos < length) throw snappyError(SNAPPY_CORRUPT);
    const data = body.subarray(pos, pos + length);
    pos += length;
    switch (type) {
      case 0x00: { // compressed data
        const block = data.subarray(4);
        const decodedLength = snappyDecodedLength(block);
        if (decodedLength.value > MAX_BLOCK_SIZE) {
          throw snappyError(SNAPPY_CORRUPT);
        }
        total += decodedLength.value;
        if (total > maxBytes) {
          throw new BodyTooLargeError(maxBytes, "decompressed request body");
        }
        const decoded = new Uint8Array(decodedLength.value);
        if (!decodeSnappyBlock(block.subarray(decodedLength.bytes), decoded)) {
          throw snappyError(SNAPPY_CORRUPT);
        }
        checkChunkCrc(data, decoded);
        chunks.push(decoded);
        break;
      }
      case 0x01: { // uncompressed data
        const decoded = data.subarray(4);
        if (decoded.length > MAX_BLOCK_SIZE) throw snappyError(SNAPPY_CORRUPT);
        total += decoded.length;
        if (total > maxBytes) {
          throw new BodyTooLargeError(maxBytes, "decompressed request body");
        }
        checkChunkCrc(data, decoded);
        chunks.push(decoded);
        break;
      }
      case 0xff: // stream identifier; may repeat (concatenated streams)
        if (
          length !== STREAM_IDENTIFIER.length ||
          STREAM_IDENTIFIER.some((byte, i) => data[i] !== byte)
        ) {
          throw snappyError(SNAPPY_CORRUPT);
        }
        break;
      default:
        // 0x02–0x7f reserved unskippable; 0x80–0xfd reserved skippable and
        // 0xfe padding are skipped.
        if (type <= 0x7f) throw snappyError(SNAPPY_UNSUPPORTED);
    }
  }
  return concat(chunks, total);
}

/** The chunk starts with the masked CRC-32C of its uncompressed data. */
function checkChunkCrc(chunk: Uint8Array, decoded: Uint8Array): void {
  const expected = ((chunk[0] ?? 0) | (chunk[1] ?? 0) << 8 |
    (chunk[2] ?? 0) << 16 | (chunk[3] ?? 0) << 24) >>> 0;
  if (maskedCrc32c(decoded) !== expected) throw snappyError(SNAPPY_CORRUPT);
}

/** The uvarint that starts a Snappy block: its decoded length. */
function snappyDecodedLength(
  block: Uint8Array,
): { value: number; bytes: number } {
  let value = 0;
  // Go's binary.Uvarint reads at most 10 bytes; decodedLen caps at 2³²-1.
  for (let i = 0; i < 10 && i < block.length; i++) {
    const byte = block[i] ?? 0;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) {
      if (value > 0xffffffff) break;
      return { value, bytes: i + 1 };
    }
  }
  throw snappyError(SNAPPY_CORRUPT);
}

/**
 * Decodes one Snappy block (format_description.txt) into `dst`, whose length
 * is the block's declared decoded length. False if the block is corrupt or
 * does not fill `dst` exactly.
 */
function decodeSnappyBlock(src: Uint8Array, dst: Uint8Array): boolean {
  let s = 0;
  let d = 0;
  while (s < src.length) {
    const tag = src[s] ?? 0;
    let length: number;
    let offset: number;
    switch (tag & 0x03) {
      case 0: { // literal
        let literal = tag >>> 2;
        if (literal < 60) {
          s += 1;
        } else {
          // 60..63: the length - 1 follows in 1..4 little-endian bytes.
          const extra = literal - 59;
          if (s + 1 + extra > src.length) return false;
          literal = 0;
          for (let k = extra; k >= 1; k--) {
            literal = literal * 256 + (src[s + k] ?? 0);
          }
          s += 1 + extra;
        }
        length = literal + 1;
        if (length > dst.length - d || length > src.length - s) return false;
        dst.set(src.subarray(s, s + length), d);
        d += length;
        s += length;
        continue;
      }
      case 1: // copy, 1-byte offset
        if (s + 2 > src.length) return false;
        length = 4 + ((tag >>> 2) & 0x07);
        offset = ((tag & 0xe0) << 3) | (src[s + 1] ?? 0);
        s += 2;
        break;
      case 2: // copy, 2-byte offset
        if (s + 3 > src.length) return false;
        length = 1 + (tag >>> 2);
        offset = (src[s + 1] ?? 0) | (src[s + 2] ?? 0) << 8;
        s += 3;
        break;
      default: // copy, 4-byte offset
        if (s + 5 > src.length) return false;
        length = 1 + (tag >>> 2);
        offset = ((src[s + 1] ?? 0) | (src[s + 2] ?? 0) << 8 |
          (src[s + 3] ?? 0) << 16 | (src[s + 4] ?? 0) << 24) >>> 0;
        s += 5;
    }
    if (offset <= 0 || d < offset || length > dst.length - d) return false;
    if (offset >= length) {
      dst.copyWithin(d, d - offset, d - offset + length);
    } else {
      // Overlapping copy repeats the last `offset` bytes: copy forwards.
      for (let k = 0; k < length; k++) dst[d + k] = dst[d - offset + k] ?? 0;
    }
    d += length;
  }
  return d === dst.length;
}

let crc32cTable: Uint32Array | undefined;

/**
 * CRC-32C's table (Castagnoli, reflected polynomial 0x82f63b78), built by
 * the first snappy body: built at start, its 2,048 turns made V8 compile
 * the loop with its optimizing compilers before the first request, 5 MiB
 * of resident memory (docs/performance.md, "Fixed costs").
 */
function crc32cTableOnce(): Uint32Array {
  if (crc32cTable !== undefined) return crc32cTable;
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  crc32cTable = table;
  return table;
}

/** CRC-32C of `data`, table-driven. Exported for tests. */
export function crc32c(data: Uint8Array): number {
  const table = crc32cTableOnce();
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    crc = (table[(crc ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** The framing format's masked CRC: rotate right by 15, add a constant. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}
