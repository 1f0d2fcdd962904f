/**
 * The text lines of one family's series, kept once, as UTF-8 bytes (issue 7:
 * memory). A slot's text lives in one of two buffers:
 *
 * - `main`: written once by {@link TextArena.build} (the family header, then
 *   the texts in scrape order) and never changed after, so the scrape can
 *   send a piece of it as it is, however the family changes meanwhile;
 * - `tail`: texts written since (pushes), appended; a text that changes
 *   again leaves its old bytes behind until the next build or compaction.
 *
 * Before, each text was also a string on the V8 heap, and the scrape cache a
 * second copy of them all: twice the memory for the largest part of a store.
 * Pure data structure: no I/O, no clock.
 * @module
 */

/**
 * Texts of a family's series as a push or start-up hands them over: one
 * string per series, or (as start-up reads them from the database) their
 * UTF-8 bytes joined, with each text's [start, end) in `bounds`.
 */
export type SeriesTexts = readonly string[] | JoinedTexts;

export interface JoinedTexts {
  readonly joined: Uint8Array;
  /** Start and end offset in `joined` of text i at 2i and 2i + 1. */
  readonly bounds: readonly number[];
}

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

export class TextArena {
  #main: Uint8Array<ArrayBuffer> = EMPTY;
  /** Whether `main` went out in a scrape (then only the GC may free it). */
  #mainShared = false;
  #tail: Uint8Array<ArrayBuffer> = EMPTY;
  #tailUsed = 0;
  /** Bytes in `main` and `tail` that no slot points to any more. */
  #garbage = 0;
  /**
   * Where each slot's text is: [start, end) in `main` followed by `tail`
   * (a position p ≥ main.length is at p - main.length in the tail), so
   * folding the tail into `main` moves no slot.
   */
  #starts: number[] = [];
  #ends: number[] = [];
  readonly #isLive: (slot: number) => boolean;

  /** `isLive`: whether a slot's text must be kept when buffers are rebuilt. */
  constructor(isLive: (slot: number) => boolean) {
    this.#isLive = isLive;
  }

  /** Bytes held, used or not (for tests and benchmarks). */
  get capacity(): number {
    return this.#main.length + this.#tail.length;
  }

  /** The text of `slot` as a string (not a hot path: scrapes use bytes). */
  text(slot: number): string {
    const start = this.#starts[slot] ?? 0;
    const end = this.#ends[slot] ?? 0;
    const base = this.#main.length;
    return decoder.decode(
      start < base
        ? this.#main.subarray(start, end)
        : this.#tail.subarray(start - base, end - base),
    );
  }

  /** Forgets the text of `slot` (its bytes stay until the next rebuild). */
  drop(slot: number): void {
    this.#garbage += this.#length(slot);
    this.#starts[slot] = 0;
    this.#ends[slot] = 0;
  }

