import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ExpositionError,
  type HistogramMetric,
  type Label,
  type MetricFamily,
  type MetricType,
  type ScalarMetric,
  type SummaryMetric,
} from "../../src/exposition/model.ts";
import { formatGoFloat } from "../../src/exposition/float.ts";
import { parseText } from "../../src/exposition/text_parse.ts";
import { type Body, bytesOf, optionsOf } from "./text_bodies.ts";

const encoder = new TextEncoder();

function labels(record: Record<string, string> = {}): Label[] {
  return Object.entries(record).map(([name, value]) => ({ name, value }));
}

function family(
  name: string,
  type: MetricType,
  metrics: readonly (ScalarMetric | SummaryMetric | HistogramMetric)[],
  help?: string,
): MetricFamily {
  return { name, help, type, metrics } as MetricFamily;
}

function sample(
  value: number,
  record: Record<string, string> = {},
  timestampMs?: number,
): ScalarMetric {
  return timestampMs === undefined
    ? { labels: labels(record), value }
    : { labels: labels(record), value, timestampMs };
}

function summary(
  record: Record<string, string>,
  sampleCount: number,
  sampleSum: number,
  quantiles: readonly [number, number][],
): SummaryMetric {
  return {
    labels: labels(record),
    sampleCount,
    sampleSum,
    quantiles: quantiles.map(([quantile, value]) => ({ quantile, value })),
  };
}

function histogram(
  record: Record<string, string>,
  sampleCount: number,
  sampleSum: number,
  buckets: readonly [number, number][],
  sampleCountFloat?: number,
): HistogramMetric {
  const metric = {
    labels: labels(record),
    sampleCount,
    sampleSum,
    buckets: buckets.map(([upperBound, cumulativeCount]) => ({
      upperBound,
      cumulativeCount,
    })),
  };
  return sampleCountFloat === undefined
    ? metric
    : { ...metric, sampleCountFloat };
}

// ---------------------------------------------------------------------------
// Accepted bodies (docs/compatibility.md, The text format)

interface Accepted extends Body {
  readonly name: string;
  readonly want: readonly MetricFamily[];
}

