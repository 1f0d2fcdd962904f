/**
 * Real clients against a real Pushvault: the curl binary, the official
 * Python client (Debian's python3-prometheus-client, run with
 * /usr/bin/python3) and the Node client prom-client. Every step asserts the
 * exact scrape, and each test then reads the `pushes` history table while
 * the server still runs. The expected scrapes were recorded from the
 * reference prometheus-pushgateway 1.5.1 driven by the same clients.
 * @module
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import client from "prom-client";
import { scrapePushed, startTestGateway } from "../test_utils.ts";
import { curl, queryDb, querySqliteShell, run } from "./e2e_utils.ts";

const PYTHON = "/usr/bin/python3";
const PYTHON_CLIENT = new URL("./fixtures/python_client.py", import.meta.url)
  .pathname;

const PUSH_FAILURE_HELP =
  "# HELP push_failure_time_seconds Last Unix time when changing this group in the Pushgateway failed.\n" +
  "# TYPE push_failure_time_seconds gauge\n";
const PUSH_TIME_HELP =
  "# HELP push_time_seconds Last Unix time when changing this group in the Pushgateway succeeded.\n" +
  "# TYPE push_time_seconds gauge\n";

/** The two metadata families of one group, as stripOwn() leaves them. */
function metadata(labels: string, failed = false): string {
  return PUSH_FAILURE_HELP +
    `push_failure_time_seconds{${labels}} ${failed ? "<time>" : "0"}\n` +
    PUSH_TIME_HELP + `push_time_seconds{${labels}} <time>\n`;
}

/** The columns of `pushes` a client decides, in push order. */
const PUSH_COLUMNS =
  "SELECT method, path, status, error, content_type, body_bytes, series, user_agent FROM pushes p JOIN requests r ON r.id = p.request_id ORDER BY p.id";

// --- curl -----------------------------------------------------------------

const CURL_GROUP = 'instance="db1",job="backup"';

const CURL_FIRST_BODY = `# HELP backup_duration_seconds Duration of the backup.
# TYPE backup_duration_seconds gauge
backup_duration_seconds 12.5
# TYPE backup_rows_total counter
backup_rows_total{table="users"} 1000000
`;

const CURL_GZIP_BODY = "# TYPE backup_files gauge\nbackup_files 7\n";

function bodyBytes(body: Uint8Array | string | undefined): number {
  if (body === undefined) return 0;
  return typeof body === "string"
    ? new TextEncoder().encode(body).length
    : body.length;
}

interface CurlStep {
  readonly name: string;
  readonly args: readonly string[];
  readonly stdin?: Uint8Array | string;
  readonly status: number;
  readonly body: string;
  readonly scrape: string;
  /** What the step's `pushes` row says: method and series carried. */
  readonly method: "PUT" | "POST" | "DELETE";
  readonly series: number;
}

