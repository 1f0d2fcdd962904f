/**
 * The in-memory view of the current state: groups with their families, the
 * family index the consistency check reads, and the render cache a scrape
 * concatenates. Rebuilt from the database at start; changed only by the
 * store, and only after a COMMIT succeeded (design.md "Data flow").
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
import {
  compareNames,
  compareSeries,
  compareUtf8,
} from "../exposition/sort.ts";
import { renderFamilyHeader, renderMetric } from "../exposition/text_render.ts";
import type {
  ConsistencyIndex,
  IndexedFamily,
  OwnFamily,
} from "../push/consistency.ts";
import { seriesKey } from "../push/consistency.ts";
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

/** One family as a group holds it now. */
export interface StoredFamily {
  readonly family: MetricFamily;
  /** `families.id` of the row that holds it. */
  readonly rowId: number;
  /** Unix seconds of the push that wrote it (the API's `time_stamp`). */
  readonly pushedAt: number;
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

interface SeriesSlot {
  readonly groupId: string;
  readonly labels: readonly Label[];
  readonly type: MetricType;
  metric: Metric;
  text: string;
}

class FamilyEntry implements IndexedFamily {
  type: MetricType;
  readonly holders = new Set<string>();
  readonly series = new Map<string, SeriesSlot>();
  /** Series left out because another group holds the same one (unchecked mode). */
  shadowed = 0;
  sorted: SeriesSlot[] | undefined;
  text: string | undefined;
  constructor(type: MetricType) {
    this.type = type;
  }
  ownerOf(key: string): string | undefined {
    return this.series.get(key)?.groupId;
  }
}

export interface ApplyPush {
  readonly key: GroupingKey;
  readonly rowId: number;
  readonly replaceAll: boolean;
  readonly families: readonly StoredFamily[];
  readonly time: number;
  /** Set (a number) or cleared (undefined) when the push carried a TTL. */
  readonly ttl?: number | undefined;
}

export interface ViewCounters {
  /** Series left out of scrapes because they conflict (unchecked mode). */
  inconsistentSeries: number;
}

export class View implements ConsistencyIndex {
  readonly #groups = new Map<string, GroupState>();
  readonly #families = new Map<string, FamilyEntry>();
  readonly #own: ReadonlyMap<string, OwnFamily>;
  #sortedNames: string[] | undefined;
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
    for (const entry of this.#families.values()) n += entry.series.size;
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
      for (const name of [...group.families.keys()]) {
        this.#removeFamily(group, name);
      }
    }
    for (const stored of push.families) {
      this.#removeFamily(group, stored.family.name);
      this.#addFamily(group, stored);
    }
  }

  /** Applies a refused push: only the failure time changes (spec §4). */
  applyFailure(key: GroupingKey, rowId: number, time: number): void {
    const group = this.#ensureGroup(key, rowId, time);
    group.failureTime = time;
    group.failureTimeWrittenAt = time;
    this.#touchMetadata(group, PUSH_FAILURE_TIME);
  }

