import assert from "node:assert/strict";
import fc from "fast-check";
import {
  formatGoFloat,
  formatTextFloat,
  parseGoFloat,
  parseGoInt,
} from "../../src/exposition/float.ts";

const ACCEPTED_FLOATS: readonly { text: string; value: number }[] = [
  { text: "0", value: 0 },
  { text: "-0", value: -0 },
  { text: "+0", value: 0 },
  { text: "1e3", value: 1000 },
  { text: "1E3", value: 1000 },
  { text: "1e+3", value: 1000 },
  { text: ".5", value: 0.5 },
  { text: "+.5", value: 0.5 },
  { text: "5.", value: 5 },
  { text: "1.e5", value: 100000 },
  { text: "00.5", value: 0.5 },
  { text: "-12.25e-2", value: -0.1225 },
  { text: "Inf", value: Infinity },
  { text: "+inf", value: Infinity },
  { text: "-INF", value: -Infinity },
  { text: "Infinity", value: Infinity },
  { text: "-infinity", value: -Infinity },
  { text: "NaN", value: NaN },
  { text: "nan", value: NaN },
  { text: "5e-324", value: 5e-324 },
  { text: "4.9e-324", value: 5e-324 },
  { text: "1.7976931348623157e308", value: 1.7976931348623157e308 },
  { text: "1.7976931348623158e308", value: 1.7976931348623157e308 },
  { text: "1e-400", value: 0 },
  { text: "-1e-400", value: -0 },
  { text: "0e99999", value: 0 },
  { text: "0.30000000000000004", value: 0.1 + 0.2 },
];

const REJECTED_FLOATS: readonly string[] = [
  "",
  " 1",
  "1 ",
  "1e400",
  "-1e400",
  "1.7976931348623159e308",
  "1_000",
  "0x1p3",
  "0x1P-3",
  "0x10",
  "0b1",
  "0o1",
  "abc",
  "+NaN",
  "-nan",
  "infin",
  "in",
  "Infinityy",
  "1e",
  "e1",
  ".",
  "-",
  "1.2.3",
  "1\r",
  "１",
];

Deno.test("parseGoFloat() accepts Go's float syntax", async (t) => {
  for (const { text, value } of ACCEPTED_FLOATS) {
    await t.step(JSON.stringify(text), () => {
      assert.ok(
        Object.is(parseGoFloat(text), value),
        `${parseGoFloat(text)} is not ${value}`,
      );
    });
  }
});

Deno.test("parseGoFloat() refuses what Go or expfmt refuses", async (t) => {
  for (const text of REJECTED_FLOATS) {
    await t.step(JSON.stringify(text), () => {
      assert.equal(parseGoFloat(text), undefined);
    });
  }
});

Deno.test("parseGoInt() parses int64 like strconv.ParseInt(s, 10, 64)", async (t) => {
  const cases: readonly { text: string; value: number | undefined }[] = [
    { text: "0", value: 0 },
    { text: "-5", value: -5 },
    { text: "+7", value: 7 },
    { text: "007", value: 7 },
    { text: "1234567890123", value: 1234567890123 },
    { text: "9223372036854775807", value: 9223372036854775807 },
    { text: "-9223372036854775808", value: -9223372036854775808 },
    { text: "9223372036854775808", value: undefined },
    { text: "-9223372036854775809", value: undefined },
    { text: "", value: undefined },
    { text: "-", value: undefined },
    { text: "1.0", value: undefined },
    { text: "1e3", value: undefined },
    { text: "1_0", value: undefined },
    { text: "0x10", value: undefined },
    { text: " 1", value: undefined },
  ];
  for (const { text, value } of cases) {
    await t.step(JSON.stringify(text), () => {
      assert.equal(parseGoInt(text), value);
    });
  }
});

function describe(value: number): string {
  return Object.is(value, -0) ? "-0" : String(value);
}

