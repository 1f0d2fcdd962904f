/**
 * The differential case list: named sequences of HTTP requests that
 * `differential_test.ts` sends to the reference Pushgateway 1.5.1 and to
 * Pushvault, comparing every answer and the scrape after the case. Spec
 * sections are cited per case. Deviations we chose on purpose are listed in
 * `deviations.ts` by case name, never here.
 *
 * Rules for a case: it starts from an empty store (the test wipes both
 * gateways between cases); a `GET /metrics` inside a case is compared with
 * own families stripped and push times normalised; a request that makes
 * 1.5.1 deadlock (an invalid `job@base64`, spec §11) sets
 * `restartReferenceAfter`, since every later request on that route variant
 * would hang. Cases with `flags` run against a second pair of gateways
 * started with those flags (e.g. `--push.disable-consistency-check`).
 * @module
 */

import { gzipSync } from "node:zlib";
import type { MetricFamily, ScalarMetric } from "../../src/exposition/model.ts";
import { encodeDelimited } from "../../src/exposition/protobuf.ts";

export type Method =
  | "GET"
  | "HEAD"
  | "POST"
  | "PUT"
  | "DELETE"
  | "OPTIONS"
  | "PATCH";

export interface DiffRequest {
  readonly method: Method;
  /** Path and query from the server root, sent as written (percent escapes kept). */
  readonly path: string;
  readonly body?: string | Uint8Array<ArrayBuffer>;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Send the request line byte for byte over a raw connection: `fetch`
   * would resolve `/./` and `/../` before sending.
   */
  readonly raw?: true;
  /** Give up waiting for an answer after this long (default 10 s). */
  readonly answerWithinMs?: number;
}

export interface DiffCase {
  readonly name: string;
  /** The spec sections the case exercises. */
  readonly spec: string;
  readonly requests: readonly DiffRequest[];
  /** Why the reference must be restarted after this case (spec §11). */
  readonly restartReferenceAfter?: string;
  /** Flags both gateways run with for this case (one pair per set). */
  readonly flags?: readonly string[];
}

/** The Content-Type that makes both gateways read delimited protobuf. */
export const PROTOBUF =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

function request(
  method: Method,
  path: string,
  body?: string | Uint8Array<ArrayBuffer>,
  headers?: Readonly<Record<string, string>>,
): DiffRequest {
  return {
    method,
    path,
    ...(body === undefined ? {} : { body }),
    ...(headers === undefined ? {} : { headers }),
  };
}

const post = (
  path: string,
  body: string | Uint8Array<ArrayBuffer> = "",
  headers?: Readonly<Record<string, string>>,
) => request("POST", path, body, headers);
const put = (
  path: string,
  body: string | Uint8Array<ArrayBuffer> = "",
  headers?: Readonly<Record<string, string>>,
) => request("PUT", path, body, headers);
const del = (path: string, body?: string) => request("DELETE", path, body);
const get = (path: string, headers?: Readonly<Record<string, string>>) =>
  request("GET", path, undefined, headers);
/** A scrape inside a case, compared like the final one. */
const scrape = get("/metrics");

function protobufBody(
  families: readonly MetricFamily[],
): Uint8Array<ArrayBuffer> {
  return encodeDelimited(families);
}

function protobufPush(
  method: "POST" | "PUT",
  path: string,
  families: readonly MetricFamily[],
  contentType = PROTOBUF,
): DiffRequest {
  return request(method, path, protobufBody(families), {
    "Content-Type": contentType,
  });
}

function gzip(body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const input = typeof body === "string"
    ? new TextEncoder().encode(body)
    : body;
  const zipped = gzipSync(input);
  const out = new Uint8Array(zipped.byteLength);
  out.set(zipped);
  return out;
}

function gauge(
  name: string,
  metrics: readonly ScalarMetric[],
  help?: string,
): MetricFamily {
  return { name, help, type: "gauge", metrics };
}

const label = (name: string, value: string) => ({ name, value });

/** One case per bad body: status and the parser's exact message (spec §2.4). */
const PARSE_ERRORS: readonly { name: string; body: string }[] = [
  { name: "missing final newline", body: "x 1" },
  { name: "CRLF line ending", body: "x 1\r\n" },
  { name: "space after the value", body: "x 1 \n" },
  { name: "spurious string after the timestamp", body: 'x{a="x"} 1 123 456\n' },
  { name: "dash in a metric name", body: "bad-name 1\n" },
  { name: "quoted metric name", body: '{"a.b"} 1\n' },
  { name: "dash in a label name", body: 'm{bad-l="1"} 1\n' },
  { name: "duplicate label names", body: 'm{a="1",a="2"} 1\n' },
  { name: "reserved label name __name__", body: 'm{__name__="x"} 1\n' },
  { name: "invalid escape in a label value", body: 'm{a="\\t"} 1\n' },
  { name: "invalid escape in HELP", body: "# HELP m a \\t b\nm 1\n" },
  { name: "value with underscores", body: "m 1_000\n" },
  { name: "hex float value", body: "m 0x1p3\n" },
  { name: "hex value", body: "m 0x10\n" },
  { name: "word as value", body: "m abc\n" },
  { name: "unknown metric type", body: "# TYPE m foo\nm 1\n" },
  { name: "second TYPE line", body: "# TYPE m gauge\n# TYPE m gauge\nm 1\n" },
  { name: "TYPE after samples", body: "m 1\n# TYPE m gauge\n" },
  { name: "second HELP line", body: "# HELP m a\n# HELP m b\nm 1\n" },
  {
    name: "quantile that is not a float",
    body: '# TYPE s summary\ns{quantile="x"} 1\n',
  },
  {
    name: "le that is not a float",
    body: '# TYPE h histogram\nh_bucket{le="x"} 1\n',
  },
  { name: "error on the third line", body: "a 1\n\nb{c=1} 2\n" },
  { name: "unterminated label value", body: 'm{a="1} 1\n' },
  { name: "missing value", body: "m\n" },
  { name: "label set without a value", body: 'm{a="1"}\n' },
  { name: "timestamp that is not an integer", body: "m 1 1.5\n" },
];

