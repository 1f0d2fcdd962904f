/**
 * The arithmetic of aggregating groups (README "Aggregating groups"): a
 * pushed family added to the one the group holds. Counters, histograms
 * (classic and native: buckets, count, sum) and summaries' count and sum
 * are added, exactly (exact_sum.ts); gauges and untyped metrics take the
 * pushed value, or its sum, max or min with the stored one when the push
 * asks; summary quantiles and gauge histograms take the pushed value.
 * Pure: the store calls it inside its transaction with the values it
 * holds there, so that concurrent contributions add up exactly.
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
import { labelsOfSeriesKey, seriesKey } from "./series_key.ts";

/** How a pushed gauge (or untyped metric) meets the stored one. */
export type GaugeMode = "last" | "sum" | "max" | "min";
export const GAUGE_MODES: readonly GaugeMode[] = ["last", "sum", "max", "min"];

/**
 * A family with what its sums keep beyond their values: per sample row,
 * in the order `familyToRows` writes them (push/sample_rows.ts), the
 * partials of a sum that its value does not hold exactly, else undefined.
 */
export interface SummedFamily {
  readonly family: MetricFamily;
  readonly residues: readonly (Partials | undefined)[];
}

/**
 * A sum of a counter, gauge or untyped family whose series carry nothing
 * but labels and a value, as kept between two contributions: each
 * series' value, in the order of the family's series keys (which the
 * caller holds), and the residues, empty where there is none. A few
 * objects instead of one per series: a sum kept until the group's next
 * contribution outlives the young generation, and copying metric objects
 * there cost a 10-series push more than its addition (docs/performance.md,
 * Aggregating pushes).
 */
export interface ScalarSums {
  readonly type: "counter" | "gauge" | "untyped";
  readonly values: Float64Array;
  readonly residues: readonly (Partials | undefined)[];
}

/** A stored sum: a whole family, or a scalar family's values. */
export type StoredSums = SummedFamily | ScalarSums;

/**
 * What to keep of `summed` until the next contribution: its values alone
 * where {@link ScalarSums} hold it, else the family itself.
 */
export function keptSums(summed: SummedFamily): StoredSums {
  const { family } = summed;
  if (
    family.type !== "counter" && family.type !== "gauge" &&
    family.type !== "untyped"
  ) return summed;
  const metrics = family.metrics as readonly ScalarMetric[];
  const values = new Float64Array(metrics.length);
  for (let m = 0; m < metrics.length; m++) {
    const metric = metrics[m] as ScalarMetric;
    if (
      metric.exemplar !== undefined || metric.createdTimestampMs !== undefined
    ) return summed;
    values[m] = metric.value;
  }
  let residues: readonly (Partials | undefined)[] = NONE;
  for (const residue of summed.residues) {
    if (residue !== undefined) residues = summed.residues;
  }
  return { type: family.type, values, residues };
}

/** How many series `stored` holds. */
export function seriesCountOf(stored: StoredSums): number {
  return "family" in stored
    ? stored.family.metrics.length
    : stored.values.length;
}

/** A sum, and where each pushed metric's rows are among its rows. */
export interface AddedFamily extends SummedFamily {
  /**
   * Per metric of the push, in its order: the index of its first sample
   * row among the sum's rows (familyToRows order); its rows follow in the
   * same order as the push's own.
   */
  readonly pushedAt: readonly number[];
  /** The series key of each of the sum's metrics. */
  readonly keys: readonly string[];
}

/** Series keys known already (the push's, the view's): not computed again. */
export interface KnownKeys {
  readonly stored?: readonly string[] | undefined;
  readonly pushed?: readonly string[] | undefined;
}

/** The sum, or why the push cannot be added (a consistency problem). */
export type MergeResult =
  | { readonly ok: true; readonly summed: AddedFamily }
  | { readonly ok: false; readonly problem: string };

/**
 * `pushed` added to `stored` (the group's current version, if any): the
 * stored series in their order, each pushed one added to its own, new
 * ones after them in push order.
 */
export function addFamily(
  stored: StoredSums | undefined,
  pushed: MetricFamily,
  gauge: GaugeMode,
  known: KnownKeys = {},
): MergeResult {
  const sum = startSum(stored, pushed, known);
  if (!("state" in sum)) return sum;
  const problem = addSlice(sum.state, pushed, gauge, sum.state.end);
  return problem === undefined ? endSum(sum.state, pushed) : problem;
}

