/**
 * What comes out: the metadata metrics, the order of a scrape, pushes with
 * the consistency check off, and the 1.5.1 deadlock, after which these
 * cases restart the reference (docs/compatibility.md).
 * @module
 */

import {
  del,
  type DiffCase,
  post,
  put,
  scrape,
  UNCHECKED,
} from "./case_kit.ts";

export const OUTPUT_CASES: readonly DiffCase[] = [
  // Metadata metrics.
  {
    name: "failed push creates the group with its metadata",
    doc: "compatibility.md: Metadata metrics",
    requests: [
      post("/metrics/job/f/instance/i", "m 1 123\n"),
      scrape,
      post("/metrics/job/f/instance/i", "m 2\n"),
      scrape,
    ],
  },
  {
    name: "failed push keeps the families of an existing group",
    doc: "compatibility.md: Metadata metrics",
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
    doc: "compatibility.md: Metadata metrics",
    requests: [
      post("/metrics/job/a", "# TYPE m counter\nm 1\n"),
      post("/metrics/job/b", "# TYPE m gauge\nm 1\n"),
      scrape,
    ],
  },
  {
    name: "parse errors do not create a group",
    doc: "compatibility.md: Error responses; Metadata metrics",
    requests: [
      post("/metrics/job/p", "m 1"),
      post("/metrics/job/p/odd", "m 1\n"),
      scrape,
    ],
  },

  // Scrape output order.
  {
    name: "scrape sorts families by name in byte order",
    doc: "compatibility.md: Scrapes",
    requests: [
      post(
        "/metrics/job/order",
        "e9 1\ne:colon 2\ne 3\ne10 4\ne4 5\nE 6\n_under 7\na_b 8\nab 9\n",
      ),
    ],
  },
  {
    name: "scrape sorts series by label count, then by label values",
    doc: "compatibility.md: Scrapes",
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
    doc: "compatibility.md: Scrapes",
    requests: [
      post(
        "/metrics/job/sorted/zz/1",
        '# TYPE m counter\nm{zeta="1",alpha="2",Mid="3",_u="4"} 1\n',
      ),
    ],
  },

  // --push.disable-consistency-check.
  {
    name: "unchecked push is answered 202",
    doc: "compatibility.md: Validation",
    flags: UNCHECKED,
    requests: [
      post("/metrics/job/u", "m 1\n"),
      put("/metrics/job/u/instance/i", "# TYPE g gauge\ng 2\n"),
      scrape,
    ],
  },
  {
    name: "unchecked push with a timestamp is dropped after a 202",
    doc: "compatibility.md: Validation; Metadata metrics",
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
    doc: "compatibility.md: Validation",
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
    doc: "compatibility.md: Validation",
    flags: UNCHECKED,
    requests: [
      post("/metrics/job/u/foo/baz", 'c{job="other",foo="bar"} 1\n'),
      del("/metrics/job/u/foo/baz"),
      scrape,
    ],
  },
  {
    name: "unchecked push of a type conflict across groups",
    doc: "compatibility.md: Validation; Scrapes; Deliberate differences",
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
    doc: "compatibility.md: Validation; Scrapes; Deliberate differences",
    flags: UNCHECKED,
    requests: [post("/metrics/job/d", "dup 1\ndup 2\nok 3\n"), scrape],
  },

  // The 1.5.1 deadlock; these cases restart the reference afterwards.
  {
    name: "invalid job@base64 on POST",
    doc: "compatibility.md: Grouping keys; The 1.5.1 deadlock",
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
    doc: "compatibility.md: Grouping keys; The 1.5.1 deadlock",
    restartReferenceAfter:
      "1.5.1 keeps the PUT job@base64 handler with labels locked after the refusal",
    requests: [put("/metrics/job@base64/L3Zhci90bXA+/a/b", "m 1\n")],
  },
  {
    name: "invalid job@base64 on DELETE with labels",
    doc: "compatibility.md: Grouping keys; The 1.5.1 deadlock",
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
