/**
 * One pushed series added to its stored one, for aggregating groups
 * (push/aggregate.ts adds whole families): counters, histograms (classic
 * and native) and summaries' count and sum exactly (exact_sum.ts);
 * gauges and untyped metrics by the push's mode; summary quantiles and
 * gauge histograms take the pushed value; bucket layouts that differ are
 * the problem the push is refused with. Pure.
 * @module
 */

import { formatGoFloat } from "../exposition/float.ts";
import type {
  Bucket,
  HistogramMetric,
  Label,
  Metric,
  MetricFamily,
  NativeHistogram,
  ScalarMetric,
  SummaryMetric,
} from "../exposition/model.ts";
import { addExact, type Partials, roundPartials } from "./exact_sum.ts";
import { addNative } from "./native_sum.ts";

/** How a pushed gauge (or untyped metric) meets the stored one. */
export type GaugeMode = "last" | "sum" | "max" | "min";
export const GAUGE_MODES: readonly GaugeMode[] = ["last", "sum", "max", "min"];

/** Sample rows of a metric, as familyToRows writes them. */
export function rowCount(m: Metric): number {
  if ("quantiles" in m) return m.quantiles.length + 2;
  if ("buckets" in m) return m.buckets.length + 2;
  return 1;
}

function padded(
  residues: readonly (Partials | undefined)[],
  rows: number,
): (Partials | undefined)[] {
  const out = residues.slice(0, rows);
  while (out.length < rows) out.push(undefined);
  return out;
}

/**
 * A running sum: its value and the partials kept beyond it. A sum its
 * value holds exactly (no residue) to which a value adds exactly (integer
 * counts, the common case) allocates no partials.
 */
