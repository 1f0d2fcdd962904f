/**
 * Schema 9: a file of the release before (release_v8.db, written by that
 * release's store) and a generated file of a million samples migrate in
 * place at start, and every view answers exactly as before, in the
 * sqlite3 shell too; a series row then holds its name by id, its suffix as
 * a code and its labels without the group's.
 */
import assert from "node:assert/strict";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/store/schema.ts";
import { Store } from "../../src/store/store.ts";
import { textPushCommand } from "../../scripts/bench/store_command.ts";
import { tempDir } from "../test_utils.ts";

const FIXTURE = fileURLToPath(
  new URL("../fixtures/release_v8.db", import.meta.url),
);

/** Every view and `series`, their rows in a fixed order. */
const VIEWS: Record<string, string> = {
  current_samples: "SELECT * FROM current_samples",
  push_log: "SELECT * FROM push_log",
  sample_history: "SELECT * FROM sample_history",
  group_status: "SELECT * FROM group_status",
  stale_groups: "SELECT group_key, last_push FROM stale_groups",
  group_sizes: "SELECT * FROM group_sizes",
  aggregate_contributions: "SELECT * FROM aggregate_contributions",
  series: "SELECT * FROM series",
};

function answers(
  path: string,
  views: Record<string, string>,
): Record<string, string[]> {
  using db = new DatabaseSync(path, { readOnly: true });
  const out: Record<string, string[]> = {};
  for (const [view, sql] of Object.entries(views)) {
    out[view] = db.prepare(sql).all().map((row) =>
      JSON.stringify(Object.entries(row as Record<string, SQLInputValue>))
    ).sort();
  }
  return out;
}

