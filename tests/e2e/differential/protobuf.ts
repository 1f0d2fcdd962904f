/**
 * Content-Type and the delimited protobuf format (docs/compatibility.md,
 * Push bodies; Protobuf).
 * @module
 */

import {
  type DiffCase,
  gauge,
  HISTOGRAM_FAMILY,
  label,
  post,
  PROTOBUF,
  protobufBody,
  protobufPush,
  scrape,
  SUMMARY_FAMILY,
} from "./case_kit.ts";

export const PROTOBUF_CASES: readonly DiffCase[] = [
  // Content-Type and protobuf.
  {
    name: "Content-Type variants that select protobuf",
    doc: "compatibility.md: Push bodies",
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
    doc: "compatibility.md: Push bodies",
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
    doc: "compatibility.md: Protobuf; Scrapes",
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
    doc: "compatibility.md: Protobuf",
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
    doc: "compatibility.md: Protobuf",
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
    doc: "compatibility.md: Protobuf; Error responses",
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
    doc: "compatibility.md: Protobuf; The consistency check",
    requests: [
      protobufPush("POST", "/metrics/job/pb", [
        gauge("g", [{ labels: [label("a-b", "1")], value: 1 }]),
      ]),
      scrape,
    ],
  },
  {
    name: "protobuf body with a metric name that is not legacy-valid",
    doc: "compatibility.md: Protobuf; Deliberate differences",
    requests: [
      protobufPush("POST", "/metrics/job/pb", [
        gauge("bad-name", [{ labels: [], value: 1 }]),
      ]),
      scrape,
    ],
  },
  {
    name: "protobuf body with a timestamp",
    doc: "compatibility.md: Validation",
    requests: [
      protobufPush("POST", "/metrics/job/pb", [
        gauge("g", [{ labels: [], value: 1, timestampMs: 1_700_000_000_000 }]),
      ]),
      scrape,
    ],
  },
  {
    name: "protobuf summary with an explicit quantile label",
    doc: "compatibility.md: The consistency check",
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
];