const CURL_STEPS: readonly CurlStep[] = [
  {
    name:
      "POST of a text body read from stdin (--data-binary @-) creates the group",
    args: ["--data-binary", "@-"],
    stdin: CURL_FIRST_BODY,
    method: "POST",
    series: 2,
    status: 200,
    body: "",
    scrape: `# HELP backup_duration_seconds Duration of the backup.
# TYPE backup_duration_seconds gauge
backup_duration_seconds{${CURL_GROUP}} 12.5
# TYPE backup_rows_total counter
backup_rows_total{${CURL_GROUP},table="users"} 1e+06
${metadata(CURL_GROUP)}`,
  },
  {
    name: "POST merges: families absent from the body stay",
    args: ["--data-binary", "@-"],
    stdin: "backup_size_bytes 2048\n",
    method: "POST",
    series: 1,
    status: 200,
    body: "",
    scrape: `# HELP backup_duration_seconds Duration of the backup.
# TYPE backup_duration_seconds gauge
backup_duration_seconds{${CURL_GROUP}} 12.5
# TYPE backup_rows_total counter
backup_rows_total{${CURL_GROUP},table="users"} 1e+06
# TYPE backup_size_bytes untyped
backup_size_bytes{${CURL_GROUP}} 2048
${metadata(CURL_GROUP)}`,
  },
  {
    name: "PUT replaces the whole group",
    args: ["-X", "PUT", "--data-binary", "@-"],
    stdin: "# TYPE backup_duration_seconds gauge\nbackup_duration_seconds 13\n",
    method: "PUT",
    series: 1,
    status: 200,
    body: "",
    scrape: `# TYPE backup_duration_seconds gauge
backup_duration_seconds{${CURL_GROUP}} 13
${metadata(CURL_GROUP)}`,
  },
  {
    name: "POST of a gzip body (Content-Encoding: gzip) is decompressed",
    args: ["-H", "Content-Encoding: gzip", "--data-binary", "@-"],
    stdin: gzipSync(CURL_GZIP_BODY),
    method: "POST",
    series: 1,
    status: 200,
    body: "",
    scrape: `# TYPE backup_duration_seconds gauge
backup_duration_seconds{${CURL_GROUP}} 13
# TYPE backup_files gauge
backup_files{${CURL_GROUP}} 7
${metadata(CURL_GROUP)}`,
  },
  {
    name: "POST with a timestamp is refused and only marks the failure",
    args: ["--data-binary", "@-"],
    stdin: "backup_files 8 1700000000000\n",
    method: "POST",
    series: 1,
    status: 400,
    body:
      "pushed metrics are invalid or inconsistent with existing metrics: pushed metrics must not have timestamps\n",
    scrape: `# TYPE backup_duration_seconds gauge
backup_duration_seconds{${CURL_GROUP}} 13
# TYPE backup_files gauge
backup_files{${CURL_GROUP}} 7
${metadata(CURL_GROUP, true)}`,
  },
  {
    name: "DELETE removes the group",
    args: ["-X", "DELETE"],
    method: "DELETE",
    series: 0,
    status: 202,
    body: "",
    scrape: "",
  },
];

Deno.test("curl pushes, merges, replaces, gzips and deletes a group", async (t) => {
  await using pv = await startTestGateway();
  const url = `${pv.url}/metrics/job/backup/instance/db1`;
  for (const step of CURL_STEPS) {
    await t.step(step.name, async () => {
      const res = await curl([...step.args, url], step.stdin);
      assert.equal(res.status, step.status);
      assert.equal(res.body, step.body);
      assert.equal(await scrapePushed(pv.url), step.scrape);
    });
  }

  await t.step(
    "the sqlite3 shell reads every push from pushes while the server runs",
    async () => {
      const rows = await querySqliteShell(pv.dbPath, PUSH_COLUMNS);
      const userAgents = rows.map((row) => row.user_agent);
      for (const userAgent of userAgents) {
        assert.match(String(userAgent), /^curl\/\d/);
      }
      const form = "application/x-www-form-urlencoded";
      assert.deepEqual(
        rows.map(({ user_agent: _, ...row }) => row),
        CURL_STEPS.map((step) => ({
          method: step.method,
          path: "/metrics/job/backup/instance/db1",
          status: step.status,
          error: step.status < 400 ? null : step.body.trimEnd(),
          content_type: step.stdin === undefined ? null : form,
          body_bytes: bodyBytes(step.stdin),
          series: step.series,
        })),
      );
    },
  );

  await t.step(
    "the sqlite3 shell reads the deleted group's value history",
    async () => {
      const rows = await querySqliteShell(
        pv.dbPath,
        "SELECT metric, labels, value FROM sample_history WHERE metric = 'backup_duration_seconds' ORDER BY time",
      );
      assert.deepEqual(rows, [
        {
          metric: "backup_duration_seconds",
          labels: '{"instance":"db1","job":"backup"}',
          value: 12.5,
        },
        {
          metric: "backup_duration_seconds",
          labels: '{"instance":"db1","job":"backup"}',
          value: 13,
        },
      ]);
    },
  );
});

// --- Python prometheus_client ----------------------------------------------

/** Grouping labels as the Python client sends them (quote_plus: "+" stays). */
const PY_GROUP =
  'empty="",instance="host+1",job="nightly/backup",path="/var/tmp"';