  /** Restores a group as loaded from the database at start. */
  loadGroup(
    key: GroupingKey,
    rowId: number,
    times: {
      pushTime: number;
      failureTime: number;
      ttl: number | undefined;
      createdAt: number;
    },
    families: readonly StoredFamily[],
  ): void {
    const group = this.#ensureGroup(key, rowId, 0);
    group.pushTime = times.pushTime;
    group.failureTime = times.failureTime;
    group.ttl = times.ttl;
    group.createdAt = times.createdAt;
    for (const stored of families) this.#addFamily(group, stored);
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

  removeGroup(id: string): boolean {
    const group = this.#groups.get(id);
    if (!group) return false;
    for (const name of [...group.families.keys()]) {
      this.#removeFamily(group, name);
    }
    for (const name of [PUSH_TIME, PUSH_FAILURE_TIME]) {
      const entry = this.#families.get(name);
      if (!entry) continue;
      const key = seriesKey(group.metadataLabels);
      if (entry.series.get(key)?.groupId === id) entry.series.delete(key);
      entry.holders.delete(id);
      this.#invalidate(name, entry, true);
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
    const names = this.#names();
    const parts: string[] = [];
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
        parts.push(this.#familyText(a as string));
        i++;
      } else if (cmp > 0) {
        parts.push(renderOwn(own.get(b as string) as MetricFamily, undefined));
        j++;
      } else {
        const entry = this.#families.get(a as string) as FamilyEntry;
        parts.push(renderOwn(own.get(b as string) as MetricFamily, entry));
        i++;
        j++;
      }
    }
    return parts.join("");
  }

  /**
   * The same merge as {@link render}, as families (for protobuf scrapes):
   * sorted by name, series sorted, conflicting series left out.
   */
  mergedFamilies(own: ReadonlyMap<string, MetricFamily>): MetricFamily[] {
    const names = new Set([...this.#names(), ...own.keys()]);
    const out: MetricFamily[] = [];
    for (const name of [...names].sort(compareNames)) {
      const entry = this.#families.get(name);
      const ownFamily = own.get(name);
      const type = ownFamily?.type ?? (entry as FamilyEntry).type;
      const items: { labels: readonly Label[]; metric: Metric }[] = [
        ...(ownFamily?.metrics ?? []).map((m: Metric) => ({
          labels: m.labels,
          metric: m,
        })),
      ];
      if (entry) {
        for (const slot of this.#sortedSlots(entry)) {
          if (slot.type === type) items.push(slot);
        }
      }
      if (ownFamily) items.sort((x, y) => compareSeries(x.labels, y.labels));
      if (items.length === 0) continue;
      out.push({
        name,
        help: ownFamily
          ? ownFamily.help
          : this.#help(name, entry as FamilyEntry),
        type,
        metrics: items.map((i) => i.metric),
      } as MetricFamily);
    }
    return out;
  }

  #names(): string[] {
    if (!this.#sortedNames) {
      this.#sortedNames = [...this.#families.keys()].sort(compareNames);
    }
    return this.#sortedNames;
  }

  #familyText(name: string): string {
    const entry = this.#families.get(name) as FamilyEntry;
    if (entry.text !== undefined) return entry.text;
    const slots = this.#sortedSlots(entry);
    if (slots.length === 0) return (entry.text = "");
    let text = renderFamilyHeader(name, this.#help(name, entry), entry.type);
    for (const slot of slots) {
      if (slot.type === entry.type) text += slot.text;
    }
    entry.text = text;
    return text;
  }

  #sortedSlots(entry: FamilyEntry): SeriesSlot[] {
    if (!entry.sorted) {
      entry.sorted = [...entry.series.values()].sort((x, y) =>
        compareSeries(x.labels, y.labels)
      );
    }
    return entry.sorted;
  }

  /** Deterministic HELP (spec §3.4): the first non-empty one in group order. */
  #help(name: string, entry: FamilyEntry): string | undefined {
    if (name === PUSH_TIME) return PUSH_TIME_HELP;
    if (name === PUSH_FAILURE_TIME) return PUSH_FAILURE_TIME_HELP;
    let best: { group: string; help: string } | undefined;
    for (const id of entry.holders) {
      const help = this.#groups.get(id)?.families.get(name)?.family.help;
      if (help === undefined || help === "") continue;
      if (!best || compareUtf8(id, best.group) < 0) best = { group: id, help };
    }
    return best?.help;
  }