/**
 * Examples (docs/compatibility.md, Scrapes) and edge values, as Go's
 * FormatFloat(f, 'g', -1, 64) prints them.
 */
const FORMATTED: readonly { value: number; text: string }[] = [
  { value: 99999, text: "99999" },
  { value: 123456, text: "123456" },
  { value: 999999, text: "999999" },
  { value: 1234567, text: "1.234567e+06" },
  { value: 100000, text: "100000" },
  { value: 1e6, text: "1e+06" },
  { value: 1e21, text: "1e+21" },
  { value: 12345678901, text: "1.2345678901e+10" },
  { value: 0.0001, text: "0.0001" },
  { value: 0.00001234, text: "1.234e-05" },
  { value: 0.000001, text: "1e-06" },
  { value: 0.5, text: "0.5" },
  { value: 1.7954877058604121e+09, text: "1.7954877058604121e+09" },
  { value: -1234567, text: "-1.234567e+06" },
  { value: -0.5, text: "-0.5" },
  { value: 0.1 + 0.2, text: "0.30000000000000004" },
  { value: 1e100, text: "1e+100" },
  { value: 5e-324, text: "5e-324" },
  { value: 1.7976931348623157e308, text: "1.7976931348623157e+308" },
  { value: 1, text: "1" },
  { value: 0, text: "0" },
  { value: NaN, text: "NaN" },
  { value: Infinity, text: "+Inf" },
  { value: -Infinity, text: "-Inf" },
];

Deno.test("formatGoFloat() prints like Go's strconv.FormatFloat(f, 'g', -1, 64)", async (t) => {
  for (const { value, text } of [...FORMATTED, { value: -0, text: "-0" }]) {
    await t.step(`${describe(value)} → ${text}`, () => {
      assert.equal(formatGoFloat(value), text);
    });
  }
});

Deno.test("formatTextFloat() prints like expfmt's writeFloat, -0 as 0", async (t) => {
  for (const { value, text } of [...FORMATTED, { value: -0, text: "0" }]) {
    await t.step(`${describe(value)} → ${text}`, () => {
      assert.equal(formatTextFloat(value), text);
    });
  }
});

Deno.test("formatGoFloat() output parses back to the same float64", () => {
  fc.assert(
    fc.property(fc.double(), (value) => {
      const text = formatGoFloat(value);
      assert.ok(
        Object.is(parseGoFloat(text), value),
        `${text} does not read back`,
      );
      assert.match(
        text,
        /^(?:NaN|[+-]Inf|-?[0-9]+(?:\.[0-9]+)?|-?[1-9](?:\.[0-9]+)?e[+-][0-9]{2,3})$/,
      );
    }),
    { seed: 5_2, numRuns: 5000 },
  );
});

Deno.test("parseGoFloat() refuses a long run of digits with a bad end in linear time", () => {
  // The earlier pattern backtracked quadratically here (about 10 s).
  assert.equal(parseGoFloat(`${"1".repeat(100_000)}x`), undefined);
  assert.equal(parseGoFloat("1".repeat(400)), undefined); // overflows float64, as in Go
});

Deno.test("formatGoFloat() writes large integers as toExponential() does, in Go's form", () => {
  const viaExponential = (value: number) => {
    const text = value.toExponential();
    const at = text.indexOf("e");
    const exponent = Number(text.slice(at + 1));
    return `${text.slice(0, at)}e+${String(exponent).padStart(2, "0")}`;
  };
  for (const value of [1e6, 1234567, 1e7, 2 ** 53, 2 ** 53 + 2, -98765432100]) {
    assert.equal(formatGoFloat(value), viaExponential(value));
  }
  fc.assert(
    fc.property(
      fc.double({ min: 1e6, max: 9.99e20, noNaN: true }),
      fc.boolean(),
      (x, negative) => {
        const value = (negative ? -1 : 1) * Math.floor(x);
        assert.equal(formatGoFloat(value), viaExponential(value));
      },
    ),
    { seed: 11, numRuns: 5000 },
  );
});
