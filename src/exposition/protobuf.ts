/**
 * Delimited protobuf (`io.prometheus.client.MetricFamily` messages, each
 * prefixed by its varint length) ↔ metric families, for push bodies (spec
 * §2.2) and scrape responses (spec §5.4). Built on protobufjs reflection
 * with the descriptor embedded in `metrics_descriptor.ts`; nothing is read
 * from disk.
 *
 * Pure. Decoding throws the first problem as an ExpositionError with line 0:
 * truncated or malformed wire data, a family without a (valid) name, an
 * unknown type, a metric lacking the value its family's type requires, or a
 * string that is not valid UTF-8. It does not check label names, duplicate
 * series or timestamps; that is the push validation's job.
 * @module
 */

import protobuf from "protobufjs";
import { METRICS_DESCRIPTOR } from "./metrics_descriptor.ts";
import type {
  Bucket,
  BucketSpan,
  Exemplar,
  HistogramMetric,
  Label,
  MetricFamily,
  MetricType,
  NativeHistogram,
  Quantile,
  ScalarMetric,
  SummaryMetric,
} from "./model.ts";
import {
  ExpositionError,
  METRIC_NAME_RE,
  METRIC_TYPES,
  unreachable,
} from "./model.ts";

/** Options of {@link decodeDelimited}. */
export interface DecodeOptions {
  /**
   * Accept any non-empty UTF-8 metric name (`--push.enable-utf8-names`).
   * Otherwise names must match the legacy rule (spec §2.2 recommends it).
   */
  readonly utf8Names?: boolean;
}

// The decoder reads the same wire format through a looser schema: strings as
// `bytes`, so invalid UTF-8 is refused instead of silently replaced, and the
// MetricType enum as `int32`, so an unknown type is refused instead of
// silently dropped (proto2 enums are closed).
const DECODE_FIELD_TYPES: Readonly<Record<string, string>> = {
  string: "bytes",
  MetricType: "int32",
};

function loosenForDecoding(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(loosenForDecoding);
  if (typeof node !== "object" || node === null) return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    copy[key] = key === "type" && typeof value === "string"
      ? DECODE_FIELD_TYPES[value] ?? value
      : loosenForDecoding(value);
  }
  return copy;
}

const FAMILY_NAME = "io.prometheus.client.MetricFamily";
const ENCODE_FAMILY = protobuf.Root
  .fromJSON(METRICS_DESCRIPTOR as unknown as protobuf.INamespace)
  .lookupType(FAMILY_NAME);
const DECODE_FAMILY = protobuf.Root
  .fromJSON(loosenForDecoding(METRICS_DESCRIPTOR) as protobuf.INamespace)
  .lookupType(FAMILY_NAME);

// ---------------------------------------------------------------------------
// Wire shapes, as protobufjs hands them out for our descriptor. Fields that
// were absent live on the prototype with their default, so presence is
// tested with Object.hasOwn. 64-bit integers arrive as Long objects (or as
// numbers when no Long implementation is loaded).

type Int64 = number | { toNumber(): number };

