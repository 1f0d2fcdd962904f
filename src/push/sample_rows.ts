/**
 * MetricFamily ⇄ rows of the `samples` table. Pure. One row per sample line
 * as the text format shows it, so that `sqlite3` users read familiar names
 * (`x_bucket{le="0.5"}`, `x_sum`); the extra columns keep what the text
 * format cannot carry (NaN and -0 exactly, native histograms, exemplars,
 * created timestamps), so that a family read back equals the one written.
 * @module
 */

import { formatGoFloat, parseGoFloat } from "../exposition/float.ts";
import type {
  Bucket,
  Exemplar,
  HistogramMetric,
  Label,
  MetricFamily,
  MetricType,
  NativeHistogram,
  Quantile,
  ScalarMetric,
  SummaryMetric,
} from "../exposition/model.ts";
import { unreachable } from "../exposition/model.ts";

/** Column values of one `samples` row, minus ids. */
export interface SampleRow {
  readonly series: number;
  readonly name: string;
  readonly labels: string;
  readonly value: number | null;
  readonly valueText: string | null;
  readonly native: string | null;
  readonly exemplar: string | null;
  readonly created: number | null;
}

/** Header of a `families` row. */
export interface FamilyHeader {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string | undefined;
  readonly unit: string | undefined;
}

/** The suffixes of a family's metrics: a row's metric is `name + suffix`. */
export const SUFFIXES = ["", "_sum", "_count", "_bucket"] as const;

/** Index of a row's suffix in {@link SUFFIXES}. */
export type SuffixCode = 0 | 1 | 2 | 3;

/** What a sample row carries besides its value, as pushed. */
export interface RowExtras {
  readonly exemplar?: Exemplar | undefined;
  readonly created?: number | undefined;
  readonly native?: string | null;
}

/** Takes the rows {@link writeFamilyRows} finds, in order. */
export type RowSink = (
  series: number,
  suffix: SuffixCode,
  labels: string,
  value: number,
  extras: RowExtras | undefined,
) => void;

/** The `samples` rows of `family` as objects (see {@link writeFamilyRows}). */
export function familyToRows(family: MetricFamily): SampleRow[] {
  const rows: SampleRow[] = [];
  const name = family.name;
  writeFamilyRows(family, (series, suffix, labels, value, extras) => {
    const metric = suffix === 0 ? name : name + SUFFIXES[suffix];
    rows.push(row(series, metric, labels, value, extras ?? NO_EXTRAS));
  });
  return rows;
}

/** How many rows {@link writeFamilyRows} gives for `family`. */
export function rowCountOf(family: MetricFamily): number {
  switch (family.type) {
    case "counter":
    case "gauge":
    case "untyped":
      return family.metrics.length;
    case "summary": {
      let n = 0;
      for (const m of family.metrics) n += m.quantiles.length + 2;
      return n;
    }
    case "histogram":
    case "gaugehistogram": {
      let n = 0;
      for (const m of family.metrics) n += m.buckets.length + 2;
      return n;
    }
    default:
      return unreachable(family);
  }
}

/**
 * Gives `sink` each `samples` row of `family`, in order: one per sample
 * line as the text format shows it (`x_bucket{le="0.5"}`, `x_sum`), with
 * its series' ordinal, its suffix, its labels JSON, its value and what
 * else it carries.
 */
