/**
 * A real Prometheus (Debian's /usr/bin/prometheus) scrapes a real Pushvault
 * every second with `honor_labels: true`, the configuration the Pushgateway
 * README prescribes (docs/compatibility.md, Scrape configuration). Pushed
 * series must show up in PromQL with the pushed `job`/`instance`,
 * `instance=""` must mean "no instance label", a change must be seen on
 * the next scrape and a deleted group must go stale.
 * @module
 */

import assert from "node:assert/strict";
import { send, startTestGateway } from "../test_utils.ts";
import {
  assertEventually,
  hasExecutable,
  PROMETHEUS,
  queryPrometheus,
  withPrometheus,
} from "./e2e_utils.ts";
import type { PromSample } from "./e2e_utils.ts";

const SKIP_REASON = `${PROMETHEUS} is absent; run scripts/setup.sh`;
const hasPrometheus = hasExecutable(PROMETHEUS);

const BATCH = "/metrics/job/batch/instance/host1";
const NIGHTLY = "/metrics/job/nightly";
/**
 * job "db/backup", which only @base64 can carry (docs/compatibility.md,
 * Grouping keys).
 */
const SLASHED = "/metrics/job@base64/ZGIvYmFja3Vw";

const BATCH_BODY = `# TYPE e2e_job_duration_seconds gauge
e2e_job_duration_seconds 12.5
# TYPE e2e_records_total counter
e2e_records_total{kind="ok"} 42
# TYPE e2e_request_seconds histogram
e2e_request_seconds_bucket{le="0.5"} 3
e2e_request_seconds_sum 2.5
e2e_request_seconds_count 7
`;

function sample(
  name: string,
  labels: Record<string, string>,
  value: string,
): PromSample {
  return { metric: { __name__: name, ...labels }, value };
}

const BATCH_LABELS = { instance: "host1", job: "batch" };

/** Sorted as queryPrometheus() sorts: by the JSON of the label set. */
function sorted(samples: PromSample[]): PromSample[] {
  return samples.sort((a, b) => {
    const x = JSON.stringify(a.metric);
    const y = JSON.stringify(b.metric);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

const PUSHED = sorted([
  sample("e2e_job_duration_seconds", BATCH_LABELS, "12.5"),
  sample("e2e_records_total", { ...BATCH_LABELS, kind: "ok" }, "42"),
  sample("e2e_request_seconds_bucket", { ...BATCH_LABELS, le: "0.5" }, "3"),
  // The +Inf bucket Pushvault adds (docs/compatibility.md, Scrapes).
  sample("e2e_request_seconds_bucket", { ...BATCH_LABELS, le: "+Inf" }, "7"),
  sample("e2e_request_seconds_sum", BATCH_LABELS, "2.5"),
  sample("e2e_request_seconds_count", BATCH_LABELS, "7"),
  // instance="" is exposed, so Prometheus adds no instance label.
  sample("e2e_queue_depth", { job: "nightly" }, "-3"),
  sample("e2e_restored_bytes", { job: "db/backup" }, "1000000000"),
]);

/** push_time_seconds of each group in Pushvault's own scrape, by job. */
async function pushTimes(url: string): Promise<Map<string, number>> {
  const { text } = await send(`${url}/metrics`);
  const times = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^push_time_seconds\{.*job="([^"]*)".*\} (\S+)$/.exec(line);
    if (match) times.set(match[1] as string, Number(match[2]));
  }
  return times;
}

Deno.test({
  name: hasPrometheus
    ? "Prometheus scrapes pushed series with their job and instance labels"
    : `Prometheus scrapes pushed series (ignored: ${SKIP_REASON})`,
  ignore: !hasPrometheus,
  async fn(t) {
    await using pv = await startTestGateway();
    for (
      const [path, body] of [
        [BATCH, BATCH_BODY],
        [NIGHTLY, "e2e_queue_depth -3\n"],
        [SLASHED, "e2e_restored_bytes 1e9\n"],
      ] as const
    ) {
      const res = await send(`${pv.url}${path}`, { method: "PUT", body });
      assert.equal(res.status, 200, res.text);
    }

    await withPrometheus(new URL(pv.url).host, async (prom) => {
      await t.step(
        "the pushed series appear with the pushed labels and values",
        async () => {
          await assertEventually(
            "the pushed series in Prometheus",
            () => queryPrometheus(prom.url, '{__name__=~"e2e_.+"}'),
            PUSHED,
          );
        },
      );

      await t.step(
        "the target is up and its last scrape had no error",
        async () => {
          const res = await send(`${prom.url}/api/v1/targets?state=active`);
          const targets = JSON.parse(res.text) as {
            data: {
              activeTargets: {
                health: string;
                lastError: string;
                scrapeUrl: string;
              }[];
            };
          };
          assert.deepEqual(
            targets.data.activeTargets.map((
              { health, lastError, scrapeUrl },
            ) => ({
              health,
              lastError,
              scrapeUrl,
            })),
            [{ health: "up", lastError: "", scrapeUrl: `${pv.url}/metrics` }],
          );
        },
      );

      await t.step(
        "push_time_seconds reaches Prometheus with the exact value",
        async () => {
          const expected = await pushTimes(pv.url);
          assert.equal(expected.size, 3);
          const got = await queryPrometheus(prom.url, "push_time_seconds");
          assert.deepEqual(
            new Map(got.map((s) => [s.metric.job, Number(s.value)])),
            expected,
          );
        },
      );

      await t.step(
        "a POST is seen on a later scrape and a deleted group goes stale",
        async () => {
          const post = await send(`${pv.url}${BATCH}`, {
            method: "POST",
            body:
              '# TYPE e2e_records_total counter\ne2e_records_total{kind="ok"} 43\n',
          });
          assert.equal(post.status, 200, post.text);
          const del = await send(`${pv.url}${NIGHTLY}`, { method: "DELETE" });
          assert.equal(del.status, 202, del.text);
          await assertEventually(
            "the POST and the DELETE in Prometheus",
            () =>
              queryPrometheus(
                prom.url,
                '{__name__=~"e2e_records_total|e2e_queue_depth"}',
              ),
            [sample(
              "e2e_records_total",
              { ...BATCH_LABELS, kind: "ok" },
              "43",
            )],
          );
        },
      );
    });
  },
});
