/**
 * The in-memory view of the current state: groups with their family headers,
 * the family index the consistency check reads, and the render cache a
 * scrape sends (each family's texts in deflated pieces, see TextArena).
 * Rebuilt from the database at start; changed only by the store, and only
 * after a COMMIT succeeded (docs/architecture.md, A push).
 *
 * Compact on purpose (a million series must fit): per series it keeps only its key (see
 * `seriesKey`: unique, and ordered as a scrape orders series), its rendered
 * text lines and its owner; never the parsed metric. Whoever needs metric
 * objects (the API, the UI, protobuf scrapes) reads them from the database.
 *
 * Never touches the database or the clock; never throws on inconsistent
 * content (possible with `--push.disable-consistency-check`): such series are
 * left out of the scrape and counted, so a bad push can never break a scrape.
 * @module
 */

import type { Metric, MetricFamily, MetricType } from "../exposition/model.ts";
import { compareNames, compareUtf8, sortLabels } from "../exposition/sort.ts";
import { renderFamilyHeader, renderMetric } from "../exposition/text_render.ts";
import type {
  ConsistencyIndex,
  IndexedFamily,
  OwnFamily,
} from "../push/consistency.ts";
import { sameKeys, seriesKey } from "../push/consistency.ts";
import { textAt } from "./text_arena.ts";
import {
  compressFragment,
  type GzipFragment,
  inflateFragments,
} from "../exposition/gzip_fragments.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import { PUSH_FAILURE_TIME, PUSH_TIME } from "../push/validate.ts";
import {
  type ApplyPush,
  type FamilyInput,
  type FamilyReader,
  type GroupInternals,
  type GroupState,
  newGroup,
  PUSH_FAILURE_TIME_HELP,
  PUSH_TIME_HELP,
  type ScrapeSeries,
  type SeriesOwner,
  type StoredFamily,
  storedFamily,
  type ViewCounters,
} from "./view_types.ts";
import { FamilyEntry } from "./family_entry.ts";
import { maySwap, type StagedFamily } from "./staged_family.ts";
import { renderOwn } from "./render_own.ts";
import { scopedPieces } from "./scoped_pieces.ts";
import { flat } from "../push/rendered_series.ts";
export {
  type ApplyPush,
  type FamilyHeader,
  type FamilyInput,
  type FamilyReader,
  type GroupState,
  PUSH_FAILURE_TIME_HELP,
  PUSH_TIME_HELP,
  type ScrapeSeries,
  type SeriesOwner,
  type StoredFamily,
  type ViewCounters,
} from "./view_types.ts";

type OwnMap = ReadonlyMap<string, MetricFamily>;
/** Series of the biggest family whose pieces start-up writes in one step. */
const BUILD_AHEAD_SERIES = 4096;
/** Work counted per text a build copies (against a comparison, a hash). */
const BUILD_COST = 4;
/** The view as the store hands it out, to read; only the store changes it. */
export type ReadView = Omit<
  View,
  "applyPush" | "applyFailure" | "loadGroup" | "loadFamily" | "removeGroup"
>;

/** Builds in slices given up before start-up leaves the rest to scrapes. */
const MAX_BUILD_ABORTS = 3;

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
  /** Applies an accepted PUT or POST; `staged`: see staged_family.ts. */
  applyPush(
    push: ApplyPush,
    staged?: ReadonlyMap<string, StagedFamily>,
  ): void {
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
    for (const input of push.families) {
      const ready = staged?.get(input.name);
      if (ready?.input === input && maySwap(this, group.id, ready)) {
        this.#swapIn(group, ready);
      } else this.#replaceFamily(group, input);
    }
  }

  /** A family built aside takes the place of its name's entry. */
  #swapIn(group: GroupState, { stored, entry }: StagedFamily): void {
    const old = this.#families.get(stored.name);
    group.families.delete(stored.name);
    group.families.set(stored.name, stored);
    this.#families.set(stored.name, entry);
    if (old === undefined) this.#sortedNames = undefined;
    else if (this.#building?.entry === old) {
      this.#building.steps.return(undefined);
      this.#building = undefined;
    }
  }

  /** Applies a refused push: only the failure time changes (docs/compatibility.md). */
  applyFailure(key: GroupingKey, rowId: number, time: number): void {
    const group = this.#ensureGroup(key, rowId, time);
    group.failureTime = time;
    group.failureTimeWrittenAt = time;
    this.#touchMetadata(group, PUSH_FAILURE_TIME);
  }

  /** Restores a group loaded at start; its families follow ({@link loadFamily}). */
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
    // docs/compatibility.md, Metadata metrics: a metadata family is written when the group appears (with
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
    const from = entry.added.length;
    for (let i = 0; i < keys.length; i++) {
      slots[i] = entry.restore(keys[i] as string, stored);
    }
    entry.sortAddedFrom(from);
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

  /** Whether start-up's work is done ({@link indexSome}); else scrapes do it. */
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
  /** The text exposition: stored and own families merged by name (docs/compatibility.md). */
  render(own: OwnMap): string {
    return new TextDecoder().decode(inflateFragments(this.renderParts(own)));
  }

  /**
   * {@link render} as the deflated pieces it is made of (UTF-8 text, a
   * piece at most TextArena's PIECE bytes; the cached ones shared): a
   * snapshot a response can stream, inflated piece by piece or joined into
   * one gzip member, however the view changes meanwhile. `visible`: these
   * groups' series only (scoped_pieces.ts), with `own` empty.
   */
  renderParts(own: OwnMap, visible?: ReadonlySet<string>): GzipFragment[] {
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
        parts.push(...this.#familyPieces(a as string, visible));
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

  /** The family names a scrape sends, stored and own, sorted (docs/compatibility.md). */
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

  #familyPieces(name: string, visible?: ReadonlySet<string>): GzipFragment[] {
    const entry = this.#families.get(name) as FamilyEntry;
    if (visible !== undefined) {
      const whole = () => this.#familyPieces(name);
      const header = () => this.#header(name, entry);
      return scopedPieces(entry, visible, whole, header);
    }
    if (entry.scrape !== undefined) return entry.scrape;
    entry.ensureIndexed();
    const slots = entry.sorted();
    if (slots.length === 0) return (entry.scrape = []);
    const header = this.#header(name, entry);
    const { owners, type } = entry;
    // The texts are already bytes: a scrape copies runs of them into the
    // family's new pieces and then sends those (peak memory).
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

  /** Deterministic HELP (docs/compatibility.md, HELP conflicts): the first non-empty one in group order. */
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
      group = newGroup(key, rowId, time);
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
    const from = entry.added.length;
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
    entry.sortAddedFrom(from);
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
    if (entry.holders.size === 0) {
      // Every series was this group's: the entry goes whole, unemptied.
      this.#families.delete(name);
      this.#sortedNames = undefined;
      return;
    }
    for (const key of stored.keys) entry.remove(key, stored);
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