/** Stored series added to between two yields of {@link addFamilySteps}. */
const SLICE_SERIES = 2_048;

/**
 * {@link addFamily} a step at a time: it yields after each
 * {@link SLICE_SERIES} stored series, for a large push written aside.
 */
export function* addFamilySteps(
  stored: StoredSums | undefined,
  pushed: MetricFamily,
  gauge: GaugeMode,
  known: KnownKeys = {},
): Generator<void, MergeResult, undefined> {
  const sum = startSum(stored, pushed, known);
  if (!("state" in sum)) return sum;
  const state = sum.state;
  for (;;) {
    const until = Math.min(state.end, state.next + SLICE_SERIES);
    const problem = addSlice(state, pushed, gauge, until);
    if (problem !== undefined) return problem;
    if (state.next >= state.end) return endSum(state, pushed);
    yield;
  }
}

/** A sum under way: the stored series added so far, and what they gave. */
interface SumState {
  readonly type: MetricFamily["type"];
  readonly name: string;
  /** The stored metrics, or (a {@link ScalarSums}) their values alone. */
  readonly old: readonly Metric[] | Float64Array;
  readonly storedResidues: readonly (Partials | undefined)[];
  readonly storedKeys: readonly string[];
  readonly pushedKeys: readonly string[];
  /** Per stored series, the pushed one it meets (-1: none); null: itself. */
  readonly match: readonly number[] | null;
  readonly added: readonly number[];
  readonly keys: string[];
  readonly metrics: Metric[];
  readonly residues: (Partials | undefined)[];
  readonly pushedAt: number[];
  /** The next stored series, and the sample row it starts at. */
  next: number;
  row: number;
  readonly end: number;
}

/** The sum's start, or its whole result when nothing is stored to add. */
function startSum(
  stored: StoredSums | undefined,
  pushed: MetricFamily,
  known: KnownKeys,
): MergeResult | { readonly state: SumState } {
  const pushedKeys = known.pushed ??
    pushed.metrics.map((m) => seriesKey(m.labels));
  if (stored === undefined) {
    const pushedAt: number[] = [];
    let at = 0;
    for (const m of pushed.metrics) {
      pushedAt.push(at);
      at += rowCount(m);
    }
    return {
      ok: true,
      summed: { family: pushed, residues: [], pushedAt, keys: pushedKeys },
    };
  }
  const type = "family" in stored ? stored.family.type : stored.type;
  if (type !== pushed.type) {
    return {
      ok: false,
      problem: `${pushed.name} is a ${type} in this aggregating group; ` +
        `the push has it as a ${pushed.type}`,
    };
  }
  const old = "family" in stored ? stored.family.metrics : stored.values;
  let storedKeys = known.stored;
  if (storedKeys?.length !== old.length) {
    if (!("family" in stored)) {
      throw new Error("a sum kept as values needs its series keys");
    }
    storedKeys = stored.family.metrics.map((m) => seriesKey(m.labels));
  }
  const { stored: match, added } = matchSeries(storedKeys, pushedKeys);
  return {
    state: {
      type,
      name: pushed.name,
      old,
      storedResidues: stored.residues,
      storedKeys,
      pushedKeys,
      match,
      added,
      keys: [],
      metrics: [],
      residues: [],
      pushedAt: new Array(pushed.metrics.length).fill(-1),
      next: 0,
      row: 0,
      end: old.length,
    },
  };
}

/** Adds the stored series from `state.next` to `until`; the problem if any. */
function addSlice(
  state: SumState,
  pushed: MetricFamily,
  gauge: GaugeMode,
  until: number,
): MergeResult | undefined {
  const { storedResidues, storedKeys, match, keys, metrics, residues } = state;
  const anyResidue = storedResidues.length > 0;
  let row = state.row;
  for (let m = state.next; m < until; m++) {
    const i = match === null ? m : match[m] as number;
    const s = storedMetric(state, pushed, m, i);
    const rows = rowCount(s);
    const sRes = anyResidue ? storedResidues.slice(row, row + rows) : NONE;
    row += rows;
    keys.push(storedKeys[m] as string);
    if (i < 0) {
      metrics.push(s);
      for (let r = 0; r < rows; r++) residues.push(sRes[r]);
      continue;
    }
    const added = addMetric(
      state,
      s,
      sRes,
      pushed.metrics[i] as Metric,
      gauge,
    );
    if (typeof added === "string") return { ok: false, problem: added };
    state.pushedAt[i] = residues.length;
    metrics.push(added.metric);
    for (let r = 0; r < added.residues.length; r++) {
      residues.push(added.residues[r]);
    }
  }
  state.next = until;
  state.row = row;
  return undefined;
}