export class Sum {
  #value: number;
  #partials: Partials | undefined;
  constructor(value: number, residue: Partials | undefined) {
    this.#value = value;
    this.#partials = residue;
  }
  add(x: number): this {
    if (this.#partials === undefined) {
      // addExact([value], x) when its result is one partial.
      let a = x;
      let b = this.#value;
      if (Math.abs(a) < Math.abs(b)) [a, b] = [b, a];
      const hi = a + b;
      if (!Number.isFinite(hi) || b - (hi - a) === 0) {
        this.#value = hi;
        return this;
      }
      this.#partials = [this.#value];
    }
    this.#partials = addExact(this.#partials, x);
    this.#value = roundPartials(this.#partials);
    if (this.#partials.length <= 1) this.#partials = undefined;
    return this;
  }
  get value(): number {
    return this.#value;
  }
  get residue(): Partials | undefined {
    return this.#partials !== undefined && this.#partials.length > 1
      ? this.#partials
      : undefined;
  }
}

export interface Added {
  readonly metric: Metric;
  readonly residues: (Partials | undefined)[];
}

/** One pushed series added to its stored one; a string: the problem. */
export function addMetric(
  family: { readonly type: MetricFamily["type"]; readonly name: string },
  s: Metric,
  sRes: readonly (Partials | undefined)[],
  p: Metric,
  gauge: GaugeMode,
): Added | string {
  switch (family.type) {
    case "counter":
      return addScalar(s as ScalarMetric, sRes[0], p as ScalarMetric, "sum");
    case "gauge":
    case "untyped":
      return addScalar(s as ScalarMetric, sRes[0], p as ScalarMetric, gauge);
    case "summary":
      return addSummary(s as SummaryMetric, sRes, p as SummaryMetric);
    case "histogram":
      return addHistogram(
        family.name,
        s as HistogramMetric,
        sRes,
        p as HistogramMetric,
      );
    case "gaugehistogram":
      return { metric: p, residues: padded([], rowCount(p)) };
  }
}

function addScalar(
  s: ScalarMetric,
  residue: Partials | undefined,
  p: ScalarMetric,
  mode: GaugeMode,
): Added {
  let value: number;
  let kept: Partials | undefined;
  if (mode === "sum") {
    const sum = new Sum(s.value, residue).add(p.value);
    value = sum.value;
    kept = sum.residue;
  } else value = gaugeValue(s.value, p.value, mode);
  const metric = scalarMetric(
    p,
    value,
    s.createdTimestampMs ?? p.createdTimestampMs,
    p.exemplar ?? s.exemplar,
  );
  return { metric, residues: [kept] };
}

/** A gauge's stored value met by the pushed one, by a mode other than sum. */
export function gaugeValue(
  stored: number,
  pushed: number,
  mode: "last" | "max" | "min",
): number {
  if (mode === "last" || Number.isNaN(stored)) return pushed;
  return mode === "max" ? Math.max(stored, pushed) : Math.min(stored, pushed);
}

/** The sum's metric of pushed series `p`: `value`, and what it keeps. */
export function scalarMetric(
  p: ScalarMetric,
  value: number,
  created: number | undefined,
  exemplar: ScalarMetric["exemplar"],
): ScalarMetric {
  // The common case, neither, without spreading empty objects.
  return exemplar === undefined && created === undefined
    ? { labels: p.labels, value }
    : {
      labels: p.labels,
      value,
      ...(exemplar === undefined ? {} : { exemplar }),
      ...(created === undefined ? {} : { createdTimestampMs: created }),
    };
}

function addSummary(
  s: SummaryMetric,
  sRes: readonly (Partials | undefined)[],
  p: SummaryMetric,
): Added {
  const q = s.quantiles.length;
  const sum = new Sum(s.sampleSum, sRes[q]).add(p.sampleSum);
  const count = new Sum(s.sampleCount, sRes[q + 1]).add(p.sampleCount);
  const created = s.createdTimestampMs ?? p.createdTimestampMs;
  const metric: SummaryMetric = {
    labels: p.labels,
    sampleCount: count.value,
    sampleSum: sum.value,
    quantiles: p.quantiles,
    ...(created === undefined ? {} : { createdTimestampMs: created }),
  };
  const residues = padded([], p.quantiles.length);
  residues.push(sum.residue, count.residue);
  return { metric, residues };
}

function addHistogram(
  name: string,
  s: HistogramMetric,
  sRes: readonly (Partials | undefined)[],
  p: HistogramMetric,
): Added | string {
  const layout = classicLayoutProblem(name, s, p) ??
    nativeLayoutProblem(name, s, p);
  if (layout !== undefined) return layout;
  const stored = new Map<number, [Bucket, Partials | undefined]>();
  s.buckets.forEach((b, i) => stored.set(b.upperBound, [b, sRes[i]]));
  const residues: (Partials | undefined)[] = [];
  const buckets: Bucket[] = p.buckets.map((b) => {
    const [old, residue] = stored.get(b.upperBound) as [Bucket, Partials];
    const count = new Sum(old.cumulativeCount, residue).add(b.cumulativeCount);
    residues.push(count.residue);
    const exemplar = b.exemplar ?? old.exemplar;
    return {
      upperBound: b.upperBound,
      cumulativeCount: count.value,
      ...(exemplar === undefined ? {} : { exemplar }),
    };
  });
  const nb = s.buckets.length;
  const sum = new Sum(s.sampleSum, sRes[nb]).add(p.sampleSum);
  const count = new Sum(s.sampleCount, sRes[nb + 1]).add(p.sampleCount);
  residues.push(sum.residue, count.residue);
  const created = s.createdTimestampMs ?? p.createdTimestampMs;
  const countFloat = s.sampleCountFloat === undefined &&
      p.sampleCountFloat === undefined
    ? undefined
    : (s.sampleCountFloat ?? s.sampleCount) +
      (p.sampleCountFloat ?? p.sampleCount);
  const exemplars = p.exemplars ?? s.exemplars;
  const metric: HistogramMetric = {
    labels: p.labels,
    sampleCount: count.value,
    ...(countFloat === undefined ? {} : { sampleCountFloat: countFloat }),
    sampleSum: sum.value,
    buckets,
    ...(s.native && p.native ? { native: addNative(s.native, p.native) } : {}),
    ...(exemplars === undefined ? {} : { exemplars }),
    ...(created === undefined ? {} : { createdTimestampMs: created }),
  };
  return { metric, residues };
}

/** Why two classic bucket layouts cannot be added, naming their bounds. */
function classicLayoutProblem(
  name: string,
  s: HistogramMetric,
  p: HistogramMetric,
): string | undefined {
  const bounds = (m: HistogramMetric) =>
    m.buckets.map((b) => b.upperBound).sort((a, b) => a - b);
  const a = bounds(s);
  const b = bounds(p);
  if (a.length === b.length && a.every((x, i) => Object.is(x, b[i]))) {
    return undefined;
  }
  const list = (xs: number[]) =>
    xs.length === 0
      ? "no classic buckets"
      : xs.map((x) => `le="${formatGoFloat(x)}"`).join(",");
  return `histogram ${seriesName(name, p.labels)} has buckets ${
    list(a)
  } in this aggregating group; the push has ${
    list(b)
  }: only histograms with the same bucket bounds are added`;
}

/** Why two native layouts cannot be added: schema and zero threshold. */
function nativeLayoutProblem(
  name: string,
  s: HistogramMetric,
  p: HistogramMetric,
): string | undefined {
  const layout = (n: NativeHistogram | undefined) =>
    n === undefined
      ? "no native buckets"
      : `schema ${n.schema} and zero threshold ${
        formatGoFloat(n.zeroThreshold)
      }`;
  const a = layout(s.native);
  const b = layout(p.native);
  if (a === b) return undefined;
  return `native histogram ${
    seriesName(name, p.labels)
  } has ${a} in this aggregating group; the push has ${b}: only native histograms of the same schema and zero threshold are added`;
}

/** `name{a="1",b="2"}` for messages. */
function seriesName(name: string, labels: readonly Label[]): string {
  if (labels.length === 0) return name;
  return `${name}{${
    labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(",")
  }}`;
}
