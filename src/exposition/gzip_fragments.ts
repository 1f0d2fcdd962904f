/**
 * One gzip stream assembled from independently compressed fragments, so that
 * a scrape compresses only the families that changed since the last one
 * (gzip of cached fragments). Each fragment is raw deflate data
 * ended by a sync flush (byte-aligned, no final block); fragments are joined
 * behind one gzip header, closed by an empty final block, and the trailer's
 * CRC-32 is combined from the fragments' own CRCs (zlib's crc32_combine), so
 * nothing is read twice. The result is a single ordinary gzip member that
 * every client decodes.
 *
 * Pure apart from calling zlib; never throws for valid input.
 * @module
 */

import { zlib } from "./zlib.ts";

export interface GzipFragment {
  /** Raw deflate data ending with a sync flush. */
  readonly deflated: Uint8Array;
  /** CRC-32 of the uncompressed bytes. */
  readonly crc: number;
  /** Uncompressed length in bytes. */
  readonly length: number;
}

/** zlib's default level, as Go's gzip.NewWriter (the Pushgateway) uses. */
const DEFAULT_LEVEL = 6;

/**
 * Deflates `bytes` into a fragment (`level`: zlib's 1–9). The result owns
 * its memory: no pooled buffer is kept alive by a small fragment.
 */
export function compressFragment(
  bytes: Uint8Array,
  level = DEFAULT_LEVEL,
): GzipFragment {
  // Room for the worst case (stored blocks), so that zlib writes into one
  // buffer: the result is copied out of it and the buffer freed at once.
  const room = bytes.length + (bytes.length >> 3) + 64;
  const out = zlib().deflateRawSync(bytes, {
    level,
    finishFlush: zlib().constants.Z_SYNC_FLUSH,
    chunkSize: room,
  });
  const deflated = Uint8Array.prototype.slice.call(out) as Uint8Array<
    ArrayBuffer
  >;
  freeIfOwn(out, room);
  return { deflated, crc: zlib().crc32(bytes) >>> 0, length: bytes.length };
}

/**
 * The bytes `fragment` holds, in a buffer of their own: the caller may free
 * it (`buffer.transfer(0)`) once done. Throws {@link FragmentError} if the
 * data does not inflate to the recorded length (memory corruption: a
 * fragment is only ever made by {@link compressFragment}).
 */
export function inflateFragment(
  fragment: GzipFragment,
): Uint8Array<ArrayBuffer> {
  if (fragment.length === 0) return new Uint8Array(0);
  // One byte more than the text: zlib ends with room to spare, so the
  // binding allocates no second output buffer (a 64 KiB piece of garbage
  // per call otherwise, freed only by a GC V8 has no reason to run: 60–90
  // MiB of malloc's arena after a few scrapes of 1M series).
  const room = Math.max(MIN_CHUNK, fragment.length + 1);
  const out = zlib().inflateRawSync(fragment.deflated, {
    finishFlush: zlib().constants.Z_SYNC_FLUSH,
    chunkSize: room,
  });
  if (out.length !== fragment.length) {
    throw new FragmentError(
      `a stored text fragment inflated to ${out.length} bytes, not ${fragment.length}`,
    );
  }
  if (isOwn(out, room)) return out as Uint8Array<ArrayBuffer>;
  return Uint8Array.prototype.slice.call(out) as Uint8Array<ArrayBuffer>;
}

/** The bytes of `fragments` one after the other, in one buffer. */
export function inflateFragments(
  fragments: readonly GzipFragment[],
): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const fragment of fragments) length += fragment.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const fragment of fragments) {
    const plain = inflateFragment(fragment);
    out.set(plain, offset);
    offset += plain.length;
    if (plain.byteLength > 0) plain.buffer.transfer(0);
  }
  return out;
}

export class FragmentError extends Error {
  override readonly name = "FragmentError";
}

/**
 * Whether `bytes` starts a buffer of `room` bytes that zlib allocated for
 * this call alone (small ones come from Buffer's shared pool instead).
 */
