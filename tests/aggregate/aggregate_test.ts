/**
 * aggregate.ts: how a pushed family meets the stored one, type by type,
 * and the problems that refuse it.
 */
import assert from "node:assert/strict";
import type {
  HistogramMetric,
  MetricFamily,
  NativeHistogram,
} from "../../src/exposition/model.ts";
import { addFamily, addFamilySteps } from "../../src/push/aggregate.ts";
import { addExact, roundPartials } from "../../src/push/exact_sum.ts";
import { addNative } from "../../src/push/native_sum.ts";

const gauge = (values: [string, number][]): MetricFamily => ({
  name: "g",
  help: undefined,
  type: "gauge",
  metrics: values.map(([l, value]) => ({
    labels: [{ name: "l", value: l }],
    value,
  })),
});

function added(
  stored: MetricFamily | undefined,
  pushed: MetricFamily,
  mode: "last" | "sum" | "max" | "min" = "last",
) {
  const result = addFamily(
    stored && { family: stored, residues: [] },
    pushed,
    mode,
  );
  if (!result.ok) throw new Error(result.problem);
  return result.summed;
}

Deno.test("gauges: last, sum, max, min; new series after the stored ones", () => {
  const stored = gauge([["a", 5], ["b", 1]]);
  const pushed = gauge([["c", 7], ["a", 2]]);
  const values = (m: "last" | "sum" | "max" | "min") =>
    added(stored, pushed, m).family.metrics.map((x) =>
      "value" in x ? x.value : NaN
    );
  assert.deepEqual(values("last"), [2, 1, 7]);
  assert.deepEqual(values("sum"), [7, 1, 7]);
  assert.deepEqual(values("max"), [5, 1, 7]);
  assert.deepEqual(values("min"), [2, 1, 7]);
  const sum = added(stored, pushed, "sum");
  // The push's metrics: c is the sum's third row, a its first.
  assert.deepEqual(sum.pushedAt, [2, 0]);
});

Deno.test("summaries add count and sum and take the pushed quantiles", () => {
  const summary = (q: number, sum: number, count: number): MetricFamily => ({
    name: "s",
    help: undefined,
    type: "summary",
    metrics: [{
      labels: [],
      sampleSum: sum,
      sampleCount: count,
      quantiles: [{ quantile: 0.5, value: q }],
    }],
  });
  const s = added(summary(1, 0.1, 1), summary(9, 0.2, 2)).family;
  assert.deepEqual(s.metrics[0], {
    labels: [],
    sampleCount: 3,
    sampleSum: 0.30000000000000004,
    quantiles: [{ quantile: 0.5, value: 9 }],
  });
  // The exact sum of 0.1 and 0.2 is kept beyond its rounded value.
  const r = added(summary(1, 0.1, 1), summary(9, 0.2, 2)).residues;
  assert.equal(r.length, 3);
  assert.ok(r[1] !== undefined && r[1].length === 2);
  assert.equal(r[2], undefined);
});

const histogram = (
  bounds: number[],
  n: number,
  native?: NativeHistogram,
): MetricFamily => ({
  name: "h",
  help: undefined,
  type: "histogram",
  metrics: [{
    labels: [{ name: "l", value: "x" }],
    sampleCount: n,
    sampleSum: n / 2,
    buckets: bounds.map((upperBound, i) => ({
      upperBound,
      cumulativeCount: n * (i + 1),
    })),
    ...(native ? { native } : {}),
  }],
});

Deno.test("classic histograms add by bound; other bounds are refused, naming them", () => {
  const h = added(histogram([1, Infinity], 1), histogram([1, Infinity], 2))
    .family.metrics[0] as HistogramMetric;
  assert.deepEqual(h.buckets.map((b) => b.cumulativeCount), [3, 6]);
  assert.equal(h.sampleCount, 3);
  const refused = addFamily(
    { family: histogram([1, Infinity], 1), residues: [] },
    histogram([0.5, Infinity], 1),
    "last",
  );
  assert.deepEqual(refused, {
    ok: false,
    problem:
      'histogram h{l="x"} has buckets le="1",le="+Inf" in this aggregating group; the push has le="0.5",le="+Inf": only histograms with the same bucket bounds are added',
  });
});

