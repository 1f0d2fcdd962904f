/**
 * A prepared family's metrics back from its `samples` rows in columns
 * (sample_columns.ts), as sample_rows.ts reads stored rows back: an
 * aggregating push prepared on the push worker is summed from them
 * (store/aggregate_writes.ts), a slice of series at a time. Pure.
 * @module
 */

import type { Metric, MetricFamily } from "../exposition/model.ts";
import type { PreparedFamily } from "./prepare.ts";
import { rowsToFamily, type SampleRow } from "./sample_rows.ts";
import { type SampleExtra, sampleRowWith } from "./sample_columns.ts";
import { KeyedScalar } from "./keyed_metric.ts";

/** Series read back between two yields. */
const SLICE_SERIES = 2_048;

/**
 * The family `prepared` was prepared from, its metrics read back from its
 * rows; yields after each {@link SLICE_SERIES} series.
 */
export function* familyOfPrepared(
  prepared: PreparedFamily,
): Generator<void, MetricFamily, undefined> {
  const columns = prepared.samples;
  const header = {
    name: prepared.name,
    type: prepared.type,
    help: prepared.help,
    unit: prepared.unit,
  };
  if (
    (prepared.type === "counter" || prepared.type === "gauge" ||
      prepared.type === "untyped") &&
    columns.extras.length === 0 && columns.count === prepared.keys.length
  ) {
    // A row per series, its value alone: labels from the keys if read.
    const { keys } = prepared;
    const metrics: KeyedScalar[] = new Array(columns.count);
    for (let from = 0; from < columns.count; from += SLICE_SERIES) {
      const to = Math.min(columns.count, from + SLICE_SERIES);
      for (let r = from; r < to; r++) {
        metrics[r] = new KeyedScalar(keys, r, columns.values[r] as number);
      }
      if (to < columns.count) yield;
    }
    return { ...header, metrics } as MetricFamily;
  }
  const extras = new Map<number, SampleExtra>();
  for (const e of columns.extras) extras.set(e.row, e);
  const metrics: Metric[] = [];
  let rows: SampleRow[] = [];
  let seriesInSlice = 0;
  let last = -1;
  for (let r = 0; r < columns.count; r++) {
    const series = columns.series[r] as number;
    if (series !== last) {
      last = series;
      if (seriesInSlice === SLICE_SERIES) {
        for (const m of rowsToFamily(header, rows).metrics) metrics.push(m);
        rows = [];
        seriesInSlice = 0;
        yield;
      }
      seriesInSlice++;
    }
    rows.push(sampleRowWith(columns, header.name, r, extras.get(r)));
  }
  const family = rowsToFamily(header, rows);
  for (const m of family.metrics) metrics.push(m);
  return { ...family, metrics } as MetricFamily;
}
