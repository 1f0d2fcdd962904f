/**
 * The families a text parse collected, finished into the model: summaries
 * and histograms assembled from their series, in first-seen order.
 * @module
 */

import type {
  Bucket,
  HistogramMetric,
  Label,
  MetricFamily,
  SummaryMetric,
} from "./model.ts";
import {
  type FamilyState,
  type HistogramState,
  type ParseState,
  SUFFIX_COUNT,
  SUFFIX_NONE,
  SUFFIX_SUM,
  type SummaryState,
} from "./text_state.ts";

/**
 * The parsed families as the model's, in the order they were first seen; a
 * scalar family's metrics are those not taken by the parse's slices (none
 * left is still a family when some were taken).
 */
export function finishFamilies(
  families: Map<string, FamilyState>,
): MetricFamily[] {
  const result: MetricFamily[] = [];
  for (const family of families.values()) {
    const { name, help, type } = family;
    switch (type) {
      case undefined:
        break; // HELP only: no samples.
      case "counter":
      case "gauge":
      case "untyped":
        if (family.scalars.length > 0 || family.taken > 0) {
          result.push({ name, help, type, metrics: family.scalars });
        }
        break;
      case "summary":
        if (family.summaries.length > 0) {
          result.push({
            name,
            help,
            type,
            metrics: family.summaries.map(finishSummary),
          });
        }
        break;
      case "histogram":
      case "gaugehistogram":
        if (family.histograms.length > 0) {
          result.push({
            name,
            help,
            type,
            metrics: family.histograms.map(finishHistogram),
          });
        }
        break;
    }
  }
  return result;
}

function finishSummary(summary: SummaryState): SummaryMetric {
  const metric: SummaryMetric = {
    labels: summary.labels,
    sampleCount: summary.count,
    sampleSum: summary.sum,
    quantiles: summary.quantiles,
  };
  return summary.timestampMs === undefined
    ? metric
    : { ...metric, timestampMs: summary.timestampMs };
}

/**
 * Go's `normalizeHistogram`: if the count or any bucket is a float, all of
 * them become floats (`sampleCountFloat`, float bucket counts).
 */
function finishHistogram(histogram: HistogramState): HistogramMetric {
  const isFloat = histogram.countFloat !== undefined ||
    histogram.buckets.some((bucket) => bucket.countFloat !== undefined);
  const buckets: Bucket[] = histogram.buckets.map((bucket) => ({
    upperBound: bucket.upperBound,
    cumulativeCount: bucket.countFloat ?? bucket.count,
  }));
  const base = {
    labels: histogram.labels,
    sampleSum: histogram.sum,
    buckets,
    ...(histogram.timestampMs === undefined
      ? {}
      : { timestampMs: histogram.timestampMs }),
  };
  return isFloat
    ? {
      ...base,
      sampleCount: 0,
      sampleCountFloat: histogram.countFloat ?? histogram.count,
    }
    : { ...base, sampleCount: histogram.count };
}

/** The summary of the family with these labels, created on first sight. */
export function summaryFor(
  family: FamilyState,
  pairs: readonly Label[],
): SummaryState {
  if (family.lastMetric !== undefined && samePairs(family.lastPairs, pairs)) {
    return family.lastMetric as SummaryState;
  }
  family.lastPairs = pairs;
  const key = signature(pairs);
  const bySignature = family.bySignature ??= new Map();
  const found = bySignature.get(key);
  if (found !== undefined) return family.lastMetric = found as SummaryState;
  const created: SummaryState = {
    labels: pairs,
    count: 0,
    sum: 0,
    quantiles: [],
    timestampMs: undefined,
  };
  bySignature.set(key, created);
  family.summaries.push(created);
  return family.lastMetric = created;
}

/** The histogram of the family with these labels, created on first sight. */
export function histogramFor(
  family: FamilyState,
  pairs: readonly Label[],
): HistogramState {
  if (family.lastMetric !== undefined && samePairs(family.lastPairs, pairs)) {
    return family.lastMetric as HistogramState;
  }
  family.lastPairs = pairs;
  const key = signature(pairs);
  const bySignature = family.bySignature ??= new Map();
  const found = bySignature.get(key);
  if (found !== undefined) return family.lastMetric = found as HistogramState;
  const created: HistogramState = {
    labels: pairs,
    count: 0,
    countFloat: undefined,
    sum: 0,
    buckets: [],
    timestampMs: undefined,
  };
  bySignature.set(key, created);
  family.histograms.push(created);
  return family.lastMetric = created;
}

/** Same labels in the same order (then certainly the same label set). */
function samePairs(a: readonly Label[], b: readonly Label[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as Label;
    const y = b[k] as Label;
    if (x.name !== y.name || x.value !== y.value) return false;
  }
  return true;
}

/** The label set as a key, independent of label order (Go: `LabelsToSignature`). */
function signature(pairs: readonly Label[]): string {
  if (pairs.length === 0) return "";
  const sorted = pairs.length === 1 ? pairs : [...pairs].sort(byName);
  let key = "";
  for (const { name, value } of sorted) {
    key += `${name.length}:${name}${value.length}:${value}`;
  }
  return key;
}

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Go's `setOrCreateCurrentMF`: the family of that exact name, else the
 * summary/histogram that `_count`, `_sum` (or `_bucket`) belongs to, else a
 * new family. Sets `s.suffix`.
 */
export function familyFor(s: ParseState, name: string): FamilyState {
  s.suffix = SUFFIX_NONE;
  const families = s.families;
  const exact = families.get(name);
  if (exact !== undefined) return exact;
  const suffix = name.length > 6 && name.endsWith("_count")
    ? SUFFIX_COUNT
    : name.length > 4 && name.endsWith("_sum")
    ? SUFFIX_SUM
    : SUFFIX_NONE;
  if (suffix !== SUFFIX_NONE) {
    const base = families.get(
      name.slice(0, name.length - (suffix === SUFFIX_COUNT ? 6 : 4)),
    );
    if (base !== undefined) {
      const type = base.type;
      if (
        type === "summary" || type === "histogram" || type === "gaugehistogram"
      ) {
        s.suffix = suffix;
        return base;
      }
    }
  } else if (name.length > 7 && name.endsWith("_bucket")) {
    const base = families.get(name.slice(0, name.length - 7));
    if (base?.type === "histogram" || base?.type === "gaugehistogram") {
      return base;
    }
  }
  const created: FamilyState = {
    name,
    help: undefined,
    type: undefined,
    scalars: [],
    taken: 0,
    summaries: [],
    histograms: [],
    bySignature: undefined,
    lastPairs: [],
    lastMetric: undefined,
  };
  families.set(name, created);
  return created;
}