interface WireLabel {
  readonly name: Uint8Array;
  readonly value: Uint8Array;
}
interface WireTimestamp {
  readonly seconds: Int64;
  readonly nanos: number;
}
interface WireExemplar {
  readonly label: readonly WireLabel[];
  readonly value: number;
  readonly timestamp?: WireTimestamp;
}
interface WireValue {
  readonly value: number;
}
interface WireCounter extends WireValue {
  readonly exemplar?: WireExemplar;
  readonly created_timestamp?: WireTimestamp;
}
interface WireSummary {
  readonly sample_count: Int64;
  readonly sample_sum: number;
  readonly quantile: readonly { quantile: number; value: number }[];
  readonly created_timestamp?: WireTimestamp;
}
interface WireBucket {
  readonly cumulative_count: Int64;
  readonly cumulative_count_float: number;
  readonly upper_bound: number;
  readonly exemplar?: WireExemplar;
}
interface WireSpan {
  readonly offset: number;
  readonly length: number;
}
interface WireHistogram {
  readonly sample_count: Int64;
  readonly sample_count_float: number;
  readonly sample_sum: number;
  readonly bucket: readonly WireBucket[];
  readonly created_timestamp?: WireTimestamp;
  readonly schema: number;
  readonly zero_threshold: number;
  readonly zero_count: Int64;
  readonly zero_count_float: number;
  readonly negative_span: readonly WireSpan[];
  readonly negative_delta: readonly Int64[];
  readonly negative_count: readonly number[];
  readonly positive_span: readonly WireSpan[];
  readonly positive_delta: readonly Int64[];
  readonly positive_count: readonly number[];
  readonly exemplars: readonly WireExemplar[];
}
interface WireMetric {
  readonly label: readonly WireLabel[];
  readonly gauge?: WireValue;
  readonly counter?: WireCounter;
  readonly summary?: WireSummary;
  readonly untyped?: WireValue;
  readonly histogram?: WireHistogram;
  readonly timestamp_ms?: Int64;
}
interface WireFamily {
  readonly name: Uint8Array;
  readonly help: Uint8Array;
  readonly type: number;
  readonly metric: readonly WireMetric[];
  readonly unit: Uint8Array;
}

// ---------------------------------------------------------------------------
// Decoding

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function toNumber(value: Int64): number {
  return typeof value === "number" ? value : value.toNumber();
}

function has(message: object, field: string): boolean {
  return Object.hasOwn(message, field);
}

/** Where a string sits, for error messages. */
type StringContext = () => string;

