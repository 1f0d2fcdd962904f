/**
 * A scalar family's sums kept as values alone (aggregate.ts keptSums) add
 * exactly as the family they were kept from: same sum, residues, series
 * order, keys and places of the pushed series, whatever the push holds
 * (the same series in the same order, summed in one loop; fewer, more, in
 * another order; values that need a residue, NaN, -0, infinities); and
 * families it cannot hold are kept whole.
 */
import assert from "node:assert/strict";
import type { MetricFamily, ScalarMetric } from "../../src/exposition/model.ts";
import {
  type AddedFamily,
  addFamily,
  type GaugeMode,
  keptSums,
  type MergeResult,
} from "../../src/push/aggregate.ts";
import { seriesKeysOf } from "../../src/push/series_key.ts";
import { mulberry32 } from "../../scripts/mulberry32.ts";

const VALUES = [0, 1, 2.5, 0.1, 0.2, 1e300, -3, -0, NaN, Infinity, 7e15, 3];
const LABELS = ["a", "b", "c", "d", "e b", "f\tg"];

function family(
  type: "counter" | "gauge" | "untyped",
  series: [string, number][],
): MetricFamily {
  return {
    name: "x",
    help: undefined,
    type,
    metrics: series.map(([l, value]) => ({
      labels: [{ name: "l", value: l }, { name: "z", value: "1" }],
      value,
    })),
  };
}

function randomFamily(
  rand: () => number,
  type: "counter" | "gauge" | "untyped",
): MetricFamily {
  const pool = [...LABELS].sort(() => rand() - 0.5);
  const n = 1 + Math.floor(rand() * LABELS.length);
  return family(
    type,
    pool.slice(0, n).map((
      l,
    ) => [l, VALUES[Math.floor(rand() * VALUES.length)] as number]),
  );
}

/** `family`'s series again, in its order, with other values. */
function sameSeries(family: MetricFamily, rand: () => number): MetricFamily {
  return {
    name: family.name,
    help: family.help,
    type: family.type as "counter" | "gauge" | "untyped",
    metrics: family.metrics.map((m) => ({
      labels: m.labels,
      value: VALUES[Math.floor(rand() * VALUES.length)] as number,
    })),
  };
}

function summed(result: MergeResult): AddedFamily {
  if (!result.ok) throw new Error(result.problem);
  return result.summed;
}

Deno.test("scalar sums kept as values add as the family they came from", () => {
  const rand = mulberry32(7);
  const types = ["counter", "gauge", "untyped"] as const;
  const modes: GaugeMode[] = ["last", "sum", "max", "min"];
  for (let round = 0; round < 300; round++) {
    const type = types[round % 3] as "counter" | "gauge" | "untyped";
    const mode = modes[Math.floor(round / 3) % 4] as GaugeMode;
    let stored = summed(addFamily(undefined, randomFamily(rand, type), mode));
    let lastKept: ReturnType<typeof keptSums> | undefined;
    for (let step = 0; step < 4; step++) {
      // Half the time the same series in the same order (summed in place).
      const pushed = rand() < 0.5
        ? randomFamily(rand, type)
        : sameSeries(stored.family, rand);
      const known = { stored: stored.keys, pushed: seriesKeysOf(pushed) };
      const whole = addFamily(stored, pushed, mode, known);
      // Written over the array of the values it was added to, as kept.
      const kept = keptSums(stored, lastKept);
      lastKept = kept;
      assert.ok(!("family" in kept), "a plain scalar family is kept as values");
      const fromValues = addFamily(kept, pushed, mode, known);
      assert.deepEqual(
        withoutEmptyResidues(fromValues),
        withoutEmptyResidues(whole),
      );
      stored = summed(whole);
    }
  }
});

Deno.test("the residue of an inexact sum is kept with the values", () => {
  let stored = summed(
    addFamily(undefined, family("counter", [["a", 0.1]]), "sum"),
  );
  for (let i = 0; i < 9; i++) {
    stored = summed(
      addFamily(keptSums(stored), family("counter", [["a", 0.1]]), "sum", {
        stored: stored.keys,
      }),
    );
  }
  assert.equal((stored.family.metrics[0] as ScalarMetric).value, 1);
});

Deno.test("what values alone cannot hold is kept whole", () => {
  const withCreated: MetricFamily = {
    name: "x",
    help: undefined,
    type: "counter",
    metrics: [{ labels: [], value: 1, createdTimestampMs: 5 }],
  };
  const whole = { family: withCreated, residues: [] };
  assert.equal(keptSums(whole), whole);
  const histogram: MetricFamily = {
    name: "h",
    help: undefined,
    type: "histogram",
    metrics: [{
      labels: [],
      sampleCount: 1,
      sampleSum: 1,
      buckets: [{ upperBound: Infinity, cumulativeCount: 1 }],
    }],
  };
  const h = { family: histogram, residues: [] };
  assert.equal(keptSums(h), h);
});

/** A sum's result with its all-empty residues as an empty list. */
function withoutEmptyResidues(result: MergeResult): unknown {
  if (!result.ok) return result;
  const { residues, ...rest } = result.summed;
  return {
    ...rest,
    residues: residues.some((r) => r !== undefined) ? residues : [],
  };
}
