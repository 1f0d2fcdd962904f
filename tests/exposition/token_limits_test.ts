import assert from "node:assert/strict";
import { ExpositionError } from "../../src/exposition/model.ts";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { parseOpenMetrics } from "../../src/exposition/openmetrics_parse.ts";
import { encodeDelimited } from "../../src/exposition/protobuf_encode.ts";
import { decodeDelimited } from "../../src/exposition/protobuf_decode.ts";
import { parseText } from "../../src/exposition/text_parse.ts";
import {
  MAX_NUMBER_BYTES,
  type TokenLimits,
  TokenTooLongError,
} from "../../src/exposition/token_limits.ts";

const LIMITS: TokenLimits = { maxLabelNameBytes: 8, maxLabelValueBytes: 16 };
const utf8 = (s: string) => new TextEncoder().encode(s);

type Parse = (body: Uint8Array, options: { limits: TokenLimits }) => unknown;

interface TooLongCase {
  readonly name: string;
  readonly body: Uint8Array;
  readonly parse: Parse;
  readonly expected: Partial<TokenTooLongError>;
}

function protobufBody(name: string, label: string, value: string): Uint8Array {
  const family: MetricFamily = {
    name,
    help: undefined,
    type: "gauge",
    metrics: [{ labels: [{ name: label, value }], value: 1 }],
  };
  return encodeDelimited([family]);
}

const om = (body: string) => utf8(`${body}# EOF\n`);

const TOO_LONG: readonly TooLongCase[] = [
  {
    name: "text: a label name",
    body: utf8('m{abcdefghi="v"} 1\n'),
    parse: parseText,
    expected: {
      reason: "label_name_too_long",
      metric: "m",
      label: "abcdefghi",
      bytes: 9,
      limit: 8,
    },
  },
  {
    name: "text: a label value, counted in UTF-8 bytes",
    body: utf8(`m_bucket{le="1",a="${"é".repeat(9)}"} 1\n`),
    parse: (body, options) =>
      parseText(
        utf8(`# TYPE m histogram\n${new TextDecoder().decode(body)}`),
        options,
      ),
    expected: {
      reason: "label_value_too_long",
      metric: "m",
      label: "a",
      bytes: 18,
      limit: 16,
    },
  },
  {
    name: "text: an escaped label value, counted unescaped",
    body: utf8(`m{a="${"\\\\".repeat(17)}"} 1\n`),
    parse: parseText,
    expected: { reason: "label_value_too_long", label: "a", bytes: 17 },
  },
  {
    name: "text: a metric name, limited as a label value",
    body: utf8(`${"m".repeat(17)} 1\n`),
    parse: parseText,
    expected: {
      reason: "label_value_too_long",
      metric: "m".repeat(17),
      label: undefined,
      bytes: 17,
    },
  },
  {
    name: "OpenMetrics: a label name",
    body: om('m{abcdefghi="v"} 1\n'),
    parse: parseOpenMetrics,
    expected: { reason: "label_name_too_long", label: "abcdefghi", bytes: 9 },
  },
  {
    name: "OpenMetrics: a label value",
    body: om(`m{a="${"x".repeat(17)}"} 1\n`),
    parse: parseOpenMetrics,
    expected: { reason: "label_value_too_long", label: "a", bytes: 17 },
  },
  {
    name: "OpenMetrics: a metric name in a TYPE line",
    body: om(`# TYPE ${"m".repeat(17)} gauge\n`),
    parse: parseOpenMetrics,
    expected: { reason: "label_value_too_long", label: undefined, bytes: 17 },
  },
  {
    name: "protobuf: a label name",
    body: protobufBody("m", "abcdefghi", "v"),
    parse: decodeDelimited,
    expected: {
      reason: "label_name_too_long",
      metric: "m",
      label: "abcdefghi",
      bytes: 9,
    },
  },
  {
    name: "protobuf: a label value",
    body: protobufBody("m", "a", "x".repeat(17)),
    parse: decodeDelimited,
    expected: { reason: "label_value_too_long", label: "a", bytes: 17 },
  },
  {
    name: "protobuf: a metric name",
    body: protobufBody("m".repeat(17), "a", "v"),
    parse: decodeDelimited,
    expected: { reason: "label_value_too_long", label: undefined, bytes: 17 },
  },
];

Deno.test("The parsers refuse a name or label value over its limit as they read it", async (t) => {
  for (const c of TOO_LONG) {
    await t.step(c.name, () => {
      assert.throws(
        () => c.parse(c.body, { limits: LIMITS }),
        (error: unknown) => {
          assert.ok(error instanceof TokenTooLongError, String(error));
          for (const [field, value] of Object.entries(c.expected)) {
            assert.equal(error[field as keyof TokenTooLongError], value, field);
          }
          return true;
        },
      );
    });
  }
  await t.step("at the limit, everything is accepted", () => {
    const text = utf8(`${"m".repeat(16)}{abcdefgh="${"é".repeat(8)}"} 1\n`);
    assert.equal(parseText(text, { limits: LIMITS }).length, 1);
    assert.equal(
      parseOpenMetrics(om(new TextDecoder().decode(text)), { limits: LIMITS })
        .length,
      1,
    );
    const proto = protobufBody("m".repeat(16), "abcdefgh", "é".repeat(8));
    assert.equal(decodeDelimited(proto, { limits: LIMITS }).length, 1);
  });
});