const ACCEPTED: readonly Accepted[] = [
  { name: "an empty body", body: "", want: [] },
  {
    name: "blank and whitespace-only lines, and a last line of blanks",
    body: "\n \n\t\nm 1\n\n  \t",
    want: [family("m", "untyped", [sample(1)])],
  },
  {
    name: "leading spaces and tabs, and a tab as separator",
    body: "  \tm\t1\n",
    want: [family("m", "untyped", [sample(1)])],
  },
  {
    name: "empty braces",
    body: "m{} 1\n",
    want: [family("m", "untyped", [sample(1)])],
  },
  {
    name: "a trailing comma in the label list and blanks around labels",
    body: 'm{ a = "1" , b="2",} 1\n',
    want: [family("m", "untyped", [sample(1, { a: "1", b: "2" })])],
  },
  {
    name: "no blank between the braces and the value",
    body: 'm{a="1"}2\n',
    want: [family("m", "untyped", [sample(2, { a: "1" })])],
  },
  {
    name: "unknown comments, with or without a blank after #",
    body: "# FOO bar\n#comment\n#\n# \n# HELP\n# TYPE\n# EOF\nm 1\n",
    want: [family("m", "untyped", [sample(1)])],
  },
  {
    name: "names with colons and underscores",
    body: "_:a:b_c9 1\n",
    want: [family("_:a:b_c9", "untyped", [sample(1)])],
  },
  {
    name: "Go float syntax for values",
    body: [
      "a 1e3",
      "b .5",
      "c Inf",
      "d +inf",
      "e -Infinity",
      "f NaN",
      "g nan",
      "h -0",
      "i 5.",
      "j 1E-2",
      "k 007",
      "l 1e-400",
      "",
    ].join("\n"),
    want: [
      family("a", "untyped", [sample(1000)]),
      family("b", "untyped", [sample(0.5)]),
      family("c", "untyped", [sample(Infinity)]),
      family("d", "untyped", [sample(Infinity)]),
      family("e", "untyped", [sample(-Infinity)]),
      family("f", "untyped", [sample(NaN)]),
      family("g", "untyped", [sample(NaN)]),
      family("h", "untyped", [sample(-0)]),
      family("i", "untyped", [sample(5)]),
      family("j", "untyped", [sample(0.01)]),
      family("k", "untyped", [sample(7)]),
      family("l", "untyped", [sample(0)]),
    ],
  },
  {
    name: "timestamps, which are kept for the validator to refuse",
    body: "a 1 1234567890123\nb 2 -5\nc 3\t+7\n",
    want: [
      family("a", "untyped", [sample(1, {}, 1234567890123)]),
      family("b", "untyped", [sample(2, {}, -5)]),
      family("c", "untyped", [sample(3, {}, 7)]),
    ],
  },
  {
    name: "samples of one family that are not contiguous",
    body: 'm 1\nn 2\nm{a="2"} 3\n',
    want: [
      family("m", "untyped", [sample(1), sample(3, { a: "2" })]),
      family("n", "untyped", [sample(2)]),
    ],
  },
  {
    name: "TYPE and HELP lines, any case for the type",
    body:
      "# HELP c Count.\n# TYPE c COUNTER\nc 1\n# TYPE g Gauge\ng -2\n# TYPE u untyped\nu 3\n",
    want: [
      family("c", "counter", [sample(1)], "Count."),
      family("g", "gauge", [sample(-2)]),
      family("u", "untyped", [sample(3)]),
    ],
  },
  {
    name: "a counter without checking its value",
    body: "# TYPE c counter\nc -1\n",
    want: [family("c", "counter", [sample(-1)])],
  },
  {
    name: 'HELP escapes \\\\, \\n and (newest expfmt) \\"',
    body:
      '# HELP m a \\\\ b\\nc \\"d\\" e\t\n# HELP n  two  blanks \nm 1\nn 1\n',
    want: [
      family("m", "untyped", [sample(1)], 'a \\ b\nc "d" e\t'),
      family("n", "untyped", [sample(1)], "two  blanks "),
    ],
  },
  {
    name: "a HELP line with nothing after the name, then a real one",
    body: "# HELP m\n# HELP m \n# HELP m Now.\nm 1\n",
    want: [family("m", "untyped", [sample(1)], "Now.")],
  },
  {
    name: "families without samples, which are dropped",
    body:
      "# HELP a A.\n# TYPE b gauge\n# TYPE s summary\n# TYPE h histogram\nc 1\n",
    want: [family("c", "untyped", [sample(1)])],
  },
  {
    name: "families in the order their names first appear, HELP included",
    body: "# HELP z Z.\nb 1\nz 2\na 3\nb 4\n",
    want: [
      family("z", "untyped", [sample(2)], "Z."),
      family("b", "untyped", [sample(1), sample(4)]),
      family("a", "untyped", [sample(3)]),
    ],
  },
  {
    name: "an OpenMetrics body as untyped samples (Push bodies)",
    body: "# TYPE om counter\nom_total 1\n# EOF\n",
    want: [family("om_total", "untyped", [sample(1)])],
  },
  {
    name: "_count and _sum without a summary TYPE as their own families",
    body: "foo_count 1\nfoo_sum 2\nfoo 3\n",
    want: [
      family("foo_count", "untyped", [sample(1)]),
      family("foo_sum", "untyped", [sample(2)]),
      family("foo", "untyped", [sample(3)]),
    ],
  },
  {
    name: "label values with escapes, a literal tab, UTF-8 and a BOM",
    body: 'm{a="x\\\\y\\"z\\n",b="\tt",c="é😀",d="\ufeffbom",e=""} 1\n',
    want: [
      family("m", "untyped", [
        sample(1, { a: 'x\\y"z\n', b: "\tt", c: "é😀", d: "\ufeffbom", e: "" }),
      ]),
    ],
  },
  {
    name: "long names and label values",
    body: `${"n".repeat(40)}{a="${"v".repeat(13)}",b="${
      "w".repeat(5000)
    }"} 1\n`,
    want: [
      family("n".repeat(40), "untyped", [
        sample(1, { a: "v".repeat(13), b: "w".repeat(5000) }),
      ]),
    ],
  },
  {
    name: "a summary grouped by label set, in first-seen order",
    body: [
      "# HELP s S.",
      "# TYPE s summary",
      's{a="1",b="x",quantile="0.50"} 1',
      's{a="2",quantile="0.9"} 2',
      's{b="x",a="1",quantile="0.99"} 3',
      's_sum{a="1",b="x"} 10',
      's_count{a="1",b="x"} 1.234567e+06',
      's_count{a="2"} 5',
      "",
    ].join("\n"),
    want: [
      family("s", "summary", [
        summary({ a: "1", b: "x" }, 1234567, 10, [[0.5, 1], [0.99, 3]]),
        summary({ a: "2" }, 5, 0, [[0.9, 2]]),
      ], "S."),
    ],
  },
  {
    name:
      "a summary line without quantile, or with quantile NaN, which records nothing",
    body:
      '# TYPE s summary\ns 1\ns{quantile="NaN"} 2\ns{quantile="0.5",quantile="0.9"} 3\n',
    want: [family("s", "summary", [summary({}, 0, 0, [[0.9, 3]])])],
  },
  {
    name: "a summary count as Go's uint64 conversion (amd64)",
    body: [
      "# TYPE s summary",
      's_count{c="frac"} 1.9',
      's_count{c="neg"} -1',
      's_count{c="nan"} NaN',
      's_count{c="negfrac"} -0.5',
      "",
    ].join("\n"),
    want: [
      family("s", "summary", [
        summary({ c: "frac" }, 1, 0, []),
        summary({ c: "neg" }, 18446744073709551615, 0, []),
        summary({ c: "nan" }, 9223372036854775808, 0, []),
        summary({ c: "negfrac" }, 0, 0, []),
      ]),
    ],
  },
  {
    name: "a histogram with buckets in push order, not sorted",
    body: [
      "# TYPE h histogram",
      'h_bucket{le="1000000",x="1"} 1',
      'h_bucket{x="1",le="1"} 0',
      'h_bucket{le="+Inf",x="1"} 2',
      'h_sum{x="1"} 7.5',
      'h_count{x="1"} 2',
      'h{le="5",x="2"} 1',
      'h_bucket{x="2"} 9',
      "",
    ].join("\n"),
    want: [
      family("h", "histogram", [
        histogram({ x: "1" }, 2, 7.5, [[1e6, 1], [1, 0], [Infinity, 2]]),
        histogram({ x: "2" }, 0, 0, [[5, 1]]),
      ]),
    ],
  },
  {
    name: "a histogram with a float count, which makes all counts floats",
    body:
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="2"} 2.5\nh_count 3\n',
    want: [
      family("h", "histogram", [histogram({}, 0, 0, [[1, 1], [2, 2.5]], 3)]),
    ],
  },
  {
    name: "gauge histograms, as newest expfmt names them",
    body:
      '# TYPE a gauge_histogram\na_bucket{le="1"} 1\n# TYPE b gaugehistogram\nb_count 2\n',
    want: [
      family("a", "gaugehistogram", [histogram({}, 0, 0, [[1, 1]])]),
      family("b", "gaugehistogram", [histogram({}, 2, 0, [])]),
    ],
  },
  {
    name: "a HELP line for a summary's _count, which is the summary's HELP",
    body: "# TYPE s summary\n# HELP s_count S.\ns_count 1\n",
    want: [family("s", "summary", [summary({}, 1, 0, [])], "S.")],
  },
  {
    name: "a family named like a suffix, created before the summary",
    body: "# HELP s_sum Own.\n# TYPE s summary\ns_sum 1\ns_count 2\n",
    want: [
      family("s_sum", "untyped", [sample(1)], "Own."),
      family("s", "summary", [summary({}, 2, 0, [])]),
    ],
  },
  {
    name: "a TYPE with backslashes, which Go drops",
    body: "# TYPE m gau\\ge\nm 1\n",
    want: [family("m", "gauge", [sample(1)])],
  },
  {
    name: "a TYPE with dotless ı, which Go upper-cases to I",
    body: '# TYPE h hıstogram\nh_bucket{le="1"} 1\n',
    want: [family("h", "histogram", [histogram({}, 0, 0, [[1, 1]])])],
  },
  {
    name: "labels named __x, left to the validator",
    body: 'm{__x="1"} 1\n',
    want: [family("m", "untyped", [sample(1, { __x: "1" })])],
  },
  // UTF-8 names (docs/compatibility.md, UTF-8 names)
  {
    name: "quoted names in UTF-8 mode",
    body:
      '{"another.metric","dotted.label"="v"} 42\n# TYPE "a.b" gauge\n"a.b"{"c d"="1"} 1\n',
    utf8Names: true,
    want: [
      family("another.metric", "untyped", [
        sample(42, { "dotted.label": "v" }),
      ]),
      family("a.b", "gauge", [sample(1, { "c d": "1" })]),
    ],
  },
  {
    name: "labels before the quoted name in UTF-8 mode",
    body: '# TYPE "s.x" summary\n{a="1",quantile="0.5","s.x"} 1\n' +
      '{"s.x",a="1",quantile="0.9"} 2\n{"s.x_sum",a="1"} 3\n',
    utf8Names: true,
    want: [
      family("s.x", "summary", [
        summary({ a: "1" }, 0, 3, [[0.5, 1], [0.9, 2]]),
      ]),
    ],
  },
  {
    name: "escapes and legacy names in UTF-8 mode",
    body: '{"a\\"b\\\\c\\nd"} 1\nplain{x="1"} 2\nm"a.b" 3\n',
    utf8Names: true,
    want: [
      family('a"b\\c\nd', "untyped", [sample(1)]),
      family("plain", "untyped", [sample(2, { x: "1" })]),
      family("ma.b", "untyped", [sample(3)]),
    ],
  },
];

