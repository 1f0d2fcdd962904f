import assert from "node:assert/strict";
import { encodeDelimited } from "../../src/exposition/protobuf_encode.ts";
import { send, startTestGateway } from "../test_utils.ts";

Deno.test("--web.route-prefix puts every route under the prefix (Flags)", async () => {
  await using pv = await startTestGateway([
    "--web.route-prefix=/pg/",
    "--web.external-url=http://example.com/ext/",
    "--web.telemetry-path=/prom",
  ]);
  const u = pv.url;
  let r = await send(`${u}/pg`);
  assert.equal(r.status, 301);
  assert.equal(r.headers.get("location"), "/pg/");
  assert.equal((await send(`${u}/pg/prom`)).status, 200);
  assert.equal((await send(`${u}/pg/metrics`)).status, 404);
  assert.equal(
    (await send(`${u}/pg/metrics/job/rp`, { method: "POST", body: "x 1\n" }))
      .status,
    200,
  );
  assert.equal(
    (await send(`${u}/metrics/job/rp`, { method: "POST", body: "x 1\n" }))
      .status,
    404,
  );
  assert.equal((await send(`${u}/pg/-/healthy`)).status, 200);
  assert.equal((await send(`${u}/pg/api/v1/status`)).status, 200);
  assert.equal((await send(`${u}/api/v1/status`)).status, 404);
  r = await send(`${u}/pg/prom`);
  assert.match(r.text, /^x\{instance="",job="rp"\} 1$/m);
});

Deno.test("--web.external-url alone sets the route prefix from its path", async () => {
  await using pv = await startTestGateway([
    "--web.external-url=http://example.com/ext/",
  ]);
  assert.equal((await send(`${pv.url}/ext/metrics`)).status, 200);
  assert.equal((await send(`${pv.url}/metrics`)).status, 404);
});

Deno.test("/-/quit answers 403 without --web.enable-lifecycle and stops the gateway with it", async () => {
  {
    await using pv = await startTestGateway();
    const r = await send(`${pv.url}/-/quit`, { method: "PUT" });
    assert.equal(r.status, 403);
    assert.equal(r.text, "Lifecycle API is not enabled.\n");
    const g = await send(`${pv.url}/-/quit`);
    assert.equal(g.status, 405);
    assert.equal(g.text, "Only POST or PUT requests allowed.\n");
  }
  await using pv = await startTestGateway(["--web.enable-lifecycle"]);
  const r = await send(`${pv.url}/-/quit`, { method: "POST" });
  assert.equal(r.status, 200);
  assert.equal(r.text, "Requesting termination... Goodbye!");
  await pv.gw.finished;
});

Deno.test("health, readiness and the API answer methods like the Pushgateway", async () => {
  await using pv = await startTestGateway(["--web.enable-admin-api"]);
  const u = pv.url;
  let r = await send(`${u}/-/healthy`);
  assert.equal(r.status, 200);
  assert.equal(r.text, "OK");
  r = await send(`${u}/-/ready`, { method: "POST" });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get("allow"), "GET, OPTIONS");
  r = await send(`${u}/api/v1/status`, { method: "POST" });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get("allow"), "GET, OPTIONS");
  r = await send(`${u}/api/v1/admin/wipe`);
  assert.equal(r.status, 405);
  assert.equal(r.headers.get("allow"), "OPTIONS, PUT");
  r = await send(`${u}/api/v1/nothing`);
  assert.equal(r.status, 404);
  r = await send(`${u}/api/v1/metrics`, { method: "OPTIONS" });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("access-control-allow-origin"), "*");
  r = await send(`${u}/api/v1/admin/wipe`, { method: "PUT" });
  assert.equal(r.status, 202);
  assert.equal(r.text, "");
});

Deno.test("the wipe is a 404 without --web.enable-admin-api", async () => {
  await using pv = await startTestGateway();
  assert.equal(
    (await send(`${pv.url}/api/v1/admin/wipe`, { method: "PUT" })).status,
    404,
  );
});

Deno.test("GET /api/v1/status has the Pushgateway's shape and every flag", async () => {
  await using pv = await startTestGateway([], {
    flagValues: {
      "web.listen-address": "127.0.0.1:0",
      "persistence.interval": "5m0s",
    },
  });
  const r = await send(`${pv.url}/api/v1/status`);
  assert.equal(r.headers.get("content-type"), "application/json");
  assert.equal(
    r.headers.get("cache-control"),
    "no-cache, no-store, must-revalidate",
  );
  assert.match(
    r.text,
    /^\{"status":"success","data":\{"build_information":\{"branch":"[^"]*","buildDate":"[^"]*","buildUser":"[^"]*","goVersion":"deno[^"]*","revision":"[^"]*","version":"[^"]*"\},"flags":\{"persistence.interval":"5m0s","web.listen-address":"127.0.0.1:0"\},"start_time":"\d{4}-\d\d-\d\dT[\d:.]+Z"\}\}$/,
  );
});