  // --- internals ---------------------------------------------------------------
  #ensureGroup(key: GroupingKey, rowId: number, time: number): GroupState {
    let group = this.#groups.get(key.id);
    if (!group) {
      group = {
        id: key.id,
        rowId,
        key,
        metadataLabels: applyGroupingLabels([], key),
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

  #touchMetadata(group: GroupState, name: string): void {
    let entry = this.#families.get(name);
    if (!entry) {
      entry = new FamilyEntry("gauge");
      this.#families.set(name, entry);
      this.#sortedNames = undefined;
    }
    const value = name === PUSH_TIME ? group.pushTime : group.failureTime;
    const metric = { labels: group.metadataLabels, value };
    const text = renderMetric(name, "gauge", metric);
    const key = seriesKey(group.metadataLabels);
    const slot = entry.series.get(key);
    if (slot && slot.groupId === group.id) {
      slot.text = text;
      slot.metric = metric;
      entry.text = undefined;
      return;
    }
    entry.holders.add(group.id);
    if (slot) {
      entry.shadowed++;
      this.counters.inconsistentSeries++;
      return;
    }
    entry.series.set(key, {
      groupId: group.id,
      labels: group.metadataLabels,
      type: "gauge",
      metric,
      text,
    });
    this.#invalidate(name, entry, true);
  }

  #addFamily(group: GroupState, stored: StoredFamily): void {
    const family = stored.family;
    group.families.set(family.name, stored);
    let entry = this.#families.get(family.name);
    if (!entry) {
      entry = new FamilyEntry(family.type);
      this.#families.set(family.name, entry);
      this.#sortedNames = undefined;
    } else if (entry.holders.size === 0) {
      entry.type = family.type;
    }
    entry.holders.add(group.id);
    for (const metric of family.metrics as readonly Metric[]) {
      const key = seriesKey(metric.labels);
      if (entry.series.has(key)) {
        entry.shadowed++; // only reachable with the consistency check off
        this.counters.inconsistentSeries++;
        continue;
      }
      if (family.type !== entry.type) this.counters.inconsistentSeries++;
      entry.series.set(key, {
        groupId: group.id,
        labels: metric.labels,
        type: family.type,
        metric,
        text: renderMetric(family.name, family.type, metric),
      });
    }
    this.#invalidate(family.name, entry, true);
  }

  #removeFamily(group: GroupState, name: string): void {
    const stored = group.families.get(name);
    if (!stored) return;
    group.families.delete(name);
    const entry = this.#families.get(name);
    if (!entry) return;
    entry.holders.delete(group.id);
    for (const metric of stored.family.metrics as readonly Metric[]) {
      const key = seriesKey(metric.labels);
      if (entry.series.get(key)?.groupId === group.id) entry.series.delete(key);
    }
    if (entry.holders.size === 0) {
      this.#families.delete(name);
      this.#sortedNames = undefined;
      return;
    }
    if (entry.shadowed > 0) this.#rebuild(name, entry);
    this.#invalidate(name, entry, true);
  }

  /** Unchecked mode only: re-derive an entry once a shadowing series left. */
  #rebuild(name: string, entry: FamilyEntry): void {
    const holders = [...entry.holders].sort(compareUtf8);
    entry.series.clear();
    entry.holders.clear();
    entry.shadowed = 0;
    for (const id of holders) {
      const group = this.#groups.get(id);
      const stored = group?.families.get(name);
      if (!group || !stored) continue;
      group.families.delete(name);
      this.#addFamily(group, stored);
    }
  }

  #invalidate(_name: string, entry: FamilyEntry, order: boolean): void {
    entry.text = undefined;
    if (order) entry.sorted = undefined;
  }
}

/** An own family, merged with stored series of the same name if any (§3.5). */
function renderOwn(
  family: MetricFamily,
  entry: FamilyEntry | undefined,
): string {
  const items: { labels: readonly Label[]; text: string }[] = [];
  for (const metric of family.metrics as readonly Metric[]) {
    items.push({
      labels: metric.labels,
      text: renderMetric(family.name, family.type, metric),
    });
  }
  if (entry) {
    for (const slot of entry.series.values()) {
      if (slot.type === family.type) items.push(slot);
    }
  }
  if (items.length === 0) return "";
  items.sort((x, y) => compareSeries(x.labels, y.labels));
  let text = renderFamilyHeader(family.name, family.help, family.type);
  for (const item of items) text += item.text;
  return text;
}
