import assert from "node:assert/strict";
// The OpenMetrics parser's rejected bodies; the accepted ones and the properties are in openmetrics_parse_test.ts.
import {
  ExpositionError,
  type MetricFamily,
} from "../../src/exposition/model.ts";
import { parseOpenMetrics } from "../../src/exposition/openmetrics_parse.ts";

const encoder = new TextEncoder();

function parse(
  text: string,
  options?: { utf8Names?: boolean },
): MetricFamily[] {
  return parseOpenMetrics(encoder.encode(text), options);
}

function assertParseError(
  body: string | Uint8Array,
  line: number,
  detail: string,
  options?: { utf8Names?: boolean },
): void {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  assert.throws(() => parseOpenMetrics(bytes, options), (error: unknown) => {
    assert.ok(error instanceof ExpositionError, `got ${String(error)}`);
    assert.equal(error.line, line);
    assert.equal(
      error.message,
      `text format parsing error in line ${line}: ${detail}`,
    );
    return true;
  });
}

// ---------------------------------------------------------------------------
// Errors

const MISSING_EOF =
  'unexpected end of input; an OpenMetrics body must end with the line "# EOF"';

const BAD_BODIES: readonly {
  name: string;
  body: string;
  line: number;
  detail: string;
}[] = [
  // Structure
  { name: "empty body", body: "", line: 1, detail: MISSING_EOF },
  { name: "no # EOF", body: "a 1\n", line: 2, detail: MISSING_EOF },
  {
    name: "last line without newline",
    body: "a 1\nb 2",
    line: 2,
    detail: MISSING_EOF,
  },
  {
    name: "content after # EOF",
    body: "a 1\n# EOF\nb 2\n",
    line: 3,
    detail: 'unexpected content after "# EOF"',
  },
  {
    name: "blank line",
    body: "a 1\n\n# EOF\n",
    line: 2,
    detail: "blank lines are not allowed",
  },
  {
    name: "CRLF line end",
    body: "a 1\r\n# EOF\n",
    line: 1,
    detail: 'lines must end with "\\n", not "\\r\\n"',
  },
  {
    name: "other comment line",
    body: "a 1\n# just a comment\n# EOF\n",
    line: 2,
    detail:
      'unexpected line starting with "# just a comment"; the only "#" lines allowed are "# HELP", "# TYPE", "# UNIT" and "# EOF"',
  },
  {
    name: "leading space",
    body: " a 1\n# EOF\n",
    line: 1,
    detail: 'expected a metric name or "#" at the start of the line, found " "',
  },
  // Samples
  {
    name: "invalid metric name character",
    body: "a.b 1\n# EOF\n",
    line: 1,
    detail: 'expected a space and a value after "a", found "."',
  },
  {
    name: "no value",
    body: "a\n# EOF\n",
    line: 1,
    detail: 'expected a space and a value after "a", found end of line',
  },
  {
    name: "tab as separator",
    body: "a\t1\n# EOF\n",
    line: 1,
    detail: 'expected a space and a value after "a", found "\\t"',
  },
  {
    name: "two spaces before the value",
    body: "a  1\n# EOF\n",
    line: 1,
    detail: 'expected a number as value, got ""',
  },
  {
    name: "hex float value",
    body: "a 0x1p3\n# EOF\n",
    line: 1,
    detail: 'expected a number as value, got "0x1p3"',
  },
  {
    name: "value with underscore",
    body: "a 1_000\n# EOF\n",
    line: 1,
    detail: 'expected a number as value, got "1_000"',
  },
  {
    name: "value out of range",
    body: "a 1e400\n# EOF\n",
    line: 1,
    detail: 'value "1e400" is out of the float64 range',
  },
  {
    name: "NaN timestamp",
    body: "a 1 NaN\n# EOF\n",
    line: 1,
    detail: 'expected a timestamp in seconds, got "NaN"',
  },
  {
    name: "trailing space after the value",
    body: "a 1 \n# EOF\n",
    line: 1,
    detail: 'expected a timestamp in seconds, got ""',
  },
  {
    name: "a third field after the timestamp",
    body: "a 1 2 3\n# EOF\n",
    line: 1,
    detail:
      'expected the end of the line or " # {…}" after the timestamp, found "3"',
  },
  // Labels
  {
    name: "trailing comma in labels",
    body: 'a{b="c",} 1\n# EOF\n',
    line: 1,
    detail: 'expected a label name, found "}"',
  },
  {
    name: "duplicate label name",
    body: 'a{b="1",b="2"} 1\n# EOF\n',
    line: 1,
    detail: 'duplicate label name "b"',
  },
  {
    name: "reserved __name__ label",
    body: 'a{__name__="x"} 1\n# EOF\n',
    line: 1,
    detail: 'label name "__name__" is reserved',
  },
  {
    name: "unquoted label value",
    body: "a{b=c} 1\n# EOF\n",
    line: 1,
    detail: 'expected \'"\' to start the value of label "b", found "c"',
  },
  {
    name: "unclosed label value",
    body: 'a{b="c} 1\n# EOF\n',
    line: 1,
    detail: 'the value of label "b" is missing its closing \'"\'',
  },
  {
    name: "label name starting with a digit",
    body: 'a{1b="c"} 1\n# EOF\n',
    line: 1,
    detail: 'expected a label name, found "1"',
  },
  {
    name: "quoted name without UTF-8 names",
    body: '{"a.b"} 1\n# EOF\n',
    line: 1,
    detail:
      "expected a label name (quoted names need UTF-8 names enabled), found '\"'"
        .replace("'\"'", '"\\""'),
  },
  // Metadata
  {
    name: "TYPE untyped",
    body: "# TYPE a untyped\n# EOF\n",
    line: 1,
    detail: 'unknown metric type "untyped"; OpenMetrics calls it "unknown"',
  },
  {
    name: "unknown TYPE",
    body: "# TYPE a timer\n# EOF\n",
    line: 1,
    detail:
      'unknown metric type "timer"; expected one of counter, gauge, histogram, gaugehistogram, stateset, info, summary, unknown',
  },
  {
    name: "TYPE with a trailing space",
    body: "# TYPE a gauge \n# EOF\n",
    line: 1,
    detail:
      'unknown metric type "gauge "; expected one of counter, gauge, histogram, gaugehistogram, stateset, info, summary, unknown',
  },
  {
    name: "HELP without text",
    body: "# HELP a\n# EOF\n",
    line: 1,
    detail: 'expected a space and the help text after "a", found end of line',
  },
  {
    name: "second TYPE",
    body: "# TYPE a gauge\n# HELP a x\n# TYPE a gauge\n# EOF\n",
    line: 3,
    detail: 'second TYPE line for metric family "a"',
  },
  {
    name: "second HELP",
    body: "# HELP a x\n# HELP a y\n# EOF\n",
    line: 2,
    detail: 'second HELP line for metric family "a"',
  },
  {
    name: "metadata after samples",
    body: "# TYPE a gauge\na 1\n# HELP a x\n# EOF\n",
    line: 3,
    detail:
      'HELP line for metric family "a" after its samples; metadata must come first',
  },
  {
    name: "unit not a suffix",
    body: "# TYPE a gauge\n# UNIT a seconds\n# EOF\n",
    line: 2,
    detail:
      'unit "seconds" is not a suffix of the metric name "a"; the name must end in "_seconds"',
  },
  {
    name: "unit on an info family",
    body: "# UNIT a_s s\n# TYPE a_s info\n# EOF\n",
    line: 2,
    detail: 'info metric family "a_s" must not have a unit',
  },
  // Families and metrics
  {
    name: "interleaved families",
    body: "# TYPE a gauge\na 1\nb 1\na 2\n# EOF\n",
    line: 4,
    detail:
      'metric family "a" appears a second time; the lines of a family must be contiguous',
  },
  {
    name: "counter sample after another family",
    body: "# TYPE a counter\na_total 1\nb 1\na_total 2\n# EOF\n",
    line: 4,
    detail:
      'sample "a_total" belongs to the earlier metric family "a"; the lines of a family must be contiguous',
  },
  {
    name: "clashing names",
    body: "# TYPE a_created gauge\n# TYPE a counter\n# EOF\n",
    line: 2,
    detail:
      'counter metric family "a" clashes with the earlier family "a_created": both can have samples named "a_created"',
  },
  {
    name: "family name taken by an earlier family's samples",
    body: "# TYPE a histogram\n# TYPE a_count gauge\n# EOF\n",
    line: 2,
    detail:
      'metric family "a_count" clashes with the earlier family "a", which can have samples named "a_count"',
  },
  {
    name: "sample without the counter suffix",
    body: "# TYPE a counter\na 1\n# EOF\n",
    line: 2,
    detail:
      'sample "a" does not fit counter metric family "a", whose samples are named "a_total", "a_created"',
  },
  {
    name: "interleaved metrics",
    body: '# TYPE a gauge\na{x="1"} 1\na{x="2"} 1\na{x="1"} 2\n# EOF\n',
    line: 4,
    detail:
      '"a"{x="1"} appears again after other metrics; the samples of a metric must be contiguous',
  },
  {
    name: "duplicate sample",
    body: 'a{x="1"} 1\na{x="1"} 2\n# EOF\n',
    line: 2,
    detail: 'duplicate sample "a"{x="1"}',
  },
  {
    name: "timestamp on some samples of a metric only",
    body: "a 1 1\na 2\n# EOF\n",
    line: 2,
    detail: 'some samples of "a" have a timestamp and others do not',
  },
  {
    name: "timestamps going backwards",
    body: "a 1 2\na 2 1\n# EOF\n",
    line: 2,
    detail: 'the timestamps of "a" go backwards',
  },
  // Values
  {
    name: "negative counter",
    body: "# TYPE a counter\na_total -1\n# EOF\n",
    line: 2,
    detail: '"a_total" must not be negative, got -1',
  },
  {
    name: "NaN counter",
    body: "# TYPE a counter\na_total NaN\n# EOF\n",
    line: 2,
    detail: '"a_total" must not be NaN',
  },
  {
    name: "_created without _total",
    body: "# TYPE a counter\na_created 1\n# EOF\n",
    line: 2,
    detail: 'counter "a" has a "_created" sample but no "_total" sample',
  },
  {
    name: "_created that is not a timestamp",
    body: "# TYPE a counter\na_total 1\na_created +Inf\n# EOF\n",
    line: 3,
    detail: '"a_created" must be a timestamp in seconds, got +Inf',
  },
  {
    name: "non-integer bucket count",
    body: '# TYPE a histogram\na_bucket{le="+Inf"} 1.5\n# EOF\n',
    line: 2,
    detail: '"a_bucket" must be an integer, got 1.5',
  },
  {
    name: "bucket without le",
    body: "# TYPE a histogram\na_bucket 1\n# EOF\n",
    line: 2,
    detail: 'histogram bucket "a_bucket" has no "le" label',
  },
  {
    name: "le that is not a number",
    body: '# TYPE a histogram\na_bucket{le="x"} 1\n# EOF\n',
    line: 2,
    detail: 'expected a number as the value of label "le", got "x"',
  },
  {
    name: "+Inf bucket not written +Inf",
    body: '# TYPE a histogram\na_bucket{le="Inf"} 1\n# EOF\n',
    line: 2,
    detail: 'write "le" of the +Inf bucket as "+Inf", not "Inf"',
  },
  {
    name: "buckets out of order",
    body: '# TYPE a histogram\na_bucket{le="2"} 0\na_bucket{le="1"} 0\n# EOF\n',
    line: 3,
    detail:
      'buckets of histogram "a" must be sorted by increasing "le"; le="1" comes after le=2',
  },
  {
    name: "bucket counts decreasing",
    body:
      '# TYPE a histogram\na_bucket{le="1"} 2\na_bucket{le="+Inf"} 1\n# EOF\n',
    line: 3,
    detail:
      'bucket le="+Inf" of histogram "a" counts 1, less than the bucket before it (2)',
  },
  {
    name: "histogram without +Inf bucket",
    body: '# TYPE a histogram\na_bucket{le="1"} 0\n# EOF\n',
    line: 2,
    detail: 'histogram "a" has no bucket with le="+Inf"',
  },
  {
    name: "_count not matching the +Inf bucket",
    body:
      '# TYPE a histogram\na_bucket{le="+Inf"} 1\na_count 2\na_sum 1\n# EOF\n',
    line: 4,
    detail: '_count of histogram "a" is 2, but its +Inf bucket counts 1',
  },
  {
    name: "_sum without _count",
    body: '# TYPE a histogram\na_bucket{le="+Inf"} 1\na_sum 1\n# EOF\n',
    line: 3,
    detail: 'histogram "a" has _sum but no _count',
  },
  {
    name: "le label on a histogram _count",
    body: '# TYPE a histogram\na_count{le="1"} 1\n# EOF\n',
    line: 2,
    detail: '"le" is reserved for the buckets of histogram "a"',
  },
  {
    name: "quantile out of range",
    body: '# TYPE a summary\na{quantile="1.5"} 1\n# EOF\n',
    line: 2,
    detail: '"quantile" must be between 0 and 1, got "1.5"',
  },
  {
    name: "negative quantile value",
    body: '# TYPE a summary\na{quantile="0.5"} -1\n# EOF\n',
    line: 2,
    detail: "quantile values must not be negative, got -1",
  },
  {
    name: "stateset value 2",
    body: '# TYPE a stateset\na{a="x"} 2\n# EOF\n',
    line: 2,
    detail: "stateset values must be 0 or 1, got 2",
  },
  {
    name: "stateset sample without its state label",
    body: '# TYPE a stateset\na{b="x"} 1\n# EOF\n',
    line: 2,
    detail: 'stateset sample "a" has no label "a" naming its state',
  },
  {
    name: "info value other than 1",
    body: "# TYPE a info\na_info 0\n# EOF\n",
    line: 2,
    detail: "info values must be 1, got 0",
  },
  // Exemplars
  {
    name: "exemplar on a gauge",
    body: '# TYPE a gauge\na 1 # {t="x"} 1\n# EOF\n',
    line: 2,
    detail:
      'exemplars are allowed only on counter "_total" and histogram "_bucket" samples, not on "a"',
  },
  {
    name: "exemplar without its space",
    body: '# TYPE a counter\na_total 1 #{t="x"} 1\n# EOF\n',
    line: 2,
    detail: 'expected an exemplar " # {labels} value" after the sample',
  },
  {
    name: "exemplar without a value",
    body: '# TYPE a counter\na_total 1 # {t="x"}\n# EOF\n',
    line: 2,
    detail:
      "expected a space and a value after the exemplar labels, found end of line",
  },
  {
    name: "exemplar labels over 128 characters",
    body: `# TYPE a counter\na_total 1 # {t="${"x".repeat(128)}"} 1\n# EOF\n`,
    line: 2,
    detail: "exemplar labels have 129 characters, more than 128",
  },
  {
    name: "exemplar timestamp Inf",
    body: '# TYPE a counter\na_total 1 # {t="x"} 1 Inf\n# EOF\n',
    line: 2,
    detail: 'expected an exemplar timestamp in seconds, got "Inf"',
  },
];

