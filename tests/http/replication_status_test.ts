import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { litestreamMetaPath } from "../../src/store/litestream.ts";
import { Store } from "../../src/store/store.ts";
import { send, startTestGateway, tempDir } from "../test_utils.ts";

/** A database as Litestream leaves it: its tables, and its directory. */
async function replicatedDatabase(dir: string): Promise<void> {
  const path = `${dir}/pv.db`;
  new Store({ path }).close();
  {
    using db = new DatabaseSync(path);
    db.exec(`CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);
      CREATE TABLE _litestream_lock (id INTEGER);`);
  }
  const meta = litestreamMetaPath(path);
  const wal = `${meta}/generations/0123456789abcdef/wal`;
  await Deno.mkdir(wal, { recursive: true });
  await Deno.writeTextFile(`${meta}/generation`, "0123456789abcdef\n");
  await Deno.writeTextFile(`${wal}/00000003.wal`, "");
  await Deno.utime(`${wal}/00000003.wal`, 1_700_000_000, 1_700_000_000);
}

Deno.test("GET /api/v1/status says Litestream replicates the database, with its generation and last sync", async () => {
  await using dir = await tempDir();
  await replicatedDatabase(dir.path);
  await using pv = await startTestGateway([], { dir: dir.path });
  const body = JSON.parse((await send(`${pv.url}/api/v1/status`)).text);
  assert.deepEqual(body.data.replication, {
    replicated_by: "litestream",
    generation: "0123456789abcdef",
    last_sync_time: "2023-11-14T22:13:20Z",
  });
});

Deno.test("GET /api/v1/status has no replication field without Litestream", async () => {
  await using pv = await startTestGateway();
  const body = JSON.parse((await send(`${pv.url}/api/v1/status`)).text);
  assert.equal("replication" in body.data, false);
});

Deno.test("GET /status shows the replication and Litestream's last sync", async (t) => {
  await t.step("replicated", async () => {
    await using dir = await tempDir();
    await replicatedDatabase(dir.path);
    await using pv = await startTestGateway([], { dir: dir.path });
    const text = (await send(`${pv.url}/status`)).text;
    assert.match(text, /Litestream, generation 0123456789abcdef/);
    assert.match(text, /Last Litestream sync/);
  });
  await t.step("not replicated", async () => {
    await using pv = await startTestGateway();
    const text = (await send(`${pv.url}/status`)).text;
    assert.match(text, /none \(no Litestream tables in the database\)/);
  });
});
