/**
 * Delimited protobuf (`io.prometheus.client.MetricFamily` messages, each
 * prefixed by its varint length) ↔ metric families, for push bodies (spec
 * §2.2) and scrape responses (spec §5.4). Encoding uses protobufjs
 * reflection over the descriptor embedded in `metrics_descriptor.ts`;
 * decoding walks the wire with protobufjs' Reader straight into our model,
 * about three times faster than reflection plus conversion (see the comment
 * above the decoder). Nothing is read from disk.
 *
 * Pure. Decoding throws the first problem as an ExpositionError with line 0:
 * truncated or malformed wire data, a family without a (valid) name, an
 * unknown type, a metric lacking the value its family's type requires, or a
 * string that is not valid UTF-8. It does not check label names, duplicate
 * series or timestamps; that is the push validation's job. Given limits, a
 * name or label value over them is refused by its length prefix, before it
 * is decoded (token_limits.ts).
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
  PROTO_TYPE_NAMES,
  unreachable,
} from "./model.ts";
import { errorMessage } from "../error_message.ts";
import {
  NO_TOKEN_LIMITS,
  QUOTED_PREFIX_BYTES,
  type TokenLimits,
  TokenTooLongError,
  type TokenTooLongReason,
} from "./token_limits.ts";

/** Options of {@link decodeDelimited}. */
export interface DecodeOptions {
  /**
   * Accept any non-empty UTF-8 metric name (`--push.enable-utf8-names`).
   * Otherwise names must match the legacy rule (spec §2.2 recommends it).
   */
  readonly utf8Names?: boolean;
  /** Names and label values longer are refused before they are decoded. */
  readonly limits?: TokenLimits;
}

const FAMILY_NAME = "io.prometheus.client.MetricFamily";
const ENCODE_ROOT = protobuf.Root
  .fromJSON(METRICS_DESCRIPTOR as unknown as protobuf.INamespace);
const ENCODE_FAMILY = ENCODE_ROOT.lookupType(FAMILY_NAME);
const ENCODE_METRIC = ENCODE_ROOT.lookupType("io.prometheus.client.Metric");

// ---------------------------------------------------------------------------
// Decoding. This runs on every protobuf push (client_golang's push client
// sends protobuf), so it walks the wire with protobufjs' Reader and builds
// our model directly: no intermediate message objects, no closures per
// series, error messages built only when thrown. Field numbers and wire
// types are those of CLIENT_PACKAGE in metrics_descriptor.ts; the round-trip
// tests against the descriptor-driven encoder keep the two in step.
//
// As in Go's protobuf runtime: unknown fields, and known fields sent with an
// unexpected wire type, are skipped; repeated scalars are read packed or not;
// a repeated optional scalar keeps its last value.

type Reader = protobuf.Reader;

/** Tag of field `field` with wire type `wireType`. */
function tag(field: number, wireType: 0 | 1 | 2): number {
  return (field << 3) | wireType;
}
const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * protobufjs returns 64-bit integers as `Long` (or as numbers when no Long
 * implementation is loaded). Conversion rounds once, like Go's float64(x).
 */
function toNumber(value: number | protobuf.Long): number {
  if (typeof value === "number") return value;
  const high = value.unsigned ? value.high >>> 0 : value.high;
  return high * 4294967296 + (value.low >>> 0);
}

function outOfRange(): RangeError {
  return new RangeError("index out of range");
}

function skipField(r: Reader, fieldTag: number): void {
  if (fieldTag >>> 3 === 0) throw new Error("illegal tag: field number 0");
  r.skipType(fieldTag & 7);
}

/**
 * Enters the length-delimited message at the reader's position: reads stop
 * at its end (a read past it throws). Returns the outer end for {@link leave}.
 */
function enter(r: Reader): number {
  const length = r.uint32();
  const end = r.pos + length;
  if (end > r.len) throw outOfRange();
  const outer = r.len;
  r.len = end;
  return outer;
}

function leave(r: Reader, outer: number): void {
  r.len = outer;
}

