import assert from "node:assert/strict";
// The protobuf decoder: Go's defaults, bad and truncated bodies, a real
// Pushgateway scrape; the encoder's round trips are in protobuf_encode_test.ts.
import { ExpositionError } from "../../src/exposition/model.ts";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { decodeDelimited } from "../../src/exposition/protobuf_decode.ts";
import { encodeDelimited } from "../../src/exposition/protobuf_encode.ts";
import { ROUND_TRIP_CASES } from "./protobuf_cases.ts";

// A minimal protobuf writer for hand-made wire data, independent of the code
// under test.
function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 127) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const encoder = new TextEncoder();
type Field = number[];
function bytesField(id: number, payload: readonly number[] | string): Field {
  const bytes = typeof payload === "string"
    ? [...encoder.encode(payload)]
    : [...payload];
  return [...varint((id << 3) | 2), ...varint(bytes.length), ...bytes];
}
function varintField(id: number, value: number): Field {
  return [...varint(id << 3), ...varint(value)];
}
function doubleField(id: number, value: number): Field {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value, true);
  return [...varint((id << 3) | 1), ...new Uint8Array(view.buffer)];
}
function message(...fields: Field[]): number[] {
  return fields.flat();
}
function delimited(...messages: number[][]): Uint8Array {
  return new Uint8Array(
    messages.flatMap((m) => [...varint(m.length), ...m]),
  );
}

Deno.test("decodeDelimited() returns no families for an empty body", () => {
  assert.deepStrictEqual(decodeDelimited(new Uint8Array()), []);
});

Deno.test("decodeDelimited() keeps the last message of a repeated name", () => {
  const first: MetricFamily = {
    name: "twice",
    help: "first",
    type: "gauge",
    metrics: [{ labels: [], value: 1 }],
  };
  const other: MetricFamily = {
    name: "other",
    help: undefined,
    type: "gauge",
    metrics: [{ labels: [], value: 3 }],
  };
  const second: MetricFamily = {
    name: "twice",
    help: "second",
    type: "counter",
    metrics: [{ labels: [], value: 2 }],
  };
  const decoded = decodeDelimited(encodeDelimited([first, other, second]));
  assert.deepStrictEqual(
    decoded.find((f) => f.name === "twice"),
    second,
  );
  assert.equal(decoded.length, 2);
});

Deno.test("decodeDelimited() reads absent fields with Go's defaults", async (t) => {
  await t.step("no type means COUNTER, absent value means 0", () => {
    const body = delimited(
      message(bytesField(1, "c"), bytesField(4, message(bytesField(3, [])))),
    );
    assert.deepStrictEqual(decodeDelimited(body), [{
      name: "c",
      help: undefined,
      type: "counter",
      metrics: [{ labels: [], value: 0 }],
    }]);
  });
  await t.step("a label without name or value reads as empty strings", () => {
    const body = delimited(
      message(
        bytesField(1, "g"),
        varintField(3, 1),
        bytesField(4, message(bytesField(1, []), bytesField(2, message()))),
      ),
    );
    assert.deepStrictEqual(decodeDelimited(body)[0]?.metrics[0]?.labels, [{
      name: "",
      value: "",
    }]);
  });
  await t.step("unknown fields are skipped", () => {
    const body = delimited(
      message(
        bytesField(1, "g"),
        varintField(3, 1),
        bytesField(99, "future"),
        bytesField(4, message(bytesField(2, doubleField(1, 7)))),
      ),
    );
    assert.deepStrictEqual(decodeDelimited(body)[0]?.metrics, [{
      labels: [],
      value: 7,
    }]);
  });
  await t.step("packed repeated deltas are accepted too", () => {
    const histogram = message(
      varintField(1, 3),
      varintField(5, 0), // schema 0 (zigzag)
      bytesField(12, message(varintField(1, 0), varintField(2, 2))),
      bytesField(13, [2, 1]), // zigzag 1, -1, packed
    );
    const body = delimited(
      message(
        bytesField(1, "h"),
        varintField(3, 4),
        bytesField(4, message(bytesField(7, histogram))),
      ),
    );
    const family = decodeDelimited(body)[0];
    assert.equal(family?.type, "histogram");
    const metric = family?.type === "histogram" ? family.metrics[0] : undefined;
    assert.deepStrictEqual(metric?.native?.positiveDeltas, [1, -1]);
    assert.equal(metric?.native?.schema, 0);
  });
});

const GAUGE = message(bytesField(2, doubleField(1, 1)));