Deno.test("parseOpenMetrics() rejects what OpenMetrics forbids, naming the line", async (t) => {
  for (const c of BAD_BODIES) {
    await t.step(c.name, () => assertParseError(c.body, c.line, c.detail));
  }
});

Deno.test("parseOpenMetrics() rejects quoted names that are empty or doubled", async (t) => {
  const cases = [
    {
      name: "empty metric name",
      body: '{""} 1\n# EOF\n',
      detail: "the metric name is empty",
    },
    {
      name: "two metric names",
      body: '{"a","b"} 1\n# EOF\n',
      detail: "the metric name is given twice",
    },
    {
      name: "no metric name",
      body: '{"a.b"="c"} 1\n# EOF\n',
      detail: "the metric name is missing",
    },
  ];
  for (const c of cases) {
    await t.step(
      c.name,
      () => assertParseError(c.body, 1, c.detail, { utf8Names: true }),
    );
  }
});

Deno.test("parseOpenMetrics() rejects invalid UTF-8 and a byte order mark", async (t) => {
  await t.step("invalid byte on line 2", () => {
    const body = Uint8Array.of(
      ...encoder.encode('a 1\nb{c="'),
      0xff,
      ...encoder.encode('"} 1\n# EOF\n'),
    );
    assertParseError(
      body,
      2,
      "invalid UTF-8 (byte 0xff at offset 9); OpenMetrics text must be UTF-8",
    );
  });
  await t.step("UTF-16 surrogate encoded in UTF-8", () => {
    const body = Uint8Array.of(
      ...encoder.encode('a{b="'),
      0xed,
      0xa0,
      0x80,
      ...encoder.encode('"} 1\n# EOF\n'),
    );
    assertParseError(
      body,
      1,
      "invalid UTF-8 (byte 0xed at offset 5); OpenMetrics text must be UTF-8",
    );
  });
  await t.step("byte order mark", () => {
    assertParseError(
      "\ufeffa 1\n# EOF\n",
      1,
      "a byte order mark is not allowed",
    );
  });
});

Deno.test("parseOpenMetrics() accepts NUL and any UTF-8 in label values and HELP", () => {
  const families = parse(
    '# HELP a nul\u0000 ☃\na{b="\u0000 😀 \\\\"} 1\n# EOF\n',
  );
  assert.deepEqual(families, [{
    name: "a",
    type: "untyped",
    help: "nul\u0000 ☃",
    metrics: [{ labels: [{ name: "b", value: "\u0000 😀 \\" }], value: 1 }],
  }]);
});

// ---------------------------------------------------------------------------
