/**
 * exact_sum.ts: sums kept as partials are exact and rounded once, as
 * Python's math.fsum (cases from CPython's own test of fsum).
 */
import assert from "node:assert/strict";
import { addExact, roundPartials } from "../../src/push/exact_sum.ts";

function sum(values: readonly number[]): number {
  let partials: number[] = [];
  for (const v of values) partials = addExact(partials, v);
  return roundPartials(partials);
}

Deno.test("sums of partials are math.fsum's", () => {
  const cases: [number[], number][] = [
    [Array(10).fill(0.1), 1],
    [[1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50], 1e-100],
    [[2 ** 53, -0.5, -(2 ** -54)], 2 ** 53 - 1],
    [[2 ** 53, 1.0, 2 ** -100], 2 ** 53 + 2],
    [[2 ** 53 + 10, 1.0, 2 ** -100], 2 ** 53 + 12],
    [[2 ** 53 - 4, 0.5, 2 ** -54], 2 ** 53 - 3],
    [[1.0, 1e-16, 1e-16], 1.0000000000000002],
    [
      Array.from({ length: 1000 }, (_, n) => 1 / (n + 1)),
      7.485470860550345, // float.fromhex('0x1.df11f45f4e61ap+2')
    ],
    [[], 0],
    [[-0], -0],
  ];
  for (const [values, expected] of cases) {
    assert.ok(Object.is(sum(values), expected), `${values.slice(0, 8)}`);
  }
});

Deno.test("the order of the values does not change the sum", () => {
  const values = [0.1, 0.2, 0.3, 1e-3, 123.456, 7.5e9, 1e-9, 2.675, 1 / 3];
  const expected = sum(values);
  let a = 7;
  for (let round = 0; round < 200; round++) {
    const shuffled = [...values];
    for (let i = shuffled.length - 1; i > 0; i--) {
      a = (a * 1103515245 + 12345) % 2 ** 31;
      const j = a % (i + 1);
      [shuffled[i], shuffled[j]] = [
        shuffled[j] as number,
        shuffled[i] as number,
      ];
    }
    assert.equal(sum(shuffled), expected);
  }
  // A plain float sum depends on it.
  assert.notEqual(0.1 + 0.2 + 0.3, 0.3 + 0.2 + 0.1);
  assert.equal(sum([0.1, 0.2, 0.3]), sum([0.3, 0.2, 0.1]));
});

Deno.test("integer sums need one partial; infinities and NaN as plain addition", () => {
  let partials: number[] = [];
  for (let i = 0; i < 1000; i++) partials = addExact(partials, i);
  assert.deepEqual(partials, [499500]);
  assert.deepEqual(addExact([1, 2 ** -60], Infinity), [Infinity]);
  assert.ok(Number.isNaN(roundPartials(addExact([Infinity], -Infinity))));
  assert.ok(Number.isNaN(roundPartials(addExact([1], NaN))));
  assert.deepEqual(addExact([1.7976931348623157e308], 1.7976931348623157e308), [
    Infinity,
  ]);
});