Deno.test("The text parsers refuse a number token longer than any float literal", async (t) => {
  // Go would read 5,000 zeros as 0; no float needs that many characters.
  const zeros = "0".repeat(MAX_NUMBER_BYTES + 1);
  const cases = [
    {
      name: "text value",
      parse: () => parseText(utf8(`m ${zeros}\n`)),
      message:
        `text format parsing error in line 1: expected float as value, got "${
          "0".repeat(64)
        }"… (a token of 4097 bytes; no float literal is longer than 4096)`,
    },
    {
      name: "text timestamp",
      parse: () => parseText(utf8(`m 1 ${zeros}\n`)),
      message:
        `text format parsing error in line 1: expected integer as timestamp, got "${
          "0".repeat(64)
        }"… (a token of 4097 bytes; no float literal is longer than 4096)`,
    },
    {
      name: "OpenMetrics value",
      parse: () => parseOpenMetrics(om(`m ${zeros}\n`)),
      message:
        `text format parsing error in line 1: expected a number as value, got "${
          "0".repeat(64)
        }"… (a token of 4097 characters; no number literal is longer than 4096)`,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(c.parse, { name: "ExpositionError", message: c.message });
    });
  }
  await t.step("a literal of the longest allowed length is read", () => {
    const families = parseText(utf8(`m ${"0".repeat(MAX_NUMBER_BYTES)}\n`));
    assert.equal(
      families[0]?.metrics[0] && "value" in families[0].metrics[0]
        ? families[0].metrics[0].value
        : undefined,
      0,
    );
  });
});

Deno.test("parseText() finds the end of a long number token at its first blank or newline", async (t) => {
  // Past MAX_NUMBER_BYTES the end is searched for otherwise: the same token.
  const n = 3 * MAX_NUMBER_BYTES + 5;
  const digits = "1".repeat(n);
  const refused = (what: string, bytes: number) =>
    `text format parsing error in line 1: expected ${what}, got "${
      "1".repeat(64)
    }"… (a token of ${bytes} bytes; no float literal is longer than 4096)`;
  const cases = [
    ["newline", `m ${digits}\n`, refused("float as value", n)],
    ["space", `m ${digits} 1\n`, refused("float as value", n)],
    [
      "tab before a space",
      `m ${digits}\t${digits} 1\n`,
      refused(
        "float as value",
        n,
      ),
    ],
    ["timestamp", `m 1 ${digits}\n`, refused("integer as timestamp", n)],
    [
      "end of input",
      `m ${digits}`,
      "text format parsing error in line 1: unexpected end of input stream",
    ],
  ] as const;
  for (const [name, body, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseText(utf8(body)), {
        name: "ExpositionError",
        message,
      });
    });
  }
});

Deno.test("parseText() quotes at most the start of an overlong TYPE in its message", () => {
  const type = "x".repeat(MAX_NUMBER_BYTES + 1);
  assert.throws(() => parseText(utf8(`# TYPE m ${type}\nm 1\n`)), {
    name: "ExpositionError",
    message: `text format parsing error in line 1: unknown metric type "${
      "x".repeat(64)
    }"… (4097 bytes)`,
  });
});

Deno.test("The text parsers check duplicate label names of a long line in one pass", async (t) => {
  // 100k labels: comparing each with every earlier one took minutes.
  const n = 100_000;
  const labels = Array.from({ length: n }, (_, i) => `l${i}="v"`);
  const cases = [
    {
      name: "text",
      parse: (body: string) => parseText(utf8(body)),
      duplicate:
        'text format parsing error in line 1: duplicate label names for metric "m"',
    },
    {
      name: "OpenMetrics",
      parse: (body: string) => parseOpenMetrics(om(body)),
      duplicate:
        'text format parsing error in line 1: duplicate label name "l5"',
    },
  ];
  for (const c of cases) {
    await t.step(`${c.name}: all distinct`, () => {
      const families = c.parse(`m{${labels.join(",")}} 1\n`) as MetricFamily[];
      assert.equal(families[0]?.metrics[0]?.labels.length, n);
    });
    await t.step(`${c.name}: the last one repeats an early one`, () => {
      assert.throws(
        () => c.parse(`m{${labels.join(",")},l5="w"} 1\n`),
        (error: unknown) => {
          assert.ok(error instanceof ExpositionError);
          assert.equal(error.message, c.duplicate);
          return true;
        },
      );
    });
  }
});
