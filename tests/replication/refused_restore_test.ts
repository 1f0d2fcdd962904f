/**
 * A restore that must not become a running Pushvault (docs/operations.md, "Beyond one
 * machine"): an empty replica fails `litestream restore` with its message
 * and writes nothing (with `-if-replica-exists`, the unit's first-start
 * case, it writes nothing and succeeds: Pushvault then creates a new
 * database); a replica of another program's database restores, and
 * Pushvault refuses the file with its message, exit status 1, leaving it
 * as it was. Real Litestream binary, file replicas.
 * @module
 */

import assert from "node:assert/strict";
import { tempDir } from "../test_utils.ts";
import {
  ChildProcess,
  freePort,
  installed,
  LITESTREAM,
  litestreamConfig,
  pushvaultCommand,
  restore,
  runOk,
} from "./replication_utils.ts";

const ignore = !installed(LITESTREAM);
const skipped = ignore ? " (skipped: run scripts/setup.sh for litestream)" : "";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "litestream restore from an empty replica fails and writes nothing" +
    skipped,
  ignore,
  fn: async (t) => {
    await using dir = await tempDir();
    const dbPath = `${dir.path}/primary/pushvault.db`;
    const configPath = `${dir.path}/litestream.yml`;
    await Deno.mkdir(`${dir.path}/replica`);
    await Deno.writeTextFile(
      configPath,
      litestreamConfig(dbPath, [
        { type: "file", name: "file", path: `${dir.path}/replica` },
      ]),
    );
    const outPath = `${dir.path}/restored/pushvault.db`;
    await t.step(
      "by hand: exit status 1, no matching backups found",
      async () => {
        const r = await restore({ configPath, dbPath, outPath });
        assert.equal(r.code, 1);
        assert.match(r.stdout + r.stderr, /no matching backups found/);
        assert.equal(await exists(`${dir.path}/restored`), false);
      },
    );
    await t.step(
      "with -if-replica-exists (the unit): success, no file",
      async () => {
        const r = await restore({
          configPath,
          dbPath,
          outPath,
          flags: ["-if-db-not-exists", "-if-replica-exists"],
        });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout + r.stderr, /no matching backups found/);
        assert.equal(await exists(outPath), false);
      },
    );
  },
});

Deno.test({
  name:
    "Pushvault refuses a database restored from another program's replica and leaves it as it was" +
    skipped,
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    await Deno.mkdir(`${dir.path}/primary`);
    const dbPath = `${dir.path}/primary/app.db`;
    await runOk("sqlite3", [
      dbPath,
      "PRAGMA journal_mode = WAL; CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT); INSERT INTO orders (item) VALUES ('tea');",
    ]);
    const configPath = `${dir.path}/litestream.yml`;
    await Deno.writeTextFile(
      configPath,
      litestreamConfig(dbPath, [
        { type: "file", name: "file", path: `${dir.path}/replica` },
      ]),
    );
    {
      await using litestream = new ChildProcess("litestream", LITESTREAM, [
        "replicate",
        "-config",
        configPath,
      ]);
      // Litestream logs on stdout; wait for the WAL to reach the replica.
      for (let i = 0; i < 300; i++) {
        if (/wal segment written/.test(litestream.stdout())) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(litestream.stdout(), /wal segment written/);
      litestream.signal("SIGTERM");
      await litestream.wait();
    }
    const outPath = `${dir.path}/restored/pushvault.db`;
    await Deno.mkdir(`${dir.path}/restored`);
    const r = await restore({ configPath, dbPath, outPath });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const before = await Deno.readFile(outPath);
    const listing = async () => {
      const names = [];
      for await (const e of Deno.readDir(`${dir.path}/restored`)) {
        names.push(e.name);
      }
      return names.sort();
    };
    // Litestream's own leftovers (a -wal of its .tmp file) stay as they are.
    const filesBefore = await listing();

    const [command, ...args] = pushvaultCommand(freePort(), outPath);
    await using pushvault = new ChildProcess("pushvault", command ?? "", args);
    const status = await pushvault.wait();
    assert.equal(status.code, 1, pushvault.describe());
    assert.match(
      pushvault.stderr(),
      /is another program's SQLite database, not a Pushvault one/,
    );
    assert.deepEqual(await Deno.readFile(outPath), before);
    assert.deepEqual(await listing(), filesBefore);
  },
});
