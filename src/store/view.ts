/**
 * The in-memory view of the current state: groups with their family headers,
 * the family index the consistency check reads, and the render cache a
 * scrape sends (each family's texts in deflated pieces, see TextArena).
 * Rebuilt from the database at start; changed only by the store, and only
 * after a COMMIT succeeded (design.md "Data flow").
 *
 * Compact on purpose (issue 7): per series it keeps only its key (see
 * `seriesKey`: unique, and ordered as a scrape orders series), its rendered
 * text lines and its owner; never the parsed metric. Whoever needs metric
 * objects (the API, the UI, protobuf scrapes) reads them from the database.
 *
 * Never touches the database or the clock; never throws on inconsistent
 * content (possible with `--push.disable-consistency-check`): such series are
 * left out of the scrape and counted, so a bad push can never break a scrape.
 * @module
 */

import type {
  Label,
  Metric,
  MetricFamily,
  MetricType,
} from "../exposition/model.ts";
import { compareNames, compareUtf8, sortLabels } from "../exposition/sort.ts";
import { renderFamilyHeader, renderMetric } from "../exposition/text_render.ts";
import type {
  ConsistencyIndex,
  IndexedFamily,
  OwnFamily,
} from "../push/consistency.ts";
import { sameKeys, seriesKey, seriesKeysOf } from "../push/consistency.ts";
import { type SeriesTexts, TextArena, textAt } from "./text_arena.ts";
import {
  compressFragment,
  type GzipFragment,
  inflateFragments,
} from "../exposition/gzip_fragments.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import {
  applyGroupingLabels,
  PUSH_FAILURE_TIME,
  PUSH_TIME,
} from "../push/validate.ts";

export const PUSH_TIME_HELP =
  "Last Unix time when changing this group in the Pushgateway succeeded.";
export const PUSH_FAILURE_TIME_HELP =
  "Last Unix time when changing this group in the Pushgateway failed.";

/** Who holds a series: a group's family, or the group's metadata. */
export interface SeriesOwner {
  readonly groupId: string;
  readonly type: MetricType;
}

/** The series of one family as the view keeps them, in pushed order. */
export interface RenderedSeries {
  /** `seriesKey` of each series (duplicates included). */
  readonly keys: readonly string[];
  /** The text lines of each series, as a scrape shows them. */
  readonly texts: readonly string[];
}

/** One family of a push, ready for the view: its header and its series. */
export interface FamilyInput extends FamilyHeader {
  /** `seriesKey` of each series (duplicates included). */
  readonly keys: readonly string[];
  /** The text lines of each series, as a scrape shows them. */
  readonly texts: SeriesTexts;
}

/** What the view keeps of a family besides its series' texts. */
export interface FamilyHeader {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string | undefined;
  readonly unit: string | undefined;
  /** `families.id` of the row that holds it. */
  readonly rowId: number;
  /** Unix seconds of the push that wrote it (the API's `time_stamp`). */
  readonly pushedAt: number;
}

/**
 * One family as a group holds it now: header and series keys, no values
 * (those are in the `samples` rows of `rowId`) and no texts (those are in
 * the family's {@link TextArena}).
 */
export interface StoredFamily extends FamilyHeader, SeriesOwner {
  /** `seriesKey` of each series (duplicates included). */
  readonly keys: readonly string[];
  /**
   * Texts of the series another holder's series shadows, by index (only
   * with the consistency check off): the arena keeps only scraped ones.
   */
  shadowed?: Map<number, string>;
  /** Start-up only: the slot of the first series (see FamilyEntry.restore). */
  readonly restoredAt?: number;
}

export interface GroupState {
  readonly id: string;
  /** `groups.id`. */
  readonly rowId: number;
  readonly key: GroupingKey;
  /** Grouping labels plus `instance=""` when absent: the metadata series' labels. */
  readonly metadataLabels: readonly Label[];
  /** push_time_seconds and push_failure_time_seconds, Unix seconds; 0 = never. */
  pushTime: number;
  failureTime: number;
  /** Seconds without a successful push before the group expires; undefined = default. */
  ttl: number | undefined;
  /** Unix seconds when the group first appeared (since the last delete). */
  createdAt: number;
  /** When each metadata family was last written (API `time_stamp`). */
  pushTimeWrittenAt: number;
  failureTimeWrittenAt: number;
  readonly families: Map<string, StoredFamily>;
}

