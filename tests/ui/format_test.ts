import assert from "node:assert/strict";
import {
  formatAge,
  formatDuration,
  formatPlainDecimal,
  formatTime,
  formatTimeMs,
  nativeBuckets,
} from "../../src/ui/format.ts";

// Expected values are Go's strconv.FormatFloat(v, 'f', -1, 64).
const PLAIN = [
  { name: "integer", value: 42, text: "42" },
  { name: "fraction", value: 12.5, text: "12.5" },
  { name: "large integer", value: 1e21, text: "1000000000000000000000" },
  { name: "large with digits", value: 1.2345e8, text: "123450000" },
  { name: "tiny", value: 1.5e-7, text: "0.00000015" },
  { name: "negative tiny", value: -2.5e-10, text: "-0.00000000025" },
  { name: "negative large", value: -3e6, text: "-3000000" },
  {
    name: "mantissa digits straddle the point",
    value: 1.7954877058604121e9,
    text: "1795487705.8604121",
  },
  {
    name: "max float",
    value: Number.MAX_VALUE,
    text: "17976931348623157" + "0".repeat(292),
  },
  { name: "zero", value: 0, text: "0" },
  { name: "negative zero", value: -0, text: "-0" },
  { name: "NaN", value: NaN, text: "NaN" },
  { name: "+Inf", value: Infinity, text: "+Inf" },
  { name: "-Inf", value: -Infinity, text: "-Inf" },
] as const;

Deno.test("formatPlainDecimal() writes shortest digits without an exponent", async (t) => {
  for (const c of PLAIN) {
    await t.step(
      c.name,
      () => assert.equal(formatPlainDecimal(c.value), c.text),
    );
  }
});

Deno.test("formatTime() writes RFC 3339 in UTC with whole seconds", () => {
  assert.equal(formatTime(1795487705.86), "2026-11-24T02:35:05Z");
  assert.equal(formatTime(0), "1970-01-01T00:00:00Z");
});

Deno.test("formatTimeMs() writes RFC 3339 in UTC with the nearest millisecond", () => {
  assert.equal(formatTimeMs(1795487705.345), "2026-11-24T02:35:05.345Z");
  assert.equal(formatTimeMs(1795487705.3456), "2026-11-24T02:35:05.346Z");
  assert.equal(formatTimeMs(0), "1970-01-01T00:00:00.000Z");
  assert.equal(formatTimeMs(NaN), "invalid time");
});

const AGES = [
  { name: "under a second", seconds: 0.4, text: "just now" },
  { name: "seconds", seconds: 42.9, text: "42s ago" },
  { name: "minutes", seconds: 300, text: "5m ago" },
  { name: "hours", seconds: 3 * 3600 + 59, text: "3h ago" },
  { name: "days", seconds: 12 * 86400, text: "12d ago" },
  { name: "clock skew", seconds: -5, text: "in the future" },
] as const;

Deno.test("formatAge() writes a short relative age", async (t) => {
  for (const c of AGES) {
    await t.step(c.name, () => assert.equal(formatAge(c.seconds), c.text));
  }
});

Deno.test("formatDuration() leaves out leading zero units", () => {
  assert.equal(formatDuration(5), "5s");
  assert.equal(formatDuration(3 * 86400 + 60 + 1), "3d 0h 1m 1s");
});

Deno.test("nativeBuckets() lists populated buckets ascending in interval notation", () => {
  // Schema 0: bucket i is (2^(i-1), 2^i]; deltas 1, 1, -2 give counts 1, 2, 0.
  const buckets = nativeBuckets({
    schema: 0,
    zeroThreshold: 0.001,
    zeroCount: 3,
    positiveSpans: [{ offset: 0, length: 2 }, { offset: 1, length: 1 }],
    positiveDeltas: [1, 1, -2],
    positiveCounts: [],
    negativeSpans: [{ offset: 1, length: 1 }],
    negativeDeltas: [4],
    negativeCounts: [],
  });
  assert.deepEqual(buckets, [
    { interval: "[-2,-1)", count: 4 },
    { interval: "[-0.001,0.001]", count: 3 },
    { interval: "(0.5,1]", count: 1 },
    { interval: "(1,2]", count: 2 },
  ]);
});

Deno.test("nativeBuckets() reads absolute counts of float histograms", () => {
  const buckets = nativeBuckets({
    schema: 1,
    zeroThreshold: 0,
    zeroCount: 0,
    zeroCountFloat: 0,
    positiveSpans: [{ offset: 1, length: 1 }],
    positiveDeltas: [],
    positiveCounts: [2.5],
    negativeSpans: [],
    negativeDeltas: [],
    negativeCounts: [],
  });
  assert.deepEqual(buckets, [{
    interval: "(1,1.4142135623730951]",
    count: 2.5,
  }]);
});