Deno.test("parseText() accepts what Go's expfmt accepts", async (t) => {
  for (const c of ACCEPTED) {
    await t.step(c.name, () => {
      assert.deepStrictEqual(parseText(bytesOf(c), optionsOf(c)), c.want);
    });
  }
});

// ---------------------------------------------------------------------------
// Fuzzing: never anything but success or an ExpositionError

/** Parses in both name modes; returns the errors that are not ExpositionErrors. */
function unexpectedErrors(body: Uint8Array): unknown[] {
  const errors: unknown[] = [];
  for (const utf8Names of [false, true]) {
    try {
      parseText(body, { utf8Names });
    } catch (error) {
      if (!(error instanceof ExpositionError) || !(error.line >= 1)) {
        errors.push(error);
      }
    }
  }
  return errors;
}

const CORPUS = new URL("../fuzz/corpus/text/", import.meta.url);

Deno.test("parseText() replays the fuzz corpus without unexpected errors", async (t) => {
  const names: string[] = [];
  for await (const entry of Deno.readDir(CORPUS)) {
    if (entry.isFile) names.push(entry.name);
  }
  for (const name of names.sort()) {
    await t.step(name, async () => {
      const body = await Deno.readFile(new URL(name, CORPUS));
      assert.deepStrictEqual(unexpectedErrors(body), []);
    });
  }
});

