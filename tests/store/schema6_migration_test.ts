/**
 * Schema 6 (docs/database.md): a database written by the release
 * before it is migrated in place at start, and every documented view
 * answers exactly as before, on a small file written by that release's own
 * store (tests/fixtures/release_v5.db, see write_release_fixture.ts) and on
 * a generated one of a million samples.
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { APPLICATION_ID, MIGRATIONS } from "../../src/store/schema.ts";
import { Store } from "../../src/store/store.ts";
import { sqlite } from "../deploy/deploy_utils.ts";
import { tempDir } from "../test_utils.ts";

/** Each documented view, as a query whose answer does not depend on now. */
const VIEW_QUERIES = {
  group_status: "SELECT * FROM group_status",
  push_log: "SELECT * FROM push_log",
  sample_history: "SELECT * FROM sample_history",
  current_samples: "SELECT * FROM current_samples",
  stale_groups: "SELECT group_key, last_push FROM stale_groups",
  group_sizes: "SELECT * FROM group_sizes",
} as const;

type Digest = Record<keyof typeof VIEW_QUERIES, string>;

/**
 * Every view's rows, in no particular order: their count and two sums of
 * a hash of each row (views promise no order without ORDER BY).
 */
function viewDigests(path: string): Digest {
  using db = new DatabaseSync(path, { readOnly: true });
  const out: Partial<Digest> = {};
  for (const [name, sql] of Object.entries(VIEW_QUERIES)) {
    let count = 0;
    let sum = 0;
    let xor = 0;
    for (const row of db.prepare(sql).iterate()) {
      const h = hash(JSON.stringify(Object.values(row), exact));
      count++;
      sum = (sum + h) % 2 ** 48;
      xor ^= h & 0x7fffffff;
    }
    out[name as keyof Digest] = `${count}:${sum}:${xor}`;
  }
  return out as Digest;
}

/** JSON that tells -0, NaN and ±Inf apart. */
function exact(_key: string, value: unknown): unknown {
  if (typeof value !== "number") return value;
  return Object.is(value, -0) || !Number.isFinite(value)
    ? String(Object.is(value, -0) ? "-0" : value)
    : value;
}

/** 32-bit FNV-1a. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function rows(path: string, sql: string): unknown[] {
  using db = new DatabaseSync(path, { readOnly: true });
  return db.prepare(sql).all().map((r) => ({ ...r }));
}

Deno.test("Store migrates a file of the release before schema 6 and every view answers the same", async (t) => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  await Deno.copyFile(
    new URL("../fixtures/release_v5.db", import.meta.url),
    path,
  );
  const before = viewDigests(path);
  const history = (p: string) =>
    rows(
      p,
      `SELECT metric, labels, value, pushed_at, current FROM sample_history
       WHERE group_key = '{instance="db1",job="backup"}' ORDER BY time, metric, labels`,
    );
  const historyBefore = history(path);
  const progress: string[] = [];
  let scrape: string;
  {
    using store = new Store({
      path,
      onMigrationProgress: (line) => progress.push(line),
    });
    scrape = store.view.render(new Map());
  }
  await t.step("every view's rows are the same", () => {
    assert.deepEqual(viewDigests(path), before);
    assert.deepEqual(history(path), historyBefore);
  });
  await t.step("a series' name and labels are stored once", () => {
    const [counts] = rows(
      path,
      `SELECT (SELECT count(*) FROM series) AS series,
         (SELECT count(*) FROM samples) AS samples`,
    ) as { series: number; samples: number }[];
    assert.ok(counts !== undefined && counts.series < counts.samples);
    // backup_bytes{disk="a"} left and came back: two series rows, so that
    // retention can tell when each one's last sample goes.
    const disk = rows(
      path,
      `SELECT count(*) AS n FROM series WHERE family = 'backup_bytes'
         AND labels LIKE '%"disk":"a"%'`,
    );
    assert.deepEqual(disk, [{ n: 2 }]);
  });
  await t.step("the file serves the same scrape and takes pushes", () => {
    using store = new Store({ path });
    assert.equal(store.view.render(new Map()), scrape);
    assert.match(scrape, /^dup\{instance="",job="dup"\} 1$/m);
    assert.match(
      scrape,
      /^backup_bytes\{disk="a",instance="db1",job="backup"\} 6$/m,
    );
  });
  await t.step("the sqlite3 shell reads the views of schema 6", async () => {
    assert.deepEqual(
      await sqlite(
        path,
        `SELECT value FROM sample_history WHERE metric = 'rpc_sum' AND group_key = '{instance="db1",job="backup"}'`,
      ),
      ["-0"],
    );
    assert.deepEqual(await sqlite(path, "PRAGMA integrity_check"), ["ok"]);
  });
});

/** Groups × rounds × families × series: 100 × 10 × 10 × 100 = 1,000,000. */
const GROUPS = 100;
const ROUNDS = 10;

