/**
 * The text lines of one family's series, kept once, as UTF-8 bytes, most of
 * them deflated (memory). A slot's text lives in one of two places:
 *
 * - `main`: pieces of at most {@link PIECE} bytes, each deflated on its own
 *   as a gzip fragment. {@link TextArena.build} writes it (the family
 *   header, then the texts in scrape order) and returns the pieces a scrape
 *   sends: a gzip scrape joins them as they are, a text scrape inflates one
 *   at a time. Pieces never change after, so a scrape can go on sending
 *   them however the family changes meanwhile;
 * - `tail`: texts written since (pushes), plain, appended; at most one
 *   piece's worth before it is deflated onto the end of `main`. A text that
 *   changes again leaves its old bytes behind until the next build or
 *   compaction.
 *
 * Before, the texts were kept plain: 128 MiB with 1M series, the largest
 * part of the store, where the deflated pieces take 9.6 MiB. Deflating 128
 * MiB at level 2 takes about 150 ms here and inflating it 75–90 ms; a build
 * happens only for a family that changed since the last scrape. Pure data
 * structure: no I/O, no clock.
 * @module
 */

import {
  compressFragment,
  type GzipFragment,
  inflateFragment,
} from "../exposition/gzip_fragments.ts";
import { PIECE } from "./piece.ts";
import {
  type ByteSink,
  CachedPieces,
  LoadCounter,
  type MainSource,
  pieceIndex,
  release,
} from "./piece_reader.ts";
import type { JoinedTexts, SeriesTexts } from "../push/rendered_blob.ts";
export { PIECE };

export function isJoined(texts: SeriesTexts): texts is JoinedTexts {
  return !Array.isArray(texts);
}

