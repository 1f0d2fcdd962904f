import assert from "node:assert/strict";
// The protobuf encoder: round trips through the decoder and the encoding
// in pieces; the decoder's own cases are in protobuf_decode_test.ts.
import fc from "fast-check";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { decodeDelimited } from "../../src/exposition/protobuf_decode.ts";
import {
  encodeDelimited,
  encodeFamilyEnds,
  encodeMetricFields,
  encodeVarint,
} from "../../src/exposition/protobuf_encode.ts";
import { ROUND_TRIP_CASES } from "./protobuf_cases.ts";

Deno.test("decodeDelimited() inverts encodeDelimited() for every metric type", async (t) => {
  for (const c of ROUND_TRIP_CASES) {
    await t.step(c.name, () => {
      assert.deepStrictEqual(
        decodeDelimited(encodeDelimited(c.families)),
        c.families,
      );
    });
  }
  await t.step("all cases in one body", () => {
    const all = ROUND_TRIP_CASES.flatMap((c) => c.families);
    assert.deepStrictEqual(decodeDelimited(encodeDelimited(all)), all);
  });
});

Deno.test("encodeFamilyEnds() and encodeMetricFields() make encodeDelimited()'s bytes, metrics in any order", async (t) => {
  const withUnit: MetricFamily = {
    name: "bytes_total",
    help: "With a unit.",
    unit: "bytes",
    type: "counter",
    metrics: [
      { labels: [{ name: "a", value: "1" }], value: 1 },
      { labels: [{ name: "a", value: "2" }], value: 2 },
    ],
  };
  const cases = [
    ...ROUND_TRIP_CASES,
    { name: "a family with a unit", families: [withUnit] },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      for (const family of c.families) {
        const { head, tail } = encodeFamilyEnds(family);
        const ends: number[] = [];
        const fields = encodeMetricFields(family, ends);
        assert.equal(ends.length, family.metrics.length);
        // Sent backwards, as a scrape sends series read out of order.
        const reversed = { ...family, metrics: [...family.metrics].reverse() };
        const parts = [head];
        for (let i = ends.length - 1; i >= 0; i--) {
          parts.push(fields.subarray(i === 0 ? 0 : ends[i - 1], ends[i]));
        }
        parts.push(tail);
        const length = parts.reduce((n, p) => n + p.length, 0);
        const body = [...encodeVarint(length), ...parts.flatMap((p) => [...p])];
        assert.deepEqual(
          new Uint8Array(body),
          encodeDelimited([reversed as MetricFamily]),
        );
      }
    });
  }
});

Deno.test("decodeDelimited() inverts encodeDelimited() for generated families", () => {
  // Plain objects, as our decoder builds them (fast-check defaults to
  // null-prototype records, which deepStrictEqual tells apart).
  const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) =>
    fc.record(model, { noNullPrototype: true });
  const name = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,12}$/);
  const labels = fc.array(
    record({
      name: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/),
      value: fc.string({ unit: "grapheme", maxLength: 12 }),
    }),
    { maxLength: 4 },
  );
  const help = fc.option(fc.string({ unit: "grapheme", maxLength: 20 }), {
    nil: undefined,
  });
  const count = fc.maxSafeNat();
  const scalarFamily = record({
    name,
    help,
    type: fc.constantFrom("counter", "gauge", "untyped") as fc.Arbitrary<
      "counter" | "gauge" | "untyped"
    >,
    metrics: fc.array(record({ labels, value: fc.double() }), {
      maxLength: 4,
    }),
  });
  const summaryFamily = record({
    name,
    help,
    type: fc.constant("summary" as const),
    metrics: fc.array(
      record({
        labels,
        sampleCount: count,
        sampleSum: fc.double(),
        quantiles: fc.array(
          record({ quantile: fc.double(), value: fc.double() }),
          { maxLength: 4 },
        ),
      }),
      { maxLength: 3 },
    ),
  });
  const histogramFamily = record({
    name,
    help,
    type: fc.constantFrom("histogram", "gaugehistogram") as fc.Arbitrary<
      "histogram" | "gaugehistogram"
    >,
    metrics: fc.array(
      record({
        labels,
        sampleCount: count,
        sampleSum: fc.double(),
        buckets: fc.array(
          record({ upperBound: fc.double(), cumulativeCount: count }),
          { maxLength: 5 },
        ),
      }),
      { maxLength: 3 },
    ),
  });
  const families = fc.uniqueArray(
    fc.oneof(scalarFamily, summaryFamily, histogramFamily),
    { selector: (f) => f.name, maxLength: 5 },
  );
  fc.assert(
    fc.property(families, (input: MetricFamily[]) => {
      assert.deepStrictEqual(decodeDelimited(encodeDelimited(input)), input);
    }),
    { seed: 20260521, numRuns: 300 },
  );
});
