/**
 * Aggregating pushes over HTTP, against a real Pushvault on a real file:
 * every push route under `/aggregate` (PUT, POST, DELETE, `@base64`, text,
 * gzip and delimited protobuf bodies), the gauge modes, TTL and
 * push_time_seconds, the refusals with their messages, the history rows
 * and the aggregate_contributions view as the sqlite3 shell reads it.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { encodeDelimited } from "../../src/exposition/protobuf_encode.ts";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { scrapePushed, send, startTestGateway } from "../test_utils.ts";
import { curl, querySqliteShell } from "../e2e/e2e_utils.ts";

/** A fake clock in milliseconds that the test moves by hand. */
function fakeClock(start = Date.UTC(2026, 11, 1, 12)) {
  let t = start;
  return { now: () => t, advance: (seconds: number) => (t += seconds * 1000) };
}

/** The scrape's lines of `metric` (and its suffixes), in order. */
async function lines(url: string, metric: string): Promise<string[]> {
  return (await scrapePushed(url)).split("\n").filter((l) =>
    l.startsWith(`${metric}{`) || l.startsWith(`${metric}_`) ||
    l.startsWith(`${metric} `)
  );
}

Deno.test("aggregating pushes over HTTP add up, and refuse the other kind", async (t) => {
  const clock = fakeClock();
  await using pv = await startTestGateway(["--web.enable-admin-api"], {
    now: clock.now,
    maintenanceIntervalMs: 0,
  });
  const agg = `${pv.url}/aggregate/metrics/job/runner`;
  const post = (
    body: string | Uint8Array<ArrayBuffer>,
    init: RequestInit = {},
  ) => send(agg, { method: "POST", body, ...init });

  await t.step(
    "curl POSTs add counters; push_time_seconds is the last one's",
    async () => {
      for (const n of [3, 4]) {
        clock.advance(10);
        const r = await curl([
          "--data-binary",
          "@-",
          `${agg}/instance/a`,
        ], `# TYPE items_total counter\nitems_total ${n}\n`);
        assert.equal(r.status, 200);
      }
      assert.deepEqual(await lines(pv.url, "items_total"), [
        'items_total{instance="a",job="runner"} 7',
      ]);
      const [group] = await querySqliteShell(
        pv.dbPath,
        `SELECT push_time FROM groups WHERE key = '{instance="a",job="runner"}'`,
      );
      assert.equal(group?.push_time, clock.now() / 1000);
    },
  );

  await t.step("@base64 grouping keys, gzip bodies", async () => {
    const path = `${pv.url}/aggregate/metrics/job@base64/${
      btoa("ci/job")
    }/instance/b`;
    for (let i = 0; i < 2; i++) {
      const r = await send(path, {
        method: "POST",
        body: new Uint8Array(
          gzipSync("# TYPE done_total counter\ndone_total 2.5\n"),
        ),
        headers: { "Content-Encoding": "gzip" },
      });
      assert.equal(r.status, 200, r.text);
    }
    assert.deepEqual(await lines(pv.url, "done_total"), [
      'done_total{instance="b",job="ci/job"} 5',
    ]);
  });

  await t.step(
    "gauges: last by default; sum, max, min when asked",
    async () => {
      const gauge = (mode: string | undefined, v: number, name: string) =>
        post(`# TYPE ${name} gauge\n${name} ${v}\n`, {
          headers: mode === undefined ? {} : { "Pushvault-Gauge": mode },
        });
      for (
        const [mode, name] of [[undefined, "g_last"], ["sum", "g_sum"], [
          "max",
          "g_max",
        ], ["min", "g_min"]] as const
      ) {
        for (const v of [5, 9, 2]) {
          assert.equal(
            (await gauge(mode, v, name)).status,
            200,
          );
        }
      }
      const text = await scrapePushed(pv.url);
      for (
        const [name, v] of [["g_last", 2], ["g_sum", 16], ["g_max", 9], [
          "g_min",
          2,
        ]] as const
      ) {
        assert.match(
          text,
          new RegExp(`^${name}\\{instance="",job="runner"\\} ${v}$`, "m"),
        );
      }
      const bad = await gauge("average", 1, "g_last");
      assert.equal(bad.status, 400);
      assert.equal(
        bad.text,
        'invalid Pushvault-Gauge header "average": expected last, sum, max or min\n',
      );
    },
  );

  await t.step(
    "a delimited protobuf body adds classic and native histograms",
    async () => {
      const family = (n: number): MetricFamily => ({
        name: "latency_seconds",
        help: "Latency.",
        type: "histogram",
        metrics: [{
          labels: [],
          sampleCount: 3 * n,
          sampleSum: 1.5 * n,
          buckets: [
            { upperBound: 0.5, cumulativeCount: n },
            { upperBound: 1, cumulativeCount: 2 * n },
            { upperBound: Infinity, cumulativeCount: 3 * n },
          ],
          native: {
            schema: 0,
            zeroThreshold: 1e-128,
            zeroCount: n,
            positiveSpans: [{ offset: n, length: 2 }],
            positiveDeltas: [n, 0],
            positiveCounts: [],
            negativeSpans: [],
            negativeDeltas: [],
            negativeCounts: [],
          },
        }],
      });
      const proto =
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
      for (const n of [1, 2]) {
        const r = await post(encodeDelimited([family(n)]), {
          headers: { "Content-Type": proto },
        });
        assert.equal(r.status, 200, r.text);
      }
      assert.deepEqual(await lines(pv.url, "latency_seconds"), [
        'latency_seconds_bucket{instance="",job="runner",le="0.5"} 3',
        'latency_seconds_bucket{instance="",job="runner",le="1"} 6',
        'latency_seconds_bucket{instance="",job="runner",le="+Inf"} 9',
        'latency_seconds_sum{instance="",job="runner"} 4.5',
        'latency_seconds_count{instance="",job="runner"} 9',
      ]);
      const api = await (await fetch(`${pv.url}/api/v1/metrics`)).json();
      const group = api.data.find((g: { labels: Record<string, string> }) =>
        g.labels.job === "runner" && g.labels.instance === undefined
      );
      const native = group.latency_seconds.metrics[0];
      // The zero bucket (1 + 2), buckets 1 and 2 (1 each) plus buckets 2
      // and 3 (2 each).
      assert.deepEqual(native.buckets, [
        [3, "-1e-128", "1e-128", "3"],
        [0, "1", "2", "1"],
        [0, "2", "4", "3"],
        [0, "4", "8", "2"],
      ]);
      assert.equal(native.count, "9");
    },
  );

  await t.step(
    "a histogram of other bounds is refused, naming them",
    async () => {
      const r = await post(
        '# TYPE latency_seconds histogram\nlatency_seconds_bucket{le="0.25"} 1\nlatency_seconds_bucket{le="+Inf"} 1\nlatency_seconds_sum 0.1\nlatency_seconds_count 1\n',
      );
      assert.equal(r.status, 400);
      assert.equal(
        r.text,
        'pushed metrics are invalid or inconsistent with existing metrics: histogram latency_seconds{instance="",job="runner"} has buckets le="0.5",le="1",le="+Inf" in this aggregating group; the push has le="0.25",le="+Inf": only histograms with the same bucket bounds are added\n',
      );
    },
  );

  await t.step("a replacing push to an aggregating group: 409", async () => {
    const r = await send(`${pv.url}/metrics/job/runner`, {
      method: "PUT",
      body: "x 1\n",
    });
    assert.equal(r.status, 409);
    assert.equal(
      r.text,
      'group {job="runner"} is an aggregating group: a replacing push (under /metrics/job/…) cannot change it; push it under /aggregate/metrics/job/… or delete the group first\n',
    );
  });

  await t.step("an aggregating push to a replacing group: 409", async () => {
    await send(`${pv.url}/metrics/job/batch`, { method: "PUT", body: "x 1\n" });
    const r = await send(`${pv.url}/aggregate/metrics/job/batch`, {
      method: "POST",
      body: "x 1\n",
    });
    assert.equal(r.status, 409);
    assert.equal(
      r.text,
      'group {job="batch"} is a replacing group: an aggregating push (under /aggregate/metrics/job/…) cannot add to it; push it under /metrics/job/… or delete the group first\n',
    );
  });

  await t.step(
    "PUT adds the pushed families and drops the others",
    async () => {
      const r = await send(agg, {
        method: "PUT",
        body: "# TYPE g_sum gauge\ng_sum 4\n",
        headers: { "Pushvault-Gauge": "sum" },
      });
      assert.equal(r.status, 200);
      const text = await scrapePushed(pv.url);
      assert.match(text, /^g_sum\{instance="",job="runner"\} 20$/m);
      assert.doesNotMatch(text, /^g_last\{/m);
      assert.doesNotMatch(text, /^latency_seconds/m);
    },
  );

  await t.step("the UI marks aggregating groups", async () => {
    const page = await (await fetch(`${pv.url}/`)).text();
    const marks = page.match(/class="badge badge-aggregating"/g) ?? [];
    // Of the four groups, all but {job="batch"}.
    assert.equal(marks.length, 3);
  });

  await t.step("every contribution is in aggregate_contributions", async () => {
    const rows = await querySqliteShell(
      pv.dbPath,
      `SELECT method, metric, value FROM aggregate_contributions
        WHERE group_key = '{instance="a",job="runner"}' ORDER BY push_id`,
    );
    assert.deepEqual(rows, [
      { method: "POST", metric: "items_total", value: 3.0 },
      { method: "POST", metric: "items_total", value: 4.0 },
    ]);
    const log = await querySqliteShell(
      pv.dbPath,
      `SELECT status, error FROM push_log WHERE group_key = '{job="runner"}' AND status = 409`,
    );
    assert.equal(log.length, 1);
  });

  await t.step(
    "TTL expires an aggregating group; DELETE removes one",
    async () => {
      const r = await send(`${pv.url}/aggregate/metrics/job/fn`, {
        method: "POST",
        body: "# TYPE calls_total counter\ncalls_total 1\n",
        headers: { "Pushvault-TTL": "1h" },
      });
      assert.equal(r.status, 200);
      assert.equal(
        (await send(`${agg}/instance/a`, { method: "DELETE" })).status,
        202,
      );
      assert.deepEqual(await lines(pv.url, "items_total"), []);
      clock.advance(7200);
      await pv.gw.runMaintenance();
      assert.deepEqual(await lines(pv.url, "calls_total"), []);
      // Deleted, the group may come back as either kind.
      const again = await send(`${pv.url}/metrics/job/fn`, {
        method: "PUT",
        body: "calls_total 1\n",
      });
      assert.equal(again.status, 200);
    },
  );
});