function readString(bytes: Uint8Array, where: StringContext): string {
  // Short ASCII strings (almost all names and values) skip TextDecoder.
  if (bytes.length <= 64) {
    let ascii = true;
    for (const byte of bytes) {
      if (byte >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode(...bytes);
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ExpositionError(0, `${where()} is not valid UTF-8`);
  }
}

function readLabels(
  labels: readonly WireLabel[],
  where: StringContext,
): Label[] {
  return labels.map((label) => {
    const name = has(label, "name")
      ? readString(label.name, () => `a label name in ${where()}`)
      : "";
    const value = has(label, "value")
      ? readString(
        label.value,
        () => `label ${JSON.stringify(name)} in ${where()}`,
      )
      : "";
    return { name, value };
  });
}

function readTimestampMs(timestamp: WireTimestamp): number {
  const seconds = has(timestamp, "seconds") ? toNumber(timestamp.seconds) : 0;
  const nanos = has(timestamp, "nanos") ? timestamp.nanos : 0;
  return seconds * 1000 + nanos / 1e6;
}

function readExemplar(wire: WireExemplar, where: StringContext): Exemplar {
  const labels = readLabels(wire.label, () => `an exemplar of ${where()}`);
  const value = wire.value;
  if (wire.timestamp !== undefined && has(wire, "timestamp")) {
    return { labels, value, timestampMs: readTimestampMs(wire.timestamp) };
  }
  return { labels, value };
}

/** Optional properties are set only when present (exactOptionalPropertyTypes). */
function withOptional<T extends object, K extends string, V>(
  base: T,
  key: K,
  value: V | undefined,
): T & { readonly [P in K]?: V } {
  if (value === undefined) return base;
  return { ...base, [key]: value } as T & { readonly [P in K]?: V };
}

function createdMs(
  owner: { readonly created_timestamp?: WireTimestamp },
): number | undefined {
  return owner.created_timestamp !== undefined &&
      has(owner, "created_timestamp")
    ? readTimestampMs(owner.created_timestamp)
    : undefined;
}

function readSpans(spans: readonly WireSpan[]): BucketSpan[] {
  return spans.map((span) => ({ offset: span.offset, length: span.length }));
}

function readNative(wire: WireHistogram): NativeHistogram | undefined {
  const present = has(wire, "schema") || has(wire, "zero_threshold") ||
    has(wire, "zero_count") || has(wire, "zero_count_float") ||
    wire.negative_span.length > 0 || wire.negative_delta.length > 0 ||
    wire.negative_count.length > 0 || wire.positive_span.length > 0 ||
    wire.positive_delta.length > 0 || wire.positive_count.length > 0;
  if (!present) return undefined;
  const native: NativeHistogram = {
    schema: wire.schema,
    zeroThreshold: wire.zero_threshold,
    zeroCount: toNumber(wire.zero_count),
    positiveSpans: readSpans(wire.positive_span),
    positiveDeltas: wire.positive_delta.map(toNumber),
    positiveCounts: wire.positive_count.slice(),
    negativeSpans: readSpans(wire.negative_span),
    negativeDeltas: wire.negative_delta.map(toNumber),
    negativeCounts: wire.negative_count.slice(),
  };
  return has(wire, "zero_count_float")
    ? { ...native, zeroCountFloat: wire.zero_count_float }
    : native;
}

function readBucket(wire: WireBucket, where: StringContext): Bucket {
  // expfmt: a non-zero cumulative_count_float overrides cumulative_count; a
  // float field sent alone is taken as it is (so our own -0 round-trips).
  const useFloat = has(wire, "cumulative_count_float") &&
    (!has(wire, "cumulative_count") || wire.cumulative_count_float !== 0);
  const bucket: Bucket = {
    upperBound: wire.upper_bound,
    cumulativeCount: useFloat
      ? wire.cumulative_count_float
      : toNumber(wire.cumulative_count),
  };
  return wire.exemplar !== undefined && has(wire, "exemplar")
    ? { ...bucket, exemplar: readExemplar(wire.exemplar, where) }
    : bucket;
}

function readHistogram(
  wire: WireHistogram,
  labels: Label[],
  where: StringContext,
): Omit<HistogramMetric, "timestampMs"> {
  let metric: Omit<HistogramMetric, "timestampMs"> = {
    labels,
    sampleCount: toNumber(wire.sample_count),
    sampleSum: wire.sample_sum,
    buckets: wire.bucket.map((bucket) => readBucket(bucket, where)),
  };
  if (has(wire, "sample_count_float")) {
    metric = { ...metric, sampleCountFloat: wire.sample_count_float };
  }
  metric = withOptional(metric, "native", readNative(wire));
  if (wire.exemplars.length > 0) {
    metric = {
      ...metric,
      exemplars: wire.exemplars.map((e) => readExemplar(e, where)),
    };
  }
  return withOptional(metric, "createdTimestampMs", createdMs(wire));
}

const WIRE_TYPE_NAME = [
  "COUNTER",
  "GAUGE",
  "SUMMARY",
  "UNTYPED",
  "HISTOGRAM",
  "GAUGE_HISTOGRAM",
] as const;

function missingValue(
  familyName: string,
  typeName: string,
  index: number,
  field: string,
): ExpositionError {
  return new ExpositionError(
    0,
    `metric family ${JSON.stringify(familyName)} has type ${typeName}, ` +
      `but its metric ${index + 1} carries no ${field} value`,
  );
}

function readFamily(wire: WireFamily, options: DecodeOptions): MetricFamily {
  if (!has(wire, "name") || wire.name.length === 0) {
    throw new ExpositionError(0, "metric family without a name");
  }
  const name = readString(wire.name, () => "a metric family name");
  if (!options.utf8Names && !METRIC_NAME_RE.test(name)) {
    throw new ExpositionError(
      0,
      `invalid metric name ${JSON.stringify(name)}`,
    );
  }
  const help = has(wire, "help")
    ? readString(wire.help, () => `the HELP of ${JSON.stringify(name)}`)
    : undefined;
  const typeNumber = has(wire, "type") ? wire.type : 0; // proto2 default
  const type: MetricType | undefined = METRIC_TYPES[typeNumber];
  const typeName = WIRE_TYPE_NAME[typeNumber];
  if (type === undefined || typeName === undefined) {
    throw new ExpositionError(
      0,
      `metric family ${JSON.stringify(name)} has unknown type ${typeNumber}`,
    );
  }
  const base = has(wire, "unit")
    ? {
      name,
      help,
      unit: readString(wire.unit, () => `the UNIT of ${JSON.stringify(name)}`),
    }
    : { name, help };
  const where = () => `metric family ${JSON.stringify(name)}`;

  const commonOf = (metric: WireMetric) => {
    const labels = readLabels(metric.label, where);
    const timestampMs = metric.timestamp_ms !== undefined &&
        has(metric, "timestamp_ms")
      ? toNumber(metric.timestamp_ms)
      : undefined;
    return { labels, timestampMs };
  };

  switch (type) {
    case "counter":
    case "gauge":
    case "untyped": {
      const metrics = wire.metric.map((metric, index): ScalarMetric => {
        const { labels, timestampMs } = commonOf(metric);
        const value = metric[type];
        if (value === undefined || !has(metric, type)) {
          throw missingValue(name, typeName, index, type);
        }
        let scalar: ScalarMetric = withOptional(
          { labels, value: value.value },
          "timestampMs",
          timestampMs,
        );
        if (type === "counter" && metric.counter !== undefined) {
          const counter = metric.counter;
          if (counter.exemplar !== undefined && has(counter, "exemplar")) {
            scalar = {
              ...scalar,
              exemplar: readExemplar(counter.exemplar, where),
            };
          }
          scalar = withOptional(
            scalar,
            "createdTimestampMs",
            createdMs(counter),
          );
        }
        return scalar;
      });
      return { ...base, type, metrics };
    }
    case "summary": {
      const metrics = wire.metric.map((metric, index): SummaryMetric => {
        const { labels, timestampMs } = commonOf(metric);
        const summary = metric.summary;
        if (summary === undefined || !has(metric, "summary")) {
          throw missingValue(name, typeName, index, "summary");
        }
        const quantiles = summary.quantile.map((q): Quantile => ({
          quantile: q.quantile,
          value: q.value,
        }));
        const result: SummaryMetric = withOptional(
          {
            labels,
            sampleCount: toNumber(summary.sample_count),
            sampleSum: summary.sample_sum,
            quantiles,
          },
          "createdTimestampMs",
          createdMs(summary),
        );
        return withOptional(result, "timestampMs", timestampMs);
      });
      return { ...base, type, metrics };
    }
    case "histogram":
    case "gaugehistogram": {
      const metrics = wire.metric.map((metric, index): HistogramMetric => {
        const { labels, timestampMs } = commonOf(metric);
        const histogram = metric.histogram;
        if (histogram === undefined || !has(metric, "histogram")) {
          throw missingValue(name, typeName, index, "histogram");
        }
        return withOptional(
          readHistogram(histogram, labels, where),
          "timestampMs",
          timestampMs,
        );
      });
      return { ...base, type, metrics };
    }
    default:
      return unreachable(type);
  }
}

/** Turns a protobufjs failure into the error a pusher sees (spec §2.2). */
function wireError(error: unknown, index: number): ExpositionError {
  const detail = error instanceof Error ? error.message : String(error);
  // protobufjs reports reading past the end as a RangeError "index out of
  // range"; Go's protodelim says "unexpected EOF", which clients know.
  if (error instanceof RangeError || /index out of range/.test(detail)) {
    return new ExpositionError(
      0,
      `unexpected EOF (message ${index + 1} of the body is truncated)`,
    );
  }
  return new ExpositionError(
    0,
    `proto: cannot parse invalid wire-format data (message ${
      index + 1
    }: ${detail})`,
  );
}

/**
 * Decodes a delimited protobuf body into families. When several messages
 * carry the same family name, the last one wins (spec §2.2). An empty body
 * yields no families. Throws ExpositionError (line 0), see the module doc.
 */
export function decodeDelimited(
  body: Uint8Array,
  options: DecodeOptions = {},
): MetricFamily[] {
  const reader = protobuf.Reader.create(body);
  const byName = new Map<string, MetricFamily>();
  for (let index = 0; reader.pos < reader.len; index++) {
    let wire: WireFamily;
    try {
      // protobufjs builds messages exactly as the descriptor says; the
      // WireFamily interface spells that shape out.
      wire = DECODE_FAMILY.decodeDelimited(reader) as unknown as WireFamily;
    } catch (error) {
      throw wireError(error, index);
    }
    const family = readFamily(wire, options);
    byName.set(family.name, family);
  }
  return [...byName.values()];
}

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
  wire.metric = metrics;
  return wire;
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
