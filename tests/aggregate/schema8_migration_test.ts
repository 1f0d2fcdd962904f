/**
 * Schema 8: a file of the release before (the release fixture, migrated
 * at start) gains the aggregating column, the contributions and residues
 * tables and the aggregate_contributions view; its groups stay replacing
 * groups; the sqlite3 shell (3.40) reads the new view.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { SCHEMA_VERSION } from "../../src/store/schema.ts";
import { Store } from "../../src/store/store.ts";
import { tempDir } from "../test_utils.ts";

const FIXTURE = fileURLToPath(
  new URL("../fixtures/release_v5.db", import.meta.url),
);

Deno.test("an older file migrates to schema 8: its groups replace, the new tables are empty", async () => {
  assert.ok(SCHEMA_VERSION >= 8);
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  Deno.copyFileSync(FIXTURE, path);
  new Store({ path }).close();
  using db = new DatabaseSync(path, { readOnly: true });
  assert.equal(
    Number(db.prepare("PRAGMA user_version").get()?.user_version),
    SCHEMA_VERSION,
  );
  const groups = db.prepare(
    "SELECT count(*) AS n, count(aggregating) AS aggregating FROM groups",
  ).get();
  assert.ok(Number(groups?.n) > 0);
  assert.equal(Number(groups?.aggregating), 0);
  for (const table of ["contributions", "sum_residues"]) {
    const row = db.prepare(`SELECT count(*) AS n FROM ${table}`).get();
    assert.equal(Number(row?.n), 0);
  }
  const shell = new Deno.Command("sqlite3", {
    args: ["-readonly", path, "SELECT count(*) FROM aggregate_contributions;"],
  }).outputSync();
  assert.equal(new TextDecoder().decode(shell.stdout).trim(), "0");
  assert.ok(shell.success);
});
