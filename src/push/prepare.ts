/**
 * What the store writes for one family, computed before the store is
 * called: the series' keys and texts (for the view), `families.rendered`
 * and the `samples` rows. Pure, so that it can run on the push worker
 * (push/push_worker.ts) as well as inline; the result is plain data that
 * crosses to the main thread as it is.
 * @module
 */

import type { MetricFamily, MetricType } from "../exposition/model.ts";
import { encodeRendered } from "./rendered_blob.ts";
import { familyToRows } from "./sample_rows.ts";
import { renderSeries } from "./rendered_series.ts";
import { seriesKeysOf } from "./series_key.ts";

/** Values per row in {@link PreparedFamily.rows}. */
export const ROW_STRIDE = 8;

export interface PreparedFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string | undefined;
  readonly unit: string | undefined;
  /** `seriesKey` of each series, in order. */
  readonly keys: readonly string[];
  /** The text lines of each series, as a scrape shows them. */
  readonly texts: readonly string[];
  /**
   * The `families.rendered` value, or its UTF-8 bytes (from the push
   * worker): the store writes either as the same TEXT.
   */
  readonly rendered: string | Uint8Array;
  /**
   * The `samples` rows, {@link ROW_STRIDE} values each: series, name,
   * labels, value, value_text, native, exemplar, created.
   */
  readonly rows: readonly (number | string | null)[];
  /** Whether a row has a value in one of the last four columns. */
  readonly extras: boolean;
}

/** {@link prepareKeyedFamily} with the family's keys computed here. */
export function prepareFamily(family: MetricFamily): PreparedFamily {
  return prepareKeyedFamily(family, seriesKeysOf(family));
}

/** What the store writes for `family`, whose series keys are `keys`. */
export function prepareKeyedFamily(
  family: MetricFamily,
  keys: readonly string[],
): PreparedFamily {
  const series = renderSeries(family, keys);
  const rows: (number | string | null)[] = [];
  let extras = false;
  for (const s of familyToRows(family)) {
    rows.push(
      s.series,
      s.name,
      s.labels,
      s.value,
      s.valueText,
      s.native,
      s.exemplar,
      s.created,
    );
    extras ||= s.valueText !== null || s.native !== null ||
      s.exemplar !== null || s.created !== null;
  }
  return {
    name: family.name,
    type: family.type,
    help: family.help,
    unit: family.unit,
    keys: series.keys,
    texts: series.texts,
    rendered: encodeRendered(series),
    rows,
    extras,
  };
}