/** Bad bytes in a label value (not valid UTF-8), built as bytes. */
const INVALID_UTF8_LABEL_VALUE = new Uint8Array([
  ...new TextEncoder().encode('m{a="'),
  0xff,
  ...new TextEncoder().encode('"} 1\n'),
]);

const OPENMETRICS_BODY =
  "# TYPE om counter\n# HELP om An OpenMetrics counter.\nom_total 1\n# EOF\n";

const UNCHECKED = ["--push.disable-consistency-check"] as const;

/** A gzip body of two samples, to be cut in the middle. */
const GZIPPED = gzip("m 1\nn 2\n");

const SPEC_SEQUENCE_PATH = "/metrics/job/seq";

const SUMMARY_FAMILY: MetricFamily = {
  name: "pb_summary",
  help: "A summary.",
  type: "summary",
  metrics: [{
    labels: [label("m", "get")],
    sampleCount: 7,
    sampleSum: 3.5,
    quantiles: [{ quantile: 0.9, value: 2 }, { quantile: 0.5, value: 1 }],
  }],
};

const HISTOGRAM_FAMILY: MetricFamily = {
  name: "pb_histogram",
  help: "A histogram.",
  type: "histogram",
  metrics: [{
    labels: [],
    sampleCount: 5,
    sampleSum: 12,
    buckets: [
      { upperBound: 1, cumulativeCount: 1 },
      { upperBound: 0.5, cumulativeCount: 0 },
      { upperBound: 10, cumulativeCount: 4 },
    ],
  }],
};