/** View-internal state of a group besides what {@link GroupState} shows. */
interface GroupInternals {
  /** `seriesKey(metadataLabels)`. */
  readonly metadataKey: string;
  /** Owner of the group's two metadata series. */
  readonly metadataOwner: SeriesOwner;
}

/** The series of one family name across every group. */
class FamilyEntry implements IndexedFamily {
  type: MetricType;
  readonly holders = new Set<string>();
  readonly #slots = new Map<string, number>();
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
   * the start-up with 1M series (issue 7). It is completed here, on first
   * use, or a slice at a time by {@link indexSome} after start.
   */
  get slots(): Map<string, number> {
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
    const slot = this.free.pop() ?? this.keys.length;
    this.keys[slot] = key;
    this.owners[slot] = owner;
    this.arena.drop(slot);
    this.slots.set(key, slot);
    this.added.push(slot);
    if (HIGH_UNIT.test(key)) this.highKeys++;
    return slot;
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
      this.#pending = new SlotSort(
        this.added,
        (a, b) => compare(keys[a] as string, keys[b] as string),
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
  /** Run length of the current pass; 0 while runs are being sorted. */
  #width = 0;
  /** Next run to sort, or where the current merge started. */
  #lo = 0;
  #i = 0;
  #j = 0;
  #k = 0;
  finished = false;
  constructor(slots: number[], compare: (a: number, b: number) => number) {
    this.#from = slots;
    this.#to = new Array(slots.length);
    this.#compare = compare;
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
      while (k < stop && i < mid && j < hi) {
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
  }
}

/** Series of the biggest family whose pieces start-up writes in one step. */
const BUILD_AHEAD_SERIES = 4096;
/** Work counted per text a build copies (against a comparison, a hash). */
const BUILD_COST = 4;
/** Builds in slices given up before start-up leaves the rest to scrapes. */
const MAX_BUILD_ABORTS = 3;

/** Slots sorted at once as a run of {@link SlotSort}. */
const RUN = 1024;
/** Work counted per slot of a run sorted at once (about log2(RUN) / 2). */
const RUN_COST = 5;

const HIGH_UNIT = /[\uD800-\uFFFF]/;

function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ApplyPush {
  readonly key: GroupingKey;
  readonly rowId: number;
  readonly replaceAll: boolean;
  readonly families: readonly FamilyInput[];
  readonly time: number;
  /** Set (a number) or cleared (undefined) when the push carried a TTL. */
  readonly ttl?: number | undefined;
}

export interface ViewCounters {
  /** Series left out of scrapes because they conflict (unchecked mode). */
  inconsistentSeries: number;
}

/** A stored family's series as {@link View.scrapeSeries} found them. */
export interface ScrapeSeries {
  readonly name: string;
  readonly help: string | undefined;
  readonly type: MetricType;
  /**
   * Slots in scrape order; a slot whose owner is of another type than the
   * family (unchecked mode) is left out of a scrape.
   */
  readonly order: readonly number[];
  /** Who held each slot, by slot. */
  readonly owners: readonly (SeriesOwner | undefined)[];
  /** `seriesKey` of each slot's series, by slot. */
  readonly keys: readonly string[];
  /** Each holder of the family with the keys of its series, in its order. */
  readonly holders: readonly {
    readonly owner: SeriesOwner;
    readonly keys: readonly string[];
  }[];
  /**
   * Where in `order` the series of `key` is, -1 if nowhere; may be wrong
   * once the view has changed (check `keys` and `owners` at that slot).
   */
  readonly positionOf: (key: string) => number;
}

/** Reads a stored family's metrics back (from the database). */
export type FamilyReader = (stored: StoredFamily) => MetricFamily;

/** Keys and text lines of every series of `family`, in its order. */
export function renderSeries(family: MetricFamily): RenderedSeries {
  const keys: string[] = [];
  const texts: string[] = [];
  const seriesKeys = seriesKeysOf(family);
  const metrics = family.metrics as readonly Metric[];
  for (let i = 0; i < metrics.length; i++) {
    keys.push(flat(seriesKeys[i] as string));
    // Not flattened: texts are kept as bytes (TextArena), not as strings.
    texts.push(renderMetric(family.name, family.type, metrics[i] as Metric));
  }
  return { keys, texts };
}

/**
 * Returns `text` flattened: a string built by concatenation is a tree of its
 * pieces in V8, several times the size of its characters. Converting it to a
 * number makes V8 flatten it in place (the number is thrown away); the GC
 * then drops the tree.
 */
function flat(text: string): string {
  FLATTEN_SINK.n = +text;
  return text;
}
/**
 * Where {@link flat} writes the number, so that the compiler cannot drop the
 * conversion as unused. Scratch only: nothing reads it.
 */
const FLATTEN_SINK = { n: 0 };

export class View implements ConsistencyIndex {
  readonly #groups = new Map<string, GroupState & GroupInternals>();
  readonly #families = new Map<string, FamilyEntry>();
  readonly #own: ReadonlyMap<string, OwnFamily>;
  #sortedNames: string[] | undefined;
  /** The family whose pieces start-up is writing, a slice at a time. */
  #building:
    | {
      entry: FamilyEntry;
      steps: Generator<void, GzipFragment[] | undefined, undefined>;
    }
    | undefined;
  /** Slice-at-a-time builds that a change to their family made void. */
  #buildAborts = 0;
  /** Whether {@link indexSome} has found nothing left to do. */
  #startUpDone = false;
  readonly counters: ViewCounters = { inconsistentSeries: 0 };

  constructor(own: ReadonlyMap<string, OwnFamily>) {
    this.#own = own;
  }

  // --- ConsistencyIndex -------------------------------------------------
  family(name: string): IndexedFamily | undefined {
    return this.#families.get(name);
  }
  own(name: string): OwnFamily | undefined {
    return this.#own.get(name);
  }
  groupFamilies(groupId: string): ReadonlySet<string> | undefined {
    const group = this.#groups.get(groupId);
    return group ? new Set(group.families.keys()) : undefined;
  }
  heldKeys(groupId: string, name: string): readonly string[] | undefined {
    const stored = this.#groups.get(groupId)?.families.get(name);
    if (stored === undefined) return undefined;
    // Indexing finds the duplicates a restored family may hold.
    this.#families.get(name)?.ensureIndexed();
    return stored.shadowed === undefined ? stored.keys : undefined;
  }

  // --- reads ---------------------------------------------------------------
  group(id: string): GroupState | undefined {
    return this.#groups.get(id);
  }
  groups(): IterableIterator<GroupState> {
    return this.#groups.values();
  }
  get groupCount(): number {
    return this.#groups.size;
  }
  /** Series stored, metadata series included. */
  get seriesCount(): number {
    let n = 0;
    for (const entry of this.#families.values()) n += entry.size;
    return n;
  }

  // --- changes (only after COMMIT) ------------------------------------------
  /** Applies an accepted PUT or POST. */
  applyPush(push: ApplyPush): void {
    const group = this.#ensureGroup(push.key, push.rowId, push.time);
    group.pushTime = push.time;
    group.pushTimeWrittenAt = push.time;
    if ("ttl" in push) group.ttl = push.ttl;
    this.#touchMetadata(group, PUSH_TIME);
    if (push.replaceAll) {
      const pushed = new Set(push.families.map((f) => f.name));
      for (const name of [...group.families.keys()]) {
        if (!pushed.has(name)) this.#removeFamily(group, name);
      }
    }
    for (const input of push.families) this.#replaceFamily(group, input);
  }

  /** Applies a refused push: only the failure time changes (spec §4). */
  applyFailure(key: GroupingKey, rowId: number, time: number): void {
    const group = this.#ensureGroup(key, rowId, time);
    group.failureTime = time;
    group.failureTimeWrittenAt = time;
    this.#touchMetadata(group, PUSH_FAILURE_TIME);
  }

  /**
   * Restores a group as loaded from the database at start; its families
   * follow with {@link loadFamily}.
   */
  loadGroup(
    key: GroupingKey,
    rowId: number,
    times: {
      pushTime: number;
      failureTime: number;
      ttl: number | undefined;
      createdAt: number;
    },
  ): void {
    const group = this.#ensureGroup(key, rowId, 0);
    group.pushTime = times.pushTime;
    group.failureTime = times.failureTime;
    group.ttl = times.ttl;
    group.createdAt = times.createdAt;
    // Spec §4, §8: a metadata family is written when the group appears (with
    // value 0) and whenever its value changes; nothing is re-stamped.
    group.pushTimeWrittenAt = times.pushTime > 0
      ? times.pushTime
      : times.createdAt;
    group.failureTimeWrittenAt = times.failureTime > 0
      ? times.failureTime
      : times.createdAt;
    this.#touchMetadata(group, PUSH_TIME);
    this.#touchMetadata(group, PUSH_FAILURE_TIME);
  }

  /**
   * Restores one family of a group {@link loadGroup} restored. Its series
   * are indexed later (see FamilyEntry.slots). A second current row of the
   * same name (a damaged file) replaces the first.
   */
  loadFamily(groupId: string, input: FamilyInput): void {
    const group = this.#groups.get(groupId);
    if (group === undefined) return;
    this.#startUpDone = false;
    // First: removing it may drop the family's entry.
    if (group.families.has(input.name)) {
      this.#removeFamily(group, input.name);
    }
    const entry = this.#entryFor(input.name, input.type);
    const { keys } = input;
    const stored = storedFamily(group.id, input, keys, entry.keys.length);
    group.families.set(stored.name, stored);
    entry.holders.add(group.id);
    const slots: number[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      slots[i] = entry.restore(keys[i] as string, stored);
    }
    if (stored.type !== entry.type) {
      this.counters.inconsistentSeries += keys.length;
    }
    entry.arena.write(slots, input.texts);
    entry.scrape = undefined;
  }

  /**
   * Indexes up to `budget` series restored at start-up (see
   * FamilyEntry.slots), then sorts them and writes the scrape pieces of the
   * smaller families; returns false once nothing is left.
   */
  indexSome(budget: number): boolean {
    let left = budget;
    for (const entry of this.#families.values()) {
      left -= entry.indexSome(left);
      if (left <= 0) return true;
    }
    // Then sorted, and each family's scrape pieces written (a big family's
    // a slice at a time), so that the first scrape after start only sends
    // them: a million series took 0.6–1.3 s to write at once.
    for (const [name, entry] of this.#families) {
      left -= entry.sortSome(left);
      if (left <= 0) return true;
      if (entry.scrape === undefined) {
        if (entry.size <= BUILD_AHEAD_SERIES) {
          // Several small families per step: a store may have thousands.
          left -= BUILD_COST * entry.size + 1;
          this.#familyPieces(name);
          if (left <= 0) return true;
          continue;
        }
        if (this.#buildAborts < MAX_BUILD_ABORTS) {
          this.#buildSome(name, entry, left);
          return true;
        }
      }
    }
    this.#building?.steps.return(undefined);
    this.#building = undefined;
    this.#startUpDone = true;
    return false;
  }

  /**
   * Whether start-up's work on the restored series is done (see
   * {@link indexSome}); until then a scrape does it first, in slices.
   */
  get startUpDone(): boolean {
    return this.#startUpDone;
  }

  /**
   * Goes on writing the scrape pieces of big family `name` a slice at a
   * time; a change to the family meanwhile starts it again, a few times.
   */
  #buildSome(name: string, entry: FamilyEntry, budget: number): void {
    let building = this.#building;
    if (building?.entry !== entry) {
      building?.steps.return(undefined);
      const header = this.#header(name, entry);
      const { owners, type } = entry;
      building = {
        entry,
        steps: entry.arena.buildSlices(
          header,
          entry.sorted(),
          (slot) => (owners[slot] as SeriesOwner).type === type,
          Math.max(1, Math.floor(budget / BUILD_COST)),
        ),
      };
      this.#building = building;
    }
    const step = building.steps.next();
    if (step.done !== true) return;
    this.#building = undefined;
    if (entry.scrape !== undefined) return; // a scrape wrote them meanwhile
    if (step.value === undefined) this.#buildAborts++;
    else entry.scrape = step.value;
  }

  removeGroup(id: string): boolean {
    const group = this.#groups.get(id);
    if (!group) return false;
    for (const name of [...group.families.keys()]) {
      this.#removeFamily(group, name);
    }
    for (const name of [PUSH_TIME, PUSH_FAILURE_TIME]) {
      const entry = this.#families.get(name);
      if (!entry) continue;
      entry.remove(group.metadataKey, group.metadataOwner);
      entry.holders.delete(id);
      entry.scrape = undefined;
    }
    this.#groups.delete(id);
    return true;
  }

  // --- scrape ------------------------------------------------------------------
  /**
   * The whole text exposition: stored families merged with the gateway's own
   * (already rendered per family by the caller), sorted by name (spec §5.1).
   */
  render(own: ReadonlyMap<string, MetricFamily>): string {
    return new TextDecoder().decode(inflateFragments(this.renderParts(own)));
  }

  /**
   * {@link render} as the deflated pieces it is made of (UTF-8 text, a
   * piece at most TextArena's PIECE bytes; the cached ones shared): a
   * snapshot a response can stream, inflated piece by piece or joined into
   * one gzip member, however the view changes meanwhile.
   */
  renderParts(own: ReadonlyMap<string, MetricFamily>): GzipFragment[] {
    const names = this.#names();
    const parts: GzipFragment[] = [];
    const encoder = new TextEncoder();
    const packed = (text: string) => compressFragment(encoder.encode(text));
    let i = 0;
    const ownNames = [...own.keys()].sort(compareNames);
    let j = 0;
    while (i < names.length || j < ownNames.length) {
      const a = names[i];
      const b = ownNames[j];
      const cmp = a === undefined
        ? 1
        : b === undefined
        ? -1
        : compareNames(a, b);
      if (cmp < 0) {
        parts.push(...this.#familyPieces(a as string));
        i++;
      } else if (cmp > 0) {
        parts.push(
          packed(renderOwn(own.get(b as string) as MetricFamily, undefined)),
        );
        j++;
      } else {
        const entry = this.#families.get(a as string) as FamilyEntry;
        parts.push(
          packed(renderOwn(own.get(b as string) as MetricFamily, entry)),
        );
        i++;
        j++;
      }
    }
    return parts;
  }

  /**
   * The same merge as {@link render}, as families (for protobuf scrapes):
   * sorted by name, series sorted, conflicting series left out. The metrics
   * come from `read` (the database), one stored family at a time.
   */
  mergedFamilies(
    own: ReadonlyMap<string, MetricFamily>,
    read: FamilyReader,
  ): MetricFamily[] {
    const out: MetricFamily[] = [];
    for (const name of this.scrapeNames(own)) {
      const family = this.mergedFamily(name, own.get(name), read);
      if (family !== undefined) out.push(family);
    }
    return out;
  }

  /** The family names a scrape sends, stored and own, sorted (spec §5.1). */
  scrapeNames(own: ReadonlyMap<string, MetricFamily>): string[] {
    return [...new Set([...this.#names(), ...own.keys()])].sort(compareNames);
  }

  /**
   * One family of {@link mergedFamilies}, read whole; undefined when it has
   * no series.
   */
  mergedFamily(
    name: string,
    ownFamily: MetricFamily | undefined,
    read: FamilyReader,
  ): MetricFamily | undefined {
    const entry = this.#families.get(name);
    if (entry === undefined && ownFamily === undefined) return undefined;
    const type = ownFamily?.type ?? (entry as FamilyEntry).type;
    const items: { key: string; metric: Metric }[] = [];
    for (const metric of (ownFamily?.metrics ?? []) as readonly Metric[]) {
      items.push({ key: seriesKey(metric.labels), metric });
    }
    if (entry) {
      entry.ensureIndexed();
      const metrics = new Map<SeriesOwner, Map<string, Metric>>();
      for (const slot of entry.sorted()) {
        const owner = entry.owners[slot] as SeriesOwner;
        if (owner.type !== type) continue;
        const key = entry.keys[slot] as string;
        let byKey = metrics.get(owner);
        if (byKey === undefined) {
          byKey = this.#metricsOf(name, owner, read);
          metrics.set(owner, byKey);
        }
        const metric = byKey.get(key);
        if (metric !== undefined) items.push({ key, metric });
      }
    }
    if (ownFamily) items.sort((x, y) => compareUtf8(x.key, y.key));
    if (items.length === 0) return undefined;
    return {
      name,
      help: ownFamily ? ownFamily.help : this.#help(name, entry as FamilyEntry),
      type,
      metrics: items.map((i) => i.metric),
    } as MetricFamily;
  }

  /**
   * Stored family `name` as a scrape sends it now, its series unread: who
   * holds each series and its key, in scrape order, conflicting series left
   * out (as {@link mergedFamily} does). A snapshot: later changes to the view
   * leave it as it is. Undefined when no group holds the family.
   */
  scrapeSeries(name: string): ScrapeSeries | undefined {
    const entry = this.#families.get(name);
    if (entry === undefined) return undefined;
    entry.ensureIndexed();
    const order = entry.sorted();
    // Copied whole (a memcpy), not series by series: a million series took
    // 150–350 ms that way, and a slot's owner and key change in place when
    // a push reuses it.
    const owners = entry.owners.slice();
    const keys = entry.keys.slice();
    const positions = new Int32Array(keys.length).fill(-1);
    for (let p = 0; p < order.length; p++) positions[order[p] as number] = p;
    const holders: { owner: SeriesOwner; keys: readonly string[] }[] = [];
    const metadata = name === PUSH_TIME || name === PUSH_FAILURE_TIME;
    for (const id of entry.holders) {
      const group = this.#groups.get(id);
      if (group === undefined) continue;
      const stored = group.families.get(name);
      if (stored !== undefined) {
        holders.push({ owner: stored, keys: stored.keys });
      }
      if (metadata) {
        holders.push({ owner: group.metadataOwner, keys: [group.metadataKey] });
      }
    }
    return {
      name,
      help: this.#help(name, entry),
      type: entry.type,
      order,
      owners,
      keys,
      holders,
      // The index the view keeps anyway, instead of a map of a million keys
      // built per scrape; the caller checks the answer.
      positionOf: (key) => {
        const slot = entry.slots.get(key);
        return slot === undefined ? -1 : positions[slot] ?? -1;
      },
    };
  }

  /**
   * The one series `owner` holds of metadata family `name` (push_time_seconds
   * or push_failure_time_seconds) as it is now; undefined if `owner` is not
   * a group's metadata or the group is gone.
   */
  metadataMetric(name: string, owner: SeriesOwner): Metric | undefined {
    const group = this.#groups.get(owner.groupId);
    if (group === undefined || owner !== group.metadataOwner) return undefined;
    const value = name === PUSH_TIME ? group.pushTime : group.failureTime;
    return { labels: group.metadataLabels, value };
  }

  /** The metrics of one owner's family by series key (first one wins). */
  #metricsOf(
    name: string,
    owner: SeriesOwner,
    read: FamilyReader,
  ): Map<string, Metric> {
    const out = new Map<string, Metric>();
    const group = this.#groups.get(owner.groupId);
    if (group === undefined) return out;
    if (owner === group.metadataOwner) {
      const value = name === PUSH_TIME ? group.pushTime : group.failureTime;
      out.set(group.metadataKey, { labels: group.metadataLabels, value });
      return out;
    }
    const family = read(owner as StoredFamily);
    for (const metric of family.metrics as readonly Metric[]) {
      const key = seriesKey(sortLabels(metric.labels));
      if (!out.has(key)) out.set(key, metric);
    }
    return out;
  }

  #names(): string[] {
    if (!this.#sortedNames) {
      this.#sortedNames = [...this.#families.keys()].sort(compareNames);
    }
    return this.#sortedNames;
  }

  #familyPieces(name: string): GzipFragment[] {
    const entry = this.#families.get(name) as FamilyEntry;
    if (entry.scrape !== undefined) return entry.scrape;
    entry.ensureIndexed();
    const slots = entry.sorted();
    if (slots.length === 0) return (entry.scrape = []);
    const header = this.#header(name, entry);
    const { owners, type } = entry;
    // The texts are already bytes: a scrape copies runs of them into the
    // family's new pieces and then sends those (issue 7).
    entry.scrape = entry.arena.build(
      header,
      slots,
      (slot) => (owners[slot] as SeriesOwner).type === type,
    );
    return entry.scrape;
  }

  #header(name: string, entry: FamilyEntry): Uint8Array {
    return new TextEncoder().encode(
      renderFamilyHeader(name, this.#help(name, entry), entry.type),
    );
  }

  /** Deterministic HELP (spec §3.4): the first non-empty one in group order. */
  #help(name: string, entry: FamilyEntry): string | undefined {
    if (name === PUSH_TIME) return PUSH_TIME_HELP;
    if (name === PUSH_FAILURE_TIME) return PUSH_FAILURE_TIME_HELP;
    let best: { group: string; help: string } | undefined;
    for (const id of entry.holders) {
      const help = this.#groups.get(id)?.families.get(name)?.help;
      if (help === undefined || help === "") continue;
      if (!best || compareUtf8(id, best.group) < 0) best = { group: id, help };
    }
    return best?.help;
  }

  // --- internals ---------------------------------------------------------------
  #ensureGroup(
    key: GroupingKey,
    rowId: number,
    time: number,
  ): GroupState & GroupInternals {
    let group = this.#groups.get(key.id);
    if (!group) {
      const metadataLabels = applyGroupingLabels([], key);
      group = {
        id: key.id,
        rowId,
        key,
        metadataLabels,
        metadataKey: flat(seriesKey(metadataLabels)),
        metadataOwner: { groupId: key.id, type: "gauge" },
        pushTime: 0,
        failureTime: 0,
        ttl: undefined,
        createdAt: time,
        pushTimeWrittenAt: time,
        failureTimeWrittenAt: time,
        families: new Map(),
      };
      this.#groups.set(key.id, group);
      this.#touchMetadata(group, PUSH_TIME);
      this.#touchMetadata(group, PUSH_FAILURE_TIME);
    }
    return group;
  }

  #touchMetadata(group: GroupState & GroupInternals, name: string): void {
    let entry = this.#families.get(name);
    if (!entry) {
      entry = new FamilyEntry("gauge", this.counters);
      this.#families.set(name, entry);
      this.#sortedNames = undefined;
    }
    const value = name === PUSH_TIME ? group.pushTime : group.failureTime;
    const text = flat(renderMetric(name, "gauge", {
      labels: group.metadataLabels,
      value,
    }));
    const slot = entry.slots.get(group.metadataKey);
    entry.scrape = undefined;
    if (slot !== undefined && entry.owners[slot] === group.metadataOwner) {
      entry.arena.write([slot], [text]);
      return;
    }
    entry.holders.add(group.id);
    if (slot !== undefined) {
      entry.shadowed++;
      this.counters.inconsistentSeries++;
      return;
    }
    entry.arena.write([entry.insert(group.metadataKey, group.metadataOwner)], [
      text,
    ]);
  }