const PY_PATH =
  "/metrics/job@base64/bmlnaHRseS9iYWNrdXA=/empty@base64/=/instance/host+1/path@base64/L3Zhci90bXA=";
const PY_CREATED = "1.70000000025e+09";

const PY_FULL = `# HELP py_build_info Build.
# TYPE py_build_info gauge
py_build_info{branch="main",${PY_GROUP},version="1.2.3"} 1
# HELP py_duration_seconds Duration.
# TYPE py_duration_seconds histogram
py_duration_seconds_bucket{${PY_GROUP},le="0.1"} 1
py_duration_seconds_bucket{${PY_GROUP},le="1"} 2
py_duration_seconds_bucket{${PY_GROUP},le="10"} 3
py_duration_seconds_bucket{${PY_GROUP},le="+Inf"} 4
py_duration_seconds_sum{${PY_GROUP}} 55.55
py_duration_seconds_count{${PY_GROUP}} 4
# HELP py_duration_seconds_created Duration.
# TYPE py_duration_seconds_created gauge
py_duration_seconds_created{${PY_GROUP}} ${PY_CREATED}
# HELP py_jobs_created Jobs run.
# TYPE py_jobs_created gauge
py_jobs_created{empty="",instance="host+1",job="nightly/backup",kind="full",path="/var/tmp"} ${PY_CREATED}
py_jobs_created{empty="",instance="host+1",job="nightly/backup",kind="incremental",path="/var/tmp"} ${PY_CREATED}
# HELP py_jobs_total Jobs run.
# TYPE py_jobs_total counter
py_jobs_total{empty="",instance="host+1",job="nightly/backup",kind="full",path="/var/tmp"} 3
py_jobs_total{empty="",instance="host+1",job="nightly/backup",kind="incremental",path="/var/tmp"} 0.5
`;

const PY_SUMMARY_AND_ENUM = `# HELP py_size_bytes Size.
# TYPE py_size_bytes summary
py_size_bytes_sum{${PY_GROUP}} 1.0001e+06
py_size_bytes_count{${PY_GROUP}} 2
# HELP py_size_bytes_created Size.
# TYPE py_size_bytes_created gauge
py_size_bytes_created{${PY_GROUP}} ${PY_CREATED}
# HELP py_state State.
# TYPE py_state gauge
py_state{${PY_GROUP},py_state="running"} 1
py_state{${PY_GROUP},py_state="starting"} 0
py_state{${PY_GROUP},py_state="stopped"} 0
`;

const PY_ROWS = `# HELP py_rows Rows written.
# TYPE py_rows gauge
py_rows{${PY_GROUP}} 1.2345678e+07
`;

function pyLastSuccess(value: string): string {
  return `# HELP py_last_success_seconds Last success.
# TYPE py_last_success_seconds gauge
py_last_success_seconds{${PY_GROUP}} ${value}
`;
}

const PYTHON_STEPS: readonly {
  readonly name: string;
  readonly step: string;
  readonly scrape: string;
}[] = [
  {
    name:
      "push_to_gateway() of counters, a gauge, a histogram, a summary, Info and Enum",
    step: "push",
    scrape: metadata(PY_GROUP) + PY_FULL + pyLastSuccess("1.7000000005e+09") +
      PY_SUMMARY_AND_ENUM,
  },
  {
    name: "pushadd_to_gateway() replaces only the families it sends",
    step: "pushadd",
    scrape: metadata(PY_GROUP) + PY_FULL + pyLastSuccess("1.7000001e+09") +
      PY_ROWS + PY_SUMMARY_AND_ENUM,
  },
  {
    name: "push_to_gateway() again replaces the whole group",
    step: "replace",
    scrape: metadata(PY_GROUP) + pyLastSuccess("1.7000001e+09") + PY_ROWS,
  },
  {
    name: "delete_from_gateway() removes the group",
    step: "delete",
    scrape: "",
  },
];

