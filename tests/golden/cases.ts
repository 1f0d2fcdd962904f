/**
 * Golden cases: pushes replayed against the reference Pushgateway by
 * `scripts/record_golden.ts`, whose scrape output is stored next to this file
 * and compared byte for byte by `tests/exposition/golden_test.ts`.
 *
 * Rules for a case, so the recording is deterministic: every push succeeds
 * (2xx); no DELETE (the Pushgateway applies it asynchronously); a family
 * pushed to several groups has the same TYPE and the same HELP (or none) in
 * each (upstream picks one at random, docs/compatibility.md, HELP conflicts);
 * no family named `go_*`, `process_*`, `pushgateway_*` or `push_*`; nothing the
 * 1.5.1 reference cannot express (gauge or float histograms, created
 * timestamps).
 */

import { encodeDelimited } from "../../src/exposition/protobuf_encode.ts";
import type { MetricFamily } from "../../src/exposition/model.ts";

export interface GoldenPush {
  readonly method: "PUT" | "POST";
  /** Path from the server root, e.g. `/metrics/job/batch/instance/host1`. */
  readonly path: string;
  readonly body: string | Uint8Array<ArrayBuffer>;
  readonly contentType?: string;
}

export interface GoldenCase {
  /** File stem under tests/golden/: `<name>.scrape.txt` and friends. */
  readonly name: string;
  readonly pushes: readonly GoldenPush[];
}

/** The Content-Type that makes the Pushgateway read delimited protobuf. */
export const PROTOBUF_CONTENT_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

function post(path: string, body: string): GoldenPush {
  return { method: "POST", path, body };
}

function put(path: string, body: string): GoldenPush {
  return { method: "PUT", path, body };
}

function protobufPush(
  method: "PUT" | "POST",
  path: string,
  families: readonly MetricFamily[],
): GoldenPush {
  return {
    method,
    path,
    body: encodeDelimited(families),
    contentType: PROTOBUF_CONTENT_TYPE,
  };
}

/** One gauge series per value, labelled with the literal it was pushed as. */
function gaugeLines(name: string, literals: readonly string[]): string {
  return `# TYPE ${name} gauge\n` +
    literals.map((literal, i) =>
      `${name}{i="${String(i).padStart(2, "0")}",v="${literal}"} ${literal}\n`
    ).join("");
}

const EMPTY_NATIVE_PARTS = {
  negativeSpans: [],
  negativeDeltas: [],
  negativeCounts: [],
  positiveCounts: [],
} as const;