/** UTF-8 bytes → string; undefined when they are not valid UTF-8. */
function decodeUtf8(
  buf: Uint8Array,
  start: number,
  end: number,
): string | undefined {
  const bytes = buf.subarray(start, end);
  // ASCII (nearly every name and value) skips TextDecoder, which costs
  // several times more per call than fromCharCode (measured with
  // scripts/bench/render_bench.ts). apply, not spread: spreading a typed
  // array goes through its iterator.
  if (bytes.length <= 4096) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Like {@link readString}, but returns `likely` itself when the bytes spell
 * it in ASCII. Label names repeat from series to series; reusing the string
 * saves decoding and garbage.
 */
function readStringLike(
  r: Reader,
  likely: string | undefined,
): string | undefined {
  if (likely === undefined) return readString(r);
  const length = r.uint32();
  const start = r.pos;
  const end = start + length;
  if (end > r.len) throw outOfRange();
  r.pos = end;
  const buf = r.buf;
  if (likely.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      const byte = buf[start + i] as number;
      // Only ASCII: a char code equal to a byte ≥ 0x80 is not that byte.
      if (byte >= 0x80 || likely.charCodeAt(i) !== byte) {
        same = false;
        break;
      }
    }
    if (same) return likely;
  }
  return decodeUtf8(buf, start, end);
}

/** A length-delimited string field; undefined when not valid UTF-8. */
function readString(r: Reader): string | undefined {
  const length = r.uint32();
  const start = r.pos;
  const end = start + length;
  if (end > r.len) throw outOfRange();
  r.pos = end;
  return decodeUtf8(r.buf, start, end);
}

function notUtf8(what: string): ExpositionError {
  return new ExpositionError(0, `${what} is not valid UTF-8`);
}

function quoted(text: string): string {
  return JSON.stringify(text);
}

/**
 * Refuses the length-delimited string at the reader's position if it is
 * longer than `max` bytes, before anything is decoded (token_limits.ts).
 * `label` unset: the string is a metric name.
 */
function checkLength(
  r: Reader,
  max: number,
  reason: TokenTooLongReason,
  metric: string,
  label: string | undefined,
): void {
  const at = r.pos;
  const bytes = r.uint32();
  const start = r.pos;
  r.pos = at;
  if (bytes <= max) return;
  const prefix = new TextDecoder().decode(
    r.buf.subarray(
      start,
      Math.min(start + bytes, r.len, start + 4 * QUOTED_PREFIX_BYTES),
    ),
  );
  throw new TokenTooLongError({
    reason,
    metric: label === undefined && reason === "label_value_too_long"
      ? prefix
      : metric,
    label: reason === "label_name_too_long" ? prefix : label,
    bytes,
    limit: max,
  });
}

/**
 * A LabelPair message; `where` names the owner for error messages. With
 * `limits`, a name or value over them is refused (metric labels; exemplar
 * labels have their own rules).
 */
function readLabel(
  r: Reader,
  where: string,
  likelyName: string | undefined,
  limits?: { readonly of: TokenLimits; readonly metric: string },
): Label {
  const outer = enter(r);
  let name = "";
  let value = "";
  let badValue = false;
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    switch (fieldTag) {
      case tag(1, BYTES): {
        if (limits !== undefined) {
          checkLength(
            r,
            limits.of.maxLabelNameBytes,
            "label_name_too_long",
            limits.metric,
            undefined,
          );
        }
        const text = readStringLike(r, likelyName);
        if (text === undefined) throw notUtf8(`a label name in ${where}`);
        name = text;
        break;
      }
      case tag(2, BYTES): {
        if (limits !== undefined) {
          checkLength(
            r,
            limits.of.maxLabelValueBytes,
            "label_value_too_long",
            limits.metric,
            name,
          );
        }
        const text = readString(r);
        badValue = text === undefined;
        value = text ?? "";
        break;
      }
      default:
        skipField(r, fieldTag);
    }
  }
  leave(r, outer);
  if (badValue) throw notUtf8(`label ${quoted(name)} in ${where}`);
  return { name, value };
}