export const DIFF_CASES: readonly DiffCase[] = [
  // §1.2: the grouping key from the path.
  {
    name: "grouping key with the job only",
    spec: "§1.2",
    requests: [post("/metrics/job/j1", "m 1\n"), scrape],
  },
  {
    name: "grouping key with label pairs",
    spec: "§1.2",
    requests: [post("/metrics/job/j1/instance/i1/a/b", "m 1\n")],
  },
  {
    name: "grouping key ignores one trailing slash after the job",
    spec: "§1.2",
    requests: [
      post("/metrics/job/j1/", "m 1\n"),
      post("/metrics/job/j1", "n 1\n"),
    ],
  },
  {
    name: "grouping key with a trailing slash after a name has an empty value",
    spec: "§1.2",
    requests: [post("/metrics/job/j1/a/", "m 1\n"), scrape],
  },
  {
    name: "grouping key with an odd number of components",
    spec: "§1.2, §1.6",
    requests: [
      post("/metrics/job/j1/instance", "m 1\n"),
      post("/metrics/job/j1/instance/i1/", "m 1\n"),
      put("/metrics/job/j1/a/b/c", "m 1\n"),
      del("/metrics/job/j1/instance"),
      post("/metrics/job/a%2Fb", "m 1\n"),
      scrape,
    ],
  },
  {
    name: "grouping key takes the last of two pairs with the same name",
    spec: "§1.2",
    requests: [post("/metrics/job/j3/a/1/a/2", "m 1\n")],
  },
  {
    name: "grouping key takes the job from the job segment",
    spec: "§1.2",
    requests: [post("/metrics/job/j3/job/other", "m 1\n")],
  },
  {
    name: "grouping key is a set of labels",
    spec: "§1.5",
    requests: [
      post("/metrics/job/s/a/1/b/2", "m 1\n"),
      post("/metrics/job/s/b/2/a/1", "n 1\n"),
    ],
  },
  {
    name: "grouping key refuses improper label names",
    spec: "§1.2",
    requests: [
      post("/metrics/job/j/__name__/x", "m 1\n"),
      post("/metrics/job/j/__x/x", "m 1\n"),
      post("/metrics/job/j/1abc/x", "m 1\n"),
      post("/metrics/job/j/a-b/x", "m 1\n"),
      post("/metrics/job/j/a.b/x", "m 1\n"),
      post("/metrics/job/j/x@base64@base64/YQ", "m 1\n"),
      post("/metrics/job/j/@base64/YQ", "m 1\n"),
      post("/metrics/job/j/%C3%A9/x", "m 1\n"),
      del("/metrics/job/j/a-b/x"),
      scrape,
    ],
  },
  {
    name: "grouping key accepts unusual but valid label names",
    spec: "§1.2, §11.1",
    requests: [
      post("/metrics/job/j/_a/1/a_1/2/A/3/U__a_2e_b/v", "m 1\n"),
    ],
  },
  {
    name: "grouping key decodes @base64 values with or without padding",
    spec: "§1.3",
    requests: [
      post("/metrics/job/b64/path@base64/L3Zhci90bXA", "m1 1\n"),
      post("/metrics/job/b64/path@base64/L3Zhci90bXA=", "m2 1\n"),
      post("/metrics/job/b64/path@base64/L3Zhci90bXA==", "m3 1\n"),
      post("/metrics/job/b64/path@base64/L3Zhci90bXA===", "m4 1\n"),
      post("/metrics/job/b64/path@base64/L3Zhci90bXA%3D", "m5 1\n"),
    ],
  },
  {
    name: "grouping key reads @base64 = as an empty value",
    spec: "§1.3",
    requests: [
      post(
        "/metrics/job/example/first_label@base64/=/second_label/foobar",
        "m 1\n",
      ),
      post("/metrics/job/example2/a@base64/==", "m 1\n"),
      post("/metrics/job/example3/a@base64/%3D", "m 1\n"),
    ],
  },
  {
    name: "grouping key decodes the URL-safe base64 alphabet",
    spec: "§1.3",
    requests: [
      post("/metrics/job/b64/a@base64/Pz8-/b@base64/Pz8_", "m 1\n"),
    ],
  },
  {
    name: "grouping key refuses invalid @base64 values",
    spec: "§1.3, §1.6",
    requests: [
      post("/metrics/job/b64/x@base64/L3Zhci90bXA+", "m 1\n"),
      post("/metrics/job/b64/x@base64/a", "m 1\n"),
      post("/metrics/job/b64/x@base64/a!b=", "m 1\n"),
      post("/metrics/job/b64/x@base64/L3Zhci90bXA%2B", "m 1\n"),
      del("/metrics/job/b64/x@base64/a"),
      scrape,
    ],
  },
  {
    name: "grouping key takes the job from job@base64",
    spec: "§1.3",
    requests: [
      post("/metrics/job@base64/L3Zhci90bXA", "m 1\n"),
      post("/metrics/job@base64/L3Zhci90bXA/a@base64/Pz8_", "m 2\n"),
      put("/metrics/job@base64/eA==", "m 3\n"),
      scrape,
      del("/metrics/job@base64/L3Zhci90bXA"),
    ],
  },
  {
    name: "grouping key refuses an empty job from job@base64",
    spec: "§1.2, §1.6",
    requests: [
      post("/metrics/job@base64/=", "m 1\n"),
      put("/metrics/job@base64/=/a/b", "m 1\n"),
      del("/metrics/job@base64/="),
    ],
  },
  {
    name: "grouping key splits on %2F",
    spec: "§1.4",
    requests: [post("/metrics/job/a%2Fb/x/c%2Fd", "m 1\n")],
  },
  {
    name: "grouping key decodes percent escapes and keeps +",
    spec: "§1.4",
    requests: [
      post(
        "/metrics/job/titan/name/%CE%A0%CF%81%CE%BF%CE%BC%CE%B7%CE%B8%CE%B5%CF%8D%CF%82",
        "m 1\n",
      ),
      post("/metrics/job/plus/a/b+c", "m 1\n"),
      post("/metrics/job/space/a/b%20c", "m 1\n"),
      post("/metrics/job/%6Aob%31/a/%62", "m 1\n"),
    ],
  },

  // §1.4, §1.1: routing.
  {
    name: "routing redirects a double slash with 301",
    spec: "§1.4",
    requests: [
      post("/metrics/job//instance/x", "m 1\n"),
      post("/metrics/job/j2//instance/x", "m 1\n"),
      put("/metrics/job/j2//instance/x", "m 1\n"),
      del("/metrics/job/j2//instance/x"),
      scrape,
    ],
  },
  {
    name: "routing redirects GET with an HTML link in the body",
    spec: "§1.4",
    requests: [
      get("/metrics/job/j2//instance/x"),
      get("//metrics"),
      get("/metrics/"),
    ],
  },
  {
    name: "routing redirects /./ and /../ with 301",
    spec: "§1.4",
    requests: [
      { ...post("/metrics/job/x/./a/b", "m 1\n"), raw: true },
      { ...post("/metrics/job/x/../a/b", "m 1\n"), raw: true },
      { ...get("/metrics/./"), raw: true },
    ],
  },
  {
    name: "routing redirects /metrics/job/ with 307",
    spec: "§1.4",
    requests: [
      post("/metrics/job/", "m 1\n"),
      put("/metrics/job/", "m 1\n"),
      del("/metrics/job/"),
    ],
  },
  {
    name: "routing answers GET /metrics/job/ with 404",
    spec: "§1.4",
    requests: [get("/metrics/job/")],
  },
  {
    name: "routing answers 404 for unknown paths",
    spec: "§1.4, §6.5",
    requests: [
      post("/metrics/job", "m 1\n"),
      get("/nope"),
      post("/metrics/jobs/x", "m 1\n"),
      post("/metrics/job@base64", "m 1\n"),
      post("/metric/job/x", "m 1\n"),
    ],
  },
  {
    name: "routing answers 405 with Allow for other methods",
    spec: "§1.1",
    requests: [
      get("/metrics/job/x"),
      request("HEAD", "/metrics/job/x"),
      request("PATCH", "/metrics/job/x", "m 1\n"),
      get("/metrics/job/x/a/b"),
      get("/metrics/job@base64/eA"),
      get("/metrics/job@base64/eA/a/b"),
      post("/metrics", "m 1\n"),
      request("HEAD", "/metrics"),
    ],
  },
  {
    name: "routing answers OPTIONS with Allow",
    spec: "§1.1",
    requests: [
      request("OPTIONS", "/metrics/job/x"),
      request("OPTIONS", "/metrics/job/x/a/b"),
      request("OPTIONS", "/metrics/job@base64/eA"),
      request("OPTIONS", "/metrics/job@base64/eA/a/b"),
    ],
  },

  // §1.5: methods and semantics.
  {
    name: "sequence of spec §1.5",
    spec: "§1.5",
    requests: [
      post(SPEC_SEQUENCE_PATH, "a 1\nb 1\n"),
      scrape,
      post(SPEC_SEQUENCE_PATH, "b 2\nc 2\n"),
      scrape,
      put(SPEC_SEQUENCE_PATH, "c 3\n"),
      scrape,
      post(SPEC_SEQUENCE_PATH, "# TYPE c gauge\nc 4\n"),
      scrape,
      post(SPEC_SEQUENCE_PATH, "c 5 123\n"),
      scrape,
      post(SPEC_SEQUENCE_PATH, ""),
      scrape,
      put(SPEC_SEQUENCE_PATH, ""),
      scrape,
      del(SPEC_SEQUENCE_PATH),
      scrape,
    ],
  },
  {
    name: "empty PUT creates a group with the metadata only",
    spec: "§1.5, §2.6",
    requests: [put("/metrics/job/e"), scrape],
  },
  {
    name: "empty POST creates a group with the metadata only",
    spec: "§1.5, §2.6",
    requests: [post("/metrics/job/e"), scrape],
  },
  {
    name: "DELETE of a missing group is accepted",
    spec: "§1.5",
    requests: [del("/metrics/job/missing"), del("/metrics/job/missing/a/b")],
  },
  {
    name: "DELETE ignores its body",
    spec: "§1.5, §2.6",
    requests: [
      post("/metrics/job/d", "m 1\n"),
      del("/metrics/job/d", "this is not a metric\n"),
      scrape,
    ],
  },
  {
    name: "DELETE removes only the exact group",
    spec: "§1.5, §10",
    requests: [
      post("/metrics/job/x", "m 1\n"),
      post("/metrics/job/x/instance/y", "m 2\n"),
      post("/metrics/job/x/a/z", "n 3\n"),
      del("/metrics/job/x"),
      scrape,
      del("/metrics/job/x/a/z"),
    ],
  },
  {
    name: "PUT replaces every family of the group, POST only the named ones",
    spec: "§1.5",
    requests: [
      post("/metrics/job/r/instance/i", "a 1\nb 1\nc 1\n"),
      post("/metrics/job/r/instance/i", 'b{x="1"} 2\n'),
      scrape,
      put("/metrics/job/r/instance/i", "d 4\n"),
      scrape,
    ],
  },

  // §2.3: compression.
  {
    name: "gzip text body",
    spec: "§2.3",
    requests: [
      post("/metrics/job/gz", gzip("# TYPE g gauge\ng 1\n"), {
        "Content-Encoding": "gzip",
      }),
    ],
  },
  {
    name: "gzip protobuf body",
    spec: "§2.3",
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
    spec: "§2.3",
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
    spec: "§2.3",
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
    spec: "§2.3",
    requests: [get("/metrics", { "Content-Encoding": "gzip" })],
  },
  {
    name: "Content-Encoding deflate is ignored",
    spec: "§2.3",
    requests: [
      post("/metrics/job/enc", "m 1\n", { "Content-Encoding": "deflate" }),
    ],
  },
  {
    name: "Content-Encoding GZIP in upper case",
    spec: "§2.3, §11",
    requests: [
      post("/metrics/job/enc", "m 1\n", { "Content-Encoding": "GZIP" }),
    ],
  },
  {
    name: "Content-Encoding snappy",
    spec: "§2.3, §11",
    requests: [
      post("/metrics/job/enc", "m 1\n", { "Content-Encoding": "snappy" }),
    ],
  },

  // §2.4: the text parser.
  ...PARSE_ERRORS.map((c): DiffCase => ({
    name: `text body with a parse error: ${c.name}`,
    spec: "§2.4",
    requests: [
      post("/metrics/job/parse", c.body),
      put("/metrics/job/parse", c.body),
    ],
  })),
  {
    name: "text body with a parse error: invalid UTF-8 in a label value",
    spec: "§2.4",
    requests: [post("/metrics/job/parse", INVALID_UTF8_LABEL_VALUE)],
  },
  {
    name: "text body with lenient syntax",
    spec: "§2.4",
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
    spec: "§2.4, §5.2",
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
    spec: "§2.4, §5.1",
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
    spec: "§2.1",
    requests: [post("/metrics/job/om", OPENMETRICS_BODY)],
  },
  {
    name: "OpenMetrics body with the OpenMetrics Content-Type",
    spec: "§2.1",
    requests: [
      post("/metrics/job/om", OPENMETRICS_BODY, {
        "Content-Type": "application/openmetrics-text; version=1.0.0",
      }),
    ],
  },
  {
    name: "text body families without samples are dropped",
    spec: "§2.4",
    requests: [
      post(
        "/metrics/job/nosamples",
        "# TYPE a gauge\n# HELP b Only help.\n# TYPE c counter\nc 1\n",
      ),
    ],
  },
  {
    name: "text body escapes in label values and HELP",
    spec: "§2.4, §5.2",
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
    spec: "§2.4",
    requests: [post("/metrics/job/neg", "# TYPE c counter\nc -5\n")],
  },

  // §2.1, §2.2: Content-Type and protobuf.
  {
    name: "Content-Type variants that select protobuf",
    spec: "§2.1",
    requests: [
      protobufPush("POST", "/metrics/job/ct/v/1", [
        gauge("g", [{ labels: [], value: 1 }]),
      ]),
      protobufPush(
        "POST",
        "/metrics/job/ct/v/2",
        [gauge("g", [{ labels: [], value: 2 }])],
        "application/vnd.google.protobuf; encoding=delimited; proto=io.prometheus.client.MetricFamily",
      ),
      protobufPush(
        "POST",
        "/metrics/job/ct/v/3",
        [gauge("g", [{ labels: [], value: 3 }])],
        "APPLICATION/VND.GOOGLE.PROTOBUF;PROTO=io.prometheus.client.MetricFamily;ENCODING=delimited",
      ),
    ],
  },
  {
    name: "Content-Type variants that fall back to text",
    spec: "§2.1",
    requests: [
      post("/metrics/job/ct/v/1", "m 1\n", {
        "Content-Type": "application/json",
      }),
      post("/metrics/job/ct/v/2", "m 2\n", { "Content-Type": ";;;garbage" }),
      post("/metrics/job/ct/v/3", "m 3\n", {
        "Content-Type": "text/plain; version=0.0.4",
      }),
      post("/metrics/job/ct/v/4", "m 4\n", {
        "Content-Type": "application/vnd.google.protobuf; encoding=delimited",
      }),
      protobufPush(
        "POST",
        "/metrics/job/ct/v/5",
        [gauge("g", [{ labels: [], value: 5 }])],
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily",
      ),
      protobufPush(
        "POST",
        "/metrics/job/ct/v/6",
        [gauge("g", [{ labels: [], value: 6 }])],
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=Delimited",
      ),
    ],
  },
  {
    name: "protobuf body with summaries and histograms",
    spec: "§2.2, §5.1",
    requests: [
      protobufPush("POST", "/metrics/job/pb", [
        SUMMARY_FAMILY,
        HISTOGRAM_FAMILY,
        {
          name: "pb_counter",
          help: "A counter.",
          type: "counter",
          metrics: [
            { labels: [label("a", "")], value: 1 },
            { labels: [label("a", "x"), label("job", "ignored")], value: -0 },
            { labels: [label("a", "y")], value: Number.NaN },
            { labels: [label("a", "z")], value: Number.POSITIVE_INFINITY },
          ],
        },
        {
          name: "pb_untyped",
          help: undefined,
          type: "untyped",
          metrics: [{ labels: [], value: 5e-324 }],
        },
      ]),
    ],
  },
  {
    name: "protobuf body with the same family twice keeps the last",
    spec: "§2.2",
    requests: [
      protobufPush("POST", "/metrics/job/pb", [
        gauge("twice", [{ labels: [], value: 1 }], "first"),
        gauge("other", [{ labels: [], value: 2 }]),
        gauge("twice", [{ labels: [label("b", "2")], value: 3 }], "second"),
      ]),
    ],
  },
  {
    name: "protobuf body with an empty family",
    spec: "§2.2",
    requests: [
      protobufPush("POST", "/metrics/job/pb", [
        gauge("empty", []),
        gauge("full", [{ labels: [], value: 1 }]),
      ]),
      scrape,
    ],
  },
  {
    name: "protobuf body that is truncated",
    spec: "§2.2",
    requests: [
      post(
        "/metrics/job/pb",
        protobufBody([gauge("g", [{ labels: [], value: 1 }])]).slice(0, 8),
        { "Content-Type": PROTOBUF },
      ),
      post(
        "/metrics/job/pb",
        (() => {
          const whole = protobufBody([gauge("g", [{ labels: [], value: 1 }])]);
          return whole.slice(0, whole.length - 1);
        })(),
        { "Content-Type": PROTOBUF },
      ),
      scrape,
    ],
  },
  {
    name: "protobuf body with a label name that is not legacy-valid",
    spec: "§2.2, §3.3",
    requests: [
      protobufPush("POST", "/metrics/job/pb", [
        gauge("g", [{ labels: [label("a-b", "1")], value: 1 }]),
      ]),
      scrape,
    ],
  },
  {
    name: "protobuf body with a metric name that is not legacy-valid",
    spec: "§2.2, §12",
    requests: [
      protobufPush("POST", "/metrics/job/pb", [
        gauge("bad-name", [{ labels: [], value: 1 }]),
      ]),
      scrape,
    ],
  },
  {
    name: "protobuf body with a timestamp",
    spec: "§3.1",
    requests: [
      protobufPush("POST", "/metrics/job/pb", [
        gauge("g", [{ labels: [], value: 1, timestampMs: 1_700_000_000_000 }]),
      ]),
      scrape,
    ],
  },
  {
    name: "protobuf summary with an explicit quantile label",
    spec: "§3.3",
    requests: [
      protobufPush("POST", "/metrics/job/pb", [{
        name: "sq",
        help: undefined,
        type: "summary",
        metrics: [{
          labels: [label("quantile", "0.5")],
          sampleCount: 1,
          sampleSum: 1,
          quantiles: [],
        }],
      }]),
      scrape,
    ],
  },

  // §3: validation.
  {
    name: "text body with a timestamp",
    spec: "§3.1, §4",
    requests: [post("/metrics/job/ts", "m 1 1700000000000\n"), scrape],
  },
  {
    name: "type conflict across groups",
    spec: "§3.3, §4",
    requests: [
      post("/metrics/job/t1", "# TYPE h gauge\nh 1\n"),
      post("/metrics/job/t2", "h 1\n"),
      put("/metrics/job/t2", "# TYPE h counter\nh 1\n"),
      post("/metrics/job/t2", "# TYPE h gauge\nh 2\n"),
      scrape,
    ],
  },
  {
    name: "duplicate series within one push",
    spec: "§3.3",
    requests: [
      post("/metrics/job/dup", "dup 1\ndup 2\n"),
      post("/metrics/job/dup", 'dup{a="1"} 1\ndup{a="1"} 2\n'),
      scrape,
    ],
  },
  {
    name: "duplicate series across groups",
    spec: "§3.3",
    requests: [
      post("/metrics/job/x", 'm{a="1"} 1\n'),
      post("/metrics/job/x/a/1", "m 2\n"),
      post("/metrics/job/x/a/1", "n 2\n"),
      scrape,
    ],
  },
  {
    name: "suffix collision of a summary with a later _count family",
    spec: "§3.3",
    requests: [
      post("/metrics/job/s1", '# TYPE foo summary\nfoo{quantile="0.5"} 1\n'),
      post("/metrics/job/s2", "foo_count 1\n"),
      post("/metrics/job/s2", "foo_sum 1\n"),
      post("/metrics/job/s2", "foo_bucket 1\n"),
      scrape,
    ],
  },
  {
    name: "suffix collision of a histogram with an earlier _bucket family",
    spec: "§3.3",
    requests: [
      post("/metrics/job/h1", "bar_bucket 1\n"),
      post("/metrics/job/h2", '# TYPE bar histogram\nbar_bucket{le="1"} 1\n'),
      post("/metrics/job/h3", "baz_sum 1\n"),
      post("/metrics/job/h4", "# TYPE baz summary\nbaz_count 1\n"),
      scrape,
    ],
  },
  {
    name: "suffix collision within one protobuf push",
    spec: "§3.3",
    requests: [
      protobufPush("POST", "/metrics/job/pb", [
        SUMMARY_FAMILY,
        gauge("pb_summary_count", [{ labels: [label("z", "1")], value: 1 }]),
      ]),
      scrape,
    ],
  },
  {
    name: "grouping labels override body labels",
    spec: "§3.2",
    requests: [
      post(
        "/metrics/job/t4/foo/baz",
        '# TYPE c counter\nc{job="other",instance="inst",foo="bar"} 1\nc{foo="only"} 2\n',
      ),
    ],
  },
  {
    name: "instance from the body is kept unless the grouping key has one",
    spec: "§3.2",
    requests: [
      post("/metrics/job/inst", 'm{instance="from-body"} 1\nn 2\n'),
      post(
        "/metrics/job/inst2/instance/from-path",
        'm{instance="overridden",k="v"} 4\n',
      ),
    ],
  },
  {
    name: "label name starting with __ in the body",
    spec: "§2.4, §3.3",
    requests: [post("/metrics/job/ln", 'm{__x="1"} 1\n'), scrape],
  },
  {
    name: "empty label values are kept",
    spec: "§3.8",
    requests: [
      post("/metrics/job/x", 'm 1\nk{a=""} 1\n'),
      post("/metrics/job/x/a@base64/=", "m 2\n"),
    ],
  },
  {
    name: "own family pushed with another type",
    spec: "§3.3, §3.5",
    requests: [
      post("/metrics/job/own", "pushgateway_build_info 1\n"),
      post(
        "/metrics/job/own",
        "# TYPE process_start_time_seconds counter\nprocess_start_time_seconds 1\n",
      ),
      scrape,
    ],
  },
  {
    name: "own family pushed with its type is accepted",
    spec: "§3.5",
    requests: [
      post(
        "/metrics/job/own",
        "# TYPE pushgateway_build_info gauge\npushgateway_build_info 1\n",
      ),
      scrape,
    ],
  },
  {
    name: "own lazily created family pushed with another HELP",
    spec: "§3.4",
    requests: [
      post(
        "/metrics/job/own",
        "# TYPE pushgateway_http_requests_total counter\n# HELP pushgateway_http_requests_total other\npushgateway_http_requests_total 1\n",
      ),
      post(
        "/metrics/job/own",
        "# TYPE pushgateway_http_requests_total counter\npushgateway_http_requests_total 1\n",
      ),
      scrape,
    ],
  },
  {
    name: "Go runtime family pushed with another type",
    spec: "§3.5, §5.3",
    requests: [post("/metrics/job/own", "go_goroutines 1\n")],
  },
  {
    name: "sample value longer than any float literal",
    spec: "§2.4",
    requests: [post("/metrics/job/long", `m ${"0".repeat(4097)}\n`)],
  },
  {
    name: "push_time_seconds in a body is replaced",
    spec: "§3.5",
    requests: [
      post(
        "/metrics/job/pt",
        "# TYPE push_time_seconds gauge\npush_time_seconds 5\nm 1\n",
      ),
      scrape,
    ],
  },
  {
    name: "push_failure_time_seconds in a body on a new group is replaced",
    spec: "§3.5",
    requests: [
      post(
        "/metrics/job/pf",
        "# TYPE push_failure_time_seconds gauge\npush_failure_time_seconds 9\n",
      ),
      scrape,
    ],
  },
  {
    name: "push_failure_time_seconds in a body on an existing group",
    spec: "§3.5",
    requests: [
      post("/metrics/job/pf", "m 1\n"),
      post(
        "/metrics/job/pf",
        '# TYPE push_failure_time_seconds gauge\npush_failure_time_seconds{x="1"} 9\n',
      ),
      scrape,
    ],
  },
  {
    name: "HELP conflict across groups",
    spec: "§3.4",
    requests: [
      post("/metrics/job/h1", "# HELP h help one\nh 1\n"),
      post("/metrics/job/h2", "# HELP h help two\nh 1\n"),
      post("/metrics/job/h3", "h 1\n"),
    ],
  },
  {
    name: "instance alias trap",
    spec: "§3.6",
    requests: [
      post("/metrics/job/j1", "m 1\n"),
      post("/metrics/job/j1/instance/", "n 1\n"),
      post("/metrics/job/other", "o 1\n"),
      scrape,
    ],
  },
  {
    name: "instance alias trap with the alias pushed first",
    spec: "§3.6",
    requests: [
      post("/metrics/job/j1/instance@base64/=", "n 1\n"),
      post("/metrics/job/j1", "m 1\n"),
      post("/metrics/job/other", "o 1\n"),
      scrape,
    ],
  },
  {
    name: "invalid UTF-8 in a grouping label value",
    spec: "§3.6",
    requests: [post("/metrics/job/bad/a/%FF", "m 1\n"), scrape],
  },
  {
    name: "invalid UTF-8 in the job",
    spec: "§3.6",
    requests: [post("/metrics/job/%FF", "m 1\n"), scrape],
  },
  {
    name: "invalid UTF-8 in a base64 grouping label value",
    spec: "§1.3, §3.6",
    requests: [post("/metrics/job/bad/a@base64/_w", "m 1\n"), scrape],
  },

  // §4: metadata metrics.
  {
    name: "failed push creates the group with its metadata",
    spec: "§4",
    requests: [
      post("/metrics/job/f/instance/i", "m 1 123\n"),
      scrape,
      post("/metrics/job/f/instance/i", "m 2\n"),
      scrape,
    ],
  },
  {
    name: "failed push keeps the families of an existing group",
    spec: "§4",
    requests: [
      put("/metrics/job/f", "# TYPE m gauge\nm 1\n"),
      post("/metrics/job/f", "m 2 123\n"),
      scrape,
      put("/metrics/job/f", ""),
      scrape,
    ],
  },
  {
    name: "failed push by a type conflict sets the failure time",
    spec: "§4",
    requests: [
      post("/metrics/job/a", "# TYPE m counter\nm 1\n"),
      post("/metrics/job/b", "# TYPE m gauge\nm 1\n"),
      scrape,
    ],
  },
  {
    name: "parse errors do not create a group",
    spec: "§1.6, §4",
    requests: [
      post("/metrics/job/p", "m 1"),
      post("/metrics/job/p/odd", "m 1\n"),
      scrape,
    ],
  },

  // §5: scrape output order.
  {
    name: "scrape sorts families by name in byte order",
    spec: "§5.1",
    requests: [
      post(
        "/metrics/job/order",
        "e9 1\ne:colon 2\ne 3\ne10 4\ne4 5\nE 6\n_under 7\na_b 8\nab 9\n",
      ),
    ],
  },
  {
    name: "scrape sorts series by label count, then by label values",
    spec: "§5.1",
    requests: [
      post("/metrics/job/p2/x/1", "# TYPE shared gauge\nshared 21\n"),
      post(
        "/metrics/job/p1",
        '# TYPE shared gauge\nshared 11\nshared{z="a"} 12\n',
      ),
      post("/metrics/job/p3/instance/i", "# TYPE shared gauge\nshared 31\n"),
      post(
        "/metrics/job/p10",
        '# TYPE shared gauge\nshared{instance="b"} 101\n',
      ),
      post(
        "/metrics/job/order",
        '# TYPE s gauge\ns{v="nan",w="1"} 1\ns{v="big"} 2\ns{v="int"} 3\n' +
          's{a="z"} 4\ns 5\ns{v="Big"} 6\ns{v="big",w="0"} 7\ns{v="bi"} 8\n',
      ),
    ],
  },
  {
    name: "scrape sorts labels by name inside a series",
    spec: "§5.1",
    requests: [
      post(
        "/metrics/job/sorted/zz/1",
        '# TYPE m counter\nm{zeta="1",alpha="2",Mid="3",_u="4"} 1\n',
      ),
    ],
  },

  // §3.7: --push.disable-consistency-check.
  {
    name: "unchecked push is answered 202",
    spec: "§3.7",
    flags: UNCHECKED,
    requests: [
      post("/metrics/job/u", "m 1\n"),
      put("/metrics/job/u/instance/i", "# TYPE g gauge\ng 2\n"),
      scrape,
    ],
  },
  {
    name: "unchecked push with a timestamp is dropped after a 202",
    spec: "§3.7, §4",
    flags: UNCHECKED,
    requests: [
      post("/metrics/job/u", "m 1\n"),
      post("/metrics/job/u", "m 2 1700000000000\n"),
      scrape,
      post("/metrics/job/new", "m 3 1700000000000\n"),
    ],
  },
  {
    name: "unchecked push still refuses bad URLs and bodies",
    spec: "§3.7",
    flags: UNCHECKED,
    requests: [
      post("/metrics/job/u/odd", "m 1\n"),
      post("/metrics/job/u/__x/1", "m 1\n"),
      post("/metrics/job/u", "m 1"),
      post("/metrics/job/u", "m 1\n", { "Content-Encoding": "gzip" }),
      del("/metrics/job/u/odd"),
      scrape,
    ],
  },
  {
    name: "unchecked push sanitizes labels",
    spec: "§3.2, §3.7",
    flags: UNCHECKED,
    requests: [
      post("/metrics/job/u/foo/baz", 'c{job="other",foo="bar"} 1\n'),
      del("/metrics/job/u/foo/baz"),
      scrape,
    ],
  },
  {
    name: "unchecked push of a type conflict across groups",
    spec: "§3.7, §5",
    flags: UNCHECKED,
    requests: [
      post("/metrics/job/a", "# TYPE m counter\nm 1\n"),
      post("/metrics/job/b", "# TYPE m gauge\nm 2\n"),
      post("/metrics/job/c", "n 3\n"),
      scrape,
    ],
  },
  {
    name: "unchecked push of a duplicate series",
    spec: "§3.7, §5",
    flags: UNCHECKED,
    requests: [post("/metrics/job/d", "dup 1\ndup 2\nok 3\n"), scrape],
  },

  // §11: the 1.5.1 deadlock; these cases restart the reference afterwards.
  {
    name: "invalid job@base64 on POST",
    spec: "§1.3, §11",
    restartReferenceAfter:
      "1.5.1 keeps the POST job@base64 handler locked after the refusal",
    requests: [
      post("/metrics/job@base64/!!", "m 1\n"),
      { ...post("/metrics/job@base64/eA", "m 1\n"), answerWithinMs: 2000 },
      put("/metrics/job@base64/eA", "n 1\n"),
      post("/metrics/job@base64/eA/a/b", "o 1\n"),
    ],
  },
  {
    name: "invalid job@base64 names the part decoded before the error",
    spec: "§1.3",
    restartReferenceAfter:
      "1.5.1 keeps the PUT job@base64 handler with labels locked after the refusal",
    requests: [put("/metrics/job@base64/L3Zhci90bXA+/a/b", "m 1\n")],
  },
  {
    name: "invalid job@base64 on DELETE with labels",
    spec: "§1.3, §11",
    restartReferenceAfter:
      "1.5.1 keeps the DELETE job@base64 handler with labels locked after the refusal",
    requests: [
      post("/metrics/job@base64/eA/a/b", "m 1\n"),
      del("/metrics/job@base64/!!/a/b"),
      { ...del("/metrics/job@base64/eA/a/b"), answerWithinMs: 2000 },
      scrape,
    ],
  },
];