  /** Forgets every text. */
  reset(): void {
    this.#setMain(EMPTY, false);
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
    if (isJoined(texts)) {
      this.#writeJoined(slots, texts, indexes);
      return;
    }
    const picked = indexes === undefined
      ? texts
      : indexes.map((i) => texts[i] as string);
    const joined = picked.length === 1 ? picked[0] as string : picked.join("");
    this.#reserve(joined.length * 3);
    for (const slot of slots) this.#garbage += this.#length(slot);
    const base = this.#main.length;
    let at = this.#tailUsed;
    const written = encoder.encodeInto(joined, this.#tail.subarray(at)).written;
    if (written === joined.length) {
      // All ASCII: one byte per code unit.
      for (let k = 0; k < slots.length; k++) {
        const slot = slots[k] as number;
        this.#starts[slot] = base + at;
        at += (picked[k] as string).length;
        this.#ends[slot] = base + at;
      }
    } else {
      // Each text on its own: byte lengths differ from string lengths.
      for (let k = 0; k < slots.length; k++) {
        const slot = slots[k] as number;
        const n = encoder.encodeInto(
          picked[k] as string,
          this.#tail.subarray(at),
        ).written;
        this.#starts[slot] = base + at;
        at += n;
        this.#ends[slot] = base + at;
      }
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
    const base = this.#main.length + at;
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
   * `include` holds (the scrape bytes, returned), then the other live slots
   * of `order`. The tail is emptied. The returned bytes are never written
   * again.
   */
  build(
    header: Uint8Array,
    order: readonly number[],
    include: (slot: number) => boolean,
  ): Uint8Array<ArrayBuffer> {
    let size = header.length;
    for (const slot of order) size += this.#length(slot);
    const out = new Uint8Array(size);
    out.set(header, 0);
    const copier = new RunCopier(out, header.length);
    for (const slot of order) {
      if (include(slot)) this.#copy(slot, copier);
    }
    copier.flush();
    const scrapeEnd = copier.at;
    for (const slot of order) {
      if (!include(slot)) this.#copy(slot, copier);
    }
    copier.flush();
    this.#setMain(out, true);
    this.#setTail(EMPTY);
    this.#garbage = 0;
    return scrapeEnd === size ? out : out.subarray(0, scrapeEnd);
  }

  #length(slot: number): number {
    return (this.#ends[slot] ?? 0) - (this.#starts[slot] ?? 0);
  }

  /** Appends the text of `slot` to `copier` and points the slot at it. */
  #copy(slot: number, copier: RunCopier): void {
    const start = this.#starts[slot] ?? 0;
    const end = this.#ends[slot] ?? 0;
    const base = this.#main.length;
    this.#starts[slot] = copier.at;
    if (start < base) {
      copier.add(this.#main, start, end);
    } else {
      copier.add(this.#tail, start - base, end - base);
    }
    this.#ends[slot] = copier.at;
  }

  /** Makes room for `n` more bytes in the tail. */
  #reserve(n: number): void {
    if (this.#tail.length - this.#tailUsed >= n) return;
    const grown = Math.max(2 * this.#tail.length, this.#tailUsed + n, 4096);
    if (grown <= Math.max(MIN_TAIL, this.#main.length)) {
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
   * Folds the tail into a new `main`: both buffers joined as they are while
   * at most a third of their bytes is garbage (one copy, no slot moves, as
   * while a store fills), else every live text moved on its own into a
   * buffer of their exact size.
   */
  #compact(): void {
    const main = this.#main;
    const held = main.length + this.#tailUsed;
    if (3 * this.#garbage <= held) {
      const out = new Uint8Array(held);
      out.set(main, 0);
      out.set(this.#tail.subarray(0, this.#tailUsed), main.length);
      this.#setMain(out, false);
      this.#setTail(EMPTY);
      return;
    }
    const live: number[] = [];
    let size = 0;
    for (let slot = 0; slot < this.#starts.length; slot++) {
      if (this.#isLive(slot)) {
        live.push(slot);
        size += this.#length(slot);
      } else {
        this.drop(slot);
      }
    }
    const out = new Uint8Array(size);
    const copier = new RunCopier(out, 0);
    for (const slot of live) this.#copy(slot, copier);
    copier.flush();
    this.#setMain(out, false);
    this.#setTail(EMPTY);
    this.#garbage = 0;
  }

  /**
   * Replaces `main`. The old one is freed at once unless a scrape got it:
   * V8 frees a buffer at its next full GC, which may come only after
   * hundreds of MiB more (issue 7: peak memory).
   */
  #setMain(main: Uint8Array<ArrayBuffer>, shared: boolean): void {
    if (!this.#mainShared) release(this.#main);
    this.#main = main;
    this.#mainShared = shared;
  }

  /** Replaces the tail (never handed out, so freed at once) and empties it. */
  #setTail(tail: Uint8Array<ArrayBuffer>): void {
    release(this.#tail);
    this.#tail = tail;
    this.#tailUsed = 0;
  }
}

/** Frees a buffer nothing else holds now (detaching it). */
function release(bytes: Uint8Array<ArrayBuffer>): void {
  if (bytes.byteLength > 0) bytes.buffer.transfer(0);
}

/**
 * Copies byte ranges into `out`, one `set` per run of ranges that follow
 * each other in the same source (most of a family after its last build).
 */
class RunCopier {
  #source: Uint8Array = EMPTY;
  #from = 0;
  #to = 0;
  at: number;
  readonly #out: Uint8Array;

  constructor(out: Uint8Array, at: number) {
    this.#out = out;
    this.at = at;
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
    this.at += to - from;
  }

  /** Copies the run gathered so far (it ends at `at`). */
  flush(): void {
    const run = this.#to - this.#from;
    if (run > 0) {
      this.#out.set(this.#source.subarray(this.#from, this.#to), this.at - run);
    }
    this.#source = EMPTY;
    this.#from = 0;
    this.#to = 0;
  }
}