/** Text `i` of `texts` as a string. */
export function textAt(texts: SeriesTexts, i: number): string {
  if (!isJoined(texts)) return texts[i] as string;
  const { joined, bounds } = texts;
  return decoder.decode(
    joined.subarray(bounds[2 * i] as number, bounds[2 * i + 1] as number),
  );
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Below this, the tail grows instead of being folded into `main`. */
const MIN_TAIL = 64 * 1024;
/**
 * zlib level of the pieces a build writes, which gzip scrapes send. Level 2
 * deflates 128 MiB of texts in about 140 ms to 9.2 MiB; level 6 (Go's
 * default, the Pushgateway's) takes 3.5 times as long for 7.8 MiB.
 */
export const PIECE_LEVEL = 2;
/**
 * zlib level of the pieces a compaction writes: only kept until the next
 * build rewrites them, and written under push load, so level 1 (about
 * twice as fast, 35% larger).
 */
const COMPACTION_LEVEL = 1;
/**
 * A compaction rewrites every live text once garbage is more than this
 * share of the bytes held: each rewrite inflates and deflates the whole
 * family, so rarely (about twice per family's worth of texts pushed when
 * nobody scrapes; a scrape's build clears the garbage anyway).
 */
const GARBAGE_SHARE = 2 / 3;

export class TextArena {
  /** `main`: deflated pieces, each at most {@link PIECE} bytes plain. */
  #pieces: GzipFragment[] = [];
  /** Plain offset of each piece in `main`. */
  #pieceStarts: number[] = [];
  /** Plain length of `main`. */
  #mainLength = 0;
  /** Deflated bytes of `main`. */
  #packedBytes = 0;
  /** The piece {@link text} inflated last, and its index. */
  #cached: { index: number; bytes: Uint8Array<ArrayBuffer> } | undefined;
  #tail: Uint8Array<ArrayBuffer> = EMPTY;
  #tailUsed = 0;
  /** Bytes in `main` and `tail` that no slot points to any more. */
  #garbage = 0;
  /** Changes with every change of a text or of where one lies. */
  #version = 0;
  /**
   * Where each slot's text is: [start, end) in `main` followed by `tail`
   * (a position p ≥ main's length is at p - main's length in the tail), so
   * folding the tail into `main` moves no slot.
   */
  #starts: number[] = [];
  #ends: number[] = [];
  readonly #isLive: (slot: number) => boolean;

  /** `isLive`: whether a slot's text must be kept when buffers are rebuilt. */
  constructor(isLive: (slot: number) => boolean) {
    this.#isLive = isLive;
  }

  /** Bytes held, deflated or not, used or not (for tests and benchmarks). */
  get capacity(): number {
    return this.#packedBytes + this.#tail.length;
  }

  /** The text of `slot` as a string (not a hot path: scrapes use pieces). */
  text(slot: number): string {
    const start = this.#starts[slot] ?? 0;
    const end = this.#ends[slot] ?? 0;
    const base = this.#mainLength;
    if (start >= base) {
      return decoder.decode(this.#tail.subarray(start - base, end - base));
    }
    let index = pieceIndex(this.#pieceStarts, start);
    const from = this.#pieceStarts[index] as number;
    const piece = this.#piece(index);
    if (end - from <= piece.length) {
      return decoder.decode(piece.subarray(start - from, end - from));
    }
    // Across pieces: gather the bytes first (a character may be split).
    const bytes = new Uint8Array(end - start);
    let at = 0;
    while (at < bytes.length) {
      const pieceStart = this.#pieceStarts[index] as number;
      const plain = this.#piece(index);
      const take = plain.subarray(
        start + at - pieceStart,
        Math.min(plain.length, end - pieceStart),
      );
      bytes.set(take, at);
      at += take.length;
      index++;
    }
    return decoder.decode(bytes);
  }

  /**
   * The texts of `slots` as strings, `main` inflated once for them all (for
   * callers that read a whole family, where {@link text} would inflate a
   * piece per slot).
   */
  texts(slots: readonly number[]): string[] {
    const main = this.#plainMain();
    try {
      const base = this.#mainLength;
      return slots.map((slot) => {
        const start = this.#starts[slot] ?? 0;
        const end = this.#ends[slot] ?? 0;
        return decoder.decode(
          start < base
            ? main.subarray(start, end)
            : this.#tail.subarray(start - base, end - base),
        );
      });
    } finally {
      release(main);
    }
  }

  /**
   * Reads texts of this arena a slice at a time, for copying them into
   * another (staged_shared.ts): `read(slots)` returns their bytes joined
   * (in a buffer the next read reuses),
   * `main` read a few pieces at a time (best in the order the texts lie
   * in: scrape order after a build); undefined once the arena changed
   * since the reader was made. `close()` frees what it inflated.
   */
  reader(): {
    read(slots: readonly number[]): JoinedTexts | undefined;
    close(): void;
  } {
    const version = this.#version;
    const base = this.#mainLength;
    const starts = this.#starts;
    const ends = this.#ends;
    const tail = this.#tail;
    const main = new CachedPieces(this.#pieces, this.#pieceStarts);
    // One buffer for every read, grown when needed: a new one per read
    // made the GC run far more often (the caller copies the texts anyway).
    let buffer = new Uint8Array(0);
    let bounds = new Uint32Array(0);
    const read = (slots: readonly number[]): JoinedTexts | undefined => {
      if (this.#version !== version) return undefined;
      let size = 0;
      for (const slot of slots) {
        size += (ends[slot] ?? 0) - (starts[slot] ?? 0);
      }
      if (buffer.length < size) buffer = new Uint8Array(2 * size);
      if (bounds.length < 2 * slots.length) {
        bounds = new Uint32Array(4 * slots.length);
      }
      const joined = buffer;
      let at = 0;
      const sink: ByteSink = {
        add(source, from, to) {
          joined.set(source.subarray(from, to), at);
          at += to - from;
        },
        flush() {},
      };
      for (let k = 0; k < slots.length; k++) {
        const start = starts[slots[k] as number] ?? 0;
        const end = ends[slots[k] as number] ?? 0;
        bounds[2 * k] = at;
        if (start < base) main.copy(sink, start, end);
        else sink.add(tail, start - base, end - base);
        bounds[2 * k + 1] = at;
      }
      return { joined: joined.subarray(0, at), bounds };
    };
    return { read, close: () => main.close() };
  }

  /** Forgets the text of `slot` (its bytes stay until the next rebuild). */
  drop(slot: number): void {
    this.#version++;
    this.#garbage += this.#length(slot);
    this.#starts[slot] = 0;
    this.#ends[slot] = 0;
  }

  /** Forgets every text. */
  reset(): void {
    this.#version++;
    this.#setMain([]);
    this.#setTail(EMPTY);
    this.#garbage = 0;
    this.#starts = [];
    this.#ends = [];
  }

  /**
   * Sets the text of each `slots[k]` to text `indexes?.[k] ?? k` of
   * `texts`: appended to the tail in one write when every text is ASCII.
   */
  write(
    slots: readonly number[],
    texts: SeriesTexts,
    indexes?: readonly number[],
  ): void {
    if (slots.length === 0) return;
    this.#version++;
    if (isJoined(texts)) {
      this.#writeJoined(slots, texts, indexes);
      return;
    }
    const picked = indexes === undefined
      ? texts
      : indexes.map((i) => texts[i] as string);
    const joined = picked.length === 1 ? picked[0] as string : picked.join("");
    // Room for ASCII, the usual case; anything else is encoded on its own.
    this.#reserve(joined.length);
    let at = this.#tailUsed;
    const { read, written } = encoder.encodeInto(
      joined,
      this.#tail.subarray(at),
    );
    if (read < joined.length || written > joined.length) {
      // Not all ASCII: byte lengths differ from string lengths.
      this.#writeEncoded(slots, picked.map((text) => encoder.encode(text)));
      return;
    }
    for (const slot of slots) this.#garbage += this.#length(slot);
    const base = this.#mainLength;
    // All ASCII: one byte per code unit.
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[k] as number;
      this.#starts[slot] = base + at;
      at += (picked[k] as string).length;
      this.#ends[slot] = base + at;
    }
    this.#tailUsed = at;
  }

  /** Sets the text of each `slots[k]` to the UTF-8 bytes `texts[k]`. */
  #writeEncoded(slots: readonly number[], texts: readonly Uint8Array[]): void {
    let size = 0;
    for (const text of texts) size += text.length;
    this.#reserve(size);
    for (const slot of slots) this.#garbage += this.#length(slot);
    const base = this.#mainLength;
    let at = this.#tailUsed;
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[k] as number;
      const text = texts[k] as Uint8Array;
      this.#tail.set(text, at);
      this.#starts[slot] = base + at;
      at += text.length;
      this.#ends[slot] = base + at;
    }
    this.#tailUsed = at;
  }

  #writeJoined(
    slots: readonly number[],
    texts: JoinedTexts,
    indexes: readonly number[] | undefined,
  ): void {
    const { joined, bounds } = texts;
    this.#reserve(joined.length);
    for (const slot of slots) this.#garbage += this.#length(slot);
    const at = this.#tailUsed;
    const base = this.#mainLength + at;
    if (indexes === undefined) {
      // The whole run at once; the separators stay behind as unused bytes.
      this.#tail.set(joined, at);
      let used = 0;
      for (let k = 0; k < slots.length; k++) {
        const slot = slots[k] as number;
        const start = bounds[2 * k] as number;
        const end = bounds[2 * k + 1] as number;
        this.#starts[slot] = base + start;
        this.#ends[slot] = base + end;
        used += end - start;
      }
      this.#garbage += joined.length - used;
      this.#tailUsed = at + joined.length;
      return;
    }
    let offset = 0;
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[k] as number;
      const i = indexes[k] as number;
      const piece = joined.subarray(
        bounds[2 * i] as number,
        bounds[2 * i + 1] as number,
      );
      this.#tail.set(piece, at + offset);
      this.#starts[slot] = base + offset;
      offset += piece.length;
      this.#ends[slot] = base + offset;
    }
    this.#tailUsed = at + offset;
  }

  /**
   * Writes a new `main`: `header`, then the texts of `order` for which
   * `include` holds (the scrape: its pieces are returned), then the other
   * live slots of `order`. The tail is emptied. The returned pieces are
   * never written again.
   */
  build(
    header: Uint8Array,
    order: readonly number[],
    include: (slot: number) => boolean,
  ): GzipFragment[] {
    this.#version++;
    const main = this.#mainSource((visit) => {
      for (const slot of order) if (include(slot)) visit(slot);
      for (const slot of order) if (!include(slot)) visit(slot);
    });
    const writer = new PieceWriter(PIECE_LEVEL);
    writer.add(header, 0, header.length);
    const copier = new RunCopier(writer);
    for (const slot of order) {
      if (include(slot)) this.#copy(slot, main, copier);
    }
    copier.flush();
    const scrape = writer.cut();
    for (const slot of order) {
      if (!include(slot)) this.#copy(slot, main, copier);
    }
    copier.flush();
    writer.cut();
    main.close();
    this.#setMain(writer.pieces);
    this.#setTail(EMPTY);
    this.#garbage = 0;
    return writer.pieces.slice(0, scrape);
  }

  /**
   * {@link build} a slice at a time: each step copies about `budget` texts
   * (or inflates or scans as much) and returns; the arena is changed only
   * by the last step, in one go. Undefined (nothing changed) if the arena
   * changed meanwhile. Its pieces are written through a buffer of its own,
   * as other builds may run between its steps.
   */
  *buildSlices(
    header: Uint8Array,
    order: readonly number[],
    include: (slot: number) => boolean,
    budget: number,
  ): Generator<void, GzipFragment[] | undefined, undefined> {
    const version = this.#version;
    const base = this.#mainLength;
    const oldStarts = this.#starts;
    const oldEnds = this.#ends;
    const pieceStarts = this.#pieceStarts;
    const pieces = this.#pieces;
    const tail = this.#tail;
    // Which way to read `main`, as #mainSource decides, in slices.
    const counter = new LoadCounter(pieces, pieceStarts, base);
    let n = 0;
    for (const pass of [true, false]) {
      for (const slot of order) {
        if (include(slot) !== pass) continue;
        counter.see(oldStarts[slot] ?? 0);
        if (++n % budget === 0) {
          yield;
          if (this.#version !== version) return undefined;
        }
      }
    }
    let main: MainSource;
    if (counter.loads <= LOADS_PER_PIECE * pieces.length) {
      main = new CachedPieces(pieces, pieceStarts);
    } else {
      const plain = largeBuffer(base);
      const perStep = Math.max(1, Math.ceil(budget / PIECE_TEXTS));
      for (let i = 0; i < pieces.length; i++) {
        const bytes = inflateFragment(pieces[i] as GzipFragment);
        plain.set(bytes, pieceStarts[i] as number);
        release(bytes);
        if ((i + 1) % perStep === 0) {
          yield;
          if (this.#version !== version) {
            release(plain);
            return undefined;
          }
        }
      }
      main = new WholeMain(plain);
    }
    const starts = oldStarts.slice();
    const ends = oldEnds.slice();
    const writer = new PieceWriter(PIECE_LEVEL, 0, new Uint8Array(PIECE));
    writer.add(header, 0, header.length);
    const copier = new RunCopier(writer);
    let scrape = 0;
    try {
      for (const pass of [true, false]) {
        for (const slot of order) {
          if (include(slot) !== pass) continue;
          const start = oldStarts[slot] ?? 0;
          const end = oldEnds[slot] ?? 0;
          starts[slot] = copier.at;
          if (start < base) main.copy(copier, start, end);
          else copier.add(tail, start - base, end - base);
          ends[slot] = copier.at;
          if (++n % budget === 0) {
            // Nothing of `main` or the tail is held across the pause.
            copier.flush();
            yield;
            if (this.#version !== version) return undefined;
          }
        }
        copier.flush();
        if (pass) scrape = writer.cut();
      }
      writer.cut();
    } finally {
      main.close();
    }
    this.#version++;
    this.#starts = starts;
    this.#ends = ends;
    this.#setMain(writer.pieces);
    this.#setTail(EMPTY);
    this.#garbage = 0;
    return writer.pieces.slice(0, scrape);
  }

  #length(slot: number): number {
    return (this.#ends[slot] ?? 0) - (this.#starts[slot] ?? 0);
  }

  /**
   * Appends the text of `slot` (in `main`, read through `main`, or in the
   * tail) to `copier` and points the slot at where it lands.
   */
  #copy(slot: number, main: MainSource, copier: RunCopier): void {
    const start = this.#starts[slot] ?? 0;
    const end = this.#ends[slot] ?? 0;
    const base = this.#mainLength;
    this.#starts[slot] = copier.at;
    if (start < base) {
      main.copy(copier, start, end);
    } else {
      copier.add(this.#tail, start - base, end - base);
    }
    this.#ends[slot] = copier.at;
  }

  /** Makes room for `n` more bytes in the tail. */
  #reserve(n: number): void {
    if (this.#tail.length - this.#tailUsed >= n) return;
    const grown = Math.max(2 * this.#tail.length, this.#tailUsed + n, 4096);
    if (grown <= Math.max(MIN_TAIL, Math.min(PIECE, this.#mainLength))) {
      const tail = new Uint8Array(grown);
      tail.set(this.#tail.subarray(0, this.#tailUsed));
      const used = this.#tailUsed;
      this.#setTail(tail);
      this.#tailUsed = used;
      return;
    }
    this.#compact();
    this.#setTail(new Uint8Array(Math.max(n, 4096)));
  }

  /**
   * Folds the tail into `main`: deflated onto its end as it is while at
   * most {@link GARBAGE_SHARE} of the bytes held is garbage (no slot moves,
   * as while a store fills), else every live text moved on its own into new
   * pieces, in the order they lie in (so `main` is read a piece at a time).
   */
  #compact(): void {
    this.#version++;
    const held = this.#mainLength + this.#tailUsed;
    if (this.#garbage <= GARBAGE_SHARE * held) {
      const writer = new PieceWriter(COMPACTION_LEVEL, this.#mainLength);
      writer.add(this.#tail, 0, this.#tailUsed);
      writer.cut();
      this.#appendMain(writer.pieces);
      this.#setTail(EMPTY);
      return;
    }
    const live: number[] = [];
    for (let slot = 0; slot < this.#starts.length; slot++) {
      if (this.#isLive(slot)) live.push(slot);
      else this.drop(slot);
    }
    const starts = this.#starts;
    live.sort((a, b) => (starts[a] as number) - (starts[b] as number));
    const main = new CachedPieces(this.#pieces, this.#pieceStarts);
    const writer = new PieceWriter(COMPACTION_LEVEL);
    const copier = new RunCopier(writer);
    for (const slot of live) this.#copy(slot, main, copier);
    copier.flush();
    writer.cut();
    main.close();
    this.#setMain(writer.pieces);
    this.#setTail(EMPTY);
    this.#garbage = 0;
  }

  /** `main` inflated into one buffer of the caller's (to release). */
  #plainMain(): Uint8Array<ArrayBuffer> {
    const out = largeBuffer(this.#mainLength);
    for (let i = 0; i < this.#pieces.length; i++) {
      const plain = inflateFragment(this.#pieces[i] as GzipFragment);
      out.set(plain, this.#pieceStarts[i] as number);
      release(plain);
    }
    return out;
  }

  /**
   * How a build reads `main` for the slots `visit` goes through: a few
   * pieces inflated at a time (piece_reader.ts) when the slots come about
   * in the order their texts lie there, give or take a few pieces (every
   * build after the first: `main` is in scrape order; the first one after
   * pushes or start-up, which bring texts group by group in about key
   * order), else inflated whole, once (texts scattered: the scrape order is
   * not the order they came in). Read a few pieces at a time, a build needs
   * no buffer the size of the family (peak memory).
   */
  #mainSource(
    visit: (each: (slot: number) => void) => void,
  ): MainSource {
    const starts = this.#starts;
    const counter = new LoadCounter(
      this.#pieces,
      this.#pieceStarts,
      this.#mainLength,
    );
    visit((slot) => counter.see(starts[slot] ?? 0));
    return counter.loads <= LOADS_PER_PIECE * this.#pieces.length
      ? new CachedPieces(this.#pieces, this.#pieceStarts)
      : new WholeMain(this.#plainMain());
  }

  /** Piece `index` inflated (kept until `main` changes or another is read). */
  #piece(index: number): Uint8Array {
    if (this.#cached?.index === index) return this.#cached.bytes;
    const bytes = inflateFragment(this.#pieces[index] as GzipFragment);
    this.#dropCached();
    this.#cached = { index, bytes };
    return bytes;
  }

  #dropCached(): void {
    if (this.#cached !== undefined) release(this.#cached.bytes);
    this.#cached = undefined;
  }

  /** Adds `pieces` to the end of `main` (pieces already there stay). */
  #appendMain(pieces: readonly GzipFragment[]): void {
    for (const piece of pieces) {
      this.#pieces.push(piece);
      this.#pieceStarts.push(this.#mainLength);
      this.#mainLength += piece.length;
      this.#packedBytes += piece.deflated.length;
    }
  }

  /**
   * Replaces `main`. Its old pieces are left to the GC: they are small, and
   * a scrape may still be sending them.
   */
  #setMain(pieces: GzipFragment[]): void {
    this.#dropCached();
    this.#pieces = pieces;
    this.#pieceStarts = new Array(pieces.length);
    let at = 0;
    let packed = 0;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as GzipFragment;
      this.#pieceStarts[i] = at;
      at += piece.length;
      packed += piece.deflated.length;
    }
    this.#mainLength = at;
    this.#packedBytes = packed;
  }

  /** Replaces the tail (never handed out, so freed at once) and empties it. */
  #setTail(tail: Uint8Array<ArrayBuffer>): void {
    release(this.#tail);
    this.#tail = tail;
    this.#tailUsed = 0;
  }
}

/**
 * A zeroed buffer of `size` bytes for a moment's use, to {@link release}
 * after. Allocated with more than 32 MiB behind it: glibc maps such a block
 * on its own (its untouched pages take no memory) and, freeing it, leaves
 * its mmap threshold alone. Freeing a mapped block of up to 32 MiB raises
 * the threshold to that size, after which every buffer below it comes from
 * malloc's arenas and their holes: 50–60 MiB more resident memory with 1M
 * series (measured with MALLOC_MMAP_THRESHOLD_ fixed).
 */
function largeBuffer(size: number): Uint8Array<ArrayBuffer> {
  if (size === 0) return new Uint8Array(0);
  return new Uint8Array(Math.max(size, UNTRACKED_SIZE)).subarray(0, size);
}
const UNTRACKED_SIZE = 32 * 1024 * 1024 + 64 * 1024;

/**
 * Inflations per piece of `main` up to which a build reads it a few pieces
 * at a time rather than inflating it whole.
 */
const LOADS_PER_PIECE = 2;

/** `main` inflated whole. */
class WholeMain implements MainSource {
  readonly #plain: Uint8Array<ArrayBuffer>;

  constructor(plain: Uint8Array<ArrayBuffer>) {
    this.#plain = plain;
  }

  copy(sink: ByteSink, start: number, end: number): void {
    sink.add(this.#plain, start, end);
  }

  close(): void {
    release(this.#plain);
  }
}

/**
 * Writes bytes as deflated pieces of at most {@link PIECE} plain bytes,
 * through one buffer of that size shared by every arena (the event loop
 * runs one build at a time), or through its own (a build in slices).
 */
class PieceWriter {
  readonly pieces: GzipFragment[] = [];
  /** Plain bytes written, counting from the offset it started at. */
  at: number;
  #used = 0;
  readonly #level: number;
  readonly #scratch: Uint8Array;

  constructor(level: number, at = 0, scratch = SCRATCH) {
    this.#level = level;
    this.at = at;
    this.#scratch = scratch;
  }

  add(source: Uint8Array, from: number, to: number): void {
    let at = from;
    while (at < to) {
      const take = Math.min(to - at, PIECE - this.#used);
      this.#scratch.set(source.subarray(at, at + take), this.#used);
      this.#used += take;
      this.at += take;
      at += take;
      if (this.#used === PIECE) this.cut();
    }
  }

  /** Ends the current piece (if it holds anything); returns the count. */
  cut(): number {
    if (this.#used > 0) {
      this.pieces.push(
        compressFragment(this.#scratch.subarray(0, this.#used), this.#level),
      );
      this.#used = 0;
    }
    return this.pieces.length;
  }
}
const SCRATCH = new Uint8Array(PIECE);
/** Texts of about a piece's size, for weighing a piece against a text. */
const PIECE_TEXTS = 512;

/**
 * Copies byte ranges into a {@link PieceWriter}, one copy per run of ranges
 * that follow each other in the same source (most of a family after its
 * last build).
 */
class RunCopier {
  #source: Uint8Array = EMPTY;
  #from = 0;
  #to = 0;
  readonly #writer: PieceWriter;

  constructor(writer: PieceWriter) {
    this.#writer = writer;
  }

  /** Where the next byte added lands. */
  get at(): number {
    return this.#writer.at + this.#to - this.#from;
  }

  add(source: Uint8Array, from: number, to: number): void {
    if (source === this.#source && from === this.#to) {
      this.#to = to;
    } else {
      this.flush();
      this.#source = source;
      this.#from = from;
      this.#to = to;
    }
  }

  /** Writes the run gathered so far. */
  flush(): void {
    if (this.#to > this.#from) {
      this.#writer.add(this.#source, this.#from, this.#to);
    }
    this.#source = EMPTY;
    this.#from = 0;
    this.#to = 0;
  }
}
