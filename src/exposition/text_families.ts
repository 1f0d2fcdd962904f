/**
 * The families a text parse collected, finished into the model: summaries
 * and histograms assembled from their series, in first-seen order.
 * @module
 */

import type {
  Bucket,
  HistogramMetric,
  MetricFamily,
  SummaryMetric,
} from "./model.ts";
import type {
  FamilyState,
  HistogramState,
  SummaryState,
} from "./text_parse.ts";

/** The parsed families as the model's, in the order they were first seen. */
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
        if (family.scalars.length > 0) {
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
