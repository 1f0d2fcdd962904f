/**
 * The OpenMetrics parser's state and what every stage of it shares: the
 * types and their sample suffixes, the characters the lines are made of,
 * the family and MetricPoint being assembled, the error helpers, and the
 * checks of names and label lengths. Imports no other stage of the parser.
 * @module
 */

import {
  type Bucket,
  type Exemplar,
  ExpositionError,
  type HistogramMetric,
  type Label,
  type MetricFamily,
  type Quantile,
  type ScalarMetric,
  type SummaryMetric,
} from "./model.ts";
import {
  QUOTED_PREFIX_BYTES,
  type TokenLimits,
  TokenTooLongError,
  utf8Length,
} from "./token_limits.ts";

export type OmType =
  | "counter"
  | "gauge"
  | "histogram"
  | "gaugehistogram"
  | "stateset"
  | "info"
  | "summary"
  | "unknown";

/** What a sample line contributes to its MetricPoint. */
export type Role =
  | "value"
  | "total"
  | "created"
  | "bucket"
  | "count"
  | "sum"
  | "gcount"
  | "gsum"
  | "quantile";

/**
 * Sample name suffixes of each type, and their role (OpenMetrics 1.0,
 * "Suffixes").
 */
export const ROLES: Readonly<
  Record<OmType, readonly (readonly [string, Role])[]>
> = {
  counter: [["_total", "total"], ["_created", "created"]],
  gauge: [["", "value"]],
  stateset: [["", "value"]],
  unknown: [["", "value"]],
  info: [["_info", "value"]],
  summary: [
    ["", "quantile"],
    ["_count", "count"],
    ["_sum", "sum"],
    ["_created", "created"],
  ],
  histogram: [
    ["_bucket", "bucket"],
    ["_count", "count"],
    ["_sum", "sum"],
    ["_created", "created"],
  ],
  gaugehistogram: [
    ["_bucket", "bucket"],
    ["_gcount", "gcount"],
    ["_gsum", "gsum"],
  ],
};

export const TYPE_LIST =
  "counter, gauge, histogram, gaugehistogram, stateset, info, summary, unknown";

/**
 * Exemplar label names and values together, in code points (OpenMetrics
 * 1.0, "Exemplars").
 */
export const MAX_EXEMPLAR_LABEL_CHARS = 128;

export const CHAR_SPACE = 32;
export const CHAR_QUOTE = 34;
export const CHAR_HASH = 35;
export const CHAR_COMMA = 44;
export const CHAR_EQUALS = 61;
export const CHAR_BACKSLASH = 92;
export const CHAR_BRACE_OPEN = 123;
export const CHAR_BRACE_CLOSE = 125;

export type MetadataKind = "HELP" | "TYPE" | "UNIT";

export const quote = JSON.stringify;

export function failLine(line: number, detail: string): never {
  throw new ExpositionError(line, detail);
}

// ---------------------------------------------------------------------------
// Families and MetricPoints

export interface Context {
  readonly utf8Names: boolean;
  readonly limits: TokenLimits;
  readonly families: MetricFamily[];
  /** Every sample name a family seen so far can use → that family's name. */
  readonly taken: Map<string, string>;
  family: FamilyState | undefined;
}

export interface FamilyState {
  readonly name: string;
  /** undefined until a TYPE line or the first sample (then "unknown"). */
  type: OmType | undefined;
  help: string | undefined;
  unit: string | undefined;
  readonly seen: Set<MetadataKind>;
  hasSamples: boolean;
  readonly scalars: ScalarMetric[];
  readonly summaries: SummaryMetric[];
  readonly histograms: HistogramMetric[];
  /** Keys of the metrics seen so far, to catch interleaving. */
  readonly groups: Set<string>;
  point: PointState | undefined;
}

/**
 * One MetricPoint being assembled: the consecutive samples of one metric
 * (same labels apart from `le`/`quantile`/the state) and one timestamp.
 */
