/**
 * A response body made by a generator, sent in reads of at most
 * {@link PIECE} bytes each, the way a text scrape sends its cached pieces
 * one per read. Reads may follow each other without the event loop running
 * in between (Deno's HTTP asks for the next one as soon as a piece is
 * taken), so once {@link SLICE_MS} went by since the stream last let the
 * event loop run, a read lets it run again before it goes on, whether it is
 * about to make a piece or is in the middle of one: no run of reads keeps
 * the HTTP thread much longer, however long the generator works
 * (docs/architecture.md, A scrape; README "Endpoints").
 *
 * Every chunk but the last is exactly {@link PIECE} bytes, so a gzipped
 * body is the same gzip member whichever generator made the bytes.
 * @module
 */

import { compressFragment, GzipJoiner } from "../exposition/gzip_fragments.ts";
import { PIECE } from "../store/piece.ts";
import { nextTurn } from "../event_loop.ts";

/** Milliseconds of work per read before others get the event loop. */
export const SLICE_MS = 5;

export interface SlicedStreamOptions {
  /**
   * One gzip member (docs/compatibility.md, Scrapes), a fragment deflated per
   * read.
   */
  readonly gzip: boolean;
}

/**
 * `pieces` as a body. An empty piece is work done with nothing to send yet
 * (a point at which the read may pause). The generator is run only as the
 * client reads, and closed if the client goes away.
 */
export function slicedStream(
  pieces: Iterator<Uint8Array, void, undefined>,
  options: SlicedStreamOptions,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const joiner = options.gzip ? new GzipJoiner() : undefined;
  let headerSent = false;
  let buffer = new Uint8Array(PIECE);
  let used = 0;
  // Part of the current piece that did not fit in the buffer yet.
  let rest: Uint8Array | undefined;
  let finished = false;
  const send = (bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> => {
    if (joiner === undefined) return bytes;
    return Uint8Array.prototype.slice.call(
      joiner.add(compressFragment(bytes)),
    ) as Uint8Array<ArrayBuffer>;
  };
  /** Fills the buffer; true once it is full. */
  const fill = (bytes: Uint8Array): boolean => {
    const n = Math.min(bytes.length, PIECE - used);
    buffer.set(n === bytes.length ? bytes : bytes.subarray(0, n), used);
    used += n;
    rest = n < bytes.length ? bytes.subarray(n) : undefined;
    return used === PIECE;
  };
  const full = (): Uint8Array<ArrayBuffer> => {
    const out = buffer;
    buffer = new Uint8Array(PIECE);
    used = 0;
    return send(out);
  };
  // When this stream last let the event loop run.
  let yielded = performance.now();
  const letOthersIn = async (): Promise<void> => {
    if (performance.now() - yielded < SLICE_MS) return;
    await nextTurn();
    yielded = performance.now();
  };
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(controller) {
      if (joiner !== undefined && !headerSent) {
        headerSent = true;
        controller.enqueue(joiner.header());
        return;
      }
      await letOthersIn();
      // Bounded: each turn consumes a piece or part of one; the generator
      // ends.
      for (;;) {
        if (rest !== undefined && fill(rest)) {
          controller.enqueue(full());
          return;
        }
        if (finished) {
          if (used > 0) {
            controller.enqueue(send(buffer.slice(0, used)));
            used = 0;
            return;
          }
          if (joiner !== undefined) controller.enqueue(joiner.end());
          controller.close();
          return;
        }
        const next = pieces.next();
        if (next.done) {
          finished = true;
          continue;
        }
        if (fill(next.value)) {
          controller.enqueue(full());
          return;
        }
        // Nothing to send yet: let others in, then go on.
        await letOthersIn();
      }
    },
    cancel() {
      pieces.return?.(undefined);
    },
  }, { highWaterMark: 0 });
}

/**
 * Text pieces as UTF-8 pieces for {@link slicedStream}, small ones joined
 * (up to {@link TEXT_BATCH} characters) so that each is not encoded on its
 * own. An empty string is work done with nothing to send yet, as an empty
 * piece is.
 */
export function* encodeText(
  pieces: Iterator<string, void, undefined>,
): Generator<Uint8Array, void, undefined> {
  const encoder = new TextEncoder();
  let pending = "";
  try {
    for (let next = pieces.next(); !next.done; next = pieces.next()) {
      if (next.value === "") {
        yield NOTHING;
        continue;
      }
      pending += next.value;
      if (pending.length >= TEXT_BATCH) {
        yield encoder.encode(pending);
        pending = "";
      }
    }
    if (pending.length > 0) yield encoder.encode(pending);
  } finally {
    pieces.return?.(undefined);
  }
}

/** Characters {@link encodeText} joins before it encodes them. */
const TEXT_BATCH = 16 * 1024;
const NOTHING = new Uint8Array(0);
