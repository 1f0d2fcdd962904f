/**
 * Upgrading: Pushvault started on a database of schema version 1 (as the
 * first release wrote it) migrates it to the current version at start,
 * keeps every row, serves the same scrape, and leaves a copy of the old
 * file at `<file>.pre-v<N>.bak` (docs/operations.md, Upgrade).
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  APPLICATION_ID,
  MIGRATIONS,
  SCHEMA_VERSION,
} from "../../src/store/schema.ts";
import { withProcesses } from "../e2e/process_utils.ts";
import { startTestGateway, stripOwn } from "../test_utils.ts";
import { emptyDir, getText, push, sqlite } from "./deploy_utils.ts";

/** The tables of schema version 1, each with an integer `id`. */
const V1_TABLES = ["groups", "pushes", "families", "samples"] as const;

type Rows = Record<string, readonly unknown[]>;

/** The columns of `table` in the schema `db` has (version 1 here). */
function columns(db: DatabaseSync, schema: string, table: string): string[] {
  return db.prepare(`PRAGMA ${schema}.table_info(${table})`).all().map((
    row,
  ) => String(row.name));
}

/**
 * Every row of every version-1 table, version-1 columns only, by id. From
 * schema 6 on a sample's name and labels are its series' and it has no id:
 * its rows are read in (family, series) order, which is id order in the
 * version-1 files written here; from schema 7 on a family's type, help and
 * unit are its `family_meta` row's.
 */
function v1Rows(path: string, v1Columns: Record<string, string[]>): Rows {
  using db = new DatabaseSync(path, { readOnly: true });
  const out: Record<string, unknown[]> = {};
  const compact = db.prepare(
    "SELECT count(*) AS n FROM sqlite_schema WHERE name = 'series'",
  ).get()?.n === 1;
  for (const table of V1_TABLES) {
    const cols = (v1Columns[table] ?? []).filter((c) =>
      table !== "samples" || c !== "id"
    );
    const sql = table === "samples" && compact
      ? `SELECT ${
        cols.map((c) => `${SAMPLES_AS_V1[c] ?? `s.${c}`} AS ${c}`).join(", ")
      } FROM ${SAMPLES_V7("")} ORDER BY s.family_id, s.series_id`
      : table === "families" && compact
      ? `SELECT ${
        cols.map((c) => `${FAMILIES_AS_V1[c] ?? `f.${c}`} AS ${c}`).join(", ")
      } FROM ${FAMILIES_V7("")} ORDER BY f.id`
      : table === "pushes" && compact
      ? `SELECT ${
        cols.map((c) => `${PUSHES_AS_V1[c] ?? `p.${c}`} AS ${c}`).join(", ")
      } FROM ${PUSHES_V9("")} ORDER BY p.id`
      : `SELECT ${cols.join(", ")} FROM ${table} ORDER BY ${
        table === "samples" ? "family_id, id" : "id"
      }`;
    out[table] = db.prepare(sql).all().map((row) => ({ ...row }));
  }
  return out;
}

/** The version-1 columns of `samples`, from a schema 7 file. */
const SAMPLES_AS_V1: Record<string, string> = {
  id: "row_number() OVER (ORDER BY s.family_id, s.series_id)",
  series: "COALESCE(x.series, k.series)",
  name: "se.family || se.suffix",
  labels: "se.labels",
  value_text: "x.value_text",
  native: "x.native",
  exemplar: "x.exemplar",
  created: "x.created",
};

/**
 * The tables that hold what a version-1 `samples` row held (schema 9: the
 * view `series` shows a series' name and labels, `series_keys` its
 * ordinal).
 */
const SAMPLES_V7 = (schema: string) =>
  `${schema}samples s JOIN ${schema}series se ON se.id = s.series_id
   JOIN ${schema}series_keys k ON k.id = s.series_id
   LEFT JOIN ${schema}sample_extras x ON x.family_id = s.family_id AND x.series_id = s.series_id`;

/** The version-1 columns of `families` that schema 7 keeps in `family_meta`. */
const FAMILIES_AS_V1: Record<string, string> = {
  type: "m.type",
  help: "m.help",
  unit: "m.unit",
  name: "n.name",
};

