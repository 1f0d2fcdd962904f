import assert from "node:assert/strict";
import {
  checkDatabasePath,
  DatabasePathError,
  unwritableDirectory,
} from "../../src/store/database_path.ts";
import { WriterLock } from "../../src/store/writer_lock.ts";
import { Store } from "../../src/store/store.ts";
import { withProcesses } from "../e2e/process_utils.ts";
import { tempDir } from "../test_utils.ts";

/** Each bad path, made in `dir`, and what its message must say. */
const BAD_PATHS = [
  {
    name: "a directory given as the file",
    make: (dir: string) => dir,
    says: [/ is a directory, not a database file/, /pushvault\.db/],
  },
  {
    name: "a missing directory",
    make: (dir: string) => `${dir}/missing/deeper/pv.db`,
    says: [/its directory ".*missing\/deeper" does not exist/, /mkdir -p/],
  },
  {
    name: "a path under a regular file",
    make: (dir: string) => {
      Deno.writeTextFileSync(`${dir}/plain`, "");
      return `${dir}/plain/pv.db`;
    },
    says: [/".*\/plain" is a file, not a directory/],
  },
] as const;

Deno.test("checkDatabasePath() names the path, the flag and the fix for each bad path", async (t) => {
  for (const c of BAD_PATHS) {
    await t.step(c.name, async () => {
      await using dir = await tempDir();
      const path = c.make(dir.path);
      for (
        const check of [
          () => checkDatabasePath(path),
          () => new Store({ path }),
        ]
      ) {
        assert.throws(check, (error) => {
          assert.ok(error instanceof DatabasePathError, String(error));
          assert.ok(
            error.message.includes(JSON.stringify(path)),
            error.message,
          );
          assert.match(error.message, /--persistence\.file/);
          for (const pattern of c.says) assert.match(error.message, pattern);
          assert.doesNotMatch(error.message, /os error|unable to open/);
          return true;
        });
      }
    });
  }
});

Deno.test("checkDatabasePath() accepts a new file in an existing directory and an existing file", async () => {
  await using dir = await tempDir();
  checkDatabasePath(`${dir.path}/new.db`);
  checkDatabasePath("relative-new.db");
  Deno.writeTextFileSync(`${dir.path}/old.db`, "");
  checkDatabasePath(`${dir.path}/old.db`);
});

Deno.test("unwritableDirectory() names the path, the directory, the flag and the fix", () => {
  const error = unwritableDirectory(
    "/srv/pv/pv.db",
    new Deno.errors.PermissionDenied("Permission denied (os error 13)"),
  );
  assert.ok(error instanceof DatabasePathError);
  assert.match(error.message, /--persistence\.file "\/srv\/pv\/pv\.db"/);
  assert.match(error.message, /Permission denied .* its directory "\/srv\/pv"/);
  assert.match(error.message, /chown or chmod the directory/);
});

// Root may write any directory; sysfs refuses new files even to root, where
// it is mounted. Elsewhere only the message above is checked.
const SYSFS_REFUSES = (() => {
  try {
    Deno.openSync("/sys/pushvault-probe", { write: true, createNew: true })
      .close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.PermissionDenied;
  }
})();

Deno.test({
  name: "WriterLock.take() in a directory this user may not write says so" +
    (SYSFS_REFUSES ? "" : " (skipped: no directory refuses root here)"),
  ignore: !SYSFS_REFUSES,
  fn() {
    assert.throws(
      () => WriterLock.take("/sys/pv.db"),
      (error) =>
        error instanceof DatabasePathError &&
        /This user must be able to create files there/.test(error.message),
    );
  },
});

Deno.test("main.ts given a directory as --persistence.file exits 1 naming it", async () => {
  await using dir = await tempDir();
  await withProcesses(async (group) => {
    const run = await group.runPushvault([
      "--web.listen-address=127.0.0.1:0",
      `--persistence.file=${dir.path}`,
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /is a directory, not a database file/);
    assert.ok(run.stderr.includes(dir.path), run.stderr);
    assert.doesNotMatch(run.stderr, /os error 21/);
  });
});
