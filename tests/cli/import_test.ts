import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runImport } from "../../src/cli/import.ts";
import { ImportError } from "../../src/cli/import_json.ts";
import { pushgatewayInstalled, withProcesses } from "../e2e/process_utils.ts";
import { send, startTestGateway, stripOwn, tempDir } from "../test_utils.ts";

const BODIES: [string, string][] = [
  [
    "/metrics/job/batch/instance/host1",
    '# HELP d Duration.\n# TYPE d gauge\nd 12.5\n# TYPE r counter\nr{kind="ok"} 42\n',
  ],
  [
    "/metrics/job/sum",
    '# TYPE s summary\ns{quantile="0.5"} 1\ns{quantile="0.9"} 2\ns_sum 3\ns_count 4\n',
  ],
  [
    "/metrics/job/hist/a@base64/=",
    '# TYPE h histogram\nh_bucket{le="0.5"} 0\nh_bucket{le="1e+06"} 1\nh_bucket{le="+Inf"} 2\nh_sum 7\nh_count 2\n',
  ],
  ["/metrics/job/special", "nan NaN\ninf -Inf\n"],
];

Deno.test({
  name:
    "pushvault import copies a running Pushgateway's groups with their push times" +
    (pushgatewayInstalled()
      ? ""
      : " (skipped: Debian's prometheus-pushgateway is not installed)"),
  ignore: !pushgatewayInstalled(),
  async fn() {
    await withProcesses(async (group) => {
      const pg = await group.pushgateway();
      for (const [path, body] of BODIES) {
        assert.equal(
          (await send(`${pg.url}${path}`, { method: "PUT", body })).status,
          200,
        );
      }
      // A refused push sets push_failure_time_seconds (docs/compatibility.md,
      // Metadata metrics).
      assert.equal(
        (await send(`${pg.url}/metrics/job/sum`, {
          method: "POST",
          body: "t 1 5\n",
        })).status,
        400,
      );
      const expected = stripOwn(
        await (await fetch(`${pg.url}/metrics`)).text(),
      );
      await using dir = await tempDir();
      const dbPath = `${dir.path}/pv.db`;
      const lines: string[] = [];
      const dry = await runImport({
        from: pg.url,
        dbPath,
        dryRun: true,
        print: (l) => lines.push(l),
        now: Date.now,
      });
      assert.equal(dry, 4);
      assert.ok(
        lines.some((l) =>
          l.startsWith(
            'would import {instance="host1",job="batch"}: 2 families, 2 series',
          )
        ),
      );
      await assert.rejects(Deno.stat(dbPath), Deno.errors.NotFound);
      assert.equal(
        await runImport({
          from: pg.url,
          dbPath,
          dryRun: false,
          print: () => {},
          now: Date.now,
        }),
        4,
      );
      await using pv = await startTestGateway([], { dir: dir.path });
      // The times are kept, so even push_time_seconds is the Pushgateway's.
      const ours = await (await fetch(`${pv.url}/metrics`)).text();
      assert.equal(
        withoutOwn(ours),
        withoutOwn(await (await fetch(`${pg.url}/metrics`)).text()),
      );
      assert.equal(stripOwn(ours), expected);
    });
  },
});

/** Own families removed, times kept. */
function withoutOwn(text: string): string {
  return text.split("\n").filter((l) =>
    !/^(# (HELP|TYPE) )?(pushgateway_|pushvault_|process_|go_)/.test(l)
  ).join("\n");
}

Deno.test("pushvault import refuses a conflicting group and keeps nothing", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/pv.db`;
  {
    await using pv = await startTestGateway([], { dir: dir.path });
    await send(`${pv.url}/metrics/job/x`, {
      method: "PUT",
      body: "# TYPE m gauge\nm 1\n",
    });
  }
  const source = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, () =>
    Response.json({
      status: "success",
      data: [
        {
          labels: { job: "ok" },
          a: {
            time_stamp: "2026-11-24T02:35:05.86Z",
            type: "GAUGE",
            metrics: [{ labels: { job: "ok", instance: "" }, value: "1" }],
          },
        },
        {
          labels: { job: "bad" },
          m: {
            time_stamp: "2026-11-24T02:35:05.86Z",
            type: "COUNTER",
            metrics: [{ labels: { job: "bad", instance: "" }, value: "1" }],
          },
        },
      ],
    }));
  try {
    await assert.rejects(
      runImport({
        from: `http://127.0.0.1:${source.addr.port}`,
        dbPath,
        dryRun: false,
        print: () => {},
        now: Date.now,
      }),
      /group \{job="bad"\} cannot be imported: pushed metrics are invalid or inconsistent with existing metrics: collected metric "m" .* is not a GAUGE/,
    );
  } finally {
    await source.shutdown();
  }
  await using pv = await startTestGateway([], { dir: dir.path });
  const api = await (await fetch(`${pv.url}/api/v1/metrics`)).json();
  assert.deepEqual(
    api.data.map((g: { labels: { job: string } }) => g.labels.job),
    ["x"],
  );
});

Deno.test("pushvault import names what is wrong with a response that is not the Pushgateway API", async () => {
  await using dir = await tempDir();
  const source = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, () => Response.json({ hello: 1 }));
  try {
    await assert.rejects(
      runImport({
        from: `http://127.0.0.1:${source.addr.port}`,
        dbPath: `${dir.path}/pv.db`,
        dryRun: false,
        print: () => {},
        now: Date.now,
      }),
      (e) =>
        e instanceof ImportError &&
        /not a Pushgateway \/api\/v1\/metrics answer/.test(e.message),
    );
  } finally {
    await source.shutdown();
  }
});

Deno.test("pushvault import writes one IMPORT row per group with its series, and counts in words", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/pv.db`;
  // The Pushgateway's time_stamp is rounded apart from push_time_seconds.
  const gauge = (value: string, stamp: string) => ({
    time_stamp: stamp,
    type: "GAUGE",
    metrics: [{ labels: { job: "one", instance: "" }, value }],
  });
  const source = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, () =>
    Response.json({
      status: "success",
      data: [{
        labels: { job: "one" },
        a: {
          ...gauge("1", "2026-11-25T02:35:05.861Z"),
          metrics: [
            { labels: { job: "one", instance: "", k: "x" }, value: "1" },
            { labels: { job: "one", instance: "", k: "y" }, value: "2" },
          ],
        },
        push_time_seconds: gauge(
          "1.7640381058612345e+09",
          "2026-11-25T02:35:05.861Z",
        ),
        push_failure_time_seconds: gauge("0", "2026-11-25T02:35:05.861Z"),
      }],
    }));
  const lines: string[] = [];
  try {
    await runImport({
      from: `http://127.0.0.1:${source.addr.port}`,
      dbPath,
      dryRun: false,
      print: (l) => lines.push(l),
      now: Date.now,
    });
  } finally {
    await source.shutdown();
  }
  assert.deepEqual(lines, [
    'importing {job="one"}: 1 family, 2 series',
    `imported 1 group into ${dbPath}`,
  ]);
  using db = new DatabaseSync(dbPath, { readOnly: true });
  assert.deepEqual(
    db.prepare(
      "SELECT method, series, time FROM pushes WHERE method = 'IMPORT'",
    ).all().map((row) => ({ ...row })),
    [{ method: "IMPORT", series: 2, time: 1764038105.8612345 }],
  );
});