/** A google.protobuf.Timestamp message, in milliseconds. */
function readTimestamp(r: Reader): number {
  const outer = enter(r);
  let seconds = 0;
  let nanos = 0;
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    switch (fieldTag) {
      case tag(1, VARINT):
        seconds = toNumber(r.int64());
        break;
      case tag(2, VARINT):
        nanos = r.int32();
        break;
      default:
        skipField(r, fieldTag);
    }
  }
  leave(r, outer);
  return seconds * 1000 + nanos / 1e6;
}

function readExemplar(r: Reader, where: string): Exemplar {
  const outer = enter(r);
  const labels: Label[] = [];
  let value = 0;
  let timestampMs: number | undefined;
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    switch (fieldTag) {
      case tag(1, BYTES):
        labels.push(readLabel(r, `an exemplar of ${where}`, undefined));
        break;
      case tag(2, FIXED64):
        value = r.double();
        break;
      case tag(3, BYTES):
        timestampMs = readTimestamp(r);
        break;
      default:
        skipField(r, fieldTag);
    }
  }
  leave(r, outer);
  return timestampMs === undefined
    ? { labels, value }
    : { labels, value, timestampMs };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Counter, Gauge or Untyped message (`counter` says which fields apply). */
function readScalarValue(
  r: Reader,
  metric: Mutable<ScalarMetric>,
  counter: boolean,
  where: string,
): void {
  const outer = enter(r);
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    if (fieldTag === tag(1, FIXED64)) {
      metric.value = r.double();
    } else if (counter && fieldTag === tag(2, BYTES)) {
      metric.exemplar = readExemplar(r, where);
    } else if (counter && fieldTag === tag(3, BYTES)) {
      metric.createdTimestampMs = readTimestamp(r);
    } else {
      skipField(r, fieldTag);
    }
  }
  leave(r, outer);
}

function readQuantile(r: Reader): Quantile {
  const outer = enter(r);
  let quantile = 0;
  let value = 0;
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    switch (fieldTag) {
      case tag(1, FIXED64):
        quantile = r.double();
        break;
      case tag(2, FIXED64):
        value = r.double();
        break;
      default:
        skipField(r, fieldTag);
    }
  }
  leave(r, outer);
  return { quantile, value };
}

function readSummaryValue(r: Reader, metric: Mutable<SummaryMetric>): void {
  const outer = enter(r);
  const quantiles: Quantile[] = [];
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    switch (fieldTag) {
      case tag(1, VARINT):
        metric.sampleCount = toNumber(r.uint64());
        break;
      case tag(2, FIXED64):
        metric.sampleSum = r.double();
        break;
      case tag(3, BYTES):
        quantiles.push(readQuantile(r));
        break;
      case tag(4, BYTES):
        metric.createdTimestampMs = readTimestamp(r);
        break;
      default:
        skipField(r, fieldTag);
    }
  }
  leave(r, outer);
  metric.quantiles = quantiles;
}

function readSpan(r: Reader): BucketSpan {
  const outer = enter(r);
  let offset = 0;
  let length = 0;
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    switch (fieldTag) {
      case tag(1, VARINT):
        offset = r.sint32();
        break;
      case tag(2, VARINT):
        length = r.uint32();
        break;
      default:
        skipField(r, fieldTag);
    }
  }
  leave(r, outer);
  return { offset, length };
}

function readBucket(r: Reader, where: string): Bucket {
  const outer = enter(r);
  let count: number | undefined;
  let countFloat: number | undefined;
  let upperBound = 0;
  let exemplar: Exemplar | undefined;
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    switch (fieldTag) {
      case tag(1, VARINT):
        count = toNumber(r.uint64());
        break;
      case tag(4, FIXED64):
        countFloat = r.double();
        break;
      case tag(2, FIXED64):
        upperBound = r.double();
        break;
      case tag(3, BYTES):
        exemplar = readExemplar(r, where);
        break;
      default:
        skipField(r, fieldTag);
    }
  }
  leave(r, outer);
  // expfmt: a non-zero cumulative_count_float overrides cumulative_count; a
  // float count sent alone is taken as it is (so our own -0 round-trips).
  const cumulativeCount = countFloat !== undefined &&
      (count === undefined || countFloat !== 0)
    ? countFloat
    : count ?? 0;
  return exemplar === undefined
    ? { upperBound, cumulativeCount }
    : { upperBound, cumulativeCount, exemplar };
}

