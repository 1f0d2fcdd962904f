/**
 * The metric data model shared by every codec, the push pipeline and the
 * store. It mirrors `io.prometheus.client.MetricFamily` (prometheus/client_model
 * `metrics.proto`): a family has a name, an optional HELP, a type and its
 * metrics; each metric has labels and a value of the family's type.
 *
 * Families are a discriminated union on `type`, so a counter family can only
 * hold scalar metrics and a histogram family only histogram metrics. Values are
 * float64 and exact: `-0`, `NaN` and `±Inf` are kept as they are.
 *
 * This module holds data types and tiny pure helpers only: no parsing, no
 * formatting, no I/O.
 * @module
 */

/** One label pair. Order inside a metric is the order given by the producer. */
export interface Label {
  readonly name: string;
  readonly value: string;
}

/** An exemplar, as OpenMetrics and the protobuf format carry it. */
export interface Exemplar {
  readonly labels: readonly Label[];
  readonly value: number;
  /** Milliseconds since the Unix epoch, if the producer gave one. */
  readonly timestampMs?: number;
}

interface MetricBase {
  readonly labels: readonly Label[];
  /** Milliseconds since the Unix epoch; the Pushgateway rejects pushes with it. */
  readonly timestampMs?: number;
}

/** A counter, gauge or untyped sample. */
export interface ScalarMetric extends MetricBase {
  readonly value: number;
  /** Counters only: the exemplar of the counter, if any. */
  readonly exemplar?: Exemplar;
  /** Counters only: `_created`, in milliseconds since the epoch. */
  readonly createdTimestampMs?: number;
}

export interface Quantile {
  readonly quantile: number;
  readonly value: number;
}

export interface SummaryMetric extends MetricBase {
  readonly sampleCount: number;
  readonly sampleSum: number;
  /** In the order given (the Pushgateway does not sort them). */
  readonly quantiles: readonly Quantile[];
  readonly createdTimestampMs?: number;
}

/** A classic histogram bucket: cumulative count of observations ≤ upperBound. */
export interface Bucket {
  readonly upperBound: number;
  /** Integer count; for float histograms this holds the float count. */
  readonly cumulativeCount: number;
  readonly exemplar?: Exemplar;
}

/** A span of native-histogram buckets: `offset` gap, then `length` buckets. */
export interface BucketSpan {
  readonly offset: number;
  readonly length: number;
}

/**
 * Native (sparse, exponential) histogram fields. Integer histograms carry
 * deltas; float histograms carry absolute counts. Field names follow
 * `metrics.proto`.
 */
export interface NativeHistogram {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly zeroCountFloat?: number;
  readonly positiveSpans: readonly BucketSpan[];
  readonly positiveDeltas: readonly number[];
  readonly positiveCounts: readonly number[];
  readonly negativeSpans: readonly BucketSpan[];
  readonly negativeDeltas: readonly number[];
  readonly negativeCounts: readonly number[];
}

export interface HistogramMetric extends MetricBase {
  /** Integer observation count. */
  readonly sampleCount: number;
  /** Set instead of (or besides) sampleCount for float histograms. */
  readonly sampleCountFloat?: number;
  readonly sampleSum: number;
  /** Classic buckets in push order (the Pushgateway does not sort them). */
  readonly buckets: readonly Bucket[];
  readonly native?: NativeHistogram;
  readonly exemplars?: readonly Exemplar[];
  readonly createdTimestampMs?: number;
}

interface FamilyBase {
  readonly name: string;
  /** undefined when unset; "" is a present-but-empty HELP (protobuf only). */
  readonly help: string | undefined;
  /** OpenMetrics UNIT, when the producer gave one. */
  readonly unit?: string;
}

export interface ScalarFamily extends FamilyBase {
  readonly type: "counter" | "gauge" | "untyped";
  readonly metrics: readonly ScalarMetric[];
}

export interface SummaryFamily extends FamilyBase {
  readonly type: "summary";
  readonly metrics: readonly SummaryMetric[];
}

export interface HistogramFamily extends FamilyBase {
  readonly type: "histogram" | "gaugehistogram";
  readonly metrics: readonly HistogramMetric[];
}

export type MetricFamily = ScalarFamily | SummaryFamily | HistogramFamily;
export type MetricType = MetricFamily["type"];
export type Metric = MetricFamily["metrics"][number];

/** Every type, in the order of the protobuf enum `MetricType`. */
export const METRIC_TYPES = [
  "counter",
  "gauge",
  "summary",
  "untyped",
  "histogram",
  "gaugehistogram",
] as const satisfies readonly MetricType[];

/** The protobuf enum names of the types, as error messages and the JSON API write them. */
export const PROTO_TYPE_NAMES = {
  counter: "COUNTER",
  gauge: "GAUGE",
  summary: "SUMMARY",
  untyped: "UNTYPED",
  histogram: "HISTOGRAM",
  gaugehistogram: "GAUGE_HISTOGRAM",
} as const satisfies Record<MetricType, string>;

/** The types by their protobuf enum name, the inverse of {@link PROTO_TYPE_NAMES}. */
export const TYPE_BY_PROTO_NAME: Readonly<Record<string, MetricType>> = Object
  .fromEntries(METRIC_TYPES.map((type) => [PROTO_TYPE_NAMES[type], type]));

/**
 * A body that could not be decoded. `line` is 1-based for text formats and 0
 * for binary (protobuf) bodies. The message keeps the Go expfmt wording
 * (docs/compatibility.md, The text format), which clients and people grep
 * for.
 */
export class ExpositionError extends SyntaxError {
  override name = "ExpositionError";
  /** Answered as a bad body (push/push_error.ts). */
  readonly kind = "invalid";
  readonly line: number;
  constructor(line: number, detail: string) {
    super(
      line > 0
        ? `text format parsing error in line ${line}: ${detail}`
        : detail,
    );
    this.line = line;
  }
}

/** For exhaustive switches: a new variant fails to compile where this is called. */
export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

/** Legacy (Prometheus ≤ 2) metric name rule: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Legacy label name rule: `[a-zA-Z_][a-zA-Z0-9_]*`. */
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Number of series a family carries (a histogram or summary is one series). */
export function seriesCount(family: MetricFamily): number {
  return family.metrics.length;
}
