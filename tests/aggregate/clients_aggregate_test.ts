/**
 * The unchanged Python (python3-prometheus-client) and Node (prom-client)
 * clients push to aggregating groups with one change to their
 * configuration: the gateway URL ends in `/aggregate`.
 */
import assert from "node:assert/strict";
import client from "prom-client";
import { scrapePushed, startTestGateway } from "../test_utils.ts";
import { run } from "../e2e/e2e_utils.ts";

const SCRIPT = new URL("./fixtures/python_aggregate.py", import.meta.url)
  .pathname;

/** The scrape's lines of the pushed families named, in order. */
async function lines(url: string, prefix: string): Promise<string[]> {
  return (await scrapePushed(url)).split("\n").filter((l) =>
    l.startsWith(prefix)
  );
}

Deno.test("Python client: pushadd_to_gateway adds, push_to_gateway adds and drops, delete", async (t) => {
  await using pv = await startTestGateway();
  const python = (step: string) =>
    run("/usr/bin/python3", [SCRIPT, `${pv.url}/aggregate`, step], {
      env: { PROMETHEUS_DISABLE_CREATED_SERIES: "True" },
    });
  await t.step("two runs of pushadd_to_gateway", async () => {
    await python("pushadd");
    await python("pushadd");
    assert.deepEqual(await lines(pv.url, "py_"), [
      'py_items_total{instance="",job="py-workers"} 6',
      'py_last_run{instance="",job="py-workers"} 42',
      'py_run_seconds_bucket{instance="",job="py-workers",le="0.5"} 0',
      'py_run_seconds_bucket{instance="",job="py-workers",le="2"} 2',
      'py_run_seconds_bucket{instance="",job="py-workers",le="+Inf"} 2',
      'py_run_seconds_sum{instance="",job="py-workers"} 2.4',
      'py_run_seconds_count{instance="",job="py-workers"} 2',
    ]);
  });
  await t.step(
    "push_to_gateway adds to the counter, drops the rest",
    async () => {
      await python("push");
      assert.deepEqual(await lines(pv.url, "py_"), [
        'py_items_total{instance="",job="py-workers"} 9',
      ]);
    },
  );
  await t.step("delete_from_gateway removes the group", async () => {
    await python("delete");
    assert.deepEqual(await lines(pv.url, "py_"), []);
  });
});

Deno.test("prom-client Pushgateway: pushAdd adds, push adds and drops, delete", async (t) => {
  await using pv = await startTestGateway();
  const registry = new client.Registry();
  const items = new client.Counter({
    name: "node_items_total",
    help: "Items processed.",
    registers: [registry],
  });
  const wait = new client.Gauge({
    name: "node_queue_wait_seconds",
    help: "Queue wait.",
    registers: [registry],
  });
  items.inc(2.5);
  wait.set(0.25);
  const gateway = new client.Pushgateway(`${pv.url}/aggregate`, {
    headers: { "Pushvault-Gauge": "max" },
  }, registry);
  const status = (r: { resp?: unknown }) =>
    (r.resp as { statusCode?: number } | undefined)?.statusCode;
  await t.step(
    "pushAdd() twice adds the counter, keeps the gauge's max",
    async () => {
      assert.equal(
        status(await gateway.pushAdd({ jobName: "node-fleet" })),
        200,
      );
      wait.set(0.125);
      assert.equal(
        status(await gateway.pushAdd({ jobName: "node-fleet" })),
        200,
      );
      assert.deepEqual(await lines(pv.url, "node_"), [
        'node_items_total{instance="",job="node-fleet"} 5',
        'node_queue_wait_seconds{instance="",job="node-fleet"} 0.25',
      ]);
    },
  );
  await t.step("push() adds what it pushes and drops the rest", async () => {
    registry.removeSingleMetric("node_queue_wait_seconds");
    assert.equal(status(await gateway.push({ jobName: "node-fleet" })), 200);
    assert.deepEqual(await lines(pv.url, "node_"), [
      'node_items_total{instance="",job="node-fleet"} 7.5',
    ]);
  });
  await t.step("delete() removes the group", async () => {
    assert.equal(status(await gateway.delete({ jobName: "node-fleet" })), 202);
    assert.deepEqual(await lines(pv.url, "node_"), []);
  });
});