/**
 * Stored series `m`, which meets pushed series `i` (-1: none): a metric of
 * a {@link ScalarSums} is rebuilt with the labels of the pushed series it
 * meets (the same series key: the same labels), else from its key.
 */
function storedMetric(
  state: SumState,
  pushed: MetricFamily,
  m: number,
  i: number,
): Metric {
  const { old } = state;
  if (!(old instanceof Float64Array)) return old[m] as Metric;
  const labels = i >= 0
    ? (pushed.metrics[i] as Metric).labels
    : labelsOfSeriesKey(state.storedKeys[m] as string);
  return { labels, value: old[m] as number };
}

/** The sum once every stored series is added: the new series after them. */
function endSum(state: SumState, pushed: MetricFamily): MergeResult {
  const { keys, metrics, residues, pushedAt, pushedKeys } = state;
  for (const i of state.added) {
    const m = pushed.metrics[i] as Metric;
    keys.push(pushedKeys[i] as string);
    pushedAt[i] = residues.length;
    metrics.push(m);
    for (let r = rowCount(m); r > 0; r--) residues.push(undefined);
  }
  const family = { ...pushed, metrics } as MetricFamily;
  return { ok: true, summed: { family, residues, pushedAt, keys } };
}

const NONE: readonly (Partials | undefined)[] = [];
const NONE_ADDED: readonly number[] = [];

/**
 * Which pushed metric each stored one meets (-1: none), and the pushed
 * ones the group does not hold yet, in push order (a repeated series: its
 * last). The common case, the same series in the same order as last
 * time, is compared in place (repeated series then meet in order): null,
 * each stored series meets the pushed one at its own index.
 */
function matchSeries(
  storedKeys: readonly string[],
  pushedKeys: readonly string[],
): { stored: number[] | null; added: readonly number[] } {
  const n = storedKeys.length;
  if (pushedKeys.length === n) {
    let same = true;
    for (let i = 0; i < n && same; i++) same = storedKeys[i] === pushedKeys[i];
    if (same) return { stored: null, added: NONE_ADDED };
  }
  const pushedByKey = new Map<string, number>();
  pushedKeys.forEach((key, i) => pushedByKey.set(key, i));
  const stored = storedKeys.map((key) => {
    const i = pushedByKey.get(key);
    if (i === undefined) return -1;
    pushedByKey.delete(key);
    return i;
  });
  return { stored, added: [...pushedByKey.values()] };
}

/** Sample rows of a metric, as familyToRows writes them. */
function rowCount(m: Metric): number {
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
class Sum {
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

interface Added {
  readonly metric: Metric;
  readonly residues: (Partials | undefined)[];
}

/** One pushed series added to its stored one; a string: the problem. */
function addMetric(
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
  let value = p.value;
  let kept: Partials | undefined;
  if (mode === "sum") {
    const sum = new Sum(s.value, residue).add(p.value);
    value = sum.value;
    kept = sum.residue;
  } else if (mode === "max" || mode === "min") {
    const pick = mode === "max" ? Math.max : Math.min;
    value = Number.isNaN(s.value) ? p.value : pick(s.value, p.value);
  }
  const created = s.createdTimestampMs ?? p.createdTimestampMs;
  const exemplar = p.exemplar ?? s.exemplar;
  // The common case, neither, without spreading empty objects.
  const metric: ScalarMetric = exemplar === undefined && created === undefined
    ? { labels: p.labels, value }
    : {
      labels: p.labels,
      value,
      ...(exemplar === undefined ? {} : { exemplar }),
      ...(created === undefined ? {} : { createdTimestampMs: created }),
    };
  return { metric, residues: [kept] };
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
