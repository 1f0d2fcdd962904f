import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { send, startTestGateway } from "../test_utils.ts";

/** A fake clock in milliseconds that tests move by hand. */
function fakeClock(start = Date.UTC(2026, 10, 25, 12)) {
  let t = start;
  return { now: () => t, advance: (seconds: number) => (t += seconds * 1000) };
}

function query(dbPath: string, sql: string): Record<string, unknown>[] {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

Deno.test("every kind of request that tries to change the store is a pushes row", async () => {
  const clock = fakeClock();
  await using pv = await startTestGateway([
    "--web.enable-admin-api",
    "--group.ttl=1h",
  ], {
    now: clock.now,
    maintenanceIntervalMs: 0,
  });
  const put = (path: string, body: string, method = "PUT") =>
    send(`${pv.url}${path}`, { method, body });
  await put("/metrics/job/a", "x 1\n");
  await put("/metrics/job/a", "x 2 1234\n", "POST");
  await put("/metrics/job/a", "x 1", "POST");
  await put("/metrics/job/a/b", "x 1\n");
  await put("/metrics/job/b", "x 1\n", "DELETE");
  await put("/metrics/job/c", "y 1\n");
  await send(`${pv.url}/api/v1/admin/delete?match[]={job="c"}`, {
    method: "POST",
  });
  await put("/metrics/job/d", "y 1\n");
  clock.advance(7200);
  await pv.gw.runMaintenance();
  await put("/metrics/job/e", "y 1\n");
  await send(`${pv.url}/api/v1/admin/wipe`, { method: "PUT" });
  await send(`${pv.url}/api/v1/admin/wipe`, { method: "PUT" }); // empty now
  const rows = query(
    pv.dbPath,
    "SELECT method, status, group_key, error FROM push_log ORDER BY id",
  );
  assert.deepEqual(rows.map((r) => `${r.method} ${r.status} ${r.group_key}`), [
    'PUT 200 {job="a"}',
    'POST 400 {job="a"}',
    'POST 400 {job="a"}',
    "PUT 400 /metrics/job/a/b",
    "DELETE 202 /metrics/job/b", // never existed: no group row
    'PUT 200 {job="c"}',
    'BULK_DELETE 202 {job="c"}',
    'PUT 200 {job="d"}',
    'EXPIRE 202 {job="a"}',
    'EXPIRE 202 {job="d"}',
    'PUT 200 {job="e"}',
    'WIPE 202 {job="e"}', // one row per group it deleted
    "WIPE 202 /api/v1/admin/wipe", // nothing to delete: a row without a group
  ]);
  assert.equal(
    rows[1]?.error,
    "pushed metrics are invalid or inconsistent with existing metrics: pushed metrics must not have timestamps",
  );
  assert.equal(
    rows[2]?.error,
    "text format parsing error in line 1: unexpected end of input stream",
  );
  assert.equal(rows[3]?.error, 'odd number of components in label string "/b"');
});

Deno.test("sample_history shows a series' value over time", async () => {
  const clock = fakeClock();
  await using pv = await startTestGateway([], {
    now: clock.now,
    maintenanceIntervalMs: 0,
  });
  for (const v of [1, 2, 3]) {
    await send(`${pv.url}/metrics/job/nightly/instance/db1`, {
      method: "PUT",
      body: `backup_bytes ${v}\nother 1\n`,
    });
    clock.advance(86_400);
  }
  const rows = query(
    pv.dbPath,
    `SELECT value, pushed_at, current FROM sample_history
     WHERE metric = 'backup_bytes' AND group_key = '{instance="db1",job="nightly"}' ORDER BY time`,
  );
  assert.deepEqual(rows.map((r) => [r.value, r.pushed_at, r.current]), [
    [1, "2026-11-25T12:00:00.000Z", 0],
    [2, "2026-11-26T12:00:00.000Z", 0],
    [3, "2026-11-27T12:00:00.000Z", 1],
  ]);
});

Deno.test("retention removes exactly the history older than the cut-off while pushes go on", async () => {
  const clock = fakeClock();
  await using pv = await startTestGateway(["--history.retention=1d"], {
    now: clock.now,
    maintenanceIntervalMs: 0,
  });
  const push = (v: number) =>
    send(`${pv.url}/metrics/job/r`, { method: "PUT", body: `v ${v}\n` });
  for (let i = 0; i < 30; i++) {
    await push(i); // 30 pushes, one hour apart
    clock.advance(3600);
  }
  await send(`${pv.url}/metrics/job/gone`, { method: "PUT", body: "g 1\n" });
  await send(`${pv.url}/metrics/job/gone`, { method: "DELETE" });
  // Now = 30 h after the first push; the cut-off is 6 h. Value 5 was current
  // until 6 h, so it is still inside the window; values 0..4 are not.
  const maintenance = pv.gw.runMaintenance();
  const during = await push(100); // a push while retention runs
  await maintenance;
  assert.equal(during.status, 200);
  const values = query(
    pv.dbPath,
    "SELECT value FROM sample_history WHERE metric = 'v' ORDER BY time",
  ).map((r) => r.value);
  assert.deepEqual(values, [
    ...Array.from({ length: 25 }, (_, i) => i + 5),
    100,
  ]);
  const pushes = query(pv.dbPath, "SELECT count(*) AS n FROM pushes")[0]?.n;
  assert.equal(pushes, 25 + 1 + 2);
  assert.match(
    await (await fetch(`${pv.url}/metrics`)).text(),
    /^v\{instance="",job="r"\} 100$/m,
  );
  clock.advance(2 * 86_400);
  await pv.gw.runMaintenance();
  assert.deepEqual(
    query(pv.dbPath, "SELECT group_key FROM push_log").map((r) => r.group_key),
    ['{job="r"}'],
  );
  assert.deepEqual(
    query(pv.dbPath, "SELECT key FROM groups").map((r) => r.key),
    ['{job="r"}'],
  );
  // A series goes with its last sample: the deleted group's too.
  assert.deepEqual(
    query(pv.dbPath, "SELECT family, labels FROM series").map((r) => ({
      ...r,
    })),
    [{ family: "v", labels: '{"instance":"","job":"r"}' }],
  );
});

Deno.test("--history.retention=0 keeps only the current state", async () => {
  const clock = fakeClock();
  await using pv = await startTestGateway(["--history.retention=0"], {
    now: clock.now,
    maintenanceIntervalMs: 0,
  });
  await send(`${pv.url}/metrics/job/r`, { method: "PUT", body: "v 1\n" });
  clock.advance(1);
  await send(`${pv.url}/metrics/job/r`, { method: "PUT", body: "v 2\n" });
  clock.advance(1);
  await pv.gw.runMaintenance();
  assert.deepEqual(
    query(pv.dbPath, "SELECT value FROM sample_history").map((r) => r.value),
    [2],
  );
});

Deno.test("--history.retention=0 keeps no history rows, without maintenance", async () => {
  await using pv = await startTestGateway(["--history.retention=0"], {
    maintenanceIntervalMs: 0,
  });
  const push = (job: string, method: string, body: string) =>
    send(`${pv.url}/metrics/job/${job}`, { method, body });
  for (let i = 0; i < 20; i++) {
    assert.equal((await push("a", "PUT", `x ${i}\ny ${i}\n`)).status, 200);
    assert.equal((await push("a", "POST", `y ${i + 100}\n`)).status, 200);
    assert.equal((await push("b", "PUT", `z{n="1"} ${i}\n`)).status, 200);
  }
  // A refused push is the group's last push row; the older ones go.
  assert.equal((await push("b", "POST", "z 1 1234\n")).status, 400);
  const count = (table: string) =>
    query(pv.dbPath, `SELECT count(*) AS n FROM ${table}`)[0]?.n;
  // The current families a, x; a, y; b, z and the metadata-free state.
  assert.deepEqual(
    query(
      pv.dbPath,
      "SELECT metric, value FROM sample_history ORDER BY group_key, metric",
    ).map((r) => `${r.metric} ${r.value}`),
    ["x 19", "y 119", "z 19"],
  );
  assert.equal(count("families"), 3);
  assert.equal(count("samples"), 3);
  assert.equal(count("series"), 3);
  // a: the PUT that wrote x and the POST that wrote y; b: its PUT and the
  // refused POST after it.
  assert.deepEqual(
    query(
      pv.dbPath,
      "SELECT method, status, group_key FROM push_log ORDER BY id",
    ).map((r) => `${r.method} ${r.status} ${r.group_key}`),
    [
      'PUT 200 {job="a"}',
      'POST 200 {job="a"}',
      'PUT 200 {job="b"}',
      'POST 400 {job="b"}',
    ],
  );
  assert.match(
    await (await fetch(`${pv.url}/metrics`)).text(),
    /^y\{instance="",job="a"\} 119$/m,
  );
});

Deno.test("groups expire after --group.ttl or their own Pushvault-TTL, and keep their history", async () => {
  const clock = fakeClock();
  await using pv = await startTestGateway(["--group.ttl=1h"], {
    now: clock.now,
    maintenanceIntervalMs: 0,
  });
  await send(`${pv.url}/metrics/job/default`, { method: "PUT", body: "a 1\n" });
  await send(`${pv.url}/metrics/job/short`, {
    method: "PUT",
    body: "b 1\n",
    headers: { "Pushvault-TTL": "10m" },
  });
  await send(`${pv.url}/metrics/job/long`, {
    method: "PUT",
    body: "c 1\n",
    headers: { "Pushvault-TTL": "1d" },
  });
  clock.advance(11 * 60);
  await pv.gw.runMaintenance();
  let text = await (await fetch(`${pv.url}/metrics`)).text();
  assert.doesNotMatch(text, /job="short"/);
  assert.match(text, /job="default"/);
  clock.advance(50 * 60);
  await pv.gw.runMaintenance();
  text = await (await fetch(`${pv.url}/metrics`)).text();
  assert.doesNotMatch(text, /job="default"/);
  assert.match(text, /^c\{instance="",job="long"\} 1$/m);
  assert.match(text, /^pushvault_groups_expired_total 2$/m);
  const api = await (await fetch(`${pv.url}/api/v1/metrics`)).json();
  assert.equal(api.data.length, 1);
  assert.deepEqual(
    query(pv.dbPath, "SELECT value FROM sample_history WHERE metric = 'b'").map(
      (r) => r.value,
    ),
    [1],
  );
});

Deno.test("a bad Pushvault-TTL header answers 400 naming it and changes nothing", async () => {
  await using pv = await startTestGateway();
  for (const bad of ["soon", "-5m", "400d", "1x"]) {
    const r = await send(`${pv.url}/metrics/job/t`, {
      method: "PUT",
      body: "a 1\n",
      headers: { "Pushvault-TTL": bad },
    });
    assert.equal(r.status, 400);
    assert.match(
      r.text,
      /^invalid Pushvault-TTL header ".*": expected a duration from 1s to 366d/,
    );
  }
  const api = await (await fetch(`${pv.url}/api/v1/metrics`)).json();
  assert.deepEqual(api.data, []);
});

Deno.test("bulk delete removes groups by matchers and age, with a dry run", async (t) => {
  const clock = fakeClock();
  await using pv = await startTestGateway(["--web.enable-admin-api"], {
    now: clock.now,
    maintenanceIntervalMs: 0,
  });
  const groups = [
    "batch/instance/ci-1",
    "batch/instance/ci-2",
    "batch/instance/prod-1",
    "cron/instance/ci-9",
  ];
  for (const g of groups) {
    await send(`${pv.url}/metrics/job/${g}`, { method: "PUT", body: "m 1\n" });
    clock.advance(3600);
  }
  const del = async (query: string) => {
    const r = await send(`${pv.url}/api/v1/admin/delete?${query}`, {
      method: "POST",
    });
    return { status: r.status, body: JSON.parse(r.text) };
  };
  const live = async () =>
    ((await (await fetch(`${pv.url}/api/v1/metrics`)).json()).data as {
      labels: Record<string, string>;
    }[])
      .map((g) => `${g.labels.job}/${g.labels.instance}`).sort();

  await t.step("dry run lists and deletes nothing", async () => {
    const r = await del(
      `match[]=${
        encodeURIComponent('{job="batch",instance=~"ci-.*"}')
      }&dry_run=true`,
    );
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data.deleted.map((d: { key: string }) => d.key), [
      '{instance="ci-1",job="batch"}',
      '{instance="ci-2",job="batch"}',
    ]);
    assert.equal(r.body.data.dry_run, true);
    assert.equal((await live()).length, 4);
  });
  await t.step(
    "bad matchers and durations are refused and delete nothing",
    async () => {
      for (
        const [q, message] of [
          [
            "match[]=" + encodeURIComponent('{job="batch"'),
            /^match\[\]: invalid matcher/,
          ],
          [
            "match[]=" + encodeURIComponent('{job=~"("}'),
            /^match\[\]: invalid regular expression "\(" for label job/,
          ],
          ["older_than=yesterday", /^invalid older_than "yesterday"/],
          ["pushed_before=last-week", /^invalid pushed_before "last-week"/],
          ["", /^give at least one match\[\] selector/],
        ] as const
      ) {
        const r = await del(q);
        assert.equal(r.status, 400);
        assert.equal(r.body.status, "error");
        assert.match(r.body.error, message);
      }
      assert.equal((await live()).length, 4);
    },
  );
  await t.step("a matcher that matches nothing deletes nothing", async () => {
    const r = await del(`match[]=${encodeURIComponent('{job="nope"}')}`);
    assert.deepEqual(r.body.data.deleted, []);
    assert.equal((await live()).length, 4);
  });
  await t.step("negative regex and age together", async () => {
    const r = await del(
      `match[]=${encodeURIComponent('{instance!~"prod-.*"}')}&older_than=150m`,
    );
    // Now is 4 h after the first push: ci-1 (4 h) and ci-2 (3 h) are older than 150 min.
    assert.deepEqual(r.body.data.deleted.map((d: { key: string }) => d.key), [
      '{instance="ci-1",job="batch"}',
      '{instance="ci-2",job="batch"}',
    ]);
    assert.deepEqual(await live(), ["batch/prod-1", "cron/ci-9"]);
  });
  await t.step("the history API lists the bulk deletes", async () => {
    const r = await (await fetch(
      `${pv.url}/api/v1/history?match[]=${
        encodeURIComponent('{job="batch"}')
      }&limit=3`,
    )).json();
    assert.deepEqual(r.data.map((p: { method: string }) => p.method), [
      "BULK_DELETE",
      "BULK_DELETE",
      "PUT",
    ]);
    const bad = await send(`${pv.url}/api/v1/history?status=maybe`);
    assert.equal(bad.status, 400);
  });
});

Deno.test("bulk delete is not there without --web.enable-admin-api", async () => {
  await using pv = await startTestGateway();
  const r = await send(`${pv.url}/api/v1/admin/delete?match[]={job="x"}`, {
    method: "POST",
  });
  assert.equal(r.status, 404);
});
