/**
 * Native histograms added for aggregating groups (push/aggregate.ts): two
 * histograms of the same schema and zero threshold, bucket by bucket. Pure.
 * @module
 */

import type { BucketSpan, NativeHistogram } from "../exposition/model.ts";

/**
 * Two native histograms of the same schema and zero threshold added
 * bucket by bucket (by index); integer counts stay integer deltas, a float
 * histogram on either side makes float counts.
 */
export function addNative(
  s: NativeHistogram,
  p: NativeHistogram,
): NativeHistogram {
  const float = s.positiveCounts.length > 0 || s.negativeCounts.length > 0 ||
    p.positiveCounts.length > 0 || p.negativeCounts.length > 0 ||
    s.zeroCountFloat !== undefined || p.zeroCountFloat !== undefined;
  const positive = addBuckets(
    bucketsOf(s.positiveSpans, s.positiveDeltas, s.positiveCounts),
    bucketsOf(p.positiveSpans, p.positiveDeltas, p.positiveCounts),
  );
  const negative = addBuckets(
    bucketsOf(s.negativeSpans, s.negativeDeltas, s.negativeCounts),
    bucketsOf(p.negativeSpans, p.negativeDeltas, p.negativeCounts),
  );
  const pos = encodeBuckets(positive, float);
  const neg = encodeBuckets(negative, float);
  return {
    schema: p.schema,
    zeroThreshold: p.zeroThreshold,
    zeroCount: s.zeroCount + p.zeroCount,
    ...(float
      ? {
        zeroCountFloat: (s.zeroCountFloat ?? s.zeroCount) +
          (p.zeroCountFloat ?? p.zeroCount),
      }
      : {}),
    positiveSpans: pos.spans,
    positiveDeltas: pos.deltas,
    positiveCounts: pos.counts,
    negativeSpans: neg.spans,
    negativeDeltas: neg.deltas,
    negativeCounts: neg.counts,
  };
}

/** Absolute count by bucket index, from spans and deltas (or counts). */
function bucketsOf(
  spans: readonly BucketSpan[],
  deltas: readonly number[],
  counts: readonly number[],
): Map<number, number> {
  const out = new Map<number, number>();
  let index = 0;
  let at = 0;
  let count = 0;
  for (const span of spans) {
    index += span.offset;
    for (let i = 0; i < span.length; i++, at++, index++) {
      if (counts.length > 0) count = counts[at] ?? 0;
      else count += deltas[at] ?? 0;
      out.set(index, count);
    }
  }
  return out;
}

function addBuckets(
  a: Map<number, number>,
  b: Map<number, number>,
): Map<number, number> {
  const out = new Map(a);
  for (const [index, count] of b) out.set(index, (out.get(index) ?? 0) + count);
  return out;
}

function encodeBuckets(buckets: Map<number, number>, float: boolean) {
  const indexes = [...buckets.keys()].sort((x, y) => x - y);
  const spans: BucketSpan[] = [];
  const deltas: number[] = [];
  const counts: number[] = [];
  let next = 0;
  let previous = 0;
  for (let i = 0; i < indexes.length; i++) {
    const index = indexes[i] as number;
    const last = spans[spans.length - 1];
    if (last !== undefined && index === next) {
      spans[spans.length - 1] = {
        offset: last.offset,
        length: last.length + 1,
      };
    } else spans.push({ offset: index - next, length: 1 });
    next = index + 1;
    const count = buckets.get(index) as number;
    if (float) counts.push(count);
    else deltas.push(count - previous);
    previous = count;
  }
  return { spans, deltas, counts };
}