/** The tables that hold what a version-1 `families` row held. */
const FAMILIES_V7 = (schema: string) =>
  `${schema}families f JOIN ${schema}family_meta m ON m.id = f.meta_id
   JOIN ${schema}metric_names n ON n.id = f.name_id`;

/** The version-1 columns of `pushes` that schema 9 keeps in `requests`. */
const PUSHES_AS_V1: Record<string, string> = {
  path: "r.path",
  content_type: "r.content_type",
  remote_addr: "r.remote_addr",
  user_agent: "r.user_agent",
};

/** The schema 9 tables that hold what a version-1 `pushes` row held. */
const PUSHES_V9 = (schema: string) =>
  `${schema}pushes p JOIN ${schema}requests r ON r.id = p.request_id`;

function pragma(path: string, name: string): number {
  using db = new DatabaseSync(path, { readOnly: true });
  const row = db.prepare(`PRAGMA ${name}`).get();
  return Number(row?.[name]);
}

/**
 * Writes `target` as Pushvault 0.1 with schema version 1 would have: the
 * first migration only, then the version-1 columns of every row of `source`
 * (written by the current store through real pushes).
 */
function writeVersion1(
  source: string,
  target: string,
): Record<string, string[]> {
  using db = new DatabaseSync(target);
  db.exec(MIGRATIONS[0] as string);
  db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
  db.exec("PRAGMA user_version = 1");
  db.exec("PRAGMA journal_mode = WAL");
  db.prepare("ATTACH DATABASE ? AS source").run(source);
  const v1Columns: Record<string, string[]> = {};
  db.exec("BEGIN");
  for (const table of V1_TABLES) {
    const cols = columns(db, "main", table);
    v1Columns[table] = cols;
    db.exec(
      table === "samples"
        ? `INSERT INTO main.samples (${cols.join(", ")}) SELECT ${
          cols.map((c) => SAMPLES_AS_V1[c] ?? `s.${c}`).join(", ")
        } FROM ${SAMPLES_V7("source.")}`
        : table === "families"
        ? `INSERT INTO main.families (${cols.join(", ")}) SELECT ${
          cols.map((c) => FAMILIES_AS_V1[c] ?? `f.${c}`).join(", ")
        } FROM ${FAMILIES_V7("source.")}`
        : table === "pushes"
        ? `INSERT INTO main.pushes (${cols.join(", ")}) SELECT ${
          cols.map((c) => PUSHES_AS_V1[c] ?? `p.${c}`).join(", ")
        } FROM ${PUSHES_V9("source.")}`
        : `INSERT INTO main.${table} (${cols.join(", ")}) SELECT ${
          cols.join(", ")
        } FROM source.${table}`,
    );
  }
  db.exec("COMMIT");
  db.exec("DETACH DATABASE source");
  return v1Columns;
}

/** Pushes that leave every kind of row: history, failures, deletions. */
async function pushHistory(url: string): Promise<void> {
  const accepted = [
    [
      "job/backup/instance/db1",
      "PUT",
      "# TYPE backup_bytes gauge\nbackup_bytes 1.2e9\nbackup_ok 1\n",
    ],
    [
      "job/backup/instance/db1",
      "POST",
      "# TYPE backup_bytes gauge\nbackup_bytes 1.3e9\n",
    ],
    [
      "job/api/instance/web1",
      "PUT",
      '# TYPE latency histogram\nlatency_bucket{le="0.1"} 3\nlatency_bucket{le="+Inf"} 5\nlatency_sum 0.7\nlatency_count 5\n' +
      '# TYPE rpc summary\nrpc{quantile="0.5"} NaN\nrpc_sum -0\nrpc_count 0\n',
    ],
    [
      "job@base64/ZXRs/stage/extract",
      "PUT",
      "# HELP rows Rows read.\nrows_total 42\n",
    ],
    ["job/gone", "PUT", "gone 1\n"],
  ] as const;
  for (const [path, method, body] of accepted) {
    assert.equal(await push(url, path, body, method), 200, `${method} ${path}`);
  }
  // A refused push: history row with its error, push_failure_time set.
  assert.equal(
    await push(url, "job/backup/instance/db1", "backup_ok 1 1000\n", "POST"),
    400,
  );
  const res = await fetch(`${url}/metrics/job/gone`, { method: "DELETE" });
  await res.body?.cancel();
  assert.equal(res.status, 202);
}