Deno.test("parseText() throws only ExpositionError on random bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (body) => {
      assert.deepStrictEqual(unexpectedErrors(body), []);
    }),
    { seed: 20261125, numRuns: 2000 },
  );
});

/** Pieces of the format, so that random bodies get past the first byte. */
const PIECES = [
  "m",
  "s",
  "h",
  "x",
  "a",
  "le",
  "quantile",
  "_count",
  "_sum",
  "_bucket",
  "__name__",
  ":",
  "{",
  "}",
  '"',
  "=",
  ",",
  "\\",
  "n",
  "t",
  " ",
  "\t",
  "\n",
  "\n",
  "1",
  "-0.5",
  "1e3",
  "+Inf",
  "NaN",
  ".",
  "#",
  "# ",
  "HELP",
  "TYPE",
  "summary",
  "histogram",
  "gauge",
  "\r",
  "\xff",
  "é",
  '"a.b"',
  "9223372036854775808",
];

Deno.test("parseText() throws only ExpositionError on random format pieces", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }),
      (pieces) => {
        const body = Uint8Array.from(
          pieces.join(""),
          (char) => char === "é" ? 0xe9 : char.charCodeAt(0) & 0xff,
        );
        assert.deepStrictEqual(unexpectedErrors(body), []);
      },
    ),
    { seed: 7, numRuns: 3000 },
  );
});

// ---------------------------------------------------------------------------
// Round trip: what the text format can say, parseText() reads back

const NAME = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,10}$/);
const LABEL_NAME = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/).filter((
  name,
) => name !== "__name__");

function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll(
    "\n",
    "\\n",
  );
}

Deno.test("parseText() reads back untyped samples as written", () => {
  const series = fc.record({
    labels: fc.uniqueArray(
      fc.tuple(LABEL_NAME, fc.string({ unit: "grapheme" })),
      {
        maxLength: 4,
        selector: ([name]) => name,
      },
    ),
    value: fc.double(),
    timestampMs: fc.option(
      fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
      {
        nil: undefined,
      },
    ),
  });
  fc.assert(
    fc.property(
      fc.dictionary(NAME, fc.array(series, { minLength: 1, maxLength: 3 })),
      (byName) => {
        let text = "";
        const want: MetricFamily[] = [];
        for (const [name, list] of Object.entries(byName)) {
          for (const { labels: pairs, value, timestampMs } of list) {
            const rendered = pairs.map(([n, v]) =>
              `${n}="${escapeLabelValue(v)}"`
            ).join(",");
            text += `${name}{${rendered}} ${formatGoFloat(value)}`;
            text += timestampMs === undefined ? "\n" : ` ${timestampMs}\n`;
          }
          want.push(family(
            name,
            "untyped",
            list.map(({ labels: pairs, value, timestampMs }) =>
              sample(value, Object.fromEntries(pairs), timestampMs)
            ),
          ));
        }
        assert.deepStrictEqual(parseText(encoder.encode(text)), want);
      },
    ),
    { seed: 42, numRuns: 300 },
  );
});
