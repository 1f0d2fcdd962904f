/**
 * What the differential cases are made of: a case and its requests, and the
 * helpers that build requests, bodies and families for them.
 * @module
 */

import { gzipSync } from "node:zlib";
import type {
  MetricFamily,
  ScalarMetric,
} from "../../../src/exposition/model.ts";
import { encodeDelimited } from "../../../src/exposition/protobuf_encode.ts";

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
  /**
   * The sections of the repository's documents that describe the behaviour
   * the case exercises, e.g. `"compatibility.md: Validation; Metadata metrics"`.
   */
  readonly doc: string;
  readonly requests: readonly DiffRequest[];
  /**
   * Why the reference must be restarted after this case
   * (docs/compatibility.md, The 1.5.1 deadlock).
   */
  readonly restartReferenceAfter?: string;
  /** Flags both gateways run with for this case (one pair per set). */
  readonly flags?: readonly string[];
}

/** The Content-Type that makes both gateways read delimited protobuf. */
export const PROTOBUF =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

export function request(
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

export const post = (
  path: string,
  body: string | Uint8Array<ArrayBuffer> = "",
  headers?: Readonly<Record<string, string>>,
) => request("POST", path, body, headers);
export const put = (
  path: string,
  body: string | Uint8Array<ArrayBuffer> = "",
  headers?: Readonly<Record<string, string>>,
) => request("PUT", path, body, headers);
export const del = (path: string, body?: string) =>
  request("DELETE", path, body);
export const get = (path: string, headers?: Readonly<Record<string, string>>) =>
  request("GET", path, undefined, headers);
/** A scrape inside a case, compared like the final one. */
export const scrape = get("/metrics");

export function protobufBody(
  families: readonly MetricFamily[],
): Uint8Array<ArrayBuffer> {
  return encodeDelimited(families);
}

export function protobufPush(
  method: "POST" | "PUT",
  path: string,
  families: readonly MetricFamily[],
  contentType = PROTOBUF,
): DiffRequest {
  return request(method, path, protobufBody(families), {
    "Content-Type": contentType,
  });
}

export function gzip(body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const input = typeof body === "string"
    ? new TextEncoder().encode(body)
    : body;
  const zipped = gzipSync(input);
  const out = new Uint8Array(zipped.byteLength);
  out.set(zipped);
  return out;
}

export function gauge(
  name: string,
  metrics: readonly ScalarMetric[],
  help?: string,
): MetricFamily {
  return { name, help, type: "gauge", metrics };
}

export const label = (name: string, value: string) => ({ name, value });

/**
 * One case per bad body: status and the parser's exact message
 * (docs/compatibility.md, The text format).
 */
export const PARSE_ERRORS: readonly { name: string; body: string }[] = [
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
export const INVALID_UTF8_LABEL_VALUE = new Uint8Array([
  ...new TextEncoder().encode('m{a="'),
  0xff,
  ...new TextEncoder().encode('"} 1\n'),
]);

export const OPENMETRICS_BODY =
  "# TYPE om counter\n# HELP om An OpenMetrics counter.\nom_total 1\n# EOF\n";

export const UNCHECKED = ["--push.disable-consistency-check"] as const;

/** A gzip body of two samples, to be cut in the middle. */
export const GZIPPED = gzip("m 1\nn 2\n");

export const SEQUENCE_PATH = "/metrics/job/seq";

export const SUMMARY_FAMILY: MetricFamily = {
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

export const HISTOGRAM_FAMILY: MetricFamily = {
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