export function writeFamilyRows(family: MetricFamily, sink: RowSink): void {
  switch (family.type) {
    case "counter":
    case "gauge":
    case "untyped":
      family.metrics.forEach((m, series) => {
        sink(
          series,
          0,
          labelsJson(m.labels),
          m.value,
          m.exemplar === undefined && m.createdTimestampMs === undefined
            ? undefined
            : { exemplar: m.exemplar, created: m.createdTimestampMs },
        );
      });
      return;
    case "summary":
      family.metrics.forEach((m, series) => {
        const prefix = labelsPrefix(m.labels, "quantile");
        for (const q of m.quantiles) {
          const extra = { name: "quantile", value: formatGoFloat(q.quantile) };
          const labels = withExtra(prefix, m.labels, extra);
          sink(series, 0, labels, q.value, undefined);
        }
        const labels = labelsJson(m.labels);
        sink(series, 1, labels, m.sampleSum, undefined);
        sink(
          series,
          2,
          labels,
          m.sampleCount,
          m.createdTimestampMs === undefined
            ? undefined
            : { created: m.createdTimestampMs },
        );
      });
      return;
    case "histogram":
    case "gaugehistogram":
      family.metrics.forEach((m, series) => {
        const prefix = labelsPrefix(m.labels, "le");
        for (const b of m.buckets) {
          const extra = { name: "le", value: formatGoFloat(b.upperBound) };
          sink(
            series,
            3,
            withExtra(prefix, m.labels, extra),
            b.cumulativeCount,
            b.exemplar === undefined ? undefined : { exemplar: b.exemplar },
          );
        }
        const labels = labelsJson(m.labels);
        sink(series, 1, labels, m.sampleSum, undefined);
        const native = nativeJson(m);
        sink(
          series,
          2,
          labels,
          m.sampleCount,
          m.createdTimestampMs === undefined && native === null
            ? undefined
            : { created: m.createdTimestampMs, native },
        );
      });
      return;
    default:
      return unreachable(family);
  }
}

const NO_EXTRAS: RowExtras = {};

/** The `sample_extras` columns of a row. */
export interface ExtraColumns {
  readonly valueText: string | null;
  readonly native: string | null;
  readonly exemplar: string | null;
  readonly created: number | null;
}

/**
 * The `sample_extras` columns of a row of value `value` (NaN and -0 kept
 * exactly as text); undefined when the row needs none, as most do.
 */
export function extraColumnsOf(
  value: number,
  extras: RowExtras | undefined,
): ExtraColumns | undefined {
  const exact = Number.isNaN(value) || Object.is(value, -0);
  if (!exact && extras === undefined) return undefined;
  const { valueText, native, exemplar, created } = row(
    0,
    "",
    "",
    value,
    extras ?? NO_EXTRAS,
  );
  if (
    valueText === null && native === null && exemplar === null &&
    created === null
  ) return undefined;
  return { valueText, native, exemplar, created };
}

function row(
  series: number,
  name: string,
  labels: string,
  value: number,
  extras: RowExtras,
): SampleRow {
  const exact = Number.isNaN(value) || Object.is(value, -0);
  return {
    series,
    name,
    labels,
    value: Number.isNaN(value) ? null : value,
    valueText: exact ? formatGoFloat(value) : null,
    native: extras.native ?? null,
    exemplar: extras.exemplar
      ? JSON.stringify(exemplarJson(extras.exemplar))
      : null,
    created: extras.created === undefined ? null : extras.created / 1000,
  };
}

/**
 * The `samples.labels` JSON: the labels as an object, exactly as
 * `JSON.stringify` writes one ({@link withExtra}: le or quantile last).
 */
function labelsJson(labels: readonly Label[]): string {
  const prefix = labelsPrefix(labels, undefined);
  return prefix === undefined ? objectJson(labels, undefined) : `${prefix}}`;
}

function withExtra(
  prefix: string | undefined,
  labels: readonly Label[],
  extra: Label,
): string {
  if (prefix === undefined) return objectJson(labels, extra);
  return `${prefix}${labels.length > 0 ? "," : ""}${
    JSON.stringify(extra.name)
  }:${JSON.stringify(extra.value)}}`;
}

/**
 * `{"a":"1","b":"2"` without its closing brace, built as strings; undefined
 * where an object would not keep the labels in order (a repeated name, or
 * `extraName` among them, an array-index name, `__proto__`), so that
 * {@link objectJson} decides.
 */
function labelsPrefix(
  labels: readonly Label[],
  extraName: string | undefined,
): string | undefined {
  if (labels.length > 16) return undefined;
  let out = "{";
  for (let i = 0; i < labels.length; i++) {
    const name = (labels[i] as Label).name;
    const first = name.charCodeAt(0);
    if (
      (first >= 0x30 && first <= 0x39) || name === "__proto__" ||
      name === extraName
    ) {
      return undefined;
    }
    for (let j = 0; j < i; j++) {
      if ((labels[j] as Label).name === name) return undefined;
    }
    out += `${i > 0 ? "," : ""}${jsonString(name)}:${
      jsonString((labels[i] as Label).value)
    }`;
  }
  return out;
}