export const GOLDEN_CASES: readonly GoldenCase[] = [
  {
    name: "spec_example",
    pushes: [
      post(
        "/metrics/job/batch/instance/host1",
        "# TYPE job_duration_seconds gauge\n" +
          "# HELP job_duration_seconds Duration of the batch job.\n" +
          "job_duration_seconds 12.5\n" +
          "# TYPE records_total counter\n" +
          'records_total{kind="ok"} 42\n',
      ),
    ],
  },
  {
    name: "floats_exponent_threshold",
    pushes: [
      post(
        "/metrics/job/floats",
        gaugeLines("f", [
          "99999",
          "123456",
          "999999",
          "1234567",
          "100000",
          "1e6",
          "1e21",
          "12345678901",
          "0.0001",
          "0.00001234",
          "0.000001",
          "0.5",
        ]),
      ),
    ],
  },
  {
    name: "floats_special_values",
    pushes: [
      post(
        "/metrics/job/floats",
        gaugeLines("f", [
          "NaN",
          "+Inf",
          "-Inf",
          "-0",
          "0",
          "1",
          "-1",
          "5e-324",
          "2.2250738585072014e-308",
          "1.7976931348623157e308",
          "0.30000000000000004",
          "1795487705.8604121",
          "1e100",
          "-1.5e-7",
          "123.456e7",
          "0.1",
        ]),
      ),
    ],
  },
  {
    name: "floats_literal_syntax",
    pushes: [
      post(
        "/metrics/job/floats",
        gaugeLines("f", [
          "1e3",
          ".5",
          "Inf",
          "+inf",
          "-inf",
          "nan",
          "-0.0",
          "+5",
          "1E3",
          "00012",
          "1.",
          "infinity",
          "-Infinity",
          "1e-400",
        ]),
      ),
    ],
  },
  {
    name: "label_value_escapes",
    pushes: [
      post(
        "/metrics/job/esc",
        "# TYPE esc gauge\n" +
          'esc{v="back\\\\slash"} 1\n' +
          'esc{v="quote\\"d"} 2\n' +
          'esc{v="new\\nline"} 3\n' +
          'esc{v="tab\there"} 4\n' +
          'esc{v="trailing\\\\"} 5\n' +
          'esc{v="all \\\\ \\" \\n"} 6\n',
      ),
    ],
  },
  {
    name: "help_escapes",
    pushes: [
      post(
        "/metrics/job/help",
        '# HELP h1 Has a \\\\ backslash, a \\n newline and "quotes".\n' +
          "# TYPE h1 gauge\n" +
          "h1 1\n" +
          "# HELP h2   leading spaces are skipped, trailing kept  \n" +
          "h2 2\n" +
          "# HELP h3\n" +
          "h3 3\n" +
          "# HELP h4 tab\tinside and unicode é 日本\n" +
          "h4 4\n",
      ),
    ],
  },
  {
    name: "summary_quantiles",
    pushes: [
      post(
        "/metrics/job/summary",
        "# HELP rpc_seconds RPC latency.\n" +
          "# TYPE rpc_seconds summary\n" +
          'rpc_seconds{method="get",quantile="0.50"} 0.25\n' +
          'rpc_seconds{method="get",quantile="0.9"} 1.5\n' +
          'rpc_seconds{method="get",quantile="0.990"} 3\n' +
          'rpc_seconds_sum{method="get"} 1234.5\n' +
          'rpc_seconds_count{method="get"} 1234567\n' +
          'rpc_seconds{method="put",quantile="0.9"} NaN\n' +
          'rpc_seconds{method="put",quantile="0.1"} 0\n' +
          'rpc_seconds{method="put",quantile="1e-3"} 0\n' +
          'rpc_seconds_sum{method="put"} 0\n' +
          'rpc_seconds_count{method="put"} 0\n',
      ),
    ],
  },
  {
    name: "summary_without_sum_and_count",
    pushes: [
      post(
        "/metrics/job/summary",
        "# TYPE s summary\n" +
          's{quantile="0.5"} 1\n' +
          's{a="x",quantile="0.5"} 2\n' +
          's_count{b="y"} 7\n',
      ),
    ],
  },
  {
    name: "histogram_with_inf_bucket",
    pushes: [
      post(
        "/metrics/job/hist",
        "# HELP req_seconds Request latency.\n" +
          "# TYPE req_seconds histogram\n" +
          'req_seconds_bucket{path="/a",le="0.1"} 1\n' +
          'req_seconds_bucket{path="/a",le="0.5"} 3\n' +
          'req_seconds_bucket{path="/a",le="+Inf"} 4\n' +
          'req_seconds_sum{path="/a"} 2.25\n' +
          'req_seconds_count{path="/a"} 4\n',
      ),
    ],
  },
  {
    name: "histogram_without_inf_bucket",
    pushes: [
      post(
        "/metrics/job/hist",
        "# TYPE h histogram\n" +
          'h_bucket{le="1"} 1\n' +
          'h_bucket{le="2"} 2\n' +
          "h_sum 3\n" +
          "h_count 5\n" +
          "# TYPE only_count histogram\n" +
          "only_count_count 9\n",
      ),
    ],
  },
  {
    name: "histogram_le_reformatted",
    pushes: [
      post(
        "/metrics/job/hist",
        "# TYPE h histogram\n" +
          'h_bucket{le="0.10"} 0\n' +
          'h_bucket{le="1e-3"} 0\n' +
          'h_bucket{le="1000000"} 1\n' +
          'h_bucket{le="1234567"} 2\n' +
          'h_bucket{le="-0"} 0\n' +
          'h_bucket{le="+inf"} 3\n' +
          "h_sum 1e6\n" +
          "h_count 3\n",
      ),
    ],
  },
  {
    name: "histogram_unsorted_buckets",
    pushes: [
      post(
        "/metrics/job/hist",
        "# TYPE h histogram\n" +
          'h_bucket{le="+Inf"} 10\n' +
          'h_bucket{le="5"} 7\n' +
          'h_bucket{le="1"} 2\n' +
          'h_bucket{le="2.5"} 5\n' +
          "h_count 10\n" +
          "h_sum 23\n",
      ),
    ],
  },
  {
    name: "groups_interleave",
    pushes: [
      post(
        "/metrics/job/p2/x/1",
        "# HELP shared Shared.\n# TYPE shared gauge\nshared 21\n",
      ),
      post(
        "/metrics/job/p1",
        '# HELP shared Shared.\n# TYPE shared gauge\nshared 11\nshared{z="a"} 12\n',
      ),
      post(
        "/metrics/job/p3/instance/i",
        "# HELP shared Shared.\n# TYPE shared gauge\nshared 31\n",
      ),
      post(
        "/metrics/job/p10",
        '# HELP shared Shared.\n# TYPE shared gauge\nshared{instance="b"} 101\n',
      ),
    ],
  },
  {
    name: "grouping_labels_override_body",
    pushes: [
      post(
        "/metrics/job/t4/foo/baz",
        "# TYPE c counter\n" +
          'c{job="other",instance="inst",foo="bar"} 1\n' +
          'c{foo="only"} 2\n',
      ),
    ],
  },
  {
    name: "instance_from_body",
    pushes: [
      post(
        "/metrics/job/inst",
        "# TYPE m gauge\n" +
          'm{instance="from-body"} 1\n' +
          "m 2\n",
      ),
      post(
        "/metrics/job/inst2/instance/from-path",
        '# TYPE m gauge\nm{instance="overridden",k="v"} 4\n',
      ),
    ],
  },
  {
    name: "empty_label_values",
    pushes: [
      post(
        "/metrics/job/empty",
        '# TYPE m gauge\nm{b="y"} 1\nm{b="",c="x"} 2\n',
      ),
      post(
        "/metrics/job/empty/a@base64/=",
        "# TYPE m gauge\nm 3\n",
      ),
    ],
  },
  {
    name: "utf8_label_values",
    pushes: [
      post(
        "/metrics/job/utf8",
        "# TYPE u gauge\n" +
          'u{v="é"} 1\n' +
          'u{v="日本"} 2\n' +
          'u{v="🙂"} 3\n' +
          'u{v="～"} 4\n' +
          'u{v="z"} 5\n' +
          'u{v="Z"} 6\n' +
          'u{v="\u00a0"} 7\n',
      ),
    ],
  },
  {
    name: "family_name_order",
    pushes: [
      post(
        "/metrics/job/order",
        "e9 1\ne:colon 2\ne 3\ne10 4\ne4 5\nE 6\n_under 7\na_b 8\nab 9\n",
      ),
    ],
  },
  {
    name: "series_order_by_label_count",
    pushes: [
      post(
        "/metrics/job/order",
        "# TYPE s gauge\n" +
          's{v="nan",w="1"} 1\n' +
          's{v="big"} 2\n' +
          's{v="int"} 3\n' +
          's{a="z"} 4\n' +
          "s 5\n" +
          's{v="Big"} 6\n' +
          's{v="big",w="0"} 7\n' +
          's{v="bi"} 8\n',
      ),
    ],
  },
  {
    name: "labels_sorted_by_name",
    pushes: [
      post(
        "/metrics/job/sorted",
        '# TYPE m counter\nm{zeta="1",alpha="2",Mid="3",_u="4"} 1\n',
      ),
    ],
  },
  {
    name: "types_untyped_counter_gauge",
    pushes: [
      post(
        "/metrics/job/types",
        "# A comment line.\n" +
          "\n" +
          "untyped_one 1\n" +
          "# TYPE typed_untyped untyped\n" +
          "typed_untyped 2\n" +
          "# TYPE c_total counter\n" +
          "c_total -3\n" +
          "# TYPE g gauge\n" +
          "g 4\n" +
          "rpc_count 5\n",
      ),
    ],
  },
  {
    name: "post_replaces_same_named_families",
    pushes: [
      post(
        "/metrics/job/merge",
        "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n",
      ),
      post("/metrics/job/merge", '# TYPE a gauge\na{v="2"} 2\n'),
    ],
  },
  {
    name: "put_replaces_the_group",
    pushes: [
      post(
        "/metrics/job/replace",
        "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n",
      ),
      put("/metrics/job/replace", "# TYPE c gauge\nc 3\n"),
      post("/metrics/job/other", "# TYPE b gauge\nb 9\n"),
    ],
  },
  {
    name: "put_empty_body_keeps_metadata",
    pushes: [
      post("/metrics/job/emptied", "# TYPE a gauge\na 1\n"),
      put("/metrics/job/emptied", ""),
    ],
  },
  {
    name: "base64_grouping_values",
    pushes: [
      post(
        "/metrics/job@base64/L3Zhci90bXA/path@base64/YS9i",
        "# TYPE m gauge\nm 1\n",
      ),
    ],
  },
  {
    name: "protobuf_all_types",
    pushes: [
      protobufPush("POST", "/metrics/job/pb/instance/proto", [
        {
          name: "pb_counter_total",
          help: "A counter.",
          type: "counter",
          metrics: [
            {
              labels: [{ name: "kind", value: "a" }],
              value: 7,
              exemplar: { labels: [{ name: "trace", value: "t1" }], value: 1 },
            },
            { labels: [{ name: "kind", value: "b" }], value: -0 },
          ],
        },
        {
          name: "pb_gauge",
          help: undefined,
          type: "gauge",
          metrics: [{ labels: [], value: 1e-7 }],
        },
        {
          name: "pb_untyped",
          help: "Untyped \\ with\nnewline.",
          type: "untyped",
          metrics: [{ labels: [{ name: "q", value: 'say "hi"' }], value: NaN }],
        },
        {
          name: "pb_summary",
          help: "A summary.",
          type: "summary",
          metrics: [{
            labels: [],
            sampleCount: 1234567,
            sampleSum: 99.5,
            quantiles: [
              { quantile: 0.99, value: 3 },
              { quantile: 0.5, value: 1 },
            ],
          }],
        },
        {
          name: "pb_histogram",
          help: "A histogram.",
          type: "histogram",
          metrics: [{
            labels: [{ name: "le_like", value: "x" }],
            sampleCount: 5,
            sampleSum: 12,
            buckets: [
              { upperBound: 1, cumulativeCount: 1 },
              { upperBound: 1e6, cumulativeCount: 4 },
            ],
          }],
        },
      ]),
    ],
  },
  {
    name: "protobuf_empty_help",
    pushes: [
      protobufPush("POST", "/metrics/job/pb", [
        {
          name: "empty_help",
          help: "",
          type: "gauge",
          metrics: [{ labels: [], value: 1 }],
        },
        {
          name: "no_metrics",
          help: "Never shown.",
          type: "gauge",
          metrics: [],
        },
      ]),
    ],
  },
  {
    name: "protobuf_native_histogram",
    pushes: [
      protobufPush("POST", "/metrics/job/pb", [
        {
          name: "native_only",
          help: "A native histogram without classic buckets.",
          type: "histogram",
          metrics: [{
            labels: [],
            sampleCount: 6,
            sampleSum: 10.5,
            buckets: [],
            native: {
              schema: 3,
              zeroThreshold: 1e-128,
              zeroCount: 1,
              positiveSpans: [{ offset: 0, length: 2 }, {
                offset: 3,
                length: 1,
              }],
              positiveDeltas: [1, 1, -1],
              ...EMPTY_NATIVE_PARTS,
            },
          }],
        },
      ]),
    ],
  },
  {
    name: "protobuf_last_message_wins",
    pushes: [
      {
        method: "POST",
        path: "/metrics/job/pb",
        contentType: PROTOBUF_CONTENT_TYPE,
        body: concatBytes(
          encodeDelimited([{
            name: "twice",
            help: "first",
            type: "gauge",
            metrics: [{ labels: [{ name: "n", value: "1" }], value: 1 }],
          }]),
          encodeDelimited([{
            name: "twice",
            help: "second",
            type: "counter",
            metrics: [{ labels: [{ name: "n", value: "2" }], value: 2 }],
          }]),
        ),
      },
    ],
  },
  {
    name: "text_and_protobuf_groups_merge",
    pushes: [
      post("/metrics/job/mixed/instance/t", "# TYPE mix gauge\nmix 1\n"),
      protobufPush("POST", "/metrics/job/mixed/instance/p", [{
        name: "mix",
        help: undefined,
        type: "gauge",
        metrics: [{ labels: [], value: 2 }],
      }]),
    ],
  },
];

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