/** What the sqlite3 shell (3.40 here) answers, as text. */
function shell(path: string, sql: string): string {
  const out = new Deno.Command("sqlite3", { args: ["-readonly", path, sql] })
    .outputSync();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

function columns(db: DatabaseSync, table: string): string[] {
  return db.prepare(`PRAGMA table_info(${table})`).all().map((r) =>
    String(r.name)
  );
}

Deno.test("a file of the release before migrates to schema 9 and every view answers the same", async () => {
  assert.equal(SCHEMA_VERSION, 9);
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  Deno.copyFileSync(FIXTURE, path);
  const before = answers(path, VIEWS);
  const shellBefore = Object.values(VIEWS).map((sql) =>
    shell(path, sql).split("\n").sort().join("\n")
  );
  assert.ok((before.sample_history?.length ?? 0) > 20, "history to compare");
  const lines: string[] = [];
  new Store({ path, onMigrationProgress: (m) => lines.push(m) }).close();
  assert.equal(lines.at(-1), "schema 9: step 7 of 7 done");
  {
    using db = new DatabaseSync(path, { readOnly: true });
    assert.equal(
      Number(db.prepare("PRAGMA user_version").get()?.user_version),
      9,
    );
    assert.equal(
      db.prepare("PRAGMA integrity_check").get()?.integrity_check,
      "ok",
    );
    assert.deepEqual(columns(db, "series_keys"), [
      "id",
      "group_id",
      "name_id",
      "suffix",
      "series",
      "labels",
    ]);
    assert.deepEqual(columns(db, "samples"), [
      "family_id",
      "series_id",
      "value",
    ]);
    assert.deepEqual(columns(db, "families"), [
      "id",
      "group_id",
      "push_id",
      "name_id",
      "meta_id",
      "current",
      "replaced_by",
      "replaced_at",
    ]);
    assert.ok(!columns(db, "pushes").includes("user_agent"));
    // The group's labels are one character in a series' labels.
    const raw = db.prepare(
      "SELECT labels FROM series_keys WHERE labels LIKE '%' || char(1) || '%'",
    ).all();
    assert.ok(raw.length > 0);
    // The one sample whose ordinal is not its series row's keeps its own.
    const own = db.prepare(
      "SELECT count(*) AS n FROM sample_extras WHERE series IS NOT NULL",
    ).get();
    assert.equal(Number(own?.n), 1);
  }
  assert.deepEqual(answers(path, VIEWS), before);
  assert.deepEqual(
    Object.values(VIEWS).map((sql) =>
      shell(path, sql).split("\n").sort().join("\n")
    ),
    shellBefore,
  );

  // Pushes go on: the shifted series' next version, and a new group.
  {
    using store = new Store({ path });
    for (
      const [group, body] of [
        ["/metrics/job/shift", 'shift{x="2"} 22\nshift{x="3"} 30\n'],
        ["/metrics/job/new", "# TYPE n counter\nn_total 1\n"],
      ]
    ) {
      assert.deepEqual(
        await store.enqueuePush(
          textPushCommand(group as string, body as string, 1_795_001_000, "t"),
        ),
        { status: 200 },
      );
    }
  }
  assert.deepEqual(
    shell(
      path,
      "SELECT metric, labels, value FROM sample_history WHERE group_key = '{job=\"shift\"}' ORDER BY time, labels",
    ).trim().split("\n"),
    [
      'shift|{"instance":"","job":"shift","x":"1"}|10.0',
      'shift|{"instance":"","job":"shift","x":"2"}|20.0',
      'shift|{"instance":"","job":"shift","x":"2"}|21.0',
      'shift|{"instance":"","job":"shift","x":"2"}|22.0',
      'shift|{"instance":"","job":"shift","x":"3"}|30.0',
    ],
  );
});

/** A schema 8 file of `groups` × 1,000 series pushed `pushes` times. */
function writeVersion8(path: string, groups: number, pushes: number): void {
  using db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("BEGIN");
  for (let v = 0; v < 8; v++) {
    const m = MIGRATIONS[v];
    if (typeof m === "string") db.exec(m);
    else m?.(db, () => {});
  }
  db.exec("PRAGMA user_version = 8");
  db.exec(`PRAGMA application_id = ${0x50564c54}`);
  // 10 families of 100 series (a histogram of 10 buckets, its sum and
  // count among them: every suffix) per group; each push one version of
  // each family, the last current.
  db.exec(`
    WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ${groups})
    INSERT INTO groups (id, key, labels, job, created_at, push_time)
      SELECT i, '{instance="i' || i || '",job="load"}',
        '{"instance":"i' || i || '","job":"load"}', 'load', 1000, 1000 + ${pushes} * 60
      FROM g;
    INSERT INTO family_meta (id, type, help, unit) VALUES (1, 'gauge', 'A gauge.', NULL),
      (2, 'histogram', NULL, NULL);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
        WHERE i < ${groups * pushes})
    INSERT INTO pushes (id, time, method, group_id, path, status, content_type, body_bytes,
        series, remote_addr, user_agent)
      SELECT i, 1000 + ((i - 1) / ${groups}) * 60, 'PUT', (i - 1) % ${groups} + 1,
        '/metrics/job/load/instance/i' || ((i - 1) % ${groups} + 1), 200,
        'text/plain; version=0.0.4', 70000, 1000, '127.0.0.1', 'Go-http-client/1.1'
      FROM n;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n
        WHERE i < ${groups * pushes * 10 - 1})
    INSERT INTO families (id, group_id, push_id, name, meta_id, current, replaced_by,
        replaced_at)
      SELECT i + 1, (i / 10) % ${groups} + 1, i / 10 + 1, 'fam_' || (i % 10),
        iif(i % 10 = 9, 2, 1), iif(i / 10 >= ${groups * (pushes - 1)}, 1, 0),
        iif(i / 10 >= ${groups * (pushes - 1)}, NULL, i / 10 + 1 + ${groups}),
        iif(i / 10 >= ${groups * (pushes - 1)}, NULL,
          1000 + ((i / 10) / ${groups} + 1) * 60)
      FROM n;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n
        WHERE i < ${groups * 1000 - 1})
    INSERT INTO series (id, group_id, family, suffix, labels)
      SELECT i + 1, i / 1000 + 1, 'fam_' || ((i % 1000) / 100),
        CASE WHEN (i % 1000) / 100 < 9 THEN '' WHEN i % 100 < 96 THEN '_bucket'
          WHEN i % 100 < 98 THEN '_sum' ELSE '_count' END,
        '{"instance":"i' || (i / 1000 + 1) || '","job":"load","k":"v' || (i % 100) || '"'
          || iif((i % 1000) / 100 = 9 AND i % 100 < 96, ',"le":"' || (i % 12) || '"', '')
          || '}'
      FROM n;
    INSERT INTO samples (family_id, series_id, series, value)
      SELECT f.id, se.id, iif(se.suffix = '', (se.id - 1) % 100, (se.id - 1) % 100 / 12),
        f.push_id * 1000 + se.id % 1000 + 0.5
      FROM families f JOIN series se ON se.group_id = f.group_id AND se.family = f.name
      ORDER BY f.id, se.id;
    INSERT INTO sample_extras (family_id, series_id, value_text)
      SELECT family_id, series_id, 'NaN' FROM samples WHERE series_id % 997 = 0;
  `);
  db.exec("COMMIT");
}

Deno.test("a million samples of schema 8 migrate to schema 9 with the same answers", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  writeVersion8(path, 100, 10);
  const series = '{instance="i7",job="load"}';
  const views = {
    counts:
      "SELECT (SELECT count(*) FROM samples) AS samples, (SELECT count(*) FROM current_samples) AS current",
    current:
      "SELECT count(*), sum(value), count(DISTINCT labels), min(labels), max(metric), sum(length(labels || metric || group_key || family || type || pushed_at)) FROM current_samples",
    history: `SELECT * FROM sample_history WHERE group_key = '${
      series.replaceAll("'", "''")
    }' AND metric IN ('fam_3', 'fam_9_bucket', 'fam_9_count')`,
    push_log: "SELECT * FROM push_log",
    group_status: "SELECT * FROM group_status",
    group_sizes: "SELECT * FROM group_sizes",
  };
  const before = answers(path, views);
  assert.equal(before.counts?.[0], '[["samples",1000000],["current",100000]]');
  const lines: string[] = [];
  new Store({ path, onMigrationProgress: (m) => lines.push(m) }).close();
  assert.ok(lines.includes("schema 9: step 4 of 7 done"), lines.join("\n"));
  assert.deepEqual(answers(path, views), before);
  assert.equal(
    shell(path, "SELECT count(*) FROM sample_history WHERE metric = 'fam_1'"),
    "100000\n",
  );
});

