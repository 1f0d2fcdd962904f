/**
 * Metric families → delimited protobuf (`io.prometheus.client.MetricFamily`
 * messages, each prefixed by its varint length), for scrape responses
 * (docs/compatibility.md, Protobuf). Uses protobufjs reflection over the
 * descriptor embedded in `metrics_descriptor.ts`; nothing is read from disk.
 * Loadable without the decoder. Pure.
 * @module
 */

import protobuf from "protobufjs";
import { METRICS_DESCRIPTOR } from "./metrics_descriptor.ts";
import type {
  BucketSpan,
  Exemplar,
  HistogramMetric,
  Label,
  MetricFamily,
} from "./model.ts";
import { METRIC_TYPES, unreachable } from "./model.ts";

const FAMILY_NAME = "io.prometheus.client.MetricFamily";
const ENCODE_ROOT = protobuf.Root
  .fromJSON(METRICS_DESCRIPTOR as unknown as protobuf.INamespace);
const ENCODE_FAMILY = ENCODE_ROOT.lookupType(FAMILY_NAME);
const ENCODE_METRIC = ENCODE_ROOT.lookupType("io.prometheus.client.Metric");

// ---------------------------------------------------------------------------
// Encoding

/** Largest float64 below 2^64: uint64 fields saturate there, like Go. */
const MAX_UINT64_FLOAT = 18446744073709549568;

function isUint64(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= MAX_UINT64_FLOAT &&
    !Object.is(value, -0);
}

/** Go's saturating float64 → uint64 for counts that are not exact integers. */
function toUint64(value: number): number {
  if (!(value > 0)) return 0;
  return value >= MAX_UINT64_FLOAT ? MAX_UINT64_FLOAT : Math.trunc(value);
}

