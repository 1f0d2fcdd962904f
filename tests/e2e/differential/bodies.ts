/**
 * Bodies: compression, and the text parser's answers to bad bodies
 * (docs/compatibility.md, The text format).
 * @module
 */

import {
  type DiffCase,
  gauge,
  get,
  gzip,
  GZIPPED,
  INVALID_UTF8_LABEL_VALUE,
  OPENMETRICS_BODY,
  PARSE_ERRORS,
  post,
  PROTOBUF,
  protobufBody,
  put,
  scrape,
} from "./case_kit.ts";

export const BODY_CASES: readonly DiffCase[] = [
  // Compression.
  {
    name: "gzip text body",
    doc: "compatibility.md: Compression",
    requests: [
      post("/metrics/job/gz", gzip("# TYPE g gauge\ng 1\n"), {
        "Content-Encoding": "gzip",
      }),
    ],
  },
  {
    name: "gzip protobuf body",
    doc: "compatibility.md: Compression",
    requests: [
      post(
        "/metrics/job/gz",
        gzip(protobufBody([gauge("g", [{ labels: [], value: 2 }])])),
        { "Content-Encoding": "gzip", "Content-Type": PROTOBUF },
      ),
    ],
  },
  {
    name: "gzip bodies that are not gzip",
    doc: "compatibility.md: Compression",
    requests: [
      post("/metrics/job/gz", "x", { "Content-Encoding": "gzip" }),
      post("/metrics/job/gz", "", { "Content-Encoding": "gzip" }),
      post("/metrics/job/gz", "m 1\nn 2\no 3\n", {
        "Content-Encoding": "gzip",
      }),
      scrape,
    ],
  },
  {
    name: "gzip body that is truncated",
    doc: "compatibility.md: Compression; Deliberate differences",
    requests: [
      post(
        "/metrics/job/gz/cut/trailer",
        GZIPPED.slice(0, GZIPPED.length - 4),
        {
          "Content-Encoding": "gzip",
        },
      ),
      post("/metrics/job/gz/cut/header", GZIPPED.slice(0, 10), {
        "Content-Encoding": "gzip",
      }),
      post("/metrics/job/gz/cut/data", GZIPPED.slice(0, 14), {
        "Content-Encoding": "gzip",
      }),
      scrape,
    ],
  },
  {
    name: "gzip header on a scrape",
    doc: "compatibility.md: Compression",
    requests: [get("/metrics", { "Content-Encoding": "gzip" })],
  },
  {
    name: "Content-Encoding deflate is ignored",
    doc: "compatibility.md: Compression",
    requests: [
      post("/metrics/job/enc", "m 1\n", { "Content-Encoding": "deflate" }),
    ],
  },
  {
    name: "Content-Encoding GZIP in upper case",
    doc: "compatibility.md: Compression; Deliberate differences",
    requests: [
      post("/metrics/job/enc", "m 1\n", { "Content-Encoding": "GZIP" }),
    ],
  },
  {
    name: "Content-Encoding snappy",
    doc: "compatibility.md: Compression; Deliberate differences",
    requests: [
      post("/metrics/job/enc", "m 1\n", { "Content-Encoding": "snappy" }),
    ],
  },

  // The text parser.
  ...PARSE_ERRORS.map((c): DiffCase => ({
    name: `text body with a parse error: ${c.name}`,
    doc: "compatibility.md: The text format",
    requests: [
      post("/metrics/job/parse", c.body),
      put("/metrics/job/parse", c.body),
    ],
  })),
  {
    name: "text body with a parse error: invalid UTF-8 in a label value",
    doc: "compatibility.md: The text format",
    requests: [post("/metrics/job/parse", INVALID_UTF8_LABEL_VALUE)],
  },
  {
    name: "text body with lenient syntax",
    doc: "compatibility.md: The text format",
    requests: [
      post(
        "/metrics/job/lenient",
        '\n   \n  a 1\nb\t2\nc{} 3\nd{x="1",} 4\n# FOO bar\n#comment\n' +
          'e{x="tab\there"} 5\n# HELP f\nf 6\n# TYPE g counter\ng 7\n' +
          'h 1\ni 2\nh{a="2"} 3\n',
      ),
    ],
  },
  {
    name: "text body values in Go float syntax",
    doc: "compatibility.md: The text format; Scrapes",
    requests: [
      post(
        "/metrics/job/floats",
        [
          "1e3",
          ".5",
          "Inf",
          "+inf",
          "-Inf",
          "NaN",
          "nan",
          "-0",
          "99999",
          "123456",
          "1234567",
          "1e21",
          "0.0001",
          "0.00001234",
          "5e-324",
          "1.797e308",
          "-1.5e-7",
        ].map((v, i) => `f{i="${String(i).padStart(2, "0")}",v="${v}"} ${v}\n`)
          .join(""),
      ),
    ],
  },
  {
    name: "text body with summaries and histograms",
    doc: "compatibility.md: The text format; Scrapes",
    requests: [
      post(
        "/metrics/job/sh",
        "# TYPE s summary\n" +
          's{quantile="0.50"} 1\ns{quantile="0.9"} 2\ns_sum 3\ns_count 4\n' +
          's{a="x",quantile="0.1"} 5\n' +
          "# TYPE h histogram\n" +
          'h_bucket{le="1000000"} 1\nh_bucket{le="0.5"} 0\nh_sum 7\nh_count 2\n' +
          'h_bucket{a="y",le="+Inf"} 3\nh_count{a="y"} 3\n' +
          "# TYPE only_count summary\nonly_count_count 9\n" +
          "foo_count 1\n",
      ),
    ],
  },
  {
    name: "OpenMetrics body sent as text/plain is read as text 0.0.4",
    doc: "compatibility.md: Push bodies",
    requests: [post("/metrics/job/om", OPENMETRICS_BODY)],
  },
  {
    name: "OpenMetrics body with the OpenMetrics Content-Type",
    doc: "compatibility.md: Push bodies; Deliberate differences",
    requests: [
      post("/metrics/job/om", OPENMETRICS_BODY, {
        "Content-Type": "application/openmetrics-text; version=1.0.0",
      }),
    ],
  },
  {
    name: "text body families without samples are dropped",
    doc: "compatibility.md: The text format",
    requests: [
      post(
        "/metrics/job/nosamples",
        "# TYPE a gauge\n# HELP b Only help.\n# TYPE c counter\nc 1\n",
      ),
    ],
  },
  {
    name: "text body escapes in label values and HELP",
    doc: "compatibility.md: The text format; Scrapes",
    requests: [
      post(
        "/metrics/job/esc",
        '# HELP e Has a \\\\ backslash, a \\n newline and "quotes".\n' +
          "# TYPE e gauge\n" +
          'e{v="back\\\\slash"} 1\ne{v="quote\\"d"} 2\ne{v="new\\nline"} 3\n' +
          'e{v="日本 é"} 4\n',
      ),
    ],
  },
  {
    name: "text body negative counter values are accepted",
    doc: "compatibility.md: The text format",
    requests: [post("/metrics/job/neg", "# TYPE c counter\nc -5\n")],
  },
];
