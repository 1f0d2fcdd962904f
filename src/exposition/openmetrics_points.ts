/**
 * The MetricPoints of an OpenMetrics family: grouping a family's samples
 * into points by their labels, checking each point's samples, and finishing
 * points and families into the model.
 * @module
 */

import {
  type Bucket,
  type HistogramMetric,
  type Label,
  type MetricFamily,
  type ScalarMetric,
  type SummaryMetric,
  unreachable,
} from "./model.ts";
import { type SampleLine, secondsToMs } from "./openmetrics_lex.ts";
import {
  type Context,
  failLine,
  type FamilyState,
  labelValue,
  type Mutable,
  type PointState,
  quote,
  type Role,
  seriesText,
} from "./openmetrics_state.ts";

export function startPoint(
  family: FamilyState,
  sample: SampleLine,
  groupKey: string,
  special: string | undefined,
): PointState {
  family.groups.add(groupKey);
  const groupLabels = special === undefined
    ? sample.labels
    : sample.labels.filter((label) => label.name !== special);
  const point: PointState = {
    groupKey,
    groupLabels,
    timestamp: sample.timestamp,
    timestampMs: sample.timestampMs,
    labels: family.type === "stateset" ? sample.labels : groupLabels,
    seen: undefined,
    lastLine: 0,
    total: undefined,
    exemplar: undefined,
    createdMs: undefined,
    count: undefined,
    sum: undefined,
    quantiles: [],
    buckets: [],
    negativeBucket: false,
  };
  family.point = point;
  return point;
}

/** Whether `labels` without `skip` are the point's labels, in the same order. */
export function sameGroup(
  point: PointState,
  labels: readonly Label[],
  skip: string | undefined,
): boolean {
  const group = point.groupLabels;
  let i = 0;
  for (const label of labels) {
    if (label.name === skip) continue;
    const other = group[i++];
    if (other?.name !== label.name || other.value !== label.value) return false;
  }
  return i === group.length;
}

/** Records a sample identity in the point; false if it was there already. */
export function markSeen(point: PointState, key: string): boolean {
  // Most points hold one to a dozen samples: no Set until it pays.
  const { seen } = point;
  if (seen === undefined) {
    point.seen = key;
  } else if (typeof seen === "string") {
    if (seen === key) return false;
    point.seen = [seen, key];
  } else if (Array.isArray(seen)) {
    if (seen.includes(key)) return false;
    if (seen.length < 16) seen.push(key);
    else point.seen = new Set([...seen, key]);
  } else {
    if (seen.has(key)) return false;
    seen.add(key);
  }
  return true;
}

/** Adds a checked sample to its point (scalar samples go straight out). */
export function addToPoint(
  family: FamilyState,
  point: PointState,
  role: Role,
  sample: SampleLine,
  bound: number,
  line: number,
): void {
  switch (role) {
    case "value": {
      const metric: Mutable<ScalarMetric> = {
        labels: sample.labels,
        value: sample.value,
      };
      if (sample.timestampMs !== undefined) {
        metric.timestampMs = sample.timestampMs;
      }
      family.scalars.push(metric);
      return;
    }
    case "total":
      point.total = sample.value;
      point.exemplar = sample.exemplar;
      return;
    case "created":
      point.createdMs = secondsToMs(sample.valueText, sample.value);
      return;
    case "count":
    case "gcount":
      point.count = sample.value;
      return;
    case "sum":
    case "gsum":
      point.sum = sample.value;
      return;
    case "quantile":
      point.quantiles.push({ quantile: bound, value: sample.value });
      return;
    case "bucket": {
      const previous = point.buckets.at(-1);
      const le = labelValue(sample.labels, "le");
      if (previous !== undefined && !(bound > previous.upperBound)) {
        const [f, l, before] = [
          quote(family.name),
          quote(le ?? ""),
          previous.upperBound,
        ];
        failLine(
          line,
          `buckets of histogram ${f} must be sorted by increasing "le"; le=${l} comes after le=${before}`,
        );
      }
      if (previous !== undefined && sample.value < previous.cumulativeCount) {
        const [l, f, before] = [
          quote(le ?? ""),
          quote(family.name),
          previous.cumulativeCount,
        ];
        failLine(
          line,
          `bucket le=${l} of histogram ${f} counts ${sample.value}, less than the bucket before it (${before})`,
        );
      }
      if (bound < 0) point.negativeBucket = true;
      const bucket: Mutable<Bucket> = {
        upperBound: bound,
        cumulativeCount: sample.value,
      };
      if (sample.exemplar !== undefined) bucket.exemplar = sample.exemplar;
      point.buckets.push(bucket);
      return;
    }
    default:
      return unreachable(role);
  }
}