function encodeTimestamp(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

function encodeLabels(labels: readonly Label[]): object[] {
  return labels.map((label) => ({ name: label.name, value: label.value }));
}

function encodeExemplar(exemplar: Exemplar): object {
  const wire: Record<string, unknown> = {
    label: encodeLabels(exemplar.labels),
    value: exemplar.value,
  };
  if (exemplar.timestampMs !== undefined) {
    wire.timestamp = encodeTimestamp(exemplar.timestampMs);
  }
  return wire;
}

function encodeSpans(spans: readonly BucketSpan[]): object[] {
  return spans.map((span) => ({ offset: span.offset, length: span.length }));
}

function encodeHistogram(metric: HistogramMetric): object {
  const floatHistogram = metric.sampleCountFloat !== undefined;
  const wire: Record<string, unknown> = {
    sample_sum: metric.sampleSum,
    bucket: metric.buckets.map((bucket) => {
      const count = bucket.cumulativeCount;
      const wireBucket: Record<string, unknown> = {
        upper_bound: bucket.upperBound,
      };
      if (!floatHistogram && isUint64(count)) {
        wireBucket.cumulative_count = count;
      } else {
        wireBucket.cumulative_count_float = count;
      }
      if (bucket.exemplar !== undefined) {
        wireBucket.exemplar = encodeExemplar(bucket.exemplar);
      }
      return wireBucket;
    }),
  };
  if (!floatHistogram || metric.sampleCount !== 0) {
    wire.sample_count = toUint64(metric.sampleCount);
  }
  if (metric.sampleCountFloat !== undefined) {
    wire.sample_count_float = metric.sampleCountFloat;
  }
  const native = metric.native;
  if (native !== undefined) {
    wire.schema = native.schema;
    wire.zero_threshold = native.zeroThreshold;
    wire.zero_count = toUint64(native.zeroCount);
    if (native.zeroCountFloat !== undefined) {
      wire.zero_count_float = native.zeroCountFloat;
    }
    wire.negative_span = encodeSpans(native.negativeSpans);
    wire.negative_delta = native.negativeDeltas;
    wire.negative_count = native.negativeCounts;
    wire.positive_span = encodeSpans(native.positiveSpans);
    wire.positive_delta = native.positiveDeltas;
    wire.positive_count = native.positiveCounts;
  }
  if (metric.exemplars !== undefined) {
    wire.exemplars = metric.exemplars.map(encodeExemplar);
  }
  if (metric.createdTimestampMs !== undefined) {
    wire.created_timestamp = encodeTimestamp(metric.createdTimestampMs);
  }
  return wire;
}

function encodeFamily(family: MetricFamily): object {
  const wire: Record<string, unknown> = {
    name: family.name,
    type: METRIC_TYPES.indexOf(family.type),
  };
  if (family.help !== undefined) wire.help = family.help;
  if (family.unit !== undefined) wire.unit = family.unit;
  wire.metric = encodeMetrics(family);
  return wire;
}

/** The `metric` field of `family`, as protobufjs objects. */
function encodeMetrics(family: MetricFamily): object[] {
  const metrics: object[] = [];
  const put = (
    metric: { labels: readonly Label[]; timestampMs?: number },
    field: string,
    value: object,
  ) => {
    const wireMetric: Record<string, unknown> = {
      label: encodeLabels(metric.labels),
      [field]: value,
    };
    if (metric.timestampMs !== undefined) {
      wireMetric.timestamp_ms = metric.timestampMs;
    }
    metrics.push(wireMetric);
  };
  switch (family.type) {
    case "counter":
      for (const metric of family.metrics) {
        const counter: Record<string, unknown> = { value: metric.value };
        if (metric.exemplar !== undefined) {
          counter.exemplar = encodeExemplar(metric.exemplar);
        }
        if (metric.createdTimestampMs !== undefined) {
          counter.created_timestamp = encodeTimestamp(
            metric.createdTimestampMs,
          );
        }
        put(metric, "counter", counter);
      }
      break;
    case "gauge":
    case "untyped":
      for (const metric of family.metrics) {
        put(metric, family.type, { value: metric.value });
      }
      break;
    case "summary":
      for (const metric of family.metrics) {
        const summary: Record<string, unknown> = {
          sample_count: toUint64(metric.sampleCount),
          sample_sum: metric.sampleSum,
          quantile: metric.quantiles.map((q) => ({
            quantile: q.quantile,
            value: q.value,
          })),
        };
        if (metric.createdTimestampMs !== undefined) {
          summary.created_timestamp = encodeTimestamp(
            metric.createdTimestampMs,
          );
        }
        put(metric, "summary", summary);
      }
      break;
    case "histogram":
    case "gaugehistogram":
      for (const metric of family.metrics) {
        put(metric, "histogram", encodeHistogram(metric));
      }
      break;
    default:
      return unreachable(family);
  }
  return metrics;
}

/**
 * Encodes families as a delimited protobuf body, in the order given (the
 * scrape passes them sorted, as the Pushgateway does). Summary counts that
 * are not integers are truncated to uint64 as Go would; histogram counts
 * that are not integers travel in the `_float` fields.
 */
export function encodeDelimited(
  families: readonly MetricFamily[],
): Uint8Array<ArrayBuffer> {
  const writer = protobuf.Writer.create();
  for (const family of families) {
    ENCODE_FAMILY.encodeDelimited(encodeFamily(family), writer);
  }
  const bytes = writer.finish();
  // protobufjs may hand out a Node Buffer carved from a shared pool; callers
  // get a plain Uint8Array of their own.
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

/** Field 4 (`metric`), length-delimited: the tag byte protobufjs writes. */
const METRIC_FIELD_TAG = 0x22;

/**
 * A family's fields other than its metrics, for a scrape that encodes a big
 * family a piece at a time: `head` goes before the metrics and `tail` after
 * them (protobufjs writes fields in field-number order, and `unit`, 5,
 * follows `metric`, 4). The family's message is `head`, the metric fields
 * ({@link encodeMetricFields}), `tail`; delimited, behind the varint of
 * their total length ({@link encodeVarint}). The bytes equal
 * {@link encodeDelimited}'s. `family.metrics` is not read.
 */
export function encodeFamilyEnds(
  family: MetricFamily,
): { readonly head: Uint8Array; readonly tail: Uint8Array } {
  const head: Record<string, unknown> = {
    name: family.name,
    type: METRIC_TYPES.indexOf(family.type),
  };
  if (family.help !== undefined) head.help = family.help;
  return {
    head: ENCODE_FAMILY.encode(head).finish(),
    tail: family.unit === undefined
      ? new Uint8Array(0)
      : ENCODE_FAMILY.encode({ unit: family.unit }).finish(),
  };
}

/**
 * The metric fields of `family` (tag, length, message each) in one buffer;
 * appends to `ends` where each metric's field ends in it, so that a caller
 * can send them in another order.
 */
export function encodeMetricFields(
  family: MetricFamily,
  ends: number[],
): Uint8Array {
  const writer = protobuf.Writer.create();
  for (const metric of encodeMetrics(family)) {
    // What protobufjs' encoder of a repeated message field writes.
    ENCODE_METRIC.encode(metric, writer.uint32(METRIC_FIELD_TAG).fork())
      .ldelim();
    ends.push(writer.len);
  }
  return writer.finish();
}

/** `value` as a protobuf varint (a delimited message's length prefix). */
export function encodeVarint(value: number): Uint8Array {
  return protobuf.Writer.create().uint32(value).finish();
}
