import assert from "node:assert/strict";
import type {
  HistogramMetric,
  Label,
  Metric,
  MetricFamily,
  MetricType,
} from "../../src/exposition/model.ts";
import {
  renderFamilies,
  renderFamily,
  renderFamilyHeader,
  renderMetric,
} from "../../src/exposition/text_render.ts";
import {
  compareNames,
  compareSeries,
  compareUtf8,
  sortLabels,
} from "../../src/exposition/sort.ts";

function labels(pairs: Record<string, string>): Label[] {
  return Object.entries(pairs).map(([name, value]) => ({ name, value }));
}

const HEADER_CASES: readonly {
  name: string;
  family: string;
  help: string | undefined;
  type: MetricType;
  expected: string;
}[] = [
  {
    name: "no HELP line when help is undefined",
    family: "m",
    help: undefined,
    type: "counter",
    expected: "# TYPE m counter\n",
  },
  {
    name: "empty HELP keeps the space after the name",
    family: "m",
    help: "",
    type: "gauge",
    expected: "# HELP m \n# TYPE m gauge\n",
  },
  {
    name: "HELP escapes backslash and newline but not quotes",
    family: "m",
    help: 'a \\ b\nc "d"\te',
    type: "untyped",
    expected: '# HELP m a \\\\ b\\nc "d"\te\n# TYPE m untyped\n',
  },
  {
    name: "summary type word",
    family: "s",
    help: "S.",
    type: "summary",
    expected: "# HELP s S.\n# TYPE s summary\n",
  },
  {
    name: "gauge histogram is announced as histogram",
    family: "gh",
    help: undefined,
    type: "gaugehistogram",
    expected: "# TYPE gh histogram\n",
  },
  {
    name: "name outside the legacy rule is quoted",
    family: "my.metric",
    help: "x",
    type: "gauge",
    expected: '# HELP "my.metric" x\n# TYPE "my.metric" gauge\n',
  },
];

Deno.test("renderFamilyHeader() renders HELP and TYPE as expfmt does", async (t) => {
  for (const c of HEADER_CASES) {
    await t.step(c.name, () => {
      assert.deepEqual(
        renderFamilyHeader(c.family, c.help, c.type),
        c.expected,
      );
    });
  }
});

const VALUE_CASES: readonly { value: number; text: string }[] = [
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
  { value: 1795487705.8604121, text: "1.7954877058604121e+09" },
  { value: NaN, text: "NaN" },
  { value: Infinity, text: "+Inf" },
  { value: -Infinity, text: "-Inf" },
  { value: -0, text: "0" },
  { value: 5e-324, text: "5e-324" },
  { value: -1, text: "-1" },
];

Deno.test("renderMetric() formats sample values like Go's writeFloat", async (t) => {
  for (const c of VALUE_CASES) {
    await t.step(`${c.text}`, () => {
      assert.deepEqual(
        renderMetric("m", "gauge", { labels: [], value: c.value }),
        `m ${c.text}\n`,
      );
    });
  }
});

const HISTOGRAM_BASE: HistogramMetric = {
  labels: labels({ job: "j" }),
  sampleCount: 5,
  sampleSum: 3.5,
  buckets: [],
};

