/**
 * The sums' prepared form made from the push's (prepared_values.ts) is the
 * one preparing the summed family gives, byte for byte; it is declined
 * where the two would differ in more than their values.
 */
import assert from "node:assert/strict";
import type { MetricFamily, ScalarMetric } from "../../src/exposition/model.ts";
import { prepareKeyedFamily } from "../../src/push/prepare.ts";
import { preparedWithValues } from "../../src/push/prepared_values.ts";
import { seriesKeysOf } from "../../src/push/series_key.ts";
import { decodeRendered } from "../../src/push/rendered_blob.ts";
import { drain } from "../../src/store/push_writes.ts";

function scalarFamily(
  n: number,
  type: "counter" | "gauge" | "untyped",
  value: (i: number) => number,
  extra: Partial<ScalarMetric> = {},
): MetricFamily {
  return {
    name: "m",
    help: "with help",
    type,
    metrics: Array.from({ length: n }, (_, i) => ({
      labels: [
        { name: "id", value: `s${i}` },
        // A space, quotes and non-ASCII in a label value.
        { name: "note", value: i % 7 === 0 ? 'é "x" \\ y' : "plain" },
      ],
      value: value(i),
      ...extra,
    })),
  } as MetricFamily;
}

/** The sums' values over the same series: every kind of float text. */
const SUMS = [
  0,
  1,
  0.1 + 0.2,
  -2.5,
  1e21,
  1.5e-300,
  -1.7976931348623157e308,
  Infinity,
  -Infinity,
  123456789,
];

Deno.test("the sums prepared from the push's prepared form are the sums prepared", () => {
  for (const type of ["counter", "gauge", "untyped"] as const) {
    for (const n of [256, 9_000, 20_000]) {
      const pushed = scalarFamily(n, type, (i) => i % 3);
      const sums = scalarFamily(
        n,
        type,
        (i) => SUMS[i % SUMS.length] as number,
      );
      const keys = seriesKeysOf(pushed);
      const expected = prepareKeyedFamily(sums, keys);
      const made = drain(
        preparedWithValues(prepareKeyedFamily(pushed, keys), sums, keys),
      );
      assert.ok(made !== undefined, `${type} ${n}`);
      assert.deepEqual(made.keys, expected.keys);
      assert.deepEqual(made.texts, expected.texts);
      assert.deepEqual(made.rendered, expected.rendered);
      assert.deepEqual(
        decodeRendered(made.rendered as Uint8Array),
        decodeRendered(expected.rendered as Uint8Array),
      );
      assert.deepEqual(
        { ...made.samples, values: [...made.samples.values] },
        { ...expected.samples, values: [...expected.samples.values] },
      );
      assert.equal(made.help, "with help");
    }
  }
});

Deno.test("the sums are prepared again where more than their values differ", () => {
  const n = 300;
  const pushed = scalarFamily(n, "gauge", () => 1);
  const keys = seriesKeysOf(pushed);
  const prepared = prepareKeyedFamily(pushed, keys);
  const declined = (sums: MetricFamily, sumKeys = keys) =>
    drain(preparedWithValues(prepared, sums, sumKeys)) === undefined;
  // A value that takes a sample_extras row.
  assert.ok(declined(scalarFamily(n, "gauge", (i) => i === 5 ? NaN : 1)));
  assert.ok(declined(scalarFamily(n, "gauge", (i) => i === 5 ? -0 : 1)));
  assert.ok(
    declined(scalarFamily(n, "gauge", () => 1, { createdTimestampMs: 5 })),
  );
  // Other series, or the same in another order.
  const other = scalarFamily(n + 1, "gauge", () => 2);
  assert.ok(declined(other, seriesKeysOf(other)));
  const reversed = [...keys].reverse();
  assert.ok(declined(scalarFamily(n, "gauge", () => 2), reversed));
  // Another type; a family with a separator of families.rendered.
  assert.ok(declined(scalarFamily(n, "counter", () => 2)));
  const odd = scalarFamily(n, "gauge", () => 1);
  (odd.metrics[3]?.labels as { name: string; value: string }[])[1] = {
    name: "note",
    value: "a\u0001b",
  };
  const oddKeys = seriesKeysOf(odd);
  assert.equal(
    drain(preparedWithValues(prepareKeyedFamily(odd, oddKeys), odd, oddKeys)),
    undefined,
  );
  // A small family's texts are strings: prepared again.
  const small = scalarFamily(10, "gauge", () => 1);
  const smallKeys = seriesKeysOf(small);
  assert.equal(
    drain(
      preparedWithValues(
        prepareKeyedFamily(small, smallKeys),
        small,
        smallKeys,
      ),
    ),
    undefined,
  );
});
