import assert from "node:assert/strict";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { makeGroupingKey } from "../../src/push/grouping_key.ts";
import type { GroupState } from "../../src/store/view.ts";
import { renderSeries } from "../../src/push/rendered_series.ts";
import {
  deletePath,
  MAX_GROUP_ROWS,
  MAX_SERIES_ROWS,
  renderGroupPage,
  sortGroups,
} from "../../src/ui/group_cards.ts";
import { selectGroups } from "../../src/ui/group_selection.ts";

function group(
  labels: Record<string, string>,
  families: readonly MetricFamily[] = [],
  ttl?: number,
): GroupState {
  const key = makeGroupingKey(new Map(Object.entries(labels)));
  const state: GroupState = {
    id: key.id,
    rowId: 1,
    key,
    metadataLabels: key.labels,
    pushTime: 100,
    failureTime: 0,
    ttl,
    createdAt: 90,
    pushTimeWrittenAt: 100,
    failureTimeWrittenAt: 100,
    families: new Map(
      families.map((family) => [family.name, {
        groupId: key.id,
        name: family.name,
        type: family.type,
        help: family.help,
        unit: family.unit,
        rowId: 1,
        pushedAt: 100,
        ...renderSeries(family),
      }]),
    ),
  };
  FAMILIES.set(state, families);
  return state;
}

/** What the store would read back from the database for each group. */
const FAMILIES = new WeakMap<GroupState, readonly MetricFamily[]>();

/** Each group's own page (its card opened, body included). */
function render(groups: readonly GroupState[], defaultTtl = 0): string {
  const options = {
    defaultTtl,
    now: 160,
    enableAdminApi: false,
    utf8Names: false,
  };
  return groups.map((g) =>
    renderGroupPage(g, {
      families: (FAMILIES.get(g) ?? []).map((family) => ({
        family,
        pushedAt: 100,
      })),
      recentPushes: [],
      pushCount: 0,
    }, options).text
  ).join("").replace(/\s+/g, " ").replace(/> </g, "><");
}

Deno.test("sortGroups() orders by the Pushgateway's internal grouping key", () => {
  const groups = [
    group({ job: "b" }),
    group({ job: "a", zone: "x" }),
    group({ job: "a" }),
    group({ job: "c", instance: "i" }),
  ];
  // Keys: "job\xffb", "job\xffa\xffzone\xffx", "job\xffa", "instance\xffi\xffjob\xffc".
  assert.deepEqual(sortGroups(groups).map((g) => g.id), [
    '{instance="i",job="c"}',
    '{job="a"}',
    '{job="a",zone="x"}',
    '{job="b"}',
  ]);
});

Deno.test("deletePath() base64-encodes every value and pads all but the job with =", () => {
  const g = group({ job: "x/y", instance: "", "a": "é" });
  assert.equal(
    deletePath(g.key.labels, { utf8Names: false }),
    "metrics/job@base64/eC95/a@base64/w6k=/instance@base64/=",
  );
});

Deno.test("renderGroupPage() renders native histogram buckets and their totals", () => {
  const html = render([group({ job: "n" }, [{
    name: "latency",
    help: "Latency.",
    type: "histogram",
    metrics: [{
      labels: [{ name: "job", value: "n" }],
      sampleCount: 6,
      sampleSum: 4.5,
      buckets: [],
      native: {
        schema: 0,
        zeroThreshold: 0.001,
        zeroCount: 1,
        positiveSpans: [{ offset: 0, length: 2 }],
        positiveDeltas: [2, 1],
        positiveCounts: [],
        negativeSpans: [],
        negativeDeltas: [],
        negativeCounts: [],
      },
    }],
  }])]);
  assert.match(html, /Native histogram, schema 0/);
  assert.match(
    html,
    /Bucket <code>\[-0.001,0.001\]<\/code><\/th><td class="value">1</,
  );
  assert.match(
    html,
    /Bucket <code>\(0.5,1\]<\/code><\/th><td class="value">2</,
  );
  assert.match(html, /Bucket <code>\(1,2\]<\/code><\/th><td class="value">3</);
  assert.match(html, /Total sample count<\/th><td class="value">6</);
  assert.match(html, /Sample sum<\/th><td class="value">4.5</);
  assert.match(html, /<span class="age">\(1m ago\)<\/span>/);
});