  /**
   * Replaces a group's family by a newly pushed version. A series the new
   * version keeps keeps its slot (only its text changes), so a push that
   * only updates values leaves the scrape order as it is.
   */
  #replaceFamily(group: GroupState, input: FamilyInput): void {
    const old = group.families.get(input.name);
    const entry = this.#families.get(input.name);
    if (old === undefined || entry === undefined) {
      this.#addFamily(group, input);
      return;
    }
    if (
      old.shadowed === undefined && entry.shadowed === 0 &&
      old.type === entry.type && input.type === entry.type &&
      sameKeys(input.keys, old.keys)
    ) {
      this.#refreshFamily(group, old, entry, input);
      return;
    }
    group.families.delete(input.name);
    entry.holders.delete(group.id);
    // Vacate the old series: the new version may take their slots back.
    const { slots, owners } = entry;
    for (const key of old.keys) {
      const slot = slots.get(key);
      if (slot !== undefined && owners[slot] === old) owners[slot] = undefined;
    }
    if (entry.holders.size === 0) {
      // As if the family had gone and come back (its type may change).
      entry.type = input.type;
      entry.shadowed = 0;
    } else if (entry.shadowed > 0) {
      for (const key of old.keys) entry.remove(key, undefined);
      this.#rebuild(input.name, entry);
    }
    this.#addFamily(group, input);
    // Old series the new version does not have.
    for (const key of old.keys) entry.remove(key, undefined);
  }

  /**
   * {@link #replaceFamily} when the new version has the same series as the
   * old, in the same order (most pushes): each keeps its slot, only the
   * texts and the header change.
   */
  #refreshFamily(
    group: GroupState,
    old: StoredFamily,
    entry: FamilyEntry,
    input: FamilyInput,
  ): void {
    // The same keys: the old strings, which the index holds, not copies.
    const stored = storedFamily(group.id, input, old.keys);
    // Deleted first: the family moves to the end, as a replaced one does.
    group.families.delete(input.name);
    group.families.set(input.name, stored);
    const { slots, owners } = entry;
    const { keys } = old;
    const placed: number[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const slot = slots.get(keys[i] as string) as number;
      owners[slot] = stored;
      placed[i] = slot;
    }
    entry.arena.write(placed, input.texts);
    entry.scrape = undefined;
  }

  /**
   * The entry of family `name`, made if there is none; a family no group
   * holds takes the type of whoever comes next.
   */
  #entryFor(name: string, type: MetricType): FamilyEntry {
    let entry = this.#families.get(name);
    if (!entry) {
      entry = new FamilyEntry(type, this.counters);
      this.#families.set(name, entry);
      this.#sortedNames = undefined;
    } else if (entry.holders.size === 0) {
      entry.type = type;
    }
    return entry;
  }

  #addFamily(group: GroupState, input: FamilyInput): void {
    const stored = storedFamily(group.id, input, input.keys);
    group.families.set(stored.name, stored);
    const entry = this.#entryFor(stored.name, stored.type);
    entry.holders.add(group.id);
    const { keys } = stored;
    const { texts } = input;
    const mismatch = stored.type !== entry.type;
    const placed: number[] = new Array(keys.length);
    let indexes: number[] | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      let slot = entry.slots.get(key);
      if (slot !== undefined && entry.owners[slot] !== undefined) {
        entry.shadowed++; // only reachable with the consistency check off
        this.counters.inconsistentSeries++;
        (stored.shadowed ??= new Map()).set(i, textAt(texts, i));
        if (indexes === undefined) {
          indexes = Array.from({ length: i }, (_, k) => k);
          placed.length = i;
        }
        continue;
      }
      if (mismatch) this.counters.inconsistentSeries++;
      if (slot === undefined) {
        slot = entry.insert(key, stored);
      } else {
        // A slot the previous version of this family vacated.
        entry.owners[slot] = stored;
      }
      if (indexes === undefined) {
        placed[i] = slot;
      } else {
        placed.push(slot);
        indexes.push(i);
      }
    }
    entry.arena.write(placed, texts, indexes);
    entry.scrape = undefined;
  }

  #removeFamily(group: GroupState, name: string): void {
    const stored = group.families.get(name);
    if (!stored) return;
    group.families.delete(name);
    const entry = this.#families.get(name);
    if (!entry) return;
    entry.holders.delete(group.id);
    for (const key of stored.keys) entry.remove(key, stored);
    if (entry.holders.size === 0) {
      this.#families.delete(name);
      this.#sortedNames = undefined;
      return;
    }
    if (entry.shadowed > 0) this.#rebuild(name, entry);
    entry.scrape = undefined;
  }

  /** Unchecked mode only: re-derive an entry once a shadowing series left. */
  #rebuild(name: string, entry: FamilyEntry): void {
    const holders = [...entry.holders].sort(compareUtf8);
    const inputs: { group: GroupState; input: FamilyInput }[] = [];
    for (const id of holders) {
      const group = this.#groups.get(id);
      const stored = group?.families.get(name);
      if (!group || !stored) continue;
      // Each series' text: from the arena, or kept aside as shadowed.
      const slots = stored.keys.map((key, i) => {
        if (stored.shadowed?.has(i)) return -1;
        const slot = entry.slots.get(key);
        return slot !== undefined && entry.owners[slot] === stored ? slot : -1;
      });
      const held = entry.arena.texts(slots.filter((slot) => slot >= 0));
      let next = 0;
      const texts = slots.map((slot, i) =>
        slot >= 0 ? held[next++] as string : stored.shadowed?.get(i) ?? ""
      );
      inputs.push({ group, input: { ...stored, texts } });
    }
    entry.clear();
    entry.holders.clear();
    for (const { group, input } of inputs) {
      group.families.delete(name);
      this.#addFamily(group, input);
    }
  }
}

