/**
 * Validation: what a push may hold, and the consistency check
 * (docs/compatibility.md, Validation).
 * @module
 */

import {
  type DiffCase,
  gauge,
  label,
  post,
  protobufPush,
  put,
  scrape,
  SUMMARY_FAMILY,
} from "./case_kit.ts";

export const VALIDATION_CASES: readonly DiffCase[] = [
  // Validation.
  {
    name: "text body with a timestamp",
    doc: "compatibility.md: Validation; Metadata metrics",
    requests: [post("/metrics/job/ts", "m 1 1700000000000\n"), scrape],
  },
  {
    name: "type conflict across groups",
    doc: "compatibility.md: The consistency check; Metadata metrics",
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
    doc: "compatibility.md: The consistency check",
    requests: [
      post("/metrics/job/dup", "dup 1\ndup 2\n"),
      post("/metrics/job/dup", 'dup{a="1"} 1\ndup{a="1"} 2\n'),
      scrape,
    ],
  },
  {
    name: "duplicate series across groups",
    doc: "compatibility.md: The consistency check",
    requests: [
      post("/metrics/job/x", 'm{a="1"} 1\n'),
      post("/metrics/job/x/a/1", "m 2\n"),
      post("/metrics/job/x/a/1", "n 2\n"),
      scrape,
    ],
  },
  {
    name: "suffix collision of a summary with a later _count family",
    doc: "compatibility.md: The consistency check",
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
    doc: "compatibility.md: The consistency check",
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
    doc: "compatibility.md: The consistency check",
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
    doc: "compatibility.md: Validation",
    requests: [
      post(
        "/metrics/job/t4/foo/baz",
        '# TYPE c counter\nc{job="other",instance="inst",foo="bar"} 1\nc{foo="only"} 2\n',
      ),
    ],
  },
  {
    name: "instance from the body is kept unless the grouping key has one",
    doc: "compatibility.md: Validation",
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
    doc: "compatibility.md: The text format; The consistency check",
    requests: [post("/metrics/job/ln", 'm{__x="1"} 1\n'), scrape],
  },
  {
    name: "empty label values are kept",
    doc: "compatibility.md: Validation",
    requests: [
      post("/metrics/job/x", 'm 1\nk{a=""} 1\n'),
      post("/metrics/job/x/a@base64/=", "m 2\n"),
    ],
  },
  {
    name: "own family pushed with another type",
    doc: "compatibility.md: The consistency check; The gateway's own metrics",
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
    doc: "compatibility.md: The gateway's own metrics",
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
    doc: "compatibility.md: HELP conflicts; The gateway's own metrics",
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
    doc: "compatibility.md: The gateway's own metrics; Deliberate differences",
    requests: [post("/metrics/job/own", "go_goroutines 1\n")],
  },
  {
    name: "sample value longer than any float literal",
    doc: "compatibility.md: The text format; Deliberate differences",
    requests: [post("/metrics/job/long", `m ${"0".repeat(4097)}\n`)],
  },
  {
    name: "push_time_seconds in a body is replaced",
    doc: "compatibility.md: Metadata metrics",
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
    doc: "compatibility.md: Metadata metrics",
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
    doc: "compatibility.md: Metadata metrics; Deliberate differences",
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
    doc: "compatibility.md: HELP conflicts; Deliberate differences",
    requests: [
      post("/metrics/job/h1", "# HELP h help one\nh 1\n"),
      post("/metrics/job/h2", "# HELP h help two\nh 1\n"),
      post("/metrics/job/h3", "h 1\n"),
    ],
  },
  {
    name: "instance alias trap",
    doc: "compatibility.md: Deliberate differences",
    requests: [
      post("/metrics/job/j1", "m 1\n"),
      post("/metrics/job/j1/instance/", "n 1\n"),
      post("/metrics/job/other", "o 1\n"),
      scrape,
    ],
  },
  {
    name: "instance alias trap with the alias pushed first",
    doc: "compatibility.md: Deliberate differences",
    requests: [
      post("/metrics/job/j1/instance@base64/=", "n 1\n"),
      post("/metrics/job/j1", "m 1\n"),
      post("/metrics/job/other", "o 1\n"),
      scrape,
    ],
  },
  {
    name: "invalid UTF-8 in a grouping label value",
    doc: "compatibility.md: Deliberate differences",
    requests: [post("/metrics/job/bad/a/%FF", "m 1\n"), scrape],
  },
  {
    name: "invalid UTF-8 in the job",
    doc: "compatibility.md: Deliberate differences",
    requests: [post("/metrics/job/%FF", "m 1\n"), scrape],
  },
  {
    name: "invalid UTF-8 in a base64 grouping label value",
    doc: "compatibility.md: Grouping keys; Deliberate differences",
    requests: [post("/metrics/job/bad/a@base64/_w", "m 1\n"), scrape],
  },
];