Deno.test("Python prometheus_client pushes with a grouping key holding '/', a space and an empty value", async (t) => {
  await using pv = await startTestGateway();
  const address = new URL(pv.url).host;
  for (const c of PYTHON_STEPS) {
    await t.step(c.name, async () => {
      await run(PYTHON, [PYTHON_CLIENT, address, c.step]);
      assert.equal(await scrapePushed(pv.url), c.scrape);
    });
  }

  await t.step("pushes holds one row per client call", () => {
    const rows = queryDb(pv.dbPath, PUSH_COLUMNS);
    for (const row of rows) {
      assert.match(String(row.user_agent), /^Python-urllib\/3\./);
    }
    const text = "text/plain; version=0.0.4; charset=utf-8";
    assert.deepEqual(
      rows.map(({ method, path, status, error, content_type, series }) => ({
        method,
        path,
        status,
        error,
        content_type,
        series,
      })),
      [
        // 13 series: build_info, histogram, 4 *_created, 2 jobs, last
        // success, summary, 3 enum states.
        {
          method: "PUT",
          path: PY_PATH,
          status: 200,
          error: null,
          content_type: text,
          series: 13,
        },
        {
          method: "POST",
          path: PY_PATH,
          status: 200,
          error: null,
          content_type: text,
          series: 2,
        },
        {
          method: "PUT",
          path: PY_PATH,
          status: 200,
          error: null,
          content_type: text,
          series: 2,
        },
        // Python sends the text Content-Type on DELETE too (no body).
        {
          method: "DELETE",
          path: PY_PATH,
          status: 202,
          error: null,
          content_type: text,
          series: 0,
        },
      ],
    );
  });

  await t.step(
    "groups keeps the decoded grouping key of the deleted group",
    () => {
      assert.deepEqual(
        queryDb(
          pv.dbPath,
          "SELECT key, labels, job, deleted_at IS NOT NULL AS deleted FROM groups",
        ),
        [{
          key: `{${PY_GROUP}}`,
          labels:
            '{"empty":"","instance":"host+1","job":"nightly/backup","path":"/var/tmp"}',
          job: "nightly/backup",
          deleted: 1,
        }],
      );
    },
  );
});

// --- Node prom-client -------------------------------------------------------

const NODE_BATCH = 'instance="host 1",job="node-batch",region="eu-west"';
const NODE_GZ = 'instance="",job="node-gz"';

/** A registry with one metric of each type and fixed observations. */
function nodeRegistry(): client.Registry {
  const registry = new client.Registry();
  new client.Counter({
    name: "node_jobs_total",
    help: "Jobs run.",
    labelNames: ["kind"],
    registers: [registry],
  }).inc({ kind: "full" }, 3);
  new client.Gauge({
    name: "node_queue_depth",
    help: "Queue depth.",
    registers: [registry],
  }).set(-0.25);
  const duration = new client.Histogram({
    name: "node_duration_seconds",
    help: "Duration.",
    buckets: [0.1, 1, 10],
    registers: [registry],
  });
  for (const value of [0.05, 0.5, 5, 50]) duration.observe(value);
  const size = new client.Summary({
    name: "node_size_bytes",
    help: "Size.",
    percentiles: [0.5, 0.9],
    registers: [registry],
  });
  for (const value of [100, 200, 300]) size.observe(value);
  return registry;
}

/** The HTTP status of a prom-client Pushgateway result (typed `unknown`). */
function statusOf(result: { resp?: unknown }): number | undefined {
  return (result.resp as { statusCode?: number } | undefined)?.statusCode;
}

