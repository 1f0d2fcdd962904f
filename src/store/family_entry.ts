/**
 * The series of one family name across every group, as the view keeps
 * them: keys, owners, texts in a TextArena, sorted a slice at a time.
 * @module
 */

import type { MetricType } from "../exposition/model.ts";
import { compareUtf8 } from "../exposition/sort.ts";
import type { IndexedFamily } from "../push/consistency.ts";
import { TextArena } from "./text_arena.ts";
import { SlotIndex } from "./slot_index.ts";
import type { GzipFragment } from "../exposition/gzip_fragments.ts";
import type { SeriesOwner, StoredFamily, ViewCounters } from "./view_types.ts";

/** The series of one family name across every group. */
export class FamilyEntry implements IndexedFamily {
  type: MetricType;
  readonly holders = new Set<string>();
  /** Key → slot; each key is read back from `keys` (see SlotIndex). */
  readonly #slots = new SlotIndex((slot) => this.keys[slot] as string);
  /**
   * Slots from this one on were restored at start-up and are not in
   * `#slots` yet (-1: none). See {@link slots}.
   */
  #unindexedFrom = -1;
  /** Live slots at and after `#unindexedFrom`. */
  #unindexedLive = 0;
  readonly #counters: ViewCounters;
  keys: string[] = [];
  /** undefined: a free slot (or, within one change, a vacated one). */
  owners: (SeriesOwner | undefined)[] = [];
  /** The text of each slot. */
  readonly arena = new TextArena((slot) => this.owners[slot] !== undefined);
  /** Slots in scrape order; may still hold removed slots (see `dead`). */
  order: number[] = [];
  /** Slots added since `order` was last brought up to date. */
  added: number[] = [];
  /** Slots taken from `added` and being sorted a slice at a time. */
  #pending: SlotSort | undefined;
  /** Removed slots still listed in `order` or `added`. */
  dead = 0;
  /** Slots that may be reused. */
  free: number[] = [];
  /** Series left out because another group holds the same one (unchecked mode). */
  shadowed = 0;
  /** Live keys with a code unit ≥ U+D800 (see {@link sorted}). */
  highKeys = 0;
  /** The family's whole scrape text, deflated pieces; built on demand. */
  scrape: GzipFragment[] | undefined;
  constructor(type: MetricType, counters: ViewCounters) {
    this.type = type;
    this.#counters = counters;
  }
  /**
   * Series key → slot; a slot indexes the arrays below. Start-up restores
   * series without it ({@link restore}): hashing 660k keys was a third of
   * the start-up with 1M series. It is completed here, on first
   * use, or a slice at a time by {@link indexSome} after start.
   */
  get slots(): SlotIndex {
    this.ensureIndexed();
    return this.#slots;
  }
  /** Completes the index (which also leaves out restored duplicates). */
  ensureIndexed(): void {
    if (this.#unindexedFrom >= 0) this.indexSome(Infinity);
  }
  ownerOf(key: string): string | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.owners[slot]?.groupId;
  }
  get size(): number {
    return this.#slots.size + this.#unindexedLive;
  }
  /** Start-up: adds a series without indexing it; returns its slot. */
  restore(key: string, owner: SeriesOwner): number {
    const slot = this.keys.length;
    if (this.#unindexedFrom < 0) this.#unindexedFrom = slot;
    this.keys.push(key);
    this.owners[slot] = owner;
    this.added.push(slot);
    this.#unindexedLive++;
    if (HIGH_UNIT.test(key)) this.highKeys++;
    return slot;
  }
  /**
   * Indexes up to `budget` restored slots; returns how many it looked at.
   * A key seen before (only in a store written with the consistency check
   * off) is shadowed as a push would have shadowed it: the first one wins.
   */
  indexSome(budget: number): number {
    const from = this.#unindexedFrom;
    if (from < 0) return 0;
    const { keys, owners } = this;
    const map = this.#slots;
    const end = Math.min(keys.length, from + budget);
    for (let slot = from; slot < end; slot++) {
      if (owners[slot] === undefined) continue;
      this.#unindexedLive--;
      const key = keys[slot] as string;
      const size = map.size;
      map.set(key, slot);
      if (map.size === size) this.#shadowRestored(slot, key);
    }
    this.#unindexedFrom = end < keys.length ? end : -1;
    return end - from;
  }
  /** `slot` repeats a key an earlier live slot holds: it gives way. */
  #shadowRestored(slot: number, key: string): void {
    const { keys, owners } = this;
    let first = slot - 1;
    while (keys[first] !== key || owners[first] === undefined) first--;
    this.#slots.set(key, first);
    const owner = owners[slot] as SeriesOwner;
    const stored = owner as Partial<StoredFamily>;
    if (stored.keys !== undefined && stored.restoredAt !== undefined) {
      (stored.shadowed ??= new Map()).set(
        slot - stored.restoredAt,
        this.arena.text(slot),
      );
    }
    this.shadowed++;
    // Counted once: a series of the wrong type was counted when restored.
    if (owner.type === this.type) this.#counters.inconsistentSeries++;
    if (HIGH_UNIT.test(key)) this.highKeys--;
    owners[slot] = undefined;
    keys[slot] = "";
    this.arena.drop(slot);
    this.dead++;
  }
  /** Adds a series (its text is for the caller to write); returns its slot. */
  insert(key: string, owner: SeriesOwner): number {
    const reused = this.free.pop();
    const slot = reused ?? this.keys.length;
    this.keys[slot] = key;
    this.owners[slot] = owner;
    // A new slot has no text to forget (reading past the arena's arrays
    // took half the time of inserting 4,096 series).
    if (reused !== undefined) this.arena.drop(slot);
    this.slots.set(key, slot);
    this.added.push(slot);
    if (HIGH_UNIT.test(key)) this.highKeys++;
    return slot;
  }
  /**
   * Sorts the slots added since `added` was `from` long (one push's or one
   * restored family's new series) among themselves, when they are at most
   * {@link SORT_ON_INSERT}: {@link sorted} then sorts runs that are already
   * in order, mostly one after the other (groups come in about key order),
   * which the engine's sort (a merge of the runs it finds) does in far fewer
   * comparisons than a million series in push order. Only a permutation of
   * `added`: the order a scrape sends is {@link sorted}'s.
   */
  sortAddedFrom(from: number): void {
    const added = this.added;
    const n = added.length - from;
    if (from < 0 || n < 2 || n > SORT_ON_INSERT) return;
    const keys = this.keys;
    const compare = this.highKeys > 0 ? compareUtf8 : compareUtf16;
    const run = added.slice(from).sort((a, b) =>
      compare(keys[a] as string, keys[b] as string)
    );
    for (let i = 0; i < n; i++) added[from + i] = run[i] as number;
  }
  /** Removes the series of `key` if `owner` holds it. */
  remove(key: string, owner: SeriesOwner | undefined): void {
    const slot = this.slots.get(key);
    if (slot === undefined || this.owners[slot] !== owner) return;
    if (HIGH_UNIT.test(key)) this.highKeys--;
    this.slots.delete(key);
    this.owners[slot] = undefined;
    this.keys[slot] = "";
    this.arena.drop(slot);
    this.dead++;
  }
  clear(): void {
    this.#slots.clear();
    this.#pending = undefined;
    this.#unindexedFrom = -1;
    this.#unindexedLive = 0;
    this.keys = [];
    this.arena.reset();
    this.owners = [];
    this.order = [];
    this.added = [];
    this.free = [];
    this.dead = 0;
    this.shadowed = 0;
    this.highKeys = 0;
  }
  /**
   * Live slots in scrape order. Incremental: removed slots are filtered out
   * and new ones sorted and merged in; value updates keep their slot.
   */
  sorted(): readonly number[] {
    if (this.#pending !== undefined) this.#mergePending(Infinity);
    const owners = this.owners;
    if (this.dead > 0) {
      const live = (slot: number) => {
        if (owners[slot] !== undefined) return true;
        this.free.push(slot);
        return false;
      };
      this.order = this.order.filter(live);
      this.added = this.added.filter(live);
      this.dead = 0;
    }
    if (this.added.length > 0) {
      const keys = this.keys;
      // UTF-16 order (the engine's own string comparison, far faster) equals
      // UTF-8 order unless both strings differ first at code units ≥ U+D800.
      const compare = this.highKeys > 0 ? compareUtf8 : compareUtf16;
      const added = this.added.sort((a, b) =>
        compare(keys[a] as string, keys[b] as string)
      );
      this.added = [];
      this.order = mergeSlots(this.order, added, keys, compare);
    }
    return this.order;
  }
  /**
   * Does up to about `budget` comparisons of the sort {@link sorted} would
   * do; returns how many it did (0: nothing left to sort). Start-up restores
   * every series unsorted: sorting a million keys at once kept the first
   * scrape's turn for a second, so it is done a slice at a time after start.
   */
  sortSome(budget: number): number {
    if (this.#pending === undefined) {
      if (this.added.length === 0) return 0;
      if (this.added.length <= budget) {
        const n = this.added.length;
        this.sorted();
        return n;
      }
      const compare = this.highKeys > 0 ? compareUtf8 : compareUtf16;
      const keys = this.keys;
      const owners = this.owners;
      this.#pending = new SlotSort(
        this.added,
        (a, b) => compare(keys[a] as string, keys[b] as string),
        (slot) => owners[slot] !== undefined,
      );
      this.added = [];
    }
    return this.#mergePending(budget);
  }
  /** Sorts on; once sorted, the slots join `order`. Returns the work done. */
  #mergePending(budget: number): number {
    const pending = this.#pending as SlotSort;
    const done = pending.step(budget);
    if (!pending.finished) return done;
    this.#pending = undefined;
    const compare = this.highKeys > 0 ? compareUtf8 : compareUtf16;
    this.order = mergeSlots(this.order, pending.result, this.keys, compare);
    return done;
  }
}