/** Reads packed or unpacked repeated sint64 into `into`. */
function readSint64s(r: Reader, packed: boolean, into: number[]): void {
  if (!packed) {
    into.push(toNumber(r.sint64()));
    return;
  }
  const outer = enter(r);
  while (r.pos < r.len) into.push(toNumber(r.sint64()));
  leave(r, outer);
}

/** Reads packed or unpacked repeated doubles into `into`. */
function readDoubles(r: Reader, packed: boolean, into: number[]): void {
  if (!packed) {
    into.push(r.double());
    return;
  }
  const outer = enter(r);
  while (r.pos < r.len) into.push(r.double());
  leave(r, outer);
}

function readHistogramValue(
  r: Reader,
  metric: Mutable<HistogramMetric>,
  where: string,
): void {
  const outer = enter(r);
  const buckets: Bucket[] = [];
  const exemplars: Exemplar[] = [];
  let nativePresent = false;
  const native: Mutable<NativeHistogram> = {
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    positiveSpans: [],
    positiveDeltas: [],
    positiveCounts: [],
    negativeSpans: [],
    negativeDeltas: [],
    negativeCounts: [],
  };
  const positiveSpans: BucketSpan[] = [];
  const positiveDeltas: number[] = [];
  const positiveCounts: number[] = [];
  const negativeSpans: BucketSpan[] = [];
  const negativeDeltas: number[] = [];
  const negativeCounts: number[] = [];
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    switch (fieldTag) {
      case tag(1, VARINT):
        metric.sampleCount = toNumber(r.uint64());
        break;
      case tag(4, FIXED64):
        metric.sampleCountFloat = r.double();
        break;
      case tag(2, FIXED64):
        metric.sampleSum = r.double();
        break;
      case tag(3, BYTES):
        buckets.push(readBucket(r, where));
        break;
      case tag(15, BYTES):
        metric.createdTimestampMs = readTimestamp(r);
        break;
      case tag(5, VARINT):
        native.schema = r.sint32();
        nativePresent = true;
        break;
      case tag(6, FIXED64):
        native.zeroThreshold = r.double();
        nativePresent = true;
        break;
      case tag(7, VARINT):
        native.zeroCount = toNumber(r.uint64());
        nativePresent = true;
        break;
      case tag(8, FIXED64):
        native.zeroCountFloat = r.double();
        nativePresent = true;
        break;
      case tag(9, BYTES):
        negativeSpans.push(readSpan(r));
        nativePresent = true;
        break;
      case tag(10, VARINT):
      case tag(10, BYTES):
        readSint64s(r, fieldTag === tag(10, BYTES), negativeDeltas);
        nativePresent = true;
        break;
      case tag(11, FIXED64):
      case tag(11, BYTES):
        readDoubles(r, fieldTag === tag(11, BYTES), negativeCounts);
        nativePresent = true;
        break;
      case tag(12, BYTES):
        positiveSpans.push(readSpan(r));
        nativePresent = true;
        break;
      case tag(13, VARINT):
      case tag(13, BYTES):
        readSint64s(r, fieldTag === tag(13, BYTES), positiveDeltas);
        nativePresent = true;
        break;
      case tag(14, FIXED64):
      case tag(14, BYTES):
        readDoubles(r, fieldTag === tag(14, BYTES), positiveCounts);
        nativePresent = true;
        break;
      case tag(16, BYTES):
        exemplars.push(readExemplar(r, where));
        break;
      default:
        skipField(r, fieldTag);
    }
  }
  leave(r, outer);
  metric.buckets = buckets;
  if (exemplars.length > 0) metric.exemplars = exemplars;
  if (nativePresent) {
    native.positiveSpans = positiveSpans;
    native.positiveDeltas = positiveDeltas;
    native.positiveCounts = positiveCounts;
    native.negativeSpans = negativeSpans;
    native.negativeDeltas = negativeDeltas;
    native.negativeCounts = negativeCounts;
    metric.native = native;
  }
}