function nodeSeries(groups: readonly string[]): string {
  const each = (f: (g: string) => string) => groups.map(f).join("");
  return `# HELP node_duration_seconds Duration.
# TYPE node_duration_seconds histogram
${
    each((g) =>
      `node_duration_seconds_bucket{${g},le="0.1"} 1
node_duration_seconds_bucket{${g},le="1"} 2
node_duration_seconds_bucket{${g},le="10"} 3
node_duration_seconds_bucket{${g},le="+Inf"} 4
node_duration_seconds_sum{${g}} 55.55
node_duration_seconds_count{${g}} 4
`
    )
  }# HELP node_jobs_total Jobs run.
# TYPE node_jobs_total counter
${
    each((g) =>
      `node_jobs_total{${g.replace(/(job="[^"]*")/, '$1,kind="full"')}} 3\n`
    )
  }# HELP node_queue_depth Queue depth.
# TYPE node_queue_depth gauge
${each((g) => `node_queue_depth{${g}} -0.25\n`)}# HELP node_size_bytes Size.
# TYPE node_size_bytes summary
${
    each((g) =>
      `node_size_bytes{${g},quantile="0.5"} 200
node_size_bytes{${g},quantile="0.9"} 300
node_size_bytes_sum{${g}} 600
node_size_bytes_count{${g}} 3
`
    )
  }`;
}

function nodeMetadata(groups: readonly string[]): string {
  return PUSH_FAILURE_HELP +
    groups.map((g) => `push_failure_time_seconds{${g}} 0\n`).join("") +
    PUSH_TIME_HELP +
    groups.map((g) => `push_time_seconds{${g}} <time>\n`).join("");
}

Deno.test("prom-client Pushgateway pushAdd, push and delete with groupings", async (t) => {
  await using pv = await startTestGateway();
  const registry = nodeRegistry();
  const gateway = new client.Pushgateway(pv.url, {}, registry);
  const gzipGateway = new client.Pushgateway(pv.url, {
    headers: { "Content-Encoding": "gzip" },
  }, registry);

  await t.step("pushAdd() with groupings holding a space", async () => {
    const result = await gateway.pushAdd({
      jobName: "node-batch",
      groupings: { instance: "host 1", region: "eu-west" },
    });
    assert.equal(statusOf(result), 200);
    assert.equal(
      await scrapePushed(pv.url),
      nodeSeries([NODE_BATCH]) + nodeMetadata([NODE_BATCH]),
    );
  });

  await t.step("push() of a gzip body to a second group", async () => {
    const result = await gzipGateway.push({ jobName: "node-gz" });
    assert.equal(statusOf(result), 200);
    // Fewer labels sort first (docs/compatibility.md, Scrapes).
    assert.equal(
      await scrapePushed(pv.url),
      nodeSeries([NODE_GZ, NODE_BATCH]) + nodeMetadata([NODE_GZ, NODE_BATCH]),
    );
  });

  await t.step(
    "push() with a '/' in a grouping value is refused as the Pushgateway does",
    async () => {
      // prom-client sends "a%2Fb"; %2F separates path components
      // (docs/compatibility.md, Routes).
      await assert.rejects(
        gateway.push({ jobName: "node-batch", groupings: { path: "a/b" } }),
        {
          message:
            'push failed with status 400, odd number of components in label string "/path/a/b"\n',
        },
      );
    },
  );

  await t.step("delete() removes exactly the group named", async () => {
    const result = await gateway.delete({
      jobName: "node-batch",
      groupings: { instance: "host 1", region: "eu-west" },
    });
    assert.equal(statusOf(result), 202);
    assert.equal(
      await scrapePushed(pv.url),
      nodeSeries([NODE_GZ]) + nodeMetadata([NODE_GZ]),
    );
    assert.equal(
      statusOf(await gateway.delete({ jobName: "node-gz" })),
      202,
    );
    assert.equal(await scrapePushed(pv.url), "");
  });

  await t.step("pushes holds one row per request, the refused one too", () => {
    const rows = queryDb(
      pv.dbPath,
      "SELECT method, path, group_id IS NULL AS no_group, status, error, series FROM pushes p JOIN requests r ON r.id = p.request_id ORDER BY p.id",
    );
    const batch = "/metrics/job/node-batch/instance/host%201/region/eu-west";
    const row = (
      method: string,
      path: string,
      status: number,
      series: number,
    ) => ({ method, path, no_group: 0, status, error: null, series });
    assert.deepEqual(rows, [
      row("POST", batch, 200, 4),
      row("PUT", "/metrics/job/node-gz", 200, 4),
      {
        method: "PUT",
        path: "/metrics/job/node-batch/path/a%2Fb",
        no_group: 1,
        status: 400,
        error: 'odd number of components in label string "/path/a/b"',
        series: 0,
      },
      row("DELETE", batch, 202, 0),
      row("DELETE", "/metrics/job/node-gz", 202, 0),
    ]);
  });
});