Deno.test("a push's requests row goes when the last push that refers to it does", async () => {
  await using dir = await tempDir();
  for (const keepHistory of [true, false]) {
    const path = `${dir.path}/pv-${keepHistory}.db`;
    {
      using store = new Store({ path, keepHistory });
      // Every push from a client of its own; one client pushes twice.
      const agents = ["a", "b", "c", "d", "a", "e"];
      for (let i = 0; i < agents.length; i++) {
        const command = textPushCommand(
          `/metrics/job/j/instance/i${i % 2}`,
          `up ${i}\n`,
          1000 + i * 60,
          agents[i] as string,
        );
        assert.deepEqual(await store.enqueuePush(command), { status: 200 });
      }
      for (
        let i = 0;
        i < 100 && store.pruneHistory(1000 + 4 * 60 + 1, 16) > 0;
        i++
      );
    }
    using db = new DatabaseSync(path, { readOnly: true });
    const row = db.prepare(
      `SELECT (SELECT count(*) FROM requests) AS requests,
         (SELECT count(DISTINCT request_id) FROM pushes) AS used,
         (SELECT group_concat(user_agent) FROM (SELECT user_agent FROM push_log ORDER BY id))
           AS agents`,
    ).get();
    // What stays: each group's last push, and with history the version
    // replaced after the cutoff (d's); b's and c's requests rows went.
    assert.deepEqual(
      { ...row },
      keepHistory
        ? { requests: 3, used: 3, agents: "d,a,e" }
        : { requests: 2, used: 2, agents: "a,e" },
      `keepHistory ${keepHistory}`,
    );
  }
});