/**
 * `JSON.stringify(text)`, without the call where nothing needs escaping
 * (quotes, backslashes, control characters, lone surrogates): most label
 * names and values, several per sample row.
 */
export function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}
// deno-lint-ignore no-control-regex -- control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The labels (and `extra`) as an object, through `JSON.stringify`. */
function objectJson(
  labels: readonly Label[],
  extra: Label | undefined,
): string {
  const object: Record<string, string> = {};
  for (const l of labels) object[l.name] = l.value;
  if (extra) object[extra.name] = extra.value;
  return JSON.stringify(object);
}

function exemplarJson(e: Exemplar): unknown {
  return {
    labels: Object.fromEntries(e.labels.map((l) => [l.name, l.value])),
    value: formatGoFloat(e.value),
    ...(e.timestampMs === undefined ? {} : { timestamp_ms: e.timestampMs }),
  };
}

function nativeJson(m: HistogramMetric): string | null {
  if (m.native === undefined && m.sampleCountFloat === undefined) return null;
  return JSON.stringify({
    ...(m.sampleCountFloat === undefined
      ? {}
      : { sample_count_float: formatGoFloat(m.sampleCountFloat) }),
    ...(m.native === undefined ? {} : {
      schema: m.native.schema,
      zero_threshold: formatGoFloat(m.native.zeroThreshold),
      zero_count: m.native.zeroCount,
      ...(m.native.zeroCountFloat === undefined
        ? {}
        : { zero_count_float: formatGoFloat(m.native.zeroCountFloat) }),
      positive_spans: m.native.positiveSpans,
      positive_deltas: m.native.positiveDeltas,
      positive_counts: m.native.positiveCounts.map(formatGoFloat),
      negative_spans: m.native.negativeSpans,
      negative_deltas: m.native.negativeDeltas,
      negative_counts: m.native.negativeCounts.map(formatGoFloat),
    }),
  });
}

/** Reads back rows written by {@link familyToRows}, in `series, id` order. */
export function rowsToFamily(
  header: FamilyHeader,
  rows: readonly SampleRow[],
): MetricFamily {
  const base = {
    name: header.name,
    help: header.help,
    ...(header.unit === undefined ? {} : { unit: header.unit }),
  };
  const bySeries = groupBySeries(rows);
  switch (header.type) {
    case "counter":
    case "gauge":
    case "untyped": {
      const metrics: ScalarMetric[] = bySeries.map(([r]) => {
        const s = r as SampleRow;
        return {
          labels: labelsOf(s.labels),
          value: valueOf(s),
          ...(s.exemplar ? { exemplar: exemplarOf(s.exemplar) } : {}),
          ...(s.created === null
            ? {}
            : { createdTimestampMs: Math.round(s.created * 1000) }),
        };
      });
      return { ...base, type: header.type, metrics };
    }
    case "summary": {
      const metrics: SummaryMetric[] = bySeries.map((series) => {
        const quantiles: Quantile[] = [];
        let labels: Label[] = [];
        let sum = 0;
        let count = 0;
        let created: number | null = null;
        for (const r of series) {
          if (r.name === header.name) {
            const all = labelsOf(r.labels);
            const q = all.find((l) => l.name === "quantile");
            quantiles.push({
              quantile: parseGoFloat(q?.value ?? "") ?? NaN,
              value: valueOf(r),
            });
            labels = all.filter((l) => l.name !== "quantile");
          } else if (r.name.endsWith("_sum")) {
            sum = valueOf(r);
            labels = labelsOf(r.labels);
          } else {
            count = valueOf(r);
            created = r.created;
          }
        }
        return {
          labels,
          sampleCount: count,
          sampleSum: sum,
          quantiles,
          ...(created === null
            ? {}
            : { createdTimestampMs: Math.round(created * 1000) }),
        };
      });
      return { ...base, type: "summary", metrics };
    }
    case "histogram":
    case "gaugehistogram": {
      const metrics: HistogramMetric[] = bySeries.map((series) => {
        const buckets: Bucket[] = [];
        let labels: Label[] = [];
        let sum = 0;
        let count = 0;
        let extra: Partial<HistogramMetric> = {};
        for (const r of series) {
          if (r.name.endsWith("_bucket")) {
            const all = labelsOf(r.labels);
            const le = all.find((l) => l.name === "le");
            buckets.push({
              upperBound: parseGoFloat(le?.value ?? "") ?? NaN,
              cumulativeCount: valueOf(r),
              ...(r.exemplar ? { exemplar: exemplarOf(r.exemplar) } : {}),
            });
          } else if (r.name.endsWith("_sum")) {
            sum = valueOf(r);
            labels = labelsOf(r.labels);
          } else {
            count = valueOf(r);
            extra = {
              ...(r.created === null
                ? {}
                : { createdTimestampMs: Math.round(r.created * 1000) }),
              ...(r.native ? nativeOf(r.native) : {}),
            };
          }
        }
        return {
          labels,
          sampleCount: count,
          sampleSum: sum,
          buckets,
          ...extra,
        };
      });
      return { ...base, type: header.type, metrics };
    }
    default:
      return unreachable(header.type);
  }
}