const native = (
  schema: number,
  spans: { offset: number; length: number }[],
  deltas: number[],
): NativeHistogram => ({
  schema,
  zeroThreshold: 1e-128,
  zeroCount: 1,
  positiveSpans: spans,
  positiveDeltas: deltas,
  positiveCounts: [],
  negativeSpans: [],
  negativeDeltas: [],
  negativeCounts: [],
});

Deno.test("native histograms add bucket by bucket, spans merged", () => {
  // Buckets 0,1 = 1,2 and 3 = 4, plus buckets 1,2 = 10,10.
  const sum = addNative(
    native(3, [{ offset: 0, length: 2 }, { offset: 1, length: 1 }], [1, 1, 2]),
    native(3, [{ offset: 1, length: 2 }], [10, 0]),
  );
  assert.deepEqual(sum.positiveSpans, [{ offset: 0, length: 4 }]);
  assert.deepEqual(sum.positiveDeltas, [1, 11, -2, -6]); // 1, 12, 10, 4
  assert.equal(sum.zeroCount, 2);
  const refused = addFamily(
    { family: histogram([], 1, native(3, [], [])), residues: [] },
    histogram([], 1, native(2, [], [])),
    "last",
  );
  assert.deepEqual(refused, {
    ok: false,
    problem:
      'native histogram h{l="x"} has schema 3 and zero threshold 1e-128 in this aggregating group; the push has schema 2 and zero threshold 1e-128: only native histograms of the same schema and zero threshold are added',
  });
});

Deno.test("a family pushed as another type is refused", () => {
  const counter: MetricFamily = {
    name: "g",
    help: undefined,
    type: "counter",
    metrics: [{ labels: [{ name: "l", value: "a" }], value: 1 }],
  };
  assert.deepEqual(
    addFamily({ family: gauge([["a", 1]]), residues: [] }, counter, "last"),
    {
      ok: false,
      problem:
        "g is a gauge in this aggregating group; the push has it as a counter",
    },
  );
});

Deno.test("a running counter sum is addExact's, value and residue, whatever the values", () => {
  const values = [
    1,
    2 ** 53,
    1,
    0.1,
    -0.1,
    1e308,
    1e308,
    -Infinity,
    -0,
    0,
    0.3,
    -(2 ** 53),
    NaN,
    5,
  ];
  // Runs starting at each value, so that each meets every kind of sum.
  for (let start = 0; start < values.length; start++) {
    let stored: {
      family: MetricFamily;
      residues: (readonly number[] | undefined)[];
    } | undefined;
    let partials: number[] | undefined;
    for (const x of values.slice(start)) {
      const pushed: MetricFamily = {
        name: "c",
        help: undefined,
        type: "counter",
        metrics: [{ labels: [], value: x }],
      };
      const result = addFamily(stored, pushed, "last");
      if (!result.ok) throw new Error(result.problem);
      partials = partials === undefined ? [x] : addExact(partials, x);
      const metric = result.summed.family.metrics[0] as { value: number };
      assert.ok(Object.is(metric.value, roundPartials(partials)), `${x}`);
      const residue = partials.length > 1 ? partials : undefined;
      assert.deepEqual(result.summed.residues[0], residue);
      stored = {
        family: result.summed.family,
        residues: [...result.summed.residues],
      };
    }
  }
});

Deno.test("a family added a step at a time is the same sum as added at once", () => {
  const n = 5_000; // more than one step of stored series
  const stored = gauge(Array.from({ length: n }, (_, i) => [`s${i}`, i + 0.1]));
  const pushed = gauge(
    Array.from({ length: n + 10 }, (_, i) => [`s${n + 9 - i}`, 0.2]),
  );
  const summed = { family: stored, residues: [] };
  const once = addFamily(summed, pushed, "sum");
  const steps = addFamilySteps(summed, pushed, "sum");
  let step = steps.next();
  let yields = 0;
  for (; step.done !== true && yields < 100; step = steps.next()) yields++;
  assert.ok(yields >= 2);
  assert.deepEqual(step.value, once);
});