/** Two lists of slots in key order merged into one (either may be it). */
function mergeSlots(
  order: number[],
  added: number[],
  keys: readonly string[],
  compare: (a: string, b: string) => number,
): number[] {
  if (order.length === 0) return added;
  if (added.length === 0) return order;
  const merged: number[] = new Array(order.length + added.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < order.length && j < added.length) {
    const a = order[i] as number;
    const b = added[j] as number;
    if (compare(keys[a] as string, keys[b] as string) <= 0) {
      merged[k++] = a;
      i++;
    } else {
      merged[k++] = b;
      j++;
    }
  }
  while (i < order.length) merged[k++] = order[i++] as number;
  while (j < added.length) merged[k++] = added[j++] as number;
  return merged;
}

/**
 * A merge sort of slots that can stop and go on (bottom-up: runs of
 * {@link RUN} sorted at once, then merged pairwise, pass after pass). Keys
 * that change meanwhile are those of removed slots, emptied to "" (the
 * smallest key): each merge still compares live keys only with each other,
 * so the live slots come out sorted.
 */
class SlotSort {
  #from: number[];
  #to: number[];
  readonly #compare: (a: number, b: number) => number;
  readonly #isLive: (slot: number) => boolean;
  /** Run length of the current pass; 0 while runs are being sorted. */
  #width = 0;
  /** Next run to sort, or where the current merge started. */
  #lo = 0;
  #i = 0;
  #j = 0;
  #k = 0;
  /**
   * Whether the two runs of the current merge are already in order (the
   * first's last ≤ the second's first, both live): copied, not compared.
   */
  #inOrder = false;
  finished = false;
  constructor(
    slots: number[],
    compare: (a: number, b: number) => number,
    isLive: (slot: number) => boolean,
  ) {
    this.#from = slots;
    this.#to = new Array(slots.length);
    this.#compare = compare;
    this.#isLive = isLive;
  }
  get result(): number[] {
    return this.#from;
  }
  /** About `budget` comparisons' worth of sorting; returns the work done. */
  step(budget: number): number {
    const from = this.#from;
    const n = from.length;
    const compare = this.#compare;
    let done = 0;
    while (this.#width === 0) {
      if (done >= budget) return done;
      if (this.#lo >= n) {
        this.#width = RUN;
        this.#lo = 0;
        this.#start();
        break;
      }
      const end = Math.min(n, this.#lo + RUN);
      const run = from.slice(this.#lo, end).sort(compare);
      for (let q = 0; q < run.length; q++) {
        from[this.#lo + q] = run[q] as number;
      }
      done += RUN_COST * run.length;
      this.#lo = end;
    }
    // Bounded: each turn outputs one slot, or ends a merge or a pass.
    while (!this.finished && done < budget) {
      const to = this.#to;
      const src = this.#from;
      const width = this.#width;
      if (width >= n) {
        this.finished = true;
        break;
      }
      const mid = Math.min(n, this.#lo + width);
      const hi = Math.min(n, this.#lo + 2 * width);
      let i = this.#i;
      let j = this.#j;
      let k = this.#k;
      const stop = k + (budget - done);
      while (!this.#inOrder && k < stop && i < mid && j < hi) {
        const a = src[i] as number;
        const b = src[j] as number;
        if (compare(a, b) <= 0) {
          to[k++] = a;
          i++;
        } else {
          to[k++] = b;
          j++;
        }
      }
      while (k < stop && i < mid) to[k++] = src[i++] as number;
      while (k < stop && j < hi) to[k++] = src[j++] as number;
      done += k - this.#k;
      this.#i = i;
      this.#j = j;
      this.#k = k;
      if (k < hi) continue; // out of budget
      this.#lo = hi;
      if (hi >= n) {
        this.#from = to;
        this.#to = src;
        this.#width = 2 * width;
        this.#lo = 0;
      }
      this.#start();
      done++;
    }
    return done;
  }
  #start(): void {
    const n = this.#from.length;
    this.#i = this.#lo;
    this.#j = Math.min(n, this.#lo + this.#width);
    this.#k = this.#lo;
    const mid = this.#j;
    if (this.#width === 0 || mid <= this.#lo || mid >= n) {
      this.#inOrder = false;
      return;
    }
    const last = this.#from[mid - 1] as number;
    const first = this.#from[mid] as number;
    this.#inOrder = this.#isLive(last) && this.#isLive(first) &&
      this.#compare(last, first) <= 0;
  }
}

/** New slots of one change up to which they are sorted as they come in. */
const SORT_ON_INSERT = 4096;

/** Slots sorted at once as a run of {@link SlotSort}. */
const RUN = 1024;
/** Work counted per slot of a run sorted at once (about log2(RUN) / 2). */
const RUN_COST = 5;

const HIGH_UNIT = /[\uD800-\uFFFF]/;

function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
