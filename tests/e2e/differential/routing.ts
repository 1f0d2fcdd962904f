/**
 * Routing and the methods: which paths and methods each gateway answers,
 * and what PUT, POST and DELETE do to a group (docs/compatibility.md,
 * Routes; Methods and status codes).
 * @module
 */

import {
  del,
  type DiffCase,
  get,
  post,
  put,
  request,
  scrape,
  SEQUENCE_PATH,
} from "./case_kit.ts";

export const ROUTING_CASES: readonly DiffCase[] = [
  // Routing.
  {
    name: "routing redirects a double slash with 301",
    doc: "compatibility.md: Routes",
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
    doc: "compatibility.md: Routes",
    requests: [
      get("/metrics/job/j2//instance/x"),
      get("//metrics"),
      get("/metrics/"),
    ],
  },
  {
    name: "routing redirects /./ and /../ with 301",
    doc: "compatibility.md: Routes",
    requests: [
      { ...post("/metrics/job/x/./a/b", "m 1\n"), raw: true },
      { ...post("/metrics/job/x/../a/b", "m 1\n"), raw: true },
      { ...get("/metrics/./"), raw: true },
    ],
  },
  {
    name: "routing redirects /metrics/job/ with 307",
    doc: "compatibility.md: Routes",
    requests: [
      post("/metrics/job/", "m 1\n"),
      put("/metrics/job/", "m 1\n"),
      del("/metrics/job/"),
    ],
  },
  {
    name: "routing answers GET /metrics/job/ with 404",
    doc: "compatibility.md: Routes",
    requests: [get("/metrics/job/")],
  },
  {
    name: "routing answers 404 for unknown paths",
    doc: "compatibility.md: Routes",
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
    doc: "compatibility.md: Routes",
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
    doc: "compatibility.md: Routes",
    requests: [
      request("OPTIONS", "/metrics/job/x"),
      request("OPTIONS", "/metrics/job/x/a/b"),
      request("OPTIONS", "/metrics/job@base64/eA"),
      request("OPTIONS", "/metrics/job@base64/eA/a/b"),
    ],
  },

  // Methods and semantics.
  {
    name: "sequence of POST, PUT and DELETE on one group",
    doc: "compatibility.md: Methods and status codes; Validation",
    requests: [
      post(SEQUENCE_PATH, "a 1\nb 1\n"),
      scrape,
      post(SEQUENCE_PATH, "b 2\nc 2\n"),
      scrape,
      put(SEQUENCE_PATH, "c 3\n"),
      scrape,
      post(SEQUENCE_PATH, "# TYPE c gauge\nc 4\n"),
      scrape,
      post(SEQUENCE_PATH, "c 5 123\n"),
      scrape,
      post(SEQUENCE_PATH, ""),
      scrape,
      put(SEQUENCE_PATH, ""),
      scrape,
      del(SEQUENCE_PATH),
      scrape,
    ],
  },
  {
    name: "empty PUT creates a group with the metadata only",
    doc: "compatibility.md: Methods and status codes",
    requests: [put("/metrics/job/e"), scrape],
  },
  {
    name: "empty POST creates a group with the metadata only",
    doc: "compatibility.md: Methods and status codes",
    requests: [post("/metrics/job/e"), scrape],
  },
  {
    name: "DELETE of a missing group is accepted",
    doc: "compatibility.md: Methods and status codes",
    requests: [del("/metrics/job/missing"), del("/metrics/job/missing/a/b")],
  },
  {
    name: "DELETE ignores its body",
    doc: "compatibility.md: Methods and status codes",
    requests: [
      post("/metrics/job/d", "m 1\n"),
      del("/metrics/job/d", "this is not a metric\n"),
      scrape,
    ],
  },
  {
    name: "DELETE removes only the exact group",
    doc: "compatibility.md: Methods and status codes; Groups are exact keys",
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
    doc: "compatibility.md: Methods and status codes",
    requests: [
      post("/metrics/job/r/instance/i", "a 1\nb 1\nc 1\n"),
      post("/metrics/job/r/instance/i", 'b{x="1"} 2\n'),
      scrape,
      put("/metrics/job/r/instance/i", "d 4\n"),
      scrape,
    ],
  },
];