function isOwn(bytes: Uint8Array, room: number): boolean {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === room &&
    bytes.buffer instanceof ArrayBuffer && room >= OWN_BUFFER_MIN;
}
/** zlib's smallest output chunk. */
const MIN_CHUNK = 64;
/** Node's Buffer pools allocations below half its 8 KiB pool size. */
const OWN_BUFFER_MIN = 4096;

function freeIfOwn(bytes: Uint8Array, room: number): void {
  if (isOwn(bytes, room)) (bytes.buffer as ArrayBuffer).transfer(0);
}

// Header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
const GZIP_HEADER = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
// An empty final stored block ends the deflate stream.
const FINAL_BLOCK = new Uint8Array([0x03, 0x00]);

/**
 * Writes one gzip member fragment by fragment: `header()`, then `add()` for
 * each fragment in order, then `end()`. Keeps only the running CRC and
 * length, so a response can stream fragments as they are made.
 */
export class GzipJoiner {
  #crc = 0;
  #length = 0;

  header(): Uint8Array<ArrayBuffer> {
    return GZIP_HEADER.slice();
  }

  /** Returns the bytes to send for this fragment. */
  add(fragment: GzipFragment): Uint8Array {
    if (fragment.length === 0) return new Uint8Array(0);
    this.#crc = crc32Combine(this.#crc, fragment.crc, fragment.length);
    this.#length = (this.#length + fragment.length) % 0x1_0000_0000;
    return fragment.deflated;
  }

  /** The final empty block and the trailer (CRC-32, length mod 2^32). */
  end(): Uint8Array<ArrayBuffer> {
    const tail = new Uint8Array(FINAL_BLOCK.length + 8);
    tail.set(FINAL_BLOCK, 0);
    const view = new DataView(tail.buffer);
    view.setUint32(FINAL_BLOCK.length, this.#crc >>> 0, true);
    view.setUint32(FINAL_BLOCK.length + 4, this.#length >>> 0, true);
    return tail;
  }
}

/** The chunks of one gzip member holding the fragments in order. */
export function joinGzip(fragments: readonly GzipFragment[]): Uint8Array[] {
  const joiner = new GzipJoiner();
  const chunks: Uint8Array[] = [joiner.header()];
  for (const f of fragments) chunks.push(joiner.add(f));
  chunks.push(joiner.end());
  return chunks;
}

/**
 * CRC-32 of A followed by B from crc(A), crc(B) and B's length: zlib's
 * crc32_combine, applying `length` zero bytes to crc(A) by repeated squaring
 * of the CRC's GF(2) operator.
 */
export function crc32Combine(
  crcA: number,
  crcB: number,
  lengthB: number,
): number {
  if (lengthB <= 0) return crcA >>> 0;
  const odd = new Uint32Array(32);
  const even = new Uint32Array(32);
  odd[0] = 0xedb88320; // the CRC-32 polynomial: the operator for one zero bit
  let row = 1;
  for (let n = 1; n < 32; n++) {
    odd[n] = row;
    row = (row << 1) >>> 0;
  }
  square(even, odd); // two zero bits
  square(odd, even); // four zero bits
  let crc = crcA >>> 0;
  let remaining = lengthB;
  // Each step squares the operator: one zero byte, two, four, …
  while (remaining > 0) {
    square(even, odd);
    if (remaining % 2 === 1) crc = times(even, crc);
    remaining = Math.floor(remaining / 2);
    if (remaining === 0) break;
    square(odd, even);
    if (remaining % 2 === 1) crc = times(odd, crc);
    remaining = Math.floor(remaining / 2);
  }
  return (crc ^ crcB) >>> 0;
}

function times(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  let v = vector >>> 0;
  for (let i = 0; v !== 0; i++, v >>>= 1) {
    if (v & 1) sum ^= matrix[i] as number;
  }
  return sum >>> 0;
}

function square(target: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < 32; n++) target[n] = times(matrix, matrix[n] as number);
}