/**
 * A schema 5 file of a million samples, written with SQL as that schema
 * holds them: 100 groups of 1,000 series (10 counter families of 100),
 * each group pushed 10 times, every 1000th value NaN.
 */
function writeMillion(path: string): void {
  using db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("BEGIN");
  for (const m of MIGRATIONS.slice(0, 4)) db.exec(m as string);
  const last = GROUPS * ROUNDS * 10 - 1;
  db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${
    GROUPS - 1
  })
    INSERT INTO groups (id, key, labels, job, created_at, push_time)
      SELECT i + 1, '{instance="i' || i || '",job="load"}',
        json_object('instance', 'i' || i, 'job', 'load'), 'load', 1000,
        1000 + ${(ROUNDS - 1) * 60} FROM n;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${
    GROUPS * ROUNDS - 1
  })
    INSERT INTO pushes (id, time, method, group_id, path, status, content_type,
        body_bytes, series, remote_addr, user_agent)
      SELECT i + 1, 1000 + (i / ${GROUPS}) * 60, 'PUT', i % ${GROUPS} + 1,
        '/metrics/job/load/instance/i' || (i % ${GROUPS}), 200,
        'text/plain; version=0.0.4', 50000, 1000, '127.0.0.1', 'gen' FROM n;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${last})
    INSERT INTO families (id, group_id, push_id, name, type, help, current,
        replaced_by, replaced_at)
      SELECT i + 1, (i / 10) % ${GROUPS} + 1, i / 10 + 1,
        'load_rows_' || (i % 10) || '_total', 'counter', 'Rows copied.',
        i / ${GROUPS * 10} = ${ROUNDS - 1},
        CASE WHEN i / ${GROUPS * 10} < ${
    ROUNDS - 1
  } THEN i / 10 + 1 + ${GROUPS} END,
        CASE WHEN i / ${GROUPS * 10} < ${ROUNDS - 1}
          THEN 1000 + (i / ${GROUPS * 10} + 1) * 60 END
      FROM n;
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${
    (last + 1) * 100 - 1
  })
    INSERT INTO samples (family_id, series, name, labels, value, value_text)
      SELECT i / 100 + 1, i % 100, 'load_rows_' || ((i / 100) % 10) || '_total',
        json_object('instance', 'i' || ((i / 1000) % ${GROUPS}), 'job', 'load',
          'table', 't' || (i % 100)),
        CASE WHEN i % 1000 = 999 THEN NULL ELSE (i * 7919) % 1000003 END,
        CASE WHEN i % 1000 = 999 THEN 'NaN' END
      FROM n;
  `);
  // Schema 5 recomputes keys of legacy-named groups to what they are.
  (MIGRATIONS[4] as (db: DatabaseSync, p: (m: string) => void) => void)(
    db,
    () => {},
  );
  db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
  db.exec("PRAGMA user_version = 5");
  db.exec("COMMIT");
}

Deno.test("Store migrates a file of a million samples and every view answers the same", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  writeMillion(path);
  const before = viewDigests(path);
  assert.equal(before.sample_history.split(":")[0], "1000000");
  const progress: string[] = [];
  {
    using _store = new Store({
      path,
      onMigrationProgress: (line) => progress.push(line),
    });
  }
  assert.deepEqual(viewDigests(path), before);
  assert.ok(
    progress.some((line) => /of 1000000 samples/.test(line)),
    progress.join("\n"),
  );
  assert.deepEqual(rows(path, "SELECT count(*) AS n FROM series"), [{
    n: GROUPS * 1000,
  }]);
  // The old rows' pages were given back: the file is compact again.
  assert.ok(progress.some((line) => /compacting the file/.test(line)));
  const [pages] = rows(
    path,
    `SELECT (SELECT freelist_count FROM pragma_freelist_count()) AS free,
       (SELECT page_count FROM pragma_page_count()) AS total`,
  ) as { free: number; total: number }[];
  assert.ok(pages !== undefined && pages.free * 10 < pages.total);
});
