/**
 * The shapes the view takes and hands out: a group, its families' headers
 * and series, what a push or a scrape passes (docs/architecture.md).
 * @module
 */

import type { Label, MetricFamily, MetricType } from "../exposition/model.ts";
import type { SeriesTexts } from "../push/rendered_blob.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import { seriesKey } from "../push/series_key.ts";
import { applyGroupingLabels } from "../push/validate.ts";
import { flat } from "../push/rendered_series.ts";

export const PUSH_TIME_HELP =
  "Last Unix time when changing this group in the Pushgateway succeeded.";
export const PUSH_FAILURE_TIME_HELP =
  "Last Unix time when changing this group in the Pushgateway failed.";

/** Who holds a series: a group's family, or the group's metadata. */
export interface SeriesOwner {
  readonly groupId: string;
  readonly type: MetricType;
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
export interface GroupInternals {
  /** `seriesKey(metadataLabels)`. */
  readonly metadataKey: string;
  /** Owner of the group's two metadata series. */
  readonly metadataOwner: SeriesOwner;
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

/** What a group holds of `input`, with `keys` (and where start-up put it). */
export function storedFamily(
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

/** A group as it first appears, nothing pushed yet, at Unix time `time`. */
export function newGroup(
  key: GroupingKey,
  rowId: number,
  time: number,
): GroupState & GroupInternals {
  const metadataLabels = applyGroupingLabels([], key);
  return {
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
}