const BAD_BODIES: readonly {
  name: string;
  body: Uint8Array;
  options?: { utf8Names?: boolean };
  message: RegExp;
}[] = [
  {
    name: "length prefix larger than the body",
    body: new Uint8Array([10, 0x0a, 0x01, 0x61]),
    message: /^unexpected EOF/,
  },
  {
    name: "truncated length prefix",
    body: new Uint8Array([0x80]),
    message: /^unexpected EOF/,
  },
  {
    name: "invalid wire type",
    body: delimited([0x0f, 0x01]),
    message: /^proto: cannot parse invalid wire-format data/,
  },
  {
    name: "field number zero",
    body: delimited([0x00, 0x01]),
    message: /^proto: cannot parse invalid wire-format data|^unexpected EOF/,
  },
  {
    name: "empty message has no name",
    body: delimited([]),
    message: /^metric family without a name$/,
  },
  {
    name: "empty name",
    body: delimited(message(bytesField(1, ""), varintField(3, 1))),
    message: /^metric family without a name$/,
  },
  {
    name: "invalid legacy metric name",
    body: delimited(message(bytesField(1, "bad-name"), varintField(3, 1))),
    message: /^invalid metric name "bad-name"$/,
  },
  {
    name: "dotted name without utf8Names",
    body: delimited(message(bytesField(1, "a.b"), varintField(3, 1))),
    message: /^invalid metric name "a\.b"$/,
  },
  {
    name: "unknown type",
    body: delimited(message(bytesField(1, "m"), varintField(3, 9))),
    message: /^metric family "m" has unknown type 9$/,
  },
  {
    name: "gauge value in a COUNTER family",
    body: delimited(
      message(bytesField(1, "c"), varintField(3, 0), bytesField(4, GAUGE)),
    ),
    message:
      /^metric family "c" has type COUNTER, but its metric 1 carries no counter value$/,
  },
  {
    name: "summary family without summary",
    body: delimited(
      message(bytesField(1, "s"), varintField(3, 2), bytesField(4, GAUGE)),
    ),
    message:
      /^metric family "s" has type SUMMARY, but its metric 1 carries no summary value$/,
  },
  {
    name: "histogram family whose second metric lacks a histogram",
    body: delimited(
      message(
        bytesField(1, "h"),
        varintField(3, 4),
        bytesField(4, message(bytesField(7, []))),
        bytesField(4, GAUGE),
      ),
    ),
    message:
      /^metric family "h" has type HISTOGRAM, but its metric 2 carries no histogram value$/,
  },
  {
    name: "invalid UTF-8 in a label value",
    body: delimited(
      message(
        bytesField(1, "g"),
        varintField(3, 1),
        bytesField(
          4,
          message(
            bytesField(1, message(bytesField(1, "a"), bytesField(2, [0xff]))),
            bytesField(2, doubleField(1, 1)),
          ),
        ),
      ),
    ),
    message: /^label "a" in metric family "g" is not valid UTF-8$/,
  },
  {
    name: "invalid UTF-8 in a long HELP",
    body: delimited(
      message(
        bytesField(1, "g"),
        bytesField(2, [...encoder.encode("x".repeat(100)), 0xc3]),
      ),
    ),
    message: /^the HELP of "g" is not valid UTF-8$/,
  },
  {
    name: "invalid UTF-8 in a name, even with utf8Names",
    body: delimited(message(bytesField(1, [0x61, 0xe2, 0x82]))),
    options: { utf8Names: true },
    message: /^a metric family name is not valid UTF-8$/,
  },
];

Deno.test("decodeDelimited() throws ExpositionError for bad bodies", async (t) => {
  for (const c of BAD_BODIES) {
    await t.step(c.name, () => {
      assert.throws(
        () => decodeDelimited(c.body, c.options),
        (error: unknown) => {
          assert.ok(error instanceof ExpositionError);
          assert.equal(error.line, 0);
          assert.match(error.message, c.message);
          return true;
        },
      );
    });
  }
});

Deno.test("decodeDelimited() accepts any UTF-8 name with utf8Names", () => {
  const body = delimited(
    message(bytesField(1, "a.b-c 🙂"), varintField(3, 1), bytesField(4, GAUGE)),
  );
  assert.equal(decodeDelimited(body, { utf8Names: true })[0]?.name, "a.b-c 🙂");
});

Deno.test("decodeDelimited() fails cleanly on every truncation of a valid body", () => {
  const body = encodeDelimited(ROUND_TRIP_CASES.flatMap((c) => c.families));
  for (let length = 1; length < body.length; length++) {
    try {
      decodeDelimited(body.subarray(0, length));
    } catch (error) {
      assert.ok(error instanceof ExpositionError, `cut at ${length}: ${error}`);
    }
  }
});

Deno.test("decodeDelimited() throws only ExpositionError for random bytes", () => {
  // Deterministic xorshift so failures replay.
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  for (let round = 0; round < 2000; round++) {
    const bytes = new Uint8Array(1 + (next() % 64));
    for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
    try {
      decodeDelimited(bytes);
    } catch (error) {
      assert.ok(
        error instanceof ExpositionError,
        `round ${round}: ${String(error)} for ${bytes.join(",")}`,
      );
    }
  }
});

Deno.test("decodeDelimited() reads a scrape body written by the real Pushgateway", async () => {
  const url = new URL(
    "../golden/protobuf_all_types.scrape.pb",
    import.meta.url,
  );
  const families = decodeDelimited(await Deno.readFile(url));
  const names = families.map((f) => f.name);
  for (
    const name of [
      "go_gc_duration_seconds",
      "pb_counter_total",
      "pb_histogram",
      "pb_summary",
      "push_time_seconds",
    ]
  ) {
    assert.ok(names.includes(name), `${name} missing from ${names.join(" ")}`);
  }
  const summary = families.find((f) => f.name === "pb_summary");
  assert.deepStrictEqual(summary, {
    name: "pb_summary",
    help: "A summary.",
    type: "summary",
    metrics: [{
      labels: [
        { name: "instance", value: "proto" },
        { name: "job", value: "pb" },
      ],
      sampleCount: 1234567,
      sampleSum: 99.5,
      quantiles: [{ quantile: 0.99, value: 3 }, { quantile: 0.5, value: 1 }],
    }],
  });
});
