/**
 * A stored family read back from its `samples` rows a page at a time, so
 * that no request reads a whole big family (one push may carry a million
 * series) in one go and keeps the HTTP thread for seconds: the protobuf
 * scrape, `/api/v1/metrics` and a UI card read through it. Pure apart from
 * calling `read`.
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import { type FamilyHeader, rowsToFamily } from "../push/sample_rows.ts";
import type { SampleRow } from "../push/sample_rows.ts";

/** A `samples` row with its id (the cursor of the next page). */
export interface PagedSampleRow extends SampleRow {
  readonly id: number;
}

/**
 * Up to `limit` rows of family row `familyRow` with ids above `afterId`,
 * in id order (a family's rows are written series by series, so this is
 * series order too).
 */
export type ReadSampleRows = (
  familyRow: number,
  afterId: number,
  limit: number,
) => readonly PagedSampleRow[];

/** A `samples` row with its family row, read with other families' rows. */
export interface FamilySampleRow extends PagedSampleRow {
  /** `samples.family_id`. */
  readonly familyRow: number;
}

/** A row of `familiesSamples` (statements.ts), as an array. */
export type FamilySampleArray = readonly [
  id: number,
  familyRow: number,
  series: number,
  name: string,
  labels: string,
  value: number | null,
  valueText: string | null,
  native: string | null,
  exemplar: string | null,
  created: number | null,
];

/** The row of `r`, made at once (no object from SQLite spread into it). */
export function familySampleRow(r: FamilySampleArray): FamilySampleRow {
  return {
    id: r[0],
    familyRow: r[1],
    series: r[2],
    name: r[3],
    labels: r[4],
    value: r[5],
    valueText: r[6],
    native: r[7],
    exemplar: r[8],
    created: r[9],
  };
}

/**
 * Every row of the families rows `familyRows`, by family row then series
 * ({@link SMALL_FAMILY_ROWS} rows each at most, {@link PAGE_ROWS} in all).
 */
export type ReadFamiliesRows = (
  familyRows: readonly number[],
) => readonly FamilySampleRow[];

/** A stored family as {@link familyPages} reads it. */
export interface PagedFamily extends FamilyHeader {
  /** `families.id`. */
  readonly rowId: number;
}

/** Some of a family's metrics, in its order. */
export interface FamilyPage {
  /** The family with these metrics only. */
  readonly family: MetricFamily;
  /** `samples.series` (the ordinal in the pushed family) of each metric. */
  readonly series: readonly number[];
}

/**
 * Rows per read: a series costs 12–20 µs read, decoded and encoded again
 * on a loaded 2-core machine (1M series, protobuf), so a page is a 5 ms
 * slice's worth.
 */
export const PAGE_ROWS = 256;

/**
 * Families of up to this many rows may be read together, a page's worth at
 * a time ({@link ReadFamiliesRows}): at 100k groups of one small family,
 * one query each cost about 38 µs a family, one per page 4 µs.
 */
export const SMALL_FAMILY_ROWS = 64;

/**
 * The metrics of `stored`, a page of about `pageRows` rows at a time; a
 * series is never split across pages. Rows deleted while the pages are
 * read (a family replaced with history off) end the family early.
 */
export function* familyPages(
  read: ReadSampleRows,
  stored: PagedFamily,
  pageRows = PAGE_ROWS,
): Generator<FamilyPage, void, undefined> {
  let afterId = 0;
  let carry: readonly PagedSampleRow[] = [];
  // Bounded: each turn reads rows past the last one, or ends.
  for (;;) {
    const rows = read(stored.rowId, afterId, pageRows);
    const last = rows.at(-1);
    if (last === undefined) {
      if (carry.length > 0) yield page(stored, carry);
      return;
    }
    afterId = last.id;
    const all = carry.length > 0 ? [...carry, ...rows] : rows;
    if (rows.length < pageRows) {
      yield page(stored, all);
      return;
    }
    // The last series may go on in the next rows: kept for the next page.
    let cut = all.length;
    while (cut > 0 && (all[cut - 1] as PagedSampleRow).series === last.series) {
      cut--;
    }
    carry = all.slice(cut);
    if (cut > 0) yield page(stored, all.slice(0, cut));
  }
}

/**
 * The first `limit` metrics of `stored`, reading no further than the page
 * that holds the last of them (a UI card shows no more).
 */
export function familyHead(
  read: ReadSampleRows,
  stored: PagedFamily,
  limit: number,
): MetricFamily {
  const metrics: unknown[] = [];
  let family: MetricFamily | undefined;
  if (limit > 0) {
    const rows = Math.min(PAGE_ROWS, Math.max(limit, MIN_HEAD_ROWS));
    for (const p of familyPages(read, stored, rows)) {
      family = p.family;
      metrics.push(...p.family.metrics.slice(0, limit - metrics.length));
      if (metrics.length >= limit) break;
    }
  }
  return {
    ...(family ?? rowsToFamily(stored, [])),
    metrics,
  } as MetricFamily;
}

/** Rows per read of {@link familyHead}: a histogram series has several. */
const MIN_HEAD_ROWS = 64;

/** `rows` (in series order, whole series) as a page of `stored`. */
export function page(
  stored: PagedFamily,
  rows: readonly PagedSampleRow[],
): FamilyPage {
  const series: number[] = [];
  let at = -1;
  for (const row of rows) {
    if (row.series !== at || series.length === 0) {
      series.push(row.series);
      at = row.series;
    }
  }
  return { family: rowsToFamily(stored, rows), series };
}

/** All of `stored`'s metrics, read page by page (for a small family). */
export function wholeFamily(
  read: ReadSampleRows,
  stored: PagedFamily,
): MetricFamily {
  const metrics: unknown[] = [];
  for (const p of familyPages(read, stored)) metrics.push(...p.family.metrics);
  return { ...rowsToFamily(stored, []), metrics } as MetricFamily;
}
