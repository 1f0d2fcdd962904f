import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  BackgroundIntegrityCheck,
  checkIntegrityNow,
} from "../../src/store/integrity.ts";
import { tempDir } from "../test_utils.ts";

/** A WAL database of `rows` rows of 200 bytes, closed. */
function database(path: string, rows: number): void {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)");
    db.exec("CREATE INDEX t_s ON t(s)");
    const insert = db.prepare("INSERT INTO t (s) VALUES (?)");
    db.exec("BEGIN");
    for (let i = 0; i < rows; i++) insert.run(`${i}`.padStart(200, "x"));
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

function damagePage(path: string, page: number): void {
  const file = Deno.openSync(path, { read: true, write: true });
  try {
    file.seekSync((page - 1) * 4096, Deno.SeekMode.Start);
    file.writeSync(new Uint8Array(4096).fill(0x5a));
  } finally {
    file.close();
  }
}

Deno.test("BackgroundIntegrityCheck finds nothing wrong with a sound file", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/ok.db`;
  database(path, 2000);
  assert.deepEqual(BackgroundIntegrityCheck.start(path).wait(), []);
});

Deno.test("BackgroundIntegrityCheck reports what checkIntegrityNow reports for a damaged page", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/bad.db`;
  database(path, 2000);
  const pages = Deno.statSync(path).size / 4096;
  damagePage(path, Math.floor(pages / 2));
  const background = BackgroundIntegrityCheck.start(path).wait();
  const db = new DatabaseSync(path, { readOnly: true });
  let now;
  try {
    now = checkIntegrityNow(db);
  } finally {
    db.close();
  }
  assert.ok(now.length > 0);
  assert.deepEqual(background, now);
});

Deno.test("BackgroundIntegrityCheck reports a file it cannot open as a problem", async () => {
  await using dir = await tempDir();
  const problems = BackgroundIntegrityCheck.start(`${dir.path}/none/x.db`)
    .wait();
  assert.equal(problems?.length, 1);
  assert.match(problems?.[0] ?? "", /unable to open database file/);
});
