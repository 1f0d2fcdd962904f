import assert from "node:assert/strict";
import fc from "fast-check";
import { labelsOfSeriesKey, seriesKey } from "../../src/push/consistency.ts";
import { parseText } from "../../src/exposition/text_parse.ts";
import { OWN_FAMILIES } from "../../src/http/self_metrics.ts";
import { parseGroupingKey } from "../../src/push/grouping_key.ts";
import { sanitizePush } from "../../src/push/validate.ts";
import { Store } from "../../src/store/store.ts";

const REQUEST = {
  path: "/",
  contentType: null,
  bodyBytes: 0,
  remoteAddr: null,
  userAgent: null,
};

function push(
  store: Store,
  method: "PUT" | "POST",
  path: string,
  body: string,
) {
  const key = parseGroupingKey(path);
  if (!key) throw new Error(path);
  const s = sanitizePush(parseText(new TextEncoder().encode(body)), key);
  return store.push({
    method,
    key,
    families: s.families,
    problems: s.problems,
    seriesCount: s.seriesCount,
    checkConsistency: true,
    time: 1,
    request: REQUEST,
  });
}

const PREFIX =
  "pushed metrics are invalid or inconsistent with existing metrics: ";

const CASES = [
  {
    name: "type conflict across groups",
    first: ["job/a", "# TYPE h gauge\nh 1\n"],
    second: ["job/b", "# TYPE h counter\nh 1\n"],
    error:
      'collected metric "h" {instance="",job="b"} is not a GAUGE (it is a GAUGE in group {job="a"})',
  },
  {
    name: "duplicate series within one push",
    first: undefined,
    second: ["job/d", "dup 1\ndup 2\n"],
    error:
      'collected metric "dup" {instance="",job="d"} was collected before with the same name and label values',
  },
  {
    name: "a _count family next to a summary",
    first: ["job/a", "# TYPE foo summary\nfoo_sum 1\nfoo_count 1\n"],
    second: ["job/b", "foo_count 1\n"],
    error:
      'collected metric named "foo_count" collides with previously collected summary named "foo"',
  },
  {
    name: "a histogram next to a _bucket family",
    first: ["job/a", "bar_bucket 1\n"],
    second: [
      "job/b",
      '# TYPE bar histogram\nbar_bucket{le="1"} 1\nbar_sum 1\nbar_count 1\n',
    ],
    error:
      'collected histogram named "bar" collides with previously collected metric named "bar_bucket"',
  },
  {
    name: "own family with another type",
    first: undefined,
    second: ["job/o", "pushgateway_build_info 1\n"],
    error:
      "gathered metric family pushgateway_build_info has type UNTYPED but should have GAUGE",
  },
  {
    name: "own lazily created family with another HELP",
    first: undefined,
    second: [
      "job/o",
      "# HELP pushgateway_http_requests_total other\n# TYPE pushgateway_http_requests_total counter\npushgateway_http_requests_total 1\n",
    ],
    error:
      'gathered metric family pushgateway_http_requests_total has help "other" but should have "Total HTTP requests processed by the Pushgateway, excluding scrapes."',
  },
  {
    name: "label name starting with __",
    first: undefined,
    second: ["job/l", 'm{__x="1"} 1\n'],
    error:
      'collected metric "m" {__x="1",instance="",job="l"} has a label with an invalid name: __x',
  },
] as const;

Deno.test("checkConsistency() refuses what the Pushgateway's gatherer refuses", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      using store = new Store({ path: "", ownFamilies: OWN_FAMILIES });
      if (c.first) {
        assert.equal(push(store, "PUT", c.first[0], c.first[1]).status, 200);
      }
      const outcome = push(store, "PUT", c.second[0], c.second[1]);
      assert.equal(outcome.status, 400);
      assert.equal(outcome.error, PREFIX + c.error);
    });
  }
});

Deno.test("checkConsistency() names another group holding the family, never the pushing one", () => {
  using store = new Store({ path: "", ownFamilies: OWN_FAMILIES });
  assert.equal(
    push(store, "PUT", "job/b", "# TYPE h gauge\nh 1\n").status,
    200,
  );
  assert.equal(
    push(store, "PUT", "job/a/instance/x", "# TYPE h gauge\nh 1\n").status,
    200,
  );
  const outcome = push(store, "POST", "job/b", "# TYPE h counter\nh 2\n");
  assert.equal(outcome.status, 400);
  assert.equal(
    outcome.error,
    PREFIX +
      'collected metric "h" {instance="",job="b"} is not a GAUGE (it is a GAUGE in group {instance="x",job="a"})',
  );
});

Deno.test("checkConsistency() allows a group to change the type of its own family", () => {
  using store = new Store({ path: "", ownFamilies: OWN_FAMILIES });
  assert.equal(push(store, "POST", "job/a", "c 3\n").status, 200);
  assert.equal(
    push(store, "POST", "job/a", "# TYPE c gauge\nc 4\n").status,
    200,
  );
});

Deno.test("checkConsistency() merges a pushed own family of the right type", () => {
  using store = new Store({ path: "", ownFamilies: OWN_FAMILIES });
  assert.equal(
    push(
      store,
      "PUT",
      "job/o",
      "# TYPE pushgateway_build_info gauge\npushgateway_build_info 1\n",
    ).status,
    200,
  );
});

Deno.test("checkConsistency() reports several problems in the Pushgateway's list form", () => {
  using store = new Store({ path: "", ownFamilies: OWN_FAMILIES });
  const outcome = push(store, "PUT", "job/m", "a 1\na 2\nb 1\nb 2\n");
  assert.equal(outcome.status, 400);
  assert.match(
    outcome.error ?? "",
    /^pushed metrics are invalid or inconsistent with existing metrics: 2 errors occurred:\n\* collected metric "a" .*\n\* collected metric "b" /,
  );
});

Deno.test("labelsOfSeriesKey() reads back the labels of any series key", () => {
  // Control characters, spaces and more than 221 labels take the key's
  // escapes and its long count prefix.
  const text = fc.string({ unit: "binary", maxLength: 6 });
  const label = fc.record({ name: text, value: text });
  fc.assert(
    fc.property(
      fc.oneof(
        fc.array(label, { maxLength: 8 }),
        fc.array(label, { minLength: 220, maxLength: 300 }),
      ),
      (labels) => {
        const plain = labels.map(({ name, value }) => ({ name, value }));
        assert.deepEqual(labelsOfSeriesKey(seriesKey(labels)), plain);
      },
    ),
    { seed: 20261207, numRuns: 300 },
  );
  const many = Array.from({ length: 70_000 }, (_, i) => ({
    name: `l${i}`,
    value: " \t\n",
  }));
  assert.deepEqual(labelsOfSeriesKey(seriesKey(many)), many);
});

Deno.test("sanitizePush() reports only the first problem of each series", () => {
  // client_golang's checkMetricConsistency stops at a series' first bad
  // label; each problem names the whole series, so reporting every bad
  // label of a series of many labels would grow with their square.
  const key = parseGroupingKey("job/j");
  if (!key) throw new Error("job/j");
  const body = 'm{__a="1",__b="2"} 1\nm{__c="3"} 1\n';
  const s = sanitizePush(parseText(new TextEncoder().encode(body)), key);
  assert.deepEqual(s.problems, [
    'collected metric "m" {__a="1",__b="2",instance="",job="j"} has a label with an invalid name: __a',
    'collected metric "m" {__c="3",instance="",job="j"} has a label with an invalid name: __c',
  ]);
});
