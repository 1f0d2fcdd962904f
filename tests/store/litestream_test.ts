import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  litestreamMetaPath,
  readLitestreamSync,
} from "../../src/store/litestream.ts";
import { Store } from "../../src/store/store.ts";
import { tempDir } from "../test_utils.ts";

/** What `litestream replicate` creates in a database at its first sync. */
function addLitestreamTables(path: string): void {
  using db = new DatabaseSync(path);
  db.exec(
    `CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);
    CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER);`,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("Store.watchLitestream() finds tables Litestream creates after the start, once", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  using store = new Store({ path });
  let found = 0;
  store.watchLitestream(() => found++, 5);
  assert.equal(store.litestream, false);
  addLitestreamTables(path);
  for (let i = 0; i < 400 && found === 0; i++) await sleep(5);
  assert.equal(found, 1);
  assert.equal(store.litestream, true);
});

Deno.test("Store.watchLitestream() finds Litestream's tables at open", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  new Store({ path }).close();
  addLitestreamTables(path);
  using store = new Store({ path });
  let found = 0;
  store.watchLitestream(() => found++);
  assert.equal(found, 1);
  assert.equal(store.litestream, true);
});

Deno.test("Store.close() leaves the WAL to Litestream and truncates it otherwise", async (t) => {
  for (const litestream of [true, false]) {
    await t.step(litestream ? "under Litestream" : "alone", async () => {
      await using dir = await tempDir();
      const path = `${dir.path}/pv.db`;
      new Store({ path }).close();
      if (litestream) addLitestreamTables(path);
      // Litestream keeps a connection open, so SQLite does not remove the
      // WAL when the store closes its own.
      using other = new DatabaseSync(path);
      other.prepare("SELECT count(*) FROM sqlite_master").get();
      const store = new Store({ path });
      store.watchLitestream(() => {});
      store.close();
      const walBytes = Deno.statSync(`${path}-wal`).size;
      if (litestream) assert.ok(walBytes > 0, "the WAL was truncated");
      else assert.equal(walBytes, 0);
    });
  }
});

Deno.test("readLitestreamSync() reads the generation and the newest shadow WAL's time", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  assert.deepEqual(await readLitestreamSync(path), {
    generation: null,
    lastSyncMs: null,
  });
  const meta = litestreamMetaPath(path);
  assert.equal(meta, `${dir.path}/.pv.db-litestream`);
  const wal = `${meta}/generations/0123456789abcdef/wal`;
  await Deno.mkdir(wal, { recursive: true });
  await Deno.writeTextFile(`${meta}/generation`, "0123456789abcdef\n");
  await Deno.writeTextFile(`${wal}/00000000.wal`, "");
  await Deno.writeTextFile(`${wal}/0000000a.wal`, "");
  await Deno.utime(`${wal}/00000000.wal`, 1000, 1000);
  await Deno.utime(`${wal}/0000000a.wal`, 2000, 2000);
  assert.deepEqual(await readLitestreamSync(path), {
    generation: "0123456789abcdef",
    lastSyncMs: 2_000_000,
  });
});
