/**
 * The `contributions` rows of aggregating pushes at the store, as the
 * sqlite3 shell reads them: each pushed sample row's series id and value
 * as pushed, in the push's order (counters, summaries, histograms;
 * series reordered, new, left out), with NaN, -0 and the infinities as
 * strings (docs/database.md, Aggregating groups).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { parseText } from "../../src/exposition/text_parse.ts";
import { parseGroupingKey } from "../../src/push/grouping_key.ts";
import { sanitizePush } from "../../src/push/validate.ts";
import { Store } from "../../src/store/store.ts";
import type { PushCommand } from "../../src/store/store.ts";
import { seriesKeysOf } from "../../src/push/series_key.ts";
import { tempDir } from "../test_utils.ts";

const encoder = new TextEncoder();

function push(body: string, time: number): PushCommand {
  const key = parseGroupingKey("job/agg");
  if (!key) throw new Error("key");
  const sanitized = sanitizePush(parseText(encoder.encode(body)), key);
  return {
    method: "POST",
    key,
    families: sanitized.families,
    problems: sanitized.problems,
    seriesCount: sanitized.seriesCount,
    keys: sanitized.families.map(seriesKeysOf),
    checkConsistency: true,
    time,
    request: {
      path: "/aggregate/metrics/job/agg",
      contentType: null,
      bodyBytes: body.length,
      remoteAddr: "127.0.0.1",
      userAgent: "test",
    },
    aggregate: { gauge: "last" },
  };
}

/**
 * The deltas of the contribution of the push at `time`, family by family
 * (by name), as `<metric><labels>=<value as JSON>` in their order.
 */
function contribution(path: string, time: number): Map<string, string[]> {
  using db = new DatabaseSync(path, { readOnly: true });
  const rows = db.prepare(
    `SELECT n.name AS family, se.family || se.suffix AS metric, se.labels,
            json_extract(d.value, '$[0]') AS id, d.value AS pair
       FROM contributions c
       JOIN families f ON f.id = c.family_id
       JOIN metric_names n ON n.id = f.name_id
       JOIN pushes p ON p.id = f.push_id
       JOIN json_each(c.deltas) d
       JOIN series se ON se.id = json_extract(d.value, '$[0]')
      WHERE p.time = ? ORDER BY n.name, d.key`,
  ).all(time) as {
    family: string;
    metric: string;
    labels: string;
    id: number;
    pair: string;
  }[];
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const list = out.get(r.family) ?? [];
    const value = (JSON.parse(r.pair) as unknown[]).slice(1);
    list.push(`${r.metric}${r.labels}=${JSON.stringify(value)}`);
    out.set(r.family, list);
  }
  return out;
}

/** The raw `deltas` text of the contribution to family `name` at `time`. */
function rawDeltas(path: string, name: string, time: number): string {
  using db = new DatabaseSync(path, { readOnly: true });
  const row = db.prepare(
    `SELECT c.deltas FROM contributions c
       JOIN families f ON f.id = c.family_id
       JOIN metric_names n ON n.id = f.name_id
       JOIN pushes p ON p.id = f.push_id
      WHERE n.name = ? AND p.time = ?`,
  ).get(name, time) as { deltas: string };
  return row.deltas;
}

Deno.test("contributions keep each pushed value, in the push's order", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  using store = new Store({ path, keepHistory: true });
  const first = '# TYPE c counter\nc{a="1"} 3\nc{a="2"} -0\nc{a="3"} NaN\n' +
    'c{a="4"} +Inf\nc{a="6"} -Inf\n' +
    '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 1.5\ns_count 2\n' +
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 2.5\nh_count 2\n';
  assert.equal(store.push(push(first, 1000)).status, 200);
  const job = 'instance="",job="agg"';
  assert.deepEqual(Object.fromEntries(contribution(path, 1000)), {
    c: [
      `c{"a":"1",${labelsJson(job)}}=[3]`,
      `c{"a":"2",${labelsJson(job)}}=["-0"]`,
      `c{"a":"3",${labelsJson(job)}}=["NaN"]`,
      `c{"a":"4",${labelsJson(job)}}=["+Inf"]`,
      `c{"a":"6",${labelsJson(job)}}=["-Inf"]`,
    ],
    h: [
      `h_bucket{${labelsJson(job)},"le":"1"}=[1]`,
      `h_bucket{${labelsJson(job)},"le":"+Inf"}=[2]`,
      `h_sum{${labelsJson(job)}}=[2.5]`,
      `h_count{${labelsJson(job)}}=[2]`,
    ],
    s: [
      `s{${labelsJson(job)},"quantile":"0.5"}=[1]`,
      `s_sum{${labelsJson(job)}}=[1.5]`,
      `s_count{${labelsJson(job)}}=[2]`,
    ],
  });
  assert.match(
    rawDeltas(path, "c", 1000),
    /^\[\[\d+,3\],\[\d+,"-0"\],\[\d+,"NaN"\],\[\d+,"\+Inf"\],\[\d+,"-Inf"\]\]$/,
  );

  // Reordered, one new, three left out: only the pushed ones, as pushed.
  const second = '# TYPE c counter\nc{a="4"} 1\nc{a="5"} 2\nc{a="1"} 1.5\n' +
    '# TYPE h histogram\nh_bucket{le="1"} 0\nh_bucket{le="+Inf"} 1\nh_sum 0.1\nh_count 1\n';
  assert.equal(store.push(push(second, 2000)).status, 200);
  assert.deepEqual(Object.fromEntries(contribution(path, 2000)), {
    c: [
      `c{"a":"4",${labelsJson(job)}}=[1]`,
      `c{"a":"5",${labelsJson(job)}}=[2]`,
      `c{"a":"1",${labelsJson(job)}}=[1.5]`,
    ],
    h: [
      `h_bucket{${labelsJson(job)},"le":"1"}=[0]`,
      `h_bucket{${labelsJson(job)},"le":"+Inf"}=[1]`,
      `h_sum{${labelsJson(job)}}=[0.1]`,
      `h_count{${labelsJson(job)}}=[1]`,
    ],
  });
});

/** `a="1",b="2"` as the `series.labels` JSON's members. */
function labelsJson(labels: string): string {
  return labels.replace(/(\w+)="([^"]*)"/g, '"$1":"$2"');
}
