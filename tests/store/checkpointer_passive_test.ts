import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Checkpointer } from "../../src/store/checkpointer.ts";
import { tempDir } from "../test_utils.ts";

/** Writes about `mib` MiB to the WAL of `path`, never checkpointing. */
function growWal(path: string, mib: number): void {
  using db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0");
  db.exec("CREATE TABLE IF NOT EXISTS t (x BLOB)");
  const insert = db.prepare("INSERT INTO t VALUES (randomblob(65536))");
  for (let i = 0; i < mib * 16; i++) insert.run();
}

Deno.test("Checkpointer with passiveOnly neither restarts nor cuts the WAL file (Litestream's)", async (t) => {
  for (const setLater of [false, true]) {
    await t.step(
      setLater ? "set by passiveOnly()" : "set at start",
      async () => {
        await using dir = await tempDir();
        const path = `${dir.path}/pv.db`;
        using keep = new DatabaseSync(path);
        keep.exec("PRAGMA journal_mode = WAL");
        // Open, it keeps the WAL file when the writer closes (as Litestream).
        keep.prepare("SELECT count(*) FROM sqlite_master").get();
        growWal(path, 4);
        const before = Deno.statSync(`${path}-wal`).size;
        const cp = Checkpointer.start({
          path,
          sync: "normal",
          intervalMs: 5,
          truncateBytes: 1024 * 1024,
          restartPages: 16,
          onEvent: () => {},
          ...(setLater ? {} : { passiveOnly: true }),
        });
        if (setLater) cp.passiveOnly();
        try {
          for (let i = 0; i < 1000 && cp.stats.runs < 5; i++) {
            await new Promise((r) => setTimeout(r, 5));
          }
          assert.ok(cp.stats.runs >= 5);
          // Caught up, yet the WAL file keeps its size and header: no
          // RESTART, no cut (a PASSIVE checkpoint changes neither).
          assert.equal(cp.stats.checkpointedPages, cp.stats.logPages);
        } finally {
          cp.stop();
        }
        assert.equal(Deno.statSync(`${path}-wal`).size, before);
      },
    );
  }
});