Deno.test("Pushvault started on a schema version 1 database migrates it and keeps every row", async (t) => {
  await using dir = await emptyDir();
  const path = `${dir.path}/pv.db`;
  const backup = `${path}.pre-v${SCHEMA_VERSION}.bak`;

  // Rows written by the real store, then shaped as version 1.
  await Deno.mkdir(`${dir.path}/v2`);
  const source = `${dir.path}/v2/pv.db`;
  let scrapeBefore: string;
  {
    await using gw = await startTestGateway([], { dir: `${dir.path}/v2` });
    await pushHistory(gw.url);
    scrapeBefore = stripOwn(await getText(gw.url, "/metrics"));
  }
  const v1Columns = writeVersion1(source, path);
  const before = v1Rows(path, v1Columns);
  assert.equal(pragma(path, "user_version"), 1);
  for (const table of V1_TABLES) {
    assert.ok((before[table]?.length ?? 0) > 0, `no rows in ${table}`);
  }

  await withProcesses(async (group) => {
    const server = await group.pushvault({ dbPath: path });
    await t.step("it serves what was stored before the upgrade", async () => {
      assert.equal(
        stripOwn(await getText(server.url, "/metrics")),
        scrapeBefore,
      );
    });
    await t.step("it takes pushes after the upgrade", async () => {
      assert.equal(
        await push(server.url, "job/after", "after_upgrade 1\n"),
        200,
      );
    });
    assert.equal((await server.process.stop()).code, 0);
  });

  await t.step(`the file is at schema version ${SCHEMA_VERSION}`, async () => {
    assert.equal(pragma(path, "user_version"), SCHEMA_VERSION);
    assert.equal(pragma(path, "application_id"), APPLICATION_ID);
    assert.deepEqual(await sqlite(path, "PRAGMA integrity_check"), ["ok"]);
  });

  await t.step("every version 1 row is kept unchanged", () => {
    const after = v1Rows(path, v1Columns);
    for (const table of V1_TABLES) {
      const kept = (after[table] ?? []).slice(0, before[table]?.length);
      assert.deepEqual(kept, before[table], `rows of ${table}`);
    }
  });

  await t.step("version 2 columns are filled from the version 1 rows", () => {
    using db = new DatabaseSync(path, { readOnly: true });
    const wrong = db.prepare(
      `SELECT f.id FROM families f JOIN pushes p ON p.id = f.replaced_by
       WHERE f.current = 0 AND (f.replaced_at IS NULL OR f.replaced_at <> p.time)`,
    ).all();
    assert.deepEqual(wrong, []);
    const replaced = db.prepare(
      "SELECT count(*) AS n FROM families WHERE current = 0",
    ).get();
    assert.ok(Number(replaced?.n) > 0);
    const ttls = db.prepare(
      "SELECT count(*) AS n FROM groups WHERE ttl IS NOT NULL",
    ).get();
    assert.equal(Number(ttls?.n), 0);
  });

  await t.step(
    "the views of version 2 answer in the sqlite3 shell",
    async () => {
      const rows = await sqlite(
        path,
        "SELECT group_key || ' ' || failing FROM group_status ORDER BY group_key",
      );
      assert.deepEqual(rows, [
        '{instance="db1",job="backup"} 1',
        '{instance="web1",job="api"} 0',
        '{job="after"} 0',
        '{job="etl",stage="extract"} 0',
      ]);
    },
  );

  await t.step(
    `a copy of the version 1 file is kept as ${
      backup.slice(dir.path.length + 1)
    }`,
    async () => {
      assert.equal(pragma(backup, "user_version"), 1);
      assert.deepEqual(v1Rows(backup, v1Columns), before);
      assert.deepEqual(await sqlite(backup, "PRAGMA integrity_check"), ["ok"]);
    },
  );

  await t.step(
    "a database already at the current version is not copied again",
    async () => {
      await Deno.remove(backup);
      await withProcesses(async (group) => {
        const server = await group.pushvault({ dbPath: path });
        assert.equal((await server.process.stop()).code, 0);
      });
      await assert.rejects(Deno.stat(backup), Deno.errors.NotFound);
    },
  );
});
