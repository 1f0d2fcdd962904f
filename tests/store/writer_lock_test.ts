import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  DatabaseInUseError,
  lockPathFor,
  WriterLock,
} from "../../src/store/writer_lock.ts";
import { Store } from "../../src/store/store.ts";
import { tempDir } from "../test_utils.ts";

Deno.test("WriterLock.take() refuses a second writer naming the file and the holder's PID", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  {
    using _first = WriterLock.take(path);
    assert.equal(Deno.readTextFileSync(lockPathFor(path)), `${Deno.pid}\n`);
    assert.throws(() => WriterLock.take(path), (error) => {
      assert.ok(error instanceof DatabaseInUseError);
      assert.equal(error.pid, Deno.pid);
      assert.ok(error.message.includes(JSON.stringify(path)), error.message);
      assert.ok(error.message.includes(`PID ${Deno.pid}`), error.message);
      assert.match(error.message, /--persistence\.file/);
      return true;
    });
    // The refusal must not have touched the holder's PID.
    assert.equal(Deno.readTextFileSync(lockPathFor(path)), `${Deno.pid}\n`);
  }
  // Released: the next writer gets it, and the file stayed.
  using _again = WriterLock.take(path);
});

Deno.test("WriterLock is the flock the util-linux flock command sees, for a restore to check", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  const flock = () =>
    new Deno.Command("flock", {
      args: ["--nonblock", lockPathFor(path), "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync().code;
  try {
    new Deno.Command("flock", { args: ["--version"], stdout: "null" })
      .outputSync();
  } catch {
    return; // util-linux's flock is not installed: nothing to compare with
  }
  {
    using _lock = WriterLock.take(path);
    assert.equal(flock(), 1);
  }
  assert.equal(flock(), 0);
});

Deno.test("Store holds the writer lock from its start until close()", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  {
    using _store = new Store({ path });
    assert.throws(() => new Store({ path }), DatabaseInUseError);
    assert.throws(() => WriterLock.check(path), DatabaseInUseError);
  }
  WriterLock.check(path);
  using _reopened = new Store({ path });
});

Deno.test("Store refusing a file releases the lock and removes the lock file it created", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  {
    using other = new DatabaseSync(path);
    other.exec("PRAGMA application_id = 42; CREATE TABLE t (x)");
  }
  assert.throws(() => new Store({ path }), /another program's SQLite database/);
  assert.throws(() => Deno.statSync(lockPathFor(path)), Deno.errors.NotFound);
  WriterLock.check(path);
  assert.throws(() => Deno.statSync(lockPathFor(path)), Deno.errors.NotFound);
});

Deno.test("Store leaves its lock file after a normal close, for the next start", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  new Store({ path }).close();
  assert.equal(Deno.readTextFileSync(lockPathFor(path)), `${Deno.pid}\n`);
  using _again = new Store({ path });
});

Deno.test("Store in memory takes no lock", () => {
  using _a = new Store({ path: "" });
  using _b = new Store({ path: ":memory:" });
});