function groupBySeries(rows: readonly SampleRow[]): SampleRow[][] {
  const out: SampleRow[][] = [];
  let current: SampleRow[] | undefined;
  let at = -1;
  for (const r of rows) {
    if (r.series !== at || current === undefined) {
      current = [];
      out.push(current);
      at = r.series;
    }
    current.push(r);
  }
  return out;
}

function valueOf(r: SampleRow): number {
  if (r.valueText !== null) return parseGoFloat(r.valueText) ?? NaN;
  return r.value ?? NaN;
}

function labelsOf(json: string): Label[] {
  const object = JSON.parse(json) as Record<string, string>;
  return Object.entries(object).map(([name, value]) => ({ name, value }));
}

function exemplarOf(json: string): Exemplar {
  const e = JSON.parse(json) as {
    labels: Record<string, string>;
    value: string;
    timestamp_ms?: number;
  };
  return {
    labels: Object.entries(e.labels).map(([name, value]) => ({ name, value })),
    value: parseGoFloat(e.value) ?? NaN,
    ...(e.timestamp_ms === undefined ? {} : { timestampMs: e.timestamp_ms }),
  };
}

interface NativeJson {
  sample_count_float?: string;
  schema?: number;
  zero_threshold?: string;
  zero_count?: number;
  zero_count_float?: string;
  positive_spans?: { offset: number; length: number }[];
  positive_deltas?: number[];
  positive_counts?: string[];
  negative_spans?: { offset: number; length: number }[];
  negative_deltas?: number[];
  negative_counts?: string[];
}

function nativeOf(json: string): Partial<HistogramMetric> {
  const n = JSON.parse(json) as NativeJson;
  const f = (s: string | undefined) => parseGoFloat(s ?? "0") ?? NaN;
  const out: { sampleCountFloat?: number; native?: NativeHistogram } = {};
  if (n.sample_count_float !== undefined) {
    out.sampleCountFloat = f(n.sample_count_float);
  }
  if (n.schema !== undefined) {
    out.native = {
      schema: n.schema,
      zeroThreshold: f(n.zero_threshold),
      zeroCount: n.zero_count ?? 0,
      ...(n.zero_count_float === undefined
        ? {}
        : { zeroCountFloat: f(n.zero_count_float) }),
      positiveSpans: n.positive_spans ?? [],
      positiveDeltas: n.positive_deltas ?? [],
      positiveCounts: (n.positive_counts ?? []).map(f),
      negativeSpans: n.negative_spans ?? [],
      negativeDeltas: n.negative_deltas ?? [],
      negativeCounts: (n.negative_counts ?? []).map(f),
    };
  }
  return out;
}