/** Metric.value field numbers, by family type (metrics.proto). */
const VALUE_FIELD = {
  counter: 3,
  gauge: 2,
  untyped: 5,
  summary: 4,
  histogram: 7,
  gaugehistogram: 7,
} as const satisfies Record<MetricType, number>;

const VALUE_NAME = {
  counter: "counter",
  gauge: "gauge",
  untyped: "untyped",
  summary: "summary",
  histogram: "histogram",
  gaugehistogram: "histogram",
} as const satisfies Record<MetricType, string>;

/** What every metric of one family shares, built once per family. */
interface FamilyContext {
  readonly type: MetricType;
  readonly familyName: string;
  /** `metric family "name"`, for error messages. */
  readonly where: string;
  /** For the labels of its metrics. */
  readonly limits: { readonly of: TokenLimits; readonly metric: string };
}

/**
 * One Metric message of a family of type `type`, whose bytes span the
 * reader's current position to its `len`. The value field of another type is
 * skipped; a missing one is an error naming the family (spec §2.2).
 * `previous` (the labels of the metric before) predicts the label names.
 */
function readMetric(
  r: Reader,
  family: FamilyContext,
  index: number,
  previous: readonly Label[] | undefined,
): MetricFamily["metrics"][number] {
  const { type, familyName, where } = family;
  const labels: Label[] = [];
  const valueTag = tag(VALUE_FIELD[type], BYTES);
  let timestampMs: number | undefined;
  let seen = false;
  // One record serves every kind; only the fields of `type` get set.
  const metric: Mutable<ScalarMetric & SummaryMetric & HistogramMetric> = {
    labels,
    value: 0,
    sampleCount: 0,
    sampleSum: 0,
    quantiles: [],
    buckets: [],
  };
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    if (fieldTag === tag(1, BYTES)) {
      labels.push(
        readLabel(r, where, previous?.[labels.length]?.name, family.limits),
      );
    } else if (fieldTag === valueTag) {
      seen = true;
      switch (type) {
        case "counter":
        case "gauge":
        case "untyped":
          readScalarValue(r, metric, type === "counter", where);
          break;
        case "summary":
          readSummaryValue(r, metric);
          break;
        case "histogram":
        case "gaugehistogram":
          readHistogramValue(r, metric, where);
          break;
        default:
          unreachable(type);
      }
    } else if (fieldTag === tag(6, VARINT)) {
      timestampMs = toNumber(r.int64());
    } else {
      skipField(r, fieldTag);
    }
  }
  if (!seen) {
    throw new ExpositionError(
      0,
      `metric family ${quoted(familyName)} has type ${
        PROTO_TYPE_NAMES[type]
      }, ` +
        `but its metric ${index + 1} carries no ${VALUE_NAME[type]} value`,
    );
  }
  return shapeMetric(type, metric, timestampMs);
}

/** Copies the fields of `type` into a fresh object of the model's shape. */
function shapeMetric(
  type: MetricType,
  m: ScalarMetric & SummaryMetric & HistogramMetric,
  timestampMs: number | undefined,
): MetricFamily["metrics"][number] {
  switch (type) {
    case "counter":
    case "gauge":
    case "untyped": {
      const out: Mutable<ScalarMetric> = { labels: m.labels, value: m.value };
      if (timestampMs !== undefined) out.timestampMs = timestampMs;
      if (m.exemplar !== undefined) out.exemplar = m.exemplar;
      if (m.createdTimestampMs !== undefined) {
        out.createdTimestampMs = m.createdTimestampMs;
      }
      return out;
    }
    case "summary": {
      const out: Mutable<SummaryMetric> = {
        labels: m.labels,
        sampleCount: m.sampleCount,
        sampleSum: m.sampleSum,
        quantiles: m.quantiles,
      };
      if (timestampMs !== undefined) out.timestampMs = timestampMs;
      if (m.createdTimestampMs !== undefined) {
        out.createdTimestampMs = m.createdTimestampMs;
      }
      return out;
    }
    case "histogram":
    case "gaugehistogram": {
      const out: Mutable<HistogramMetric> = {
        labels: m.labels,
        sampleCount: m.sampleCount,
        sampleSum: m.sampleSum,
        buckets: m.buckets,
      };
      if (m.sampleCountFloat !== undefined) {
        out.sampleCountFloat = m.sampleCountFloat;
      }
      if (m.native !== undefined) out.native = m.native;
      if (m.exemplars !== undefined) out.exemplars = m.exemplars;
      if (m.createdTimestampMs !== undefined) {
        out.createdTimestampMs = m.createdTimestampMs;
      }
      if (timestampMs !== undefined) out.timestampMs = timestampMs;
      return out;
    }
    default:
      return unreachable(type);
  }
}

