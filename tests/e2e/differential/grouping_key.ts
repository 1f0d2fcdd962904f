/**
 * The grouping key from the path: labels, base64 values, empty values,
 * and where it conflicts with the body (docs/compatibility.md, Grouping keys).
 * @module
 */

import { del, type DiffCase, post, put, scrape } from "./case_kit.ts";

export const GROUPING_KEY_CASES: readonly DiffCase[] = [
  // The grouping key from the path.
  {
    name: "grouping key with the job only",
    doc: "compatibility.md: Grouping keys",
    requests: [post("/metrics/job/j1", "m 1\n"), scrape],
  },
  {
    name: "grouping key with label pairs",
    doc: "compatibility.md: Grouping keys",
    requests: [post("/metrics/job/j1/instance/i1/a/b", "m 1\n")],
  },
  {
    name: "grouping key ignores one trailing slash after the job",
    doc: "compatibility.md: Grouping keys",
    requests: [
      post("/metrics/job/j1/", "m 1\n"),
      post("/metrics/job/j1", "n 1\n"),
    ],
  },
  {
    name: "grouping key with a trailing slash after a name has an empty value",
    doc: "compatibility.md: Grouping keys",
    requests: [post("/metrics/job/j1/a/", "m 1\n"), scrape],
  },
  {
    name: "grouping key with an odd number of components",
    doc: "compatibility.md: Grouping keys; Error responses",
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
    doc: "compatibility.md: Grouping keys",
    requests: [post("/metrics/job/j3/a/1/a/2", "m 1\n")],
  },
  {
    name: "grouping key takes the job from the job segment",
    doc: "compatibility.md: Grouping keys",
    requests: [post("/metrics/job/j3/job/other", "m 1\n")],
  },
  {
    name: "grouping key is a set of labels",
    doc: "compatibility.md: Groups are exact keys",
    requests: [
      post("/metrics/job/s/a/1/b/2", "m 1\n"),
      post("/metrics/job/s/b/2/a/1", "n 1\n"),
    ],
  },
  {
    name: "grouping key refuses improper label names",
    doc: "compatibility.md: Grouping keys",
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
    doc: "compatibility.md: Grouping keys; UTF-8 names",
    requests: [
      post("/metrics/job/j/_a/1/a_1/2/A/3/U__a_2e_b/v", "m 1\n"),
    ],
  },
  {
    name: "grouping key decodes @base64 values with or without padding",
    doc: "compatibility.md: Grouping keys",
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
    doc: "compatibility.md: Grouping keys",
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
    doc: "compatibility.md: Grouping keys",
    requests: [
      post("/metrics/job/b64/a@base64/Pz8-/b@base64/Pz8_", "m 1\n"),
    ],
  },
  {
    name: "grouping key refuses invalid @base64 values",
    doc: "compatibility.md: Grouping keys; Error responses",
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
    doc: "compatibility.md: Grouping keys",
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
    doc: "compatibility.md: Grouping keys; Error responses",
    requests: [
      post("/metrics/job@base64/=", "m 1\n"),
      put("/metrics/job@base64/=/a/b", "m 1\n"),
      del("/metrics/job@base64/="),
    ],
  },
  {
    name: "grouping key splits on %2F",
    doc: "compatibility.md: Routes",
    requests: [post("/metrics/job/a%2Fb/x/c%2Fd", "m 1\n")],
  },
  {
    name: "grouping key decodes percent escapes and keeps +",
    doc: "compatibility.md: Routes",
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
];
