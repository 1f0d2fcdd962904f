/**
 * Delimited protobuf (`io.prometheus.client.MetricFamily` messages, each
 * prefixed by its varint length) → metric families, for push bodies
 * (docs/compatibility.md, Protobuf). Walks the wire with protobufjs' Reader
 * straight into our model, about three times faster than reflection plus
 * conversion (see the comment above the decoder). Nothing is read from disk.
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
  type TokenLimits,
  TokenTooLongError,
} from "./token_limits.ts";
import {
  BYTES,
  checkLength,
  enter,
  FIXED64,
  leave,
  notUtf8,
  outOfRange,
  quoted,
  type Reader,
  readLabel,
  readString,
  readTimestamp,
  skipField,
  tag,
  toNumber,
  VARINT,
} from "./protobuf_wire.ts";

/** Options of {@link decodeDelimited}. */
export interface DecodeOptions {
  /**
   * Accept any non-empty UTF-8 metric name (`--push.enable-utf8-names`).
   * Otherwise names must match the legacy rule (docs/compatibility.md,
   * Deliberate differences).
   */
  readonly utf8Names?: boolean;
  /** Names and label values longer are refused before they are decoded. */
  readonly limits?: TokenLimits;
}

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
 * skipped; a missing one is an error naming the family (docs/compatibility.md,
 * Protobuf). `previous` (the labels of the metric before) predicts the label
 * names.
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

/**
 * Turns a protobufjs failure into the error a pusher sees
 * (docs/compatibility.md, Protobuf).
 */
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
 * Decodes a delimited protobuf body into families. When several messages carry
 * the same family name, the last one wins (docs/compatibility.md, Protobuf). An
 * empty body yields no families. Throws ExpositionError (line 0), see the
 * module doc.
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
