/**
 * The arithmetic of aggregating groups (README "Aggregating groups"): a
 * pushed family added to the one the group holds, series by series
 * (metric_sums.ts: counters, histograms and summaries' count and sum
 * exactly; gauges by the push's mode), the stored series in their order
 * and new ones after them. Pure: the store calls it inside its transaction with the values it
 * holds there, so that concurrent contributions add up exactly.
 * @module
 */

import type {
  Metric,
  MetricFamily,
  ScalarMetric,
} from "../exposition/model.ts";
import type { Partials } from "./exact_sum.ts";
import {
  addMetric,
  type GaugeMode,
  gaugeValue,
  rowCount,
  scalarMetric,
  Sum,
} from "./metric_sums.ts";
import { labelsOfSeriesKey, seriesKey } from "./series_key.ts";

export { GAUGE_MODES, type GaugeMode } from "./metric_sums.ts";

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
 * where {@link ScalarSums} hold it, else the family itself. `previous`,
 * the sums it was added to, is no longer kept: its array is written over
 * when it has the right size, so that a family pushed again and again
 * leaves nothing new to collect.
 */
export function keptSums(
  summed: SummedFamily,
  previous?: StoredSums,
): StoredSums {
  const { family } = summed;
  if (
    family.type !== "counter" && family.type !== "gauge" &&
    family.type !== "untyped"
  ) return summed;
  const metrics = family.metrics as readonly ScalarMetric[];
  const reuse = previous !== undefined && !("family" in previous) &&
      previous.type === family.type &&
      previous.values.length === metrics.length
    ? previous
    : undefined;
  const values = reuse?.values ?? new Float64Array(metrics.length);
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
  if (reuse !== undefined && reuse.residues === residues) return reuse;
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
  if (stored !== undefined && !("family" in stored)) {
    const inPlace = addInPlace(stored, pushed, gauge, known);
    if (inPlace !== undefined) return inPlace;
  }
  const sum = startSum(stored, pushed, known);
  if (!("state" in sum)) return sum;
  const problem = addSlice(sum.state, pushed, gauge, sum.state.end);
  return problem === undefined ? endSum(sum.state, pushed) : problem;
}

/**
 * The common case of a small push, in one loop: a scalar family kept as
 * values, pushed again with the same series in the same order. The same
 * sum as {@link addSlice}'s (tests/aggregate/kept_sums_test.ts), without an
 * object per series beyond its metric; undefined when it does not apply.
 */
function addInPlace(
  stored: ScalarSums,
  pushed: MetricFamily,
  gauge: GaugeMode,
  known: KnownKeys,
): MergeResult | undefined {
  const { values } = stored;
  const n = values.length;
  const storedKeys = known.stored;
  const pushedKeys = known.pushed;
  if (
    stored.type !== pushed.type || storedKeys === undefined ||
    pushedKeys === undefined || storedKeys.length !== n ||
    pushedKeys.length !== n || pushed.metrics.length !== n
  ) return undefined;
  for (let i = 0; i < n; i++) {
    if (storedKeys[i] !== pushedKeys[i]) return undefined;
  }
  const mode = pushed.type === "counter" ? "sum" : gauge;
  const metrics: Metric[] = new Array(n);
  const residues: (Partials | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const p = pushed.metrics[i] as ScalarMetric;
    const value = values[i] as number;
    let sum = p.value;
    if (mode === "sum") {
      const exact = new Sum(value, stored.residues[i]).add(p.value);
      sum = exact.value;
      const residue = exact.residue;
      if (residue !== undefined) {
        while (residues.length < i) residues.push(undefined);
        residues[i] = residue;
      }
    } else sum = gaugeValue(value, p.value, mode);
    metrics[i] = scalarMetric(p, sum, p.createdTimestampMs, p.exemplar);
  }
  if (residues.length > 0) {
    while (residues.length < n) residues.push(undefined);
  }
  const family = { ...pushed, metrics } as MetricFamily;
  return {
    ok: true,
    summed: { family, residues, pushedAt: identity(n), keys: storedKeys },
  };
}

/** [0, 1, …, n - 1], shared: a push's places when the sum keeps its order. */
function identity(n: number): readonly number[] {
  let list = IDENTITIES[n];
  if (list === undefined) {
    list = Array.from({ length: n }, (_, i) => i);
    if (n < IDENTITIES.length) IDENTITIES[n] = list;
  }
  return list;
}
const IDENTITIES: (readonly number[] | undefined)[] = new Array(1_024);

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
