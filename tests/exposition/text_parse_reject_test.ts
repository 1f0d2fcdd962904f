import assert from "node:assert/strict";
// The text parser's rejected bodies; the accepted ones, fuzzing and the round trip are in text_parse_test.ts.
import { ExpositionError } from "../../src/exposition/model.ts";
import { parseText } from "../../src/exposition/text_parse.ts";
import { type Body, bytesOf, optionsOf } from "./text_bodies.ts";

// ---------------------------------------------------------------------------
// Rejected bodies: Go's line and wording after the prefix
// (docs/compatibility.md, The text format)

interface Rejected extends Body {
  readonly name: string;
  readonly line: number;
  readonly detail: string;
}

const REJECTED: readonly Rejected[] = [
  // End of input
  {
    name: "a missing final newline",
    body: "x 1",
    line: 1,
    detail: "unexpected end of input stream",
  },
  {
    name: "a missing final newline on a later line",
    body: "\nbla 3.14\nblubber 42",
    line: 3,
    detail: "unexpected end of input stream",
  },
  {
    name: "a comment without a final newline",
    body: "m 1\n# just a comment",
    line: 2,
    detail: "unexpected end of input stream",
  },
  {
    name: "a lone # at the end",
    body: "m 1\n#",
    line: 2,
    detail: "unexpected end of input stream",
  },
  {
    name: "a HELP line without a final newline",
    body: "# HELP m text",
    line: 1,
    detail: "unexpected end of input stream",
  },
  {
    name: "a TYPE line ending after the name",
    body: "# TYPE m",
    line: 1,
    detail: "unexpected end of input stream",
  },
  {
    name: "a body ending inside the labels",
    body: 'm{a="1"',
    line: 1,
    detail: "unexpected end of input stream",
  },
  {
    name: "a body ending inside a label value escape",
    body: 'm{a="\\',
    line: 1,
    detail: "unexpected end of input stream",
  },
  {
    name: "a body ending after the timestamp",
    body: "m 1 123",
    line: 1,
    detail: "unexpected end of input stream",
  },
  // Values and timestamps
  {
    name: "CRLF line endings",
    body: "x 1\r\n",
    line: 1,
    detail: 'expected float as value, got "1\\r"',
  },
  {
    name: "a sample without a value",
    body: "done\n",
    line: 1,
    detail: 'expected float as value, got ""',
  },
  {
    name: "a label set without a value",
    body: 'm 1\nm{a="1"}\n',
    line: 2,
    detail: 'expected float as value, got ""',
  },
  {
    name: "a word as value",
    body: "m abc\n",
    line: 1,
    detail: 'expected float as value, got "abc"',
  },
  {
    name: "an underscore in a value",
    body: "m 1_000\n",
    line: 1,
    detail: 'expected float as value, got "1_000"',
  },
  {
    name: "a hex float value",
    body: "m 0x1p3\n",
    line: 1,
    detail: 'expected float as value, got "0x1p3"',
  },
  {
    name: "a hex integer value",
    body: "m 0x10\n",
    line: 1,
    detail: 'expected float as value, got "0x10"',
  },
  {
    name: "a value that overflows float64",
    body: "m 1e400\n",
    line: 1,
    detail: 'expected float as value, got "1e400"',
  },
  {
    name: "a signed NaN",
    body: "m -NaN\n",
    line: 1,
    detail: 'expected float as value, got "-NaN"',
  },
  {
    name: "a value with control and non-ASCII characters, quoted as Go does",
    body: "m 1\x00\x7f\xe2\x80\x8b\xc3\xa9\xff\n",
    raw: true,
    line: 1,
    detail: 'expected float as value, got "1\\x00\\x7f\\u200bé\\xff"',
  },
  {
    name: "a dash in a metric name",
    body: "bad-name 1\n",
    line: 1,
    detail: 'expected float as value, got "-name"',
  },
  {
    name: "a blank after the value",
    body: "x 1 \n",
    line: 1,
    detail: 'expected integer as timestamp, got ""',
  },
  {
    name: "a float timestamp",
    body: "m 1 2.5\n",
    line: 1,
    detail: 'expected integer as timestamp, got "2.5"',
  },
  {
    name: "a timestamp beyond int64",
    body: "m 1 9223372036854775808\n",
    line: 1,
    detail: 'expected integer as timestamp, got "9223372036854775808"',
  },
  {
    name: "a string after the timestamp",
    body: 'x{a="x"} 1 123 456\n',
    line: 1,
    detail: 'spurious string after timestamp: " 456"',
  },
  {
    name: "a blank after the timestamp",
    body: "x 1 123 \n",
    line: 1,
    detail: 'spurious string after timestamp: " "',
  },
  {
    name: "backslashes after the timestamp, which Go drops from the message",
    body: "x 1 123 \\ \n",
    line: 1,
    detail: 'spurious string after timestamp: "  "',
  },
  // Names
  {
    name: "a quoted metric name in legacy mode",
    body: '{"a.b"} 1\n',
    line: 1,
    detail: "invalid metric name",
  },
  {
    name: "a line starting with a brace in legacy mode",
    body: 'm 1\n{a="b"} 2\n',
    line: 2,
    detail: "invalid metric name",
  },
  {
    name: "a quoted metric name without braces in legacy mode",
    body: '"a.b" 1\n',
    line: 1,
    detail: "invalid metric name",
  },
  {
    name: "a metric name starting with a digit",
    body: "1m 1\n",
    line: 1,
    detail: "invalid metric name",
  },
  {
    name: "protobuf bytes sent as text (docs/compatibility.md, Push bodies)",
    body: "\x0a\x01m",
    raw: true,
    line: 2,
    detail: "invalid metric name",
  },
  {
    name: "a bad metric name in a TYPE line",
    body: "\n# TYPE met-ric gauge\n",
    line: 2,
    detail: "invalid metric name in comment",
  },
  {
    name: "a quoted metric name in a TYPE line in legacy mode",
    body: '# TYPE "a.b" gauge\n',
    line: 1,
    detail: "invalid metric name in comment",
  },
  // Labels
  {
    name: "a dash in a label name",
    body: 'm{bad-l="1"} 1\n',
    line: 1,
    detail: "expected '=' after label name, found '-'",
  },
  {
    name: "a label name without value (newest expfmt checks the '=' first)",
    body: "m{__name__} 1\n",
    line: 1,
    detail: "expected '=' after label name, found '}'",
  },
  {
    name: "a label name that cannot start a name",
    body: 'm{@="bla"} 1\n',
    line: 1,
    detail: 'invalid label name for metric "m"',
  },
  {
    name: "a colon starting a label name",
    body: 'm{:a="bla"} 1\n',
    line: 1,
    detail: 'invalid label name for metric "m"',
  },
  {
    name: "a quoted label name in legacy mode",
    body: 'm{"a"="1"} 1\n',
    line: 1,
    detail: 'invalid label name for metric "m"',
  },
  {
    name: "duplicate label names",
    body: 'm{a="1",a="2"} 1\n',
    line: 1,
    detail: 'duplicate label names for metric "m"',
  },
  {
    name: "duplicate quantile labels outside a summary",
    body: 'm{quantile="1",quantile="2"} 1\n',
    line: 1,
    detail: 'duplicate label names for metric "m"',
  },
  {
    name: "the reserved label name __name__",
    body: 'm{__name__="x"} 1\n',
    line: 1,
    detail: 'label name "__name__" is reserved',
  },
  {
    name: "an unquoted label value",
    body: "m{label=bla} 1\n",
    line: 1,
    detail: "expected '\"' at start of label value, found 'b'",
  },
  {
    name: "a non-printable byte where a quote belongs, quoted as Go does",
    body: "m{a=\x85} 1\n",
    raw: true,
    line: 1,
    detail: "expected '\"' at start of label value, found '\\u0085'",
  },
  {
    name: "a label value not followed by a comma or brace",
    body: 'm{label="bla"+} 1\n',
    line: 1,
    detail: 'unexpected end of label value "bla"',
  },
  {
    name: "a \\t escape in a label value",
    body: 'm{a="\\t"} 1\n',
    line: 1,
    detail: "invalid escape sequence '\\t'",
  },
  {
    name: "a backslash before a non-ASCII byte, formatted with %c",
    body: 'm{a="\\\xff"} 1\n',
    raw: true,
    line: 1,
    detail: "invalid escape sequence '\\ÿ'",
  },
  {
    name: "a newline in a label value",
    body: '\nmetric{label="new\nline"} 3.14\n',
    line: 2,
    detail: 'label value "new" contains unescaped new-line',
  },
  {
    name: "invalid UTF-8 in a label value",
    body: 'm{a="\xff"} 1\n',
    raw: true,
    line: 1,
    detail: 'invalid label value "\\xff"',
  },
  {
    name: "a UTF-16 surrogate encoded in a label value",
    body: 'm{a="x\xed\xa0\x80"} 1\n',
    raw: true,
    line: 1,
    detail: 'invalid label value "x\\xed\\xa0\\x80"',
  },
  {
    name: "an overlong encoding in an escaped label value",
    body: 'm{a="\\n\xc0\x80"} 1\n',
    raw: true,
    line: 1,
    detail: 'invalid label value "\\n\\xc0\\x80"',
  },
  // Comments
  {
    name: "an unknown metric type",
    body: "# TYPE m foo\n",
    line: 1,
    detail: 'unknown metric type "foo"',
  },
  {
    name: "a blank after the metric type",
    body: "# TYPE m gauge \n",
    line: 1,
    detail: 'unknown metric type "gauge "',
  },
  {
    name: "a second TYPE line",
    body: "\n# TYPE m counter\n# TYPE m untyped\n",
    line: 3,
    detail:
      'second TYPE line for metric name "m", or TYPE reported after samples',
  },
  {
    name: "a TYPE line after samples",
    body: "\nm 4.12\n# TYPE m counter\n",
    line: 3,
    detail:
      'second TYPE line for metric name "m", or TYPE reported after samples',
  },
  {
    name: "a TYPE line for a summary's _count",
    body: "# TYPE s summary\n# TYPE s_count counter\n",
    line: 2,
    detail:
      'second TYPE line for metric name "s", or TYPE reported after samples',
  },
  {
    name: "a second HELP line",
    body: "\n# HELP m one\n# HELP m two\n",
    line: 3,
    detail: 'second HELP line for metric name "m"',
  },
  {
    name: "a \\t escape in HELP",
    body: "# HELP m a\\tb\n",
    line: 1,
    detail: "invalid escape sequence '\\t'",
  },
  // Summaries and histograms
  {
    name: "a quantile that is not a float",
    body: '\n# TYPE s summary\ns{quantile="x"} 1\n',
    line: 3,
    detail: "expected float as value for 'quantile' label, got \"x\"",
  },
  {
    name: "a hex quantile",
    body: '# TYPE s summary\ns{quantile="0x1p-3"} 1\n',
    line: 2,
    detail: "expected float as value for 'quantile' label, got \"0x1p-3\"",
  },
  {
    name: "an le that is not a float",
    body: '# TYPE h histogram\nh_bucket{le="bla"} 1\n',
    line: 2,
    detail: "expected float as value for 'le' label, got \"bla\"",
  },
  {
    name: "a negative histogram count (newest expfmt)",
    body: '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count -2693\n',
    line: 3,
    detail: 'negative count for histogram "h"',
  },
  {
    name: "a negative float histogram count (newest expfmt)",
    body: "# TYPE h histogram\nh_count -0.5\n",
    line: 2,
    detail: 'negative count for histogram "h"',
  },
  {
    name: "a negative bucket population (newest expfmt)",
    body: '# TYPE h histogram\nh_bucket{le="1"} -412\n',
    line: 2,
    detail: 'negative bucket population for histogram "h"',
  },
  // UTF-8 names
  {
    name: "two quoted metric names in UTF-8 mode",
    body: '{"one.name","another.name"} 3.14\n',
    utf8Names: true,
    line: 1,
    detail: 'multiple metric names for metric "one.name"',
  },
  {
    name: "a bad escape in a quoted metric name in UTF-8 mode",
    body: '{"a\\xc5z",label="bla"} 3.14\n',
    utf8Names: true,
    line: 1,
    detail: "invalid escape sequence '\\x'",
  },
  {
    name: "a quoted metric name followed by a dot in UTF-8 mode",
    body: '{"metric.name".label="bla"} 3.14\n',
    utf8Names: true,
    line: 1,
    detail: "unexpected end of metric name '.'",
  },
  {
    name: "a newline in a quoted metric name in UTF-8 mode",
    body: '\n# TYPE "metric\nname" counter\n',
    utf8Names: true,
    line: 2,
    detail: 'metric name "metric" contains unescaped new-line',
  },
  {
    name: "a newline in a quoted label name in UTF-8 mode",
    body: '\n{"metric.name","new\nline"="bla"} 3.14\n',
    utf8Names: true,
    line: 2,
    detail: 'label name "new" contains unescaped new-line',
  },
  {
    name: "empty braces in UTF-8 mode",
    body: "{} 3.14\n",
    utf8Names: true,
    line: 1,
    detail: "invalid metric name",
  },
  {
    name: "braces without a metric name after a sample in UTF-8 mode",
    body: 'm 1\n{a="b"} 2\n',
    utf8Names: true,
    line: 2,
    detail: "invalid metric name",
  },
  {
    name: "an empty quoted metric name in UTF-8 mode",
    body: '"" 1\n',
    utf8Names: true,
    line: 1,
    detail: "invalid metric name",
  },
  {
    name: "an empty quoted metric name in a TYPE line in UTF-8 mode",
    body: '# TYPE "" gauge\n',
    utf8Names: true,
    line: 1,
    detail: 'invalid metric name ""',
  },
  {
    name: "invalid UTF-8 in a quoted metric name in UTF-8 mode",
    body: '{"\xff"} 1\n',
    raw: true,
    utf8Names: true,
    line: 1,
    detail: 'invalid metric name "\\xff"',
  },
  {
    name: "invalid UTF-8 in a quoted label name in UTF-8 mode",
    body: 'm{"a\xff"="v"} 1\n',
    raw: true,
    utf8Names: true,
    line: 1,
    detail: 'invalid label name "a\\xff"',
  },
  {
    name: "duplicate labels before the quoted name in UTF-8 mode",
    body: '{a="1",a="2","m"} 1\n',
    utf8Names: true,
    line: 1,
    detail: 'duplicate label names for metric ""',
  },
  {
    name: "the same label quoted and unquoted in UTF-8 mode",
    body: 'm{a="1","a"="2"} 1\n',
    utf8Names: true,
    line: 1,
    detail: 'duplicate label names for metric "m"',
  },
  {
    name: "a bad quantile before the quoted summary name in UTF-8 mode",
    body: '# TYPE "s.x" summary\n{quantile="x","s.x"} 1\n',
    utf8Names: true,
    line: 2,
    detail: "expected float as value for 'quantile' label, got \"x\"",
  },
];

Deno.test("parseText() rejects what Go's expfmt rejects, with its line and message", async (t) => {
  for (const c of REJECTED) {
    await t.step(c.name, () => {
      assert.throws(
        () => parseText(bytesOf(c), optionsOf(c)),
        (error: unknown) => {
          assert.ok(
            error instanceof ExpositionError,
            `not an ExpositionError: ${error}`,
          );
          assert.equal(error.line, c.line);
          assert.equal(
            error.message,
            `text format parsing error in line ${c.line}: ${c.detail}`,
          );
          return true;
        },
      );
    });
  }
});
