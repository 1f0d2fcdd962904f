/**
 * Schema 7: a schema 6 file (the release fixture brought to schema 6, as
 * the release before this one left it) migrates in place at start, and
 * every view answers exactly as before; type, help and unit move to
 * `family_meta`, and a sample has no place column.
 */
import assert from "node:assert/strict";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/store/schema.ts";
import { Store } from "../../src/store/store.ts";
import { textPushCommand } from "../../scripts/bench/store_command.ts";
import { tempDir } from "../test_utils.ts";

const FIXTURE = fileURLToPath(
  new URL("../fixtures/release_v5.db", import.meta.url),
);

/** Every view, its rows in a fixed order (idle_seconds follows the clock). */
const VIEWS: Record<string, string> = {
  current_samples: "SELECT * FROM current_samples",
  push_log: "SELECT * FROM push_log",
  sample_history: "SELECT * FROM sample_history",
  group_status: "SELECT * FROM group_status",
  stale_groups: "SELECT group_key, last_push FROM stale_groups",
  group_sizes: "SELECT * FROM group_sizes",
};

function answers(path: string): Record<string, unknown[]> {
  using db = new DatabaseSync(path, { readOnly: true });
  const out: Record<string, unknown[]> = {};
  for (const [view, sql] of Object.entries(VIEWS)) {
    out[view] = db.prepare(sql).all().map((row) =>
      JSON.stringify(Object.entries(row as Record<string, SQLInputValue>))
    ).sort();
  }
  return out;
}

/** The release fixture (schema 5) brought to schema 6 by its migration. */
function writeVersion6(path: string): void {
  Deno.copyFileSync(FIXTURE, path);
  using db = new DatabaseSync(path);
  db.exec("BEGIN");
  (MIGRATIONS[5] as (db: DatabaseSync, p: (m: string) => void) => void)(
    db,
    () => {},
  );
  db.exec("PRAGMA user_version = 6");
  db.exec("COMMIT");
}

function columns(path: string, table: string): string[] {
  using db = new DatabaseSync(path, { readOnly: true });
  return db.prepare(`PRAGMA table_info(${table})`).all().map((r) =>
    String(r.name)
  );
}

Deno.test("a schema 6 file migrates to schema 7 and every view answers the same", async () => {
  assert.ok(SCHEMA_VERSION >= 7);
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  writeVersion6(path);
  assert.ok(columns(path, "samples").includes("seq"));
  const before = answers(path);
  assert.ok((before.sample_history?.length ?? 0) > 20, "history to compare");
  assert.ok(
    before.sample_history?.some((r) => String(r).includes("NaN")),
    "a NaN kept in sample_extras",
  );

  new Store({ path }).close();

  {
    using db = new DatabaseSync(path, { readOnly: true });
    const version = db.prepare("PRAGMA user_version").get();
    assert.equal(Number(version?.user_version), SCHEMA_VERSION);
    const check = db.prepare("PRAGMA integrity_check").get();
    assert.equal(check?.integrity_check, "ok");
  }
  assert.deepEqual(answers(path), before);
  // As schema 9 left them (schema9_migration_test.ts): no place column.
  assert.deepEqual(columns(path, "samples"), [
    "family_id",
    "series_id",
    "value",
  ]);
  assert.deepEqual(columns(path, "families"), [
    "id",
    "group_id",
    "push_id",
    "name_id",
    "meta_id",
    "current",
    "replaced_by",
    "replaced_at",
  ]);
  assert.deepEqual(columns(path, "family_meta"), [
    "id",
    "type",
    "help",
    "unit",
  ]);
});

Deno.test("schema 7 writes a family's type, help and unit once, push after push", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  const body = (help: string, v: number) =>
    `# HELP rows_total ${help}\n# TYPE rows_total counter\nrows_total{t="a"} ${v}\n` +
    `# TYPE up gauge\nup 1\n`;
  {
    using store = new Store({ path });
    for (const [help, v] of [["Rows.", 1], ["Rows.", 2], ["Rows read.", 3]]) {
      const command = textPushCommand(
        "/metrics/job/j",
        body(help as string, v as number),
        1000 + (v as number),
        "test",
      );
      assert.deepEqual(await store.enqueuePush(command), { status: 200 });
    }
  }
  {
    using db = new DatabaseSync(path, { readOnly: true });
    const meta = db.prepare(
      "SELECT type, help FROM family_meta ORDER BY id",
    ).all().map((r) => `${r.type} ${r.help}`);
    assert.deepEqual(meta, [
      "counter Rows.",
      "gauge null",
      "counter Rows read.",
    ]);
    const families = db.prepare("SELECT count(*) AS n FROM families").get();
    assert.equal(Number(families?.n), 6);
  }
  // Start-up reads the current families' type and help from family_meta.
  using store = new Store({ path });
  const family = store.view.group('{job="j"}')?.families.get("rows_total");
  assert.equal(family?.help, "Rows read.");
  assert.equal(family?.type, "counter");
});