/**
 * One MetricFamily message (its bytes span the reader's position to its
 * `len`). Metrics are read after the whole message, because the type they
 * depend on may come after them on the wire.
 */
function readFamily(r: Reader, options: DecodeOptions): MetricFamily {
  const limits = options.limits ?? NO_TOKEN_LIMITS;
  let name: string | undefined;
  let help: string | undefined;
  let unit: string | undefined;
  let typeNumber = 0; // proto2 default: COUNTER
  const metricSpans: number[] = []; // start, end, start, end, …
  let badName = false;
  let badHelp = false;
  let badUnit = false;
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    switch (fieldTag) {
      case tag(1, BYTES):
        checkLength(
          r,
          limits.maxLabelValueBytes,
          "label_value_too_long",
          "",
          undefined,
        );
        name = readString(r);
        badName = name === undefined;
        break;
      case tag(2, BYTES):
        help = readString(r);
        badHelp = help === undefined;
        break;
      case tag(3, VARINT):
        typeNumber = r.int32();
        break;
      case tag(4, BYTES): {
        const length = r.uint32();
        const end = r.pos + length;
        if (end > r.len) throw outOfRange();
        metricSpans.push(r.pos, end);
        r.pos = end;
        break;
      }
      case tag(5, BYTES):
        unit = readString(r);
        badUnit = unit === undefined;
        break;
      default:
        skipField(r, fieldTag);
    }
  }
  if (badName) throw notUtf8("a metric family name");
  if (name === undefined || name === "") {
    throw new ExpositionError(0, "metric family without a name");
  }
  if (!options.utf8Names && !METRIC_NAME_RE.test(name)) {
    throw new ExpositionError(0, `invalid metric name ${quoted(name)}`);
  }
  if (badHelp) throw notUtf8(`the HELP of ${quoted(name)}`);
  if (badUnit) throw notUtf8(`the UNIT of ${quoted(name)}`);
  const type: MetricType | undefined = METRIC_TYPES[typeNumber];
  if (type === undefined) {
    throw new ExpositionError(
      0,
      `metric family ${quoted(name)} has unknown type ${typeNumber}`,
    );
  }

  const context: FamilyContext = {
    type,
    familyName: name,
    where: `metric family ${quoted(name)}`,
    limits: { of: limits, metric: name },
  };
  const familyEnd = r.pos;
  const familyLen = r.len;
  const metrics: MetricFamily["metrics"][number][] = new Array(
    metricSpans.length / 2,
  );
  let previous: readonly Label[] | undefined;
  for (let i = 0; i < metrics.length; i++) {
    r.pos = metricSpans[2 * i] as number;
    r.len = metricSpans[2 * i + 1] as number;
    const metric = readMetric(r, context, i, previous);
    metrics[i] = metric;
    previous = metric.labels;
  }
  r.pos = familyEnd;
  r.len = familyLen;
  // readMetric built each metric in the shape of `type`.
  const family = { name, help, type, metrics } as MetricFamily;
  return unit === undefined ? family : { ...family, unit };
}

/** Turns a protobufjs failure into the error a pusher sees (spec §2.2). */
function wireError(error: unknown, index: number): ExpositionError {
  const detail = errorMessage(error);
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
  const r = new protobuf.Reader(body);
  const byName = new Map<string, MetricFamily>();
  for (let index = 0; r.pos < r.len; index++) {
    let family: MetricFamily;
    try {
      const outer = enter(r); // the varint length prefix
      family = readFamily(r, options);
      leave(r, outer);
    } catch (error) {
      if (error instanceof ExpositionError) throw error;
      if (error instanceof TokenTooLongError) throw error;
      throw wireError(error, index);
    }
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