const METRIC_CASES: readonly {
  name: string;
  family: string;
  type: MetricType;
  metric: Metric;
  expected: string;
}[] = [
  {
    name: "scalar without labels has no braces",
    family: "up",
    type: "untyped",
    metric: { labels: [], value: 1 },
    expected: "up 1\n",
  },
  {
    name: "label values escape backslash, quote and newline",
    family: "c",
    type: "counter",
    metric: {
      labels: labels({ a: 'x\\y"z\nw', b: "tab\tkept", c: "" }),
      value: 2,
    },
    expected: 'c{a="x\\\\y\\"z\\nw",b="tab\tkept",c=""} 2\n',
  },
  {
    name: "timestamps are never rendered",
    family: "g",
    type: "gauge",
    metric: { labels: labels({ a: "1" }), value: 3, timestampMs: 1000 },
    expected: 'g{a="1"} 3\n',
  },
  {
    name: "UTF-8 label values pass through",
    family: "g",
    type: "gauge",
    metric: { labels: labels({ v: "日本🙂" }), value: 1 },
    expected: 'g{v="日本🙂"} 1\n',
  },
  {
    name: "quoted metric name moves inside the braces",
    family: "my.metric",
    type: "gauge",
    metric: { labels: labels({ "a.b": "1" }), value: 1 },
    expected: '{"my.metric","a.b"="1"} 1\n',
  },
  {
    name: "quoted metric name without labels",
    family: "my.metric",
    type: "gauge",
    metric: { labels: [], value: 1 },
    expected: '{"my.metric"} 1\n',
  },
  {
    name:
      "summary: quantiles in stored order after the labels, then sum and count",
    family: "s",
    type: "summary",
    metric: {
      labels: labels({ job: "j" }),
      sampleCount: 1234567,
      sampleSum: -0,
      quantiles: [{ quantile: 0.9, value: 2 }, { quantile: 0.5, value: NaN }],
    },
    expected: 's{job="j",quantile="0.9"} 2\n' +
      's{job="j",quantile="0.5"} NaN\n' +
      's_sum{job="j"} 0\n' +
      's_count{job="j"} 1.234567e+06\n',
  },
  {
    name: "summary without labels or quantiles",
    family: "s",
    type: "summary",
    metric: { labels: [], sampleCount: 0, sampleSum: 0, quantiles: [] },
    expected: "s_sum 0\ns_count 0\n",
  },
  {
    name: "histogram: +Inf bucket synthesised from the count",
    family: "h",
    type: "histogram",
    metric: {
      ...HISTOGRAM_BASE,
      buckets: [
        { upperBound: 1e6, cumulativeCount: 1 },
        { upperBound: 0.1, cumulativeCount: 0 },
      ],
    },
    expected: 'h_bucket{job="j",le="1e+06"} 1\n' +
      'h_bucket{job="j",le="0.1"} 0\n' +
      'h_bucket{job="j",le="+Inf"} 5\n' +
      'h_sum{job="j"} 3.5\n' +
      'h_count{job="j"} 5\n',
  },
  {
    name: "histogram: a stored +Inf bucket is kept where it is, none added",
    family: "h",
    type: "histogram",
    metric: {
      ...HISTOGRAM_BASE,
      buckets: [
        { upperBound: Infinity, cumulativeCount: 5 },
        { upperBound: -0, cumulativeCount: 1 },
      ],
    },
    expected: 'h_bucket{job="j",le="+Inf"} 5\n' +
      'h_bucket{job="j",le="0"} 1\n' +
      'h_sum{job="j"} 3.5\n' +
      'h_count{job="j"} 5\n',
  },
  {
    name: "histogram: native-only renders the +Inf bucket, sum and count",
    family: "h",
    type: "histogram",
    metric: {
      ...HISTOGRAM_BASE,
      labels: [],
      native: {
        schema: 3,
        zeroThreshold: 1e-128,
        zeroCount: 1,
        positiveSpans: [{ offset: 0, length: 1 }],
        positiveDeltas: [4],
        positiveCounts: [],
        negativeSpans: [],
        negativeDeltas: [],
        negativeCounts: [],
      },
    },
    expected: 'h_bucket{le="+Inf"} 5\nh_sum 3.5\nh_count 5\n',
  },
  {
    name: "histogram: a non-zero float count overrides the integer count",
    family: "h",
    type: "gaugehistogram",
    metric: {
      ...HISTOGRAM_BASE,
      sampleCount: 0,
      sampleCountFloat: 2.5,
      buckets: [{ upperBound: 1, cumulativeCount: 1.5 }],
    },
    expected: 'h_bucket{job="j",le="1"} 1.5\n' +
      'h_bucket{job="j",le="+Inf"} 2.5\n' +
      'h_sum{job="j"} 3.5\n' +
      'h_count{job="j"} 2.5\n',
  },
  {
    name: "histogram: a zero float count falls back to the integer count",
    family: "h",
    type: "histogram",
    metric: { ...HISTOGRAM_BASE, sampleCountFloat: 0 },
    expected: 'h_bucket{job="j",le="+Inf"} 5\n' +
      'h_sum{job="j"} 3.5\n' +
      'h_count{job="j"} 5\n',
  },
];

Deno.test("renderMetric() renders every line of one series", async (t) => {
  for (const c of METRIC_CASES) {
    await t.step(c.name, () => {
      assert.deepEqual(renderMetric(c.family, c.type, c.metric), c.expected);
    });
  }
});

Deno.test("renderFamily() renders nothing for a family without metrics", () => {
  assert.deepEqual(
    renderFamily({ name: "e", help: "H", type: "gauge", metrics: [] }),
    "",
  );
});

Deno.test("renderFamilies() concatenates families in the order given", () => {
  const families: MetricFamily[] = [
    {
      name: "a",
      help: "A.",
      type: "counter",
      metrics: [{ labels: labels({ x: "1" }), value: 1 }, {
        labels: labels({ x: "2" }),
        value: 2,
      }],
    },
    { name: "b", help: undefined, type: "gauge", metrics: [] },
    {
      name: "c",
      help: undefined,
      type: "summary",
      metrics: [{ labels: [], sampleCount: 1, sampleSum: 2, quantiles: [] }],
    },
  ];
  assert.deepEqual(
    renderFamilies(families),
    "# HELP a A.\n# TYPE a counter\n" +
      'a{x="1"} 1\na{x="2"} 2\n' +
      "# TYPE c summary\nc_sum 2\nc_count 1\n",
  );
});