Deno.test("renderGroupPage() shows at most MAX_SERIES_ROWS series of a family", () => {
  const metrics = Array.from({ length: MAX_SERIES_ROWS + 5 }, (_, i) => ({
    labels: [{ name: "i", value: String(i) }],
    value: i,
  }));
  const html = render([group({ job: "big" }, [{
    name: "wide",
    help: undefined,
    type: "gauge",
    metrics,
  }])]);
  assert.equal(
    html.split('<td class="value">').length - 1,
    MAX_SERIES_ROWS + 2, // plus the two metadata series
  );
  assert.match(html, /5 more series not shown here/);
});

Deno.test("renderGroupPage() shows at most MAX_GROUP_ROWS series over all families of a group", () => {
  const families = MAX_GROUP_ROWS / MAX_SERIES_ROWS + 1;
  const html = render([group(
    { job: "wide" },
    Array.from({ length: families }, (_, f) => ({
      name: `f${f}`,
      help: undefined,
      type: "gauge" as const,
      metrics: Array.from({ length: MAX_SERIES_ROWS }, (_, i) => ({
        labels: [{ name: "i", value: String(i) }],
        value: i,
      })),
    })),
  )]);
  // The families sort before the two metadata families, which get no rows.
  assert.equal(html.split('<td class="value">').length - 1, MAX_GROUP_ROWS);
  assert.match(html, /1000 more series not shown here/);
  assert.match(html, /1 more series not shown here/);
});

Deno.test("renderGroupPage() shows when a group expires under its TTL", async (t) => {
  await t.step("no TTL: nothing", () => {
    assert.doesNotMatch(render([group({ job: "a" })]), /expire/);
  });
  await t.step("the --group.ttl default, counted from the last push", () => {
    assert.match(
      render([group({ job: "a" })], 3600),
      /<span class="expiry" title="TTL 1h \(--group.ttl\); expires at 1970-01-01T01:01:40Z">expires in 59m<\/span>/,
    );
  });
  await t.step("the group's own TTL wins", () => {
    assert.match(
      render([group({ job: "a" }, [], 30)], 3600),
      /title="TTL 30s \(Pushvault-TTL\)[^"]*">expiring<\/span>/,
    );
  });
});

Deno.test("selectGroups() keeps the first matching groups after the cursor, in order, with counts", async (t) => {
  const groups = [
    group({ job: "b" }),
    group({ job: "a", zone: "x" }),
    group({ job: "a" }),
    group({ job: "c", instance: "i" }),
    group({ job: "backup", instance: "DB1" }),
  ];
  let pauses = 0;
  const select = (query: string, after: string | undefined, limit: number) =>
    selectGroups({
      groups,
      query,
      after,
      limit,
      pause: () => {
        pauses++;
        return Promise.resolve();
      },
    });
  await t.step("the first page is the start of sortGroups()", async () => {
    const page = await select("", undefined, 3);
    assert.deepEqual(
      page.groups.map((g) => g.id),
      sortGroups(groups).slice(0, 3).map((g) => g.id),
    );
    assert.deepEqual(
      { total: page.total, matched: page.matched, before: page.before },
      { total: 5, matched: 5, before: 0 },
    );
    assert.ok(page.next !== undefined);
    const rest = await select("", page.next, 3);
    assert.deepEqual(
      rest.groups.map((g) => g.id),
      sortGroups(groups).slice(3).map((g) => g.id),
    );
    assert.equal(rest.before, 3);
    assert.equal(rest.next, undefined);
  });
  await t.step(
    "the filter matches every term, case-insensitively",
    async () => {
      const page = await select('JOB="b db1', undefined, 10);
      assert.deepEqual(page.groups.map((g) => g.id), [
        '{instance="DB1",job="backup"}',
      ]);
      assert.deepEqual(
        { total: page.total, matched: page.matched, next: page.next },
        { total: 5, matched: 1, next: undefined },
      );
    },
  );
  await t.step(
    "a name=value term without quotes matches the whole value",
    async () => {
      const ids = async (query: string) =>
        (await select(query, undefined, 10)).groups.map((g) => g.id);
      assert.deepEqual(await ids("job=backup"), [
        '{instance="DB1",job="backup"}',
      ]);
      assert.deepEqual(await ids("job=backup"), await ids('job="backup"'));
      assert.deepEqual(await ids("JOB=b"), ['{job="b"}']);
      assert.deepEqual(await ids('job="b'), [
        '{instance="DB1",job="backup"}',
        '{job="b"}',
      ]);
      assert.deepEqual(await ids("job="), await ids("job"));
    },
  );
  assert.equal(pauses, 0); // fewer groups than PAUSE_EVERY
});
