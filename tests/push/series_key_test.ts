/**
 * `seriesKey()` tells series apart within a family, across groups, so it
 * must be injective like the grouping key: with `--push.enable-utf8-names`
 * a label name may hold `=`, `,`, quotes, spaces or control characters. Each
 * key here is read back into its labels: a key that reads back to its
 * labels cannot be shared by two label sets.
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { Label } from "../../src/exposition/model.ts";
import { seriesKey } from "../../src/push/consistency.ts";

/** Reads a series key back; throws on anything that is not one. */
function readSeriesKey(key: string): Label[] {
  let i: number;
  let count: number;
  if (key[0] === "\xff") {
    count = ((key.charCodeAt(1) - 0x21) << 12) + key.charCodeAt(2) - 0x21;
    i = 3;
  } else {
    count = key.charCodeAt(0) - 0x21;
    i = 1;
  }
  const part = (): string => {
    let out = "";
    while (!key.startsWith("  ", i)) {
      if (i >= key.length) throw new Error(`unterminated part in ${key}`);
      if (key[i] === " ") {
        const c = key.charCodeAt(i + 1) - 0x21;
        if (c < 0 || c > 0x20) throw new Error(`bad escape at ${i}`);
        out += String.fromCharCode(c);
        i += 2;
      } else {
        out += key[i];
        i++;
      }
    }
    i += 2;
    return out;
  };
  const values = Array.from({ length: count }, part);
  const labels = values.map((value) => ({ name: part(), value }));
  assert.equal(i, key.length, `trailing text in ${JSON.stringify(key)}`);
  return labels;
}

const TRICKY = [
  "=",
  '"',
  ",",
  "{",
  "}",
  "\\",
  "\n",
  "\t",
  "\0",
  " ",
  "!",
  "A",
  "a",
  "\xff",
  "é",
  "😀",
] as const;
const text = fc.oneof(
  fc.array(fc.constantFrom(...TRICKY), { maxLength: 6 }).map((c) => c.join("")),
  fc.string({ unit: "binary" }),
);
/** Labels as a series carries them: unique names, sorted. */
const labels = fc.uniqueArray(
  fc.record({ name: text.filter((n) => n !== ""), value: text }),
  { selector: (l) => l.name, maxLength: 5 },
).map((list) =>
  list.map(({ name, value }) => ({ name, value }))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
);

Deno.test("seriesKey() gives every label set a key that reads back to it", () => {
  fc.assert(
    fc.property(labels, (list) => {
      assert.deepEqual(readSeriesKey(seriesKey(list)), list);
    }),
    { seed: 9, numRuns: 5000 },
  );
});

Deno.test("seriesKey() tells apart a UTF-8 name that spells two labels", () => {
  const forged = [{ name: 'a="1",b', value: "2" }, { name: "job", value: "x" }];
  const twoSpaces = [{ name: "a  b", value: "2" }, { name: "job", value: "x" }];
  const plain = [
    { name: "a", value: "1" },
    { name: "b", value: "2" },
    { name: "job", value: "x" },
  ];
  const keys = new Set([forged, twoSpaces, plain].map(seriesKey));
  assert.equal(keys.size, 3);
});

Deno.test("seriesKey() reads back with the long label count form", () => {
  for (const n of [0xdd, 0xde, 0x1000]) {
    const list = Array.from({ length: n }, (_, i) => ({
      name: `l${String(i).padStart(5, "0")}`,
      value: i % 3 === 0 ? "" : ` ${i}`,
    }));
    assert.deepEqual(readSeriesKey(seriesKey(list)), list);
  }
});