/** What a group holds of `input`, with `keys` (and where start-up put it). */
function storedFamily(
  groupId: string,
  input: FamilyInput,
  keys: readonly string[],
  restoredAt?: number,
): StoredFamily {
  return {
    groupId,
    name: input.name,
    type: input.type,
    help: input.help,
    unit: input.unit,
    rowId: input.rowId,
    pushedAt: input.pushedAt,
    keys,
    ...(restoredAt === undefined ? {} : { restoredAt }),
  };
}

/** An own family, merged with stored series of the same name if any (§3.5). */
function renderOwn(
  family: MetricFamily,
  entry: FamilyEntry | undefined,
): string {
  const items: { key: string; text: string }[] = [];
  for (const metric of family.metrics as readonly Metric[]) {
    items.push({
      key: seriesKey(metric.labels),
      text: renderMetric(family.name, family.type, metric),
    });
  }
  if (entry) {
    const slots = [...entry.slots.values()].filter((slot) =>
      (entry.owners[slot] as SeriesOwner).type === family.type
    );
    const texts = entry.arena.texts(slots);
    slots.forEach((slot, i) => {
      items.push({ key: entry.keys[slot] as string, text: texts[i] as string });
    });
  }
  if (items.length === 0) return "";
  items.sort((x, y) => compareUtf8(x.key, y.key));
  let text = renderFamilyHeader(family.name, family.help, family.type);
  for (const item of items) text += item.text;
  return text;
}