Deno.test("GET /api/v1/metrics has the Pushgateway's shape with struct fields in order", async () => {
  await using pv = await startTestGateway();
  await send(`${pv.url}/metrics/job/batch/instance/host1`, {
    method: "PUT",
    body:
      '# TYPE d gauge\n# HELP d Duration <b>.\nd 12.5\n# TYPE r counter\nr{kind="ok"} 42\n# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 3\ns_count 4\n# TYPE h histogram\nh_bucket{le="0.5"} 0\nh_bucket{le="1e+06"} 1\nh_bucket{le="+Inf"} 2\nh_sum 7\nh_count 2\n',
  });
  const text = (await send(`${pv.url}/api/v1/metrics`)).text;
  const t = '"time_stamp":"[^"]+"';
  assert.match(
    text,
    new RegExp(
      `^\\{"status":"success","data":\\[\\{"d":\\{${t},"type":"GAUGE","help":"Duration \\\\u003cb\\\\u003e.","metrics":\\[\\{"labels":\\{"instance":"host1","job":"batch"\\},"value":"12.5"\\}\\]\\},` +
        `"h":\\{${t},"type":"HISTOGRAM","metrics":\\[\\{"buckets":\\{"\\+Inf":"2","0.5":"0","1e\\+06":"1"\\},"count":"2","labels":\\{"instance":"host1","job":"batch"\\},"sum":"7"\\}\\]\\},` +
        `"labels":\\{"instance":"host1","job":"batch"\\},"last_push_successful":true,` +
        `"push_failure_time_seconds":\\{${t},"type":"GAUGE","help":"Last Unix time when changing this group in the Pushgateway failed.","metrics":\\[\\{"labels":\\{"instance":"host1","job":"batch"\\},"value":"0"\\}\\]\\},` +
        `"push_time_seconds":\\{${t},"type":"GAUGE","help":"Last Unix time when changing this group in the Pushgateway succeeded.","metrics":\\[\\{"labels":\\{"instance":"host1","job":"batch"\\},"value":"[0-9.e+]+"\\}\\]\\},` +
        `"r":\\{${t},"type":"COUNTER","metrics":\\[\\{"labels":\\{"instance":"host1","job":"batch","kind":"ok"\\},"value":"42"\\}\\]\\},` +
        `"s":\\{${t},"type":"SUMMARY","metrics":\\[\\{"count":"4","labels":\\{"instance":"host1","job":"batch"\\},"quantiles":\\{"0.5":"1"\\},"sum":"3"\\}\\]\\}\\}\\]\\}$`,
    ),
  );
});

Deno.test("--web.systemd-socket is refused at start with a clear message", async () => {
  await assert.rejects(
    startTestGateway(["--web.systemd-socket"]),
    /--web\.systemd-socket is not supported: Deno cannot adopt an inherited listening socket; use --web\.listen-address/,
  );
});

Deno.test("--persistence.interval is accepted and shown as Go prints durations", async () => {
  await using pv = await startTestGateway(["--persistence.interval=30s"]);
  assert.equal(
    (await send(`${pv.url}/metrics/job/i`, { method: "PUT", body: "x 1\n" }))
      .status,
    200,
  );
});

Deno.test("GET /api/v1/metrics writes counts as integers and native buckets as the newest release", async () => {
  await using pv = await startTestGateway();
  await send(`${pv.url}/metrics/job/big`, {
    method: "PUT",
    body:
      '# TYPE s summary\ns_sum 1\ns_count 1234567\n# TYPE h histogram\nh_bucket{le="1"} 1234567\nh_bucket{le="+Inf"} 1234568\nh_sum 2\nh_count 1234568\n',
  });
  const native = encodeDelimited([{
    name: "n",
    help: undefined,
    type: "histogram",
    metrics: [{
      labels: [],
      sampleCount: 4,
      sampleSum: 3.5,
      buckets: [],
      native: {
        schema: 0,
        zeroThreshold: 1e-128,
        zeroCount: 1,
        positiveSpans: [{ offset: 0, length: 2 }],
        positiveDeltas: [1, 1],
        positiveCounts: [],
        negativeSpans: [],
        negativeDeltas: [],
        negativeCounts: [],
      },
    }],
  }]);
  const r = await send(`${pv.url}/metrics/job/native`, {
    method: "PUT",
    body: native,
    headers: {
      "Content-Type":
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
    },
  });
  assert.equal(r.status, 200, r.text);
  const api = await (await fetch(`${pv.url}/api/v1/metrics`)).json();
  const byJob = new Map(
    api.data.map((g: { labels: { job: string } }) => [g.labels.job, g]),
  );
  const big = byJob.get("big") as Record<
    string,
    { metrics: Record<string, unknown>[] }
  >;
  assert.equal(big.s?.metrics[0]?.count, "1234567");
  assert.deepEqual(big.h?.metrics[0]?.buckets, {
    "1": "1234567",
    "+Inf": "1234568",
  });
  assert.equal(big.h?.metrics[0]?.count, "1234568");
  const n = (byJob.get("native") as Record<
    string,
    { metrics: Record<string, unknown>[] }
  >).n?.metrics[0];
  assert.equal(n?.count, "4");
  assert.deepEqual(n?.buckets, [[3, "-1e-128", "1e-128", "1"], [
    0,
    "0.5",
    "1",
    "1",
  ], [0, "1", "2", "2"]]);
});
