/**
 * Reading a text arena's deflated pieces back in another order than they
 * lie in (a build writes a family's texts in scrape order): a few pieces
 * kept inflated at a time, the least recently used given up first, and
 * how many inflations an order would cost that way, counted beforehand.
 *
 * Texts come into a family in the order pushes (or start-up) bring them,
 * group by group, and a scrape orders them by key: within a group the
 * order changes, across groups it mostly does not (their grouping labels
 * come first in the key, and groups arrive in about that order). So a
 * build jumps back and forth within a few neighbouring pieces, where one
 * piece at a time inflated each of them again at every jump, and the build
 * inflated the whole family into one buffer instead: 900 MiB more resident
 * memory with ten million series. Pure data structure: no I/O, no clock.
 * @module
 */

import {
  type GzipFragment,
  inflateFragment,
} from "../exposition/gzip_fragments.ts";

/**
 * Pieces kept inflated (64 KiB each at most, PIECE): as many as the groups
 * a few concurrent pushers have in flight, each about a piece or two of
 * texts.
 */
export const CACHED_PIECES = 16;

/** Where a build copies plain bytes to (TextArena's RunCopier). */
export interface ByteSink {
  add(source: Uint8Array, from: number, to: number): void;
  /** Writes what it still points to, so that the source may be freed. */
  flush(): void;
}

/** Where a build or compaction copies texts of `main` from. */
export interface MainSource {
  /** Adds plain bytes [start, end) of `main` to `sink`. */
  copy(sink: ByteSink, start: number, end: number): void;
  /** Frees what it inflated; after the sink's last flush. */
  close(): void;
}

/**
 * Frees a buffer nothing else holds now (detaching it): V8 frees a buffer
 * only at its next full GC, which may come after hundreds of MiB more
 * (peak memory).
 */
export function release(bytes: Uint8Array<ArrayBuffer>): void {
  if (bytes.byteLength > 0) bytes.buffer.transfer(0);
}

/** Index of the piece holding plain offset `at`, given the pieces' starts. */
export function pieceIndex(starts: readonly number[], at: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Counts the inflations a {@link CachedPieces} reader would make for the
 * offsets it is shown, in order (offsets at or past `base` are in the
 * tail and cost none).
 */
export class LoadCounter {
  loads = 0;
  readonly #starts: readonly number[];
  readonly #pieces: readonly GzipFragment[];
  readonly #base: number;
  /** Piece indexes held, most recently used last. */
  readonly #held: number[] = [];
  #from = 0;
  #to = 0;

  constructor(
    pieces: readonly GzipFragment[],
    starts: readonly number[],
    base: number,
  ) {
    this.#pieces = pieces;
    this.#starts = starts;
    this.#base = base;
  }

  /** A text starting at plain offset `at` is read next. */
  see(at: number): void {
    if (at >= this.#base || (at >= this.#from && at < this.#to)) return;
    const index = pieceIndex(this.#starts, at);
    this.#from = this.#starts[index] as number;
    this.#to = this.#from + (this.#pieces[index] as GzipFragment).length;
    const held = this.#held;
    const k = held.indexOf(index);
    if (k >= 0) held.splice(k, 1);
    else {
      this.loads++;
      if (held.length === CACHED_PIECES) held.shift();
    }
    held.push(index);
  }
}

/** One piece inflated, and where it lies in `main`. */
interface Held {
  readonly index: number;
  readonly from: number;
  readonly to: number;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/**
 * `main` read through up to {@link CACHED_PIECES} inflated pieces, the
 * least recently used freed first (read in order, one piece is inflated
 * once).
 */
export class CachedPieces implements MainSource {
  readonly #pieces: readonly GzipFragment[];
  readonly #starts: readonly number[];
  /** Most recently used last. */
  #held: Held[] = [];
  #current: Held | undefined;

  constructor(pieces: readonly GzipFragment[], starts: readonly number[]) {
    this.#pieces = pieces;
    this.#starts = starts;
  }

  copy(sink: ByteSink, start: number, end: number): void {
    let at = start;
    while (at < end) {
      let current = this.#current;
      if (current === undefined || at < current.from || at >= current.to) {
        current = this.#load(sink, pieceIndex(this.#starts, at));
      }
      const to = Math.min(end, current.to);
      sink.add(current.bytes, at - current.from, to - current.from);
      at = to;
    }
  }

  #load(sink: ByteSink, index: number): Held {
    const held = this.#held;
    let k = held.length - 1;
    while (k >= 0 && (held[k] as Held).index !== index) k--;
    let piece: Held;
    if (k >= 0) {
      piece = held[k] as Held;
      held.splice(k, 1);
    } else {
      if (held.length === CACHED_PIECES) {
        // The sink's pending run may point into the piece about to be freed.
        sink.flush();
        release((held.shift() as Held).bytes);
      }
      const bytes = inflateFragment(this.#pieces[index] as GzipFragment);
      const from = this.#starts[index] as number;
      piece = { index, from, to: from + bytes.length, bytes };
    }
    held.push(piece);
    this.#current = piece;
    return piece;
  }

  close(): void {
    for (const piece of this.#held) release(piece.bytes);
    this.#held = [];
    this.#current = undefined;
  }
}