export interface PointState {
  readonly groupKey: string;
  /** The labels that identify the metric, in the order of the first sample. */
  readonly groupLabels: readonly Label[];
  readonly timestamp: number | undefined;
  readonly timestampMs: number | undefined;
  /** The metric's own labels (without `le`, `quantile`). */
  readonly labels: readonly Label[];
  /** Sample identities within the point, to catch duplicates. */
  seen: string | string[] | Set<string> | undefined;
  lastLine: number;
  total: number | undefined;
  exemplar: Exemplar | undefined;
  createdMs: number | undefined;
  count: number | undefined;
  sum: number | undefined;
  readonly quantiles: Quantile[];
  readonly buckets: Bucket[];
  negativeBucket: boolean;
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function startFamily(
  ctx: Context,
  name: string,
  line: number,
  from: "metadata" | "sample",
): FamilyState {
  const owner = ctx.taken.get(name);
  if (owner === name) {
    const family = quote(name);
    failLine(
      line,
      `metric family ${family} appears a second time; the lines of a family must be contiguous`,
    );
  }
  if (owner !== undefined) {
    const [n, o] = [quote(name), quote(owner)];
    failLine(
      line,
      from === "sample"
        ? `sample ${n} belongs to the earlier metric family ${o}; the lines of a family must be contiguous`
        : `metric family ${n} clashes with the earlier family ${o}, which can have samples named ${n}`,
    );
  }
  ctx.taken.set(name, name);
  const family: FamilyState = {
    name,
    type: undefined,
    help: undefined,
    unit: undefined,
    seen: new Set(),
    hasSamples: false,
    scalars: [],
    summaries: [],
    histograms: [],
    groups: new Set(),
    point: undefined,
  };
  ctx.family = family;
  return family;
}

/** Reserves a suffixed sample name for a family whose TYPE just arrived. */
export function claimName(
  ctx: Context,
  family: FamilyState,
  sampleName: string,
  line: number,
): void {
  const owner = ctx.taken.get(sampleName);
  if (owner !== undefined) {
    const [f, o, n] = [quote(family.name), quote(owner), quote(sampleName)];
    failLine(
      line,
      `${family.type} metric family ${f} clashes with the earlier family ${o}: both can have samples named ${n}`,
    );
  }
  ctx.taken.set(sampleName, family.name);
}

// ---------------------------------------------------------------------------
// Labels

export function labelValue(
  labels: readonly Label[],
  name: string,
): string | undefined {
  for (const label of labels) if (label.name === name) return label.value;
  return undefined;
}

/**
 * Refuses a metric name over the limit of a label value (token_limits.ts).
 * Names are slices of the body's text, so nothing was copied yet.
 */
export function checkMetricName(name: string, limits: TokenLimits): void {
  const max = limits.maxLabelValueBytes;
  if (name.length * 3 <= max) return;
  const bytes = utf8Length(name);
  if (bytes <= max) return;
  throw new TokenTooLongError({
    reason: "label_value_too_long",
    metric: name.slice(0, 4 * QUOTED_PREFIX_BYTES),
    label: undefined,
    bytes,
    limit: max,
  });
}

/** Refuses a sample's label name or value over its limit. */
export function checkLabelLength(
  limits: TokenLimits,
  metric: string,
  name: string,
  value: string,
): void {
  const { maxLabelNameBytes, maxLabelValueBytes } = limits;
  if (name.length * 3 > maxLabelNameBytes) {
    const bytes = utf8Length(name);
    if (bytes > maxLabelNameBytes) {
      throw new TokenTooLongError({
        reason: "label_name_too_long",
        metric,
        label: name.slice(0, 4 * QUOTED_PREFIX_BYTES),
        bytes,
        limit: maxLabelNameBytes,
      });
    }
  }
  if (value.length * 3 > maxLabelValueBytes) {
    const bytes = utf8Length(value);
    if (bytes > maxLabelValueBytes) {
      throw new TokenTooLongError({
        reason: "label_value_too_long",
        metric,
        label: name,
        bytes,
        limit: maxLabelValueBytes,
      });
    }
  }
}

/** `"name"{a="1",b="2"}` for messages. */
export function seriesText(name: string, labels: readonly Label[]): string {
  if (labels.length === 0) return quote(name);
  const pairs = labels.map((label) => `${label.name}=${quote(label.value)}`);
  return `${quote(name)}{${pairs.join(",")}}`;
}