/** Checks a complete MetricPoint and adds it to its family's metrics. */
export function finishPoint(family: FamilyState, point: PointState): void {
  const line = point.lastLine;
  switch (family.type) {
    case undefined:
    case "gauge":
    case "unknown":
    case "stateset":
    case "info":
      return; // added sample by sample
    case "counter": {
      if (point.total === undefined) {
        failLine(
          line,
          `counter ${
            seriesText(family.name, point.labels)
          } has a "_created" sample but no "_total" sample`,
        );
      }
      const metric: Mutable<ScalarMetric> = {
        labels: point.labels,
        value: point.total,
      };
      if (point.exemplar !== undefined) metric.exemplar = point.exemplar;
      if (point.createdMs !== undefined) {
        metric.createdTimestampMs = point.createdMs;
      }
      if (point.timestampMs !== undefined) {
        metric.timestampMs = point.timestampMs;
      }
      family.scalars.push(metric);
      return;
    }
    case "summary": {
      const metric: Mutable<SummaryMetric> = {
        labels: point.labels,
        sampleCount: point.count ?? 0,
        sampleSum: point.sum ?? 0,
        quantiles: point.quantiles,
      };
      if (point.createdMs !== undefined) {
        metric.createdTimestampMs = point.createdMs;
      }
      if (point.timestampMs !== undefined) {
        metric.timestampMs = point.timestampMs;
      }
      family.summaries.push(metric);
      return;
    }
    case "histogram":
    case "gaugehistogram": {
      const { type } = family;
      const gauge = type === "gaugehistogram";
      const count = gauge ? "_gcount" : "_count";
      const sum = gauge ? "_gsum" : "_sum";
      const inf = point.buckets.at(-1);
      if (inf === undefined || inf.upperBound !== Infinity) {
        failLine(
          line,
          `${type} ${
            seriesText(family.name, point.labels)
          } has no bucket with le="+Inf"`,
        );
      }
      if (point.count !== undefined && point.count !== inf.cumulativeCount) {
        failLine(
          line,
          `${count} of ${type} ${
            seriesText(family.name, point.labels)
          } is ${point.count}, but its +Inf bucket counts ${inf.cumulativeCount}`,
        );
      }
      if (point.sum !== undefined && point.count === undefined) {
        failLine(
          line,
          `${type} ${
            seriesText(family.name, point.labels)
          } has ${sum} but no ${count}`,
        );
      }
      if (point.sum === undefined && point.count !== undefined) {
        failLine(
          line,
          `${type} ${
            seriesText(family.name, point.labels)
          } has ${count} but no ${sum}`,
        );
      }
      if (!gauge && point.negativeBucket && point.sum !== undefined) {
        failLine(
          line,
          `histogram ${
            seriesText(family.name, point.labels)
          } has a bucket with a negative "le", so it must not have _sum`,
        );
      }
      if (gauge && !point.negativeBucket && (point.sum ?? 0) < 0) {
        failLine(
          line,
          `_gsum of ${
            seriesText(family.name, point.labels)
          } is negative, but no bucket has a negative "le"`,
        );
      }
      const metric: Mutable<HistogramMetric> = {
        labels: point.labels,
        sampleCount: point.count ?? inf.cumulativeCount,
        sampleSum: point.sum ?? 0,
        buckets: point.buckets,
      };
      if (point.createdMs !== undefined) {
        metric.createdTimestampMs = point.createdMs;
      }
      if (point.timestampMs !== undefined) {
        metric.timestampMs = point.timestampMs;
      }
      family.histograms.push(metric);
      return;
    }
    default:
      return unreachable(family.type);
  }
}

/** Ends the current family and adds it to the result unless it is empty. */
export function finishFamily(ctx: Context): void {
  const family = ctx.family;
  if (family === undefined) return;
  ctx.family = undefined;
  if (family.point !== undefined) finishPoint(family, family.point);
  const { name, help, unit } = family;
  const base = unit === undefined ? { help } : { help, unit };
  const type = family.type ?? "unknown";
  let result: MetricFamily;
  switch (type) {
    case "counter":
      result = {
        ...base,
        name: `${name}_total`,
        type,
        metrics: family.scalars,
      };
      break;
    case "gauge":
    case "stateset":
      result = { ...base, name, type: "gauge", metrics: family.scalars };
      break;
    case "info":
      result = {
        ...base,
        name: `${name}_info`,
        type: "gauge",
        metrics: family.scalars,
      };
      break;
    case "unknown":
      result = { ...base, name, type: "untyped", metrics: family.scalars };
      break;
    case "summary":
      result = { ...base, name, type, metrics: family.summaries };
      break;
    case "histogram":
    case "gaugehistogram":
      result = { ...base, name, type, metrics: family.histograms };
      break;
    default:
      return unreachable(type);
  }
  if (result.metrics.length > 0) ctx.families.push(result);
}
