/**
 * Inflating a gzip body on the HTTP thread a slice at a time: node:zlib
 * inflates a body given whole in one go and joins its output at the end, so
 * a 58 MiB body held the thread about 100 ms. Here the compressed bytes go
 * in slices sized to inflate to about a megabyte each, the output is copied
 * into one growing buffer as it comes, and the event loop runs after every
 * few ms of work. Decoding is node:zlib's all the same (concatenated
 * members, its errors), so decompress.ts maps its errors to Go's words.
 * @module
 */

import { zlib } from "./zlib.ts";
import { nextTurn } from "../event_loop.ts";

/** Milliseconds of inflating between two turns of the event loop. */
const SLICE_MS = 5;
/** Bytes of each chunk the inflater gives. */
const OUT_CHUNK = 256 * 1024;
/** Inflated bytes aimed at per slice of input. */
const OUT_PER_SLICE = 1024 * 1024;
/** Input slices: the first small (gzip inflates up to about 1,000×). */
const FIRST_SLICE = 1024;
const MAX_SLICE = 256 * 1024;

/** Deflate inflates at most about 1,032× its input. */
const MAX_RATIO = 1032;

/**
 * The buffer to inflate `body` into: the size its last member's trailer
 * states (ISIZE, RFC 1952), which is the whole size of a body of one
 * member, so that it is neither grown nor copied at the end; within what
 * the compressed size can inflate to.
 */
function sizeHint(body: Uint8Array): number {
  const n = body.length;
  const stated = ((body[n - 4] ?? 0) | (body[n - 3] ?? 0) << 8 |
    (body[n - 2] ?? 0) << 16 | (body[n - 1] ?? 0) << 24) >>> 0;
  return Math.min(Math.max(stated, OUT_CHUNK), n * MAX_RATIO);
}

/**
 * `body` inflated, every member; undefined when it would pass `maxBytes`
 * (inflating stops within a slice of it). Throws node:zlib's error for
 * input it cannot inflate.
 */
export async function inflateGzip(
  body: Uint8Array,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  const inflater = zlib().createGunzip({ chunkSize: OUT_CHUNK });
  let out = new Uint8Array(Math.min(sizeHint(body), maxBytes));
  let total = 0;
  let over = false;
  let failure: unknown;
  inflater.on("data", (chunk: Uint8Array) => {
    if (over) return;
    if (total + chunk.length > maxBytes) {
      over = true;
      return;
    }
    if (total + chunk.length > out.length) {
      const grown = new Uint8Array(
        Math.min(Math.max(out.length * 2, total + chunk.length), maxBytes),
      );
      grown.set(out.subarray(0, total));
      out = grown;
    }
    out.set(chunk, total);
    total += chunk.length;
  });
  let failed: () => void = () => {};
  const failedOnce = new Promise<void>((resolve) => failed = resolve);
  inflater.on("error", (error: unknown) => {
    failure ??= error;
    failed();
  });
  /** Runs a write or the end, until its callback or an error. */
  const step = (run: (done: (error?: unknown) => void) => void) =>
    Promise.race([
      new Promise<void>((resolve) =>
        run((error) => {
          if (error) failure ??= error;
          resolve();
        })
      ),
      failedOnce,
    ]);
  try {
    let size = FIRST_SLICE;
    let started = performance.now();
    // Bounded: every turn consumes input, or ends.
    for (let at = 0; at < body.length;) {
      if (over || failure !== undefined) break;
      const slice = body.subarray(at, at + size);
      const before = total;
      await step((done) => inflater.write(slice, done));
      at += slice.length;
      const ratio = Math.max(1, (total - before) / slice.length);
      size = Math.min(
        MAX_SLICE,
        Math.max(FIRST_SLICE, Math.floor(OUT_PER_SLICE / ratio)),
      );
      if (performance.now() - started >= SLICE_MS) {
        await nextTurn();
        started = performance.now();
      }
    }
    if (!over && failure === undefined) {
      await step((done) => inflater.end(done));
    }
  } finally {
    inflater.destroy();
  }
  if (failure !== undefined) throw failure;
  if (over) return undefined;
  // Its own buffer, so that the push worker is handed it without a copy.
  return total === out.length ? out : out.slice(0, total);
}