/** The reference order: the UTF-8 bytes, compared lexicographically. */
function byteOrder(a: string, b: string): number {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  }
  return x.length - y.length;
}

const STRING_PAIRS: readonly { name: string; a: string; b: string }[] = [
  { name: "prefix first", a: "e", b: "e10" },
  { name: "digit before colon", a: "e9", b: "e:colon" },
  { name: "upper case before lower case", a: "Z", b: "a" },
  { name: "underscore between cases", a: "Z_", b: "_a" },
  { name: "ASCII before Latin-1", a: "z", b: "\u00a0" },
  { name: "BMP-high before astral", a: "\uff5e", b: "🙂" },
  { name: "private use before astral", a: "\ue000", b: "𝄞" },
  { name: "astral vs astral", a: "𝄞", b: "🙂" },
  { name: "astral pair low surrogates", a: "🙂", b: "🙃" },
  { name: "equal", a: "日本", b: "日本" },
  { name: "empty before anything", a: "", b: "\u0000" },
];

Deno.test("compareUtf8() orders strings by their UTF-8 bytes", async (t) => {
  for (const c of STRING_PAIRS) {
    await t.step(c.name, () => {
      assert.deepEqual(
        Math.sign(compareUtf8(c.a, c.b)),
        Math.sign(byteOrder(c.a, c.b)),
      );
      assert.deepEqual(
        Math.sign(compareUtf8(c.b, c.a)),
        Math.sign(byteOrder(c.b, c.a)),
      );
    });
  }
});

Deno.test("compareNames() sorts family names as the Pushgateway does", () => {
  const names = ["go_goroutines", "e:colon", "e9", "e4", "e10", "e", "E", "_x"];
  assert.deepEqual(names.slice().sort(compareNames), [
    "E",
    "_x",
    "e",
    "e10",
    "e4",
    "e9",
    "e:colon",
    "go_goroutines",
  ]);
});

function l(...pairs: [string, string][]): Label[] {
  return pairs.map(([name, value]) => ({ name, value }));
}

Deno.test("sortLabels() sorts by name and returns sorted input as is", async (t) => {
  await t.step("unsorted input gets a sorted copy", () => {
    const input = l(["zeta", "1"], ["alpha", "2"], ["Mid", "3"], ["_u", "4"]);
    assert.deepEqual(
      sortLabels(input),
      l(["Mid", "3"], ["_u", "4"], ["alpha", "2"], ["zeta", "1"]),
    );
    assert.deepEqual(input[0]?.name, "zeta"); // input untouched
  });
  await t.step("sorted input is returned without copying", () => {
    const input = l(["a", "1"], ["b", "2"]);
    assert.equal(sortLabels(input), input);
  });
  await t.step("empty input", () => {
    assert.deepEqual(sortLabels([]), []);
  });
});

const SERIES_ORDER: readonly Label[][] = [
  l(),
  l(["instance", ""], ["job", "p1"]),
  l(["instance", "b"], ["job", "p10"]),
  l(["instance", "i"], ["job", "p3"]),
  l(["instance", ""], ["job", "p1"], ["z", "a"]),
  l(["instance", ""], ["job", "p2"], ["x", "1"]),
  l(["instance", ""], ["job", "u"], ["v", "\uff5e"]),
  l(["instance", ""], ["job", "u"], ["v", "🙂"]),
  l(["a", ""], ["instance", "z"], ["job", "x"]),
  l(["a", "z"], ["instance", ""], ["job", "x"], ["w", "0"]),
];

Deno.test("compareSeries() orders by label count, then values, then names", async (t) => {
  await t.step("a shuffled list sorts into the expected order", () => {
    const shuffled = [...SERIES_ORDER].reverse();
    shuffled.push(...shuffled.splice(0, 3));
    assert.deepEqual(shuffled.sort(compareSeries), SERIES_ORDER);
  });
  await t.step("names only break ties between equal values", () => {
    assert.deepEqual(
      Math.sign(compareSeries(l(["a", "1"]), l(["b", "1"]))),
      -1,
    );
    assert.deepEqual(
      Math.sign(compareSeries(l(["b", "0"]), l(["a", "1"]))),
      -1,
    );
  });
  await t.step("identical label sets compare equal", () => {
    assert.deepEqual(compareSeries(l(["a", "1"]), l(["a", "1"])), 0);
  });
});
