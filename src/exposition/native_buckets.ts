/**
 * The populated buckets of a native histogram as intervals, for people and
 * for the JSON API: negative buckets, the zero bucket, positive buckets,
 * ascending. Pure.
 *
 * Boundaries use the codes of Prometheus' API: 0 `(lower, upper]` (positive
 * buckets), 1 `[lower, upper)` (negative buckets), 3 `[lower, upper]` (the
 * zero bucket). Integer histograms carry deltas, float histograms absolute
 * counts (client_model `metrics.proto`).
 * @module
 */

import type { BucketSpan, NativeHistogram } from "./model.ts";

export interface NativeBucket {
  readonly boundaries: 0 | 1 | 3;
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
}

export function nativeBuckets(native: NativeHistogram): NativeBucket[] {
  const base = Math.pow(2, Math.pow(2, -native.schema));
  const bound = (index: number) => Math.pow(base, index);
  const out: NativeBucket[] = [];
  const negative = expandSpans(
    native.negativeSpans,
    native.negativeDeltas,
    native.negativeCounts,
  ).reverse();
  for (const b of negative) {
    if (b.count === 0) continue;
    out.push({
      boundaries: 1,
      lower: -bound(b.index),
      upper: -bound(b.index - 1),
      count: b.count,
    });
  }
  const zero = native.zeroCountFloat ?? native.zeroCount;
  if (zero > 0) {
    const t = native.zeroThreshold;
    out.push({ boundaries: 3, lower: -t, upper: t, count: zero });
  }
  for (
    const b of expandSpans(
      native.positiveSpans,
      native.positiveDeltas,
      native.positiveCounts,
    )
  ) {
    if (b.count === 0) continue;
    out.push({
      boundaries: 0,
      lower: bound(b.index - 1),
      upper: bound(b.index),
      count: b.count,
    });
  }
  return out;
}

/** Bucket indexes and counts from spans and deltas (or absolute counts). */
function expandSpans(
  spans: readonly BucketSpan[],
  deltas: readonly number[],
  counts: readonly number[],
): { index: number; count: number }[] {
  const out: { index: number; count: number }[] = [];
  let index = 0;
  let k = 0;
  let running = 0;
  for (const span of spans) {
    index += span.offset;
    for (let j = 0; j < span.length; j++, k++, index++) {
      if (counts.length > 0) {
        out.push({ index, count: counts[k] ?? 0 });
      } else {
        running += deltas[k] ?? 0;
        out.push({ index, count: running });
      }
    }
  }
  return out;
}
