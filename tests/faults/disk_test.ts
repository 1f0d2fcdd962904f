/**
 * Disk faults made for real: a database that fills up (`max_page_count` on
 * the server's own connection), a file that cannot be written any more
 * (`chattr +i`, which binds root too), a read-only file or directory at
 * start, a lock held by another connection, and a damaged page.
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createLogger } from "../../src/log.ts";
import { StoreOpenError } from "../../src/store/store.ts";
import {
  scrapePushed,
  send,
  startTestGateway,
  stripOwn,
  tempDir,
  testConfig,
} from "../test_utils.ts";
import { start } from "../../src/start.ts";
import { withProcesses } from "../e2e/process_utils.ts";

const isRoot = Deno.uid() === 0;

/** Whether `chattr +i` works here (root with CAP_LINUX_IMMUTABLE on ext4/xfs/btrfs). */
const CHATTR_WORKS = (() => {
  const dir = Deno.makeTempDirSync({ prefix: "pushvault-chattr-" });
  const file = `${dir}/probe`;
  try {
    Deno.writeTextFileSync(file, "x");
    const set = new Deno.Command("chattr", { args: ["+i", file] }).outputSync();
    if (!set.success) return false;
    new Deno.Command("chattr", { args: ["-i", file] }).outputSync();
    return true;
  } catch {
    return false;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
})();

function chattr(flag: "+i" | "-i", ...paths: string[]): void {
  const out = new Deno.Command("chattr", { args: [flag, ...paths] })
    .outputSync();
  if (!out.success) {
    throw new Error(
      `chattr ${flag} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** Makes `path` unwritable for this process: chattr +i as root, else chmod. */
function makeReadOnly(path: string): () => void {
  if (isRoot) {
    chattr("+i", path);
    return () => chattr("-i", path);
  }
  const mode = Deno.statSync(path).mode ?? 0o644;
  Deno.chmodSync(path, Deno.statSync(path).isDirectory ? 0o555 : 0o444);
  return () => Deno.chmodSync(path, mode & 0o777);
}

const READ_ONLY_WORKS = !isRoot || CHATTR_WORKS;

function series(n: number, name: string): string {
  let text = "";
  for (let i = 0; i < n; i++) {
    text += `${name}{i="${i}",pad="${"x".repeat(64)}"} ${i}\n`;
  }
  return text;
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    await Deno.readFile(path),
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

Deno.test("a full database answers 503, changes nothing, and recovers", async () => {
  await using gw = await startTestGateway([], { maxPageCount: 100_000 });
  const put = (job: string, body: string, method = "PUT") =>
    send(`${gw.url}/metrics/job/${job}`, { method, body });
  assert.equal((await put("before", series(10, "kept"))).status, 200);
  const scrapeBefore = await scrapePushed(gw.url);
  const apiBefore = (await send(`${gw.url}/api/v1/metrics`)).text;

  // The database may not grow by a single page any more.
  const pages = gw.gw.store.setMaxPageCount(1);
  assert.ok(pages > 1);

  // One push alone, then eight at once (one group commit).
  const alone = await put("lost", series(2000, "lost"));
  assert.equal(alone.status, 503);
  assert.equal(
    alone.text,
    "the database cannot be written, nothing was changed: database or disk is full\n",
  );
  const many = await Promise.all(
    Array.from(
      { length: 8 },
      (_, i) => put(`lost${i}`, series(500, `lost${i}`), "POST"),
    ),
  );
  for (const res of many) assert.equal(res.status, 503, res.text);

  // Scrapes keep working from the view, which is unchanged.
  assert.equal(await scrapePushed(gw.url), scrapeBefore);
  const api = (await send(`${gw.url}/api/v1/metrics`)).text;
  assert.equal(api, apiBefore);
  assert.equal((await send(`${gw.url}/-/healthy`)).status, 200);
  const own = (await send(`${gw.url}/metrics`)).text;
  assert.match(
    own,
    /^pushvault_push_refused_total\{reason="unavailable"\} 9$/m,
  );

  // The cause goes away: pushes succeed again.
  gw.gw.store.setMaxPageCount(1_000_000);
  assert.equal((await put("after", series(2000, "after"))).status, 200);
  const scrape = await scrapePushed(gw.url);
  assert.match(scrape, /^after\{i="1999"/m);
  assert.doesNotMatch(scrape, /^lost/m);

  // What was answered 503 is not in the file either.
  await gw.gw.shutdown();
  const db = new DatabaseSync(gw.dbPath, { readOnly: true });
  try {
    const rows = db.prepare(
      "SELECT count(*) AS n FROM sample_history WHERE metric LIKE 'lost%'",
    ).get() as { n: number };
    assert.equal(rows.n, 0);
    const pushes = db.prepare(
      "SELECT count(*) AS n FROM pushes p JOIN requests r ON r.id = p.request_id WHERE path LIKE '%/lost%'",
    ).get() as { n: number };
    assert.equal(pushes.n, 0);
  } finally {
    db.close();
  }
});

Deno.test({
  name: "a database file that stops being writable answers 503 and recovers",
  ignore: !CHATTR_WORKS,
  async fn() {
    await using gw = await startTestGateway();
    const put = (job: string) =>
      send(`${gw.url}/metrics/job/${job}`, {
        method: "PUT",
        body: series(50, job),
      });
    assert.equal((await put("before")).status, 200);
    const before = await scrapePushed(gw.url);
    // chmod 0444 would change nothing for the open file descriptors; an
    // immutable file refuses writes even to them (EPERM), as a file system
    // remounted read-only after an error does. Not the -shm file: it is
    // memory-mapped, and SQLite would die of SIGBUS.
    const files = [gw.dbPath, `${gw.dbPath}-wal`];
    chattr("+i", ...files);
    try {
      const res = await put("lost");
      assert.equal(res.status, 503);
      assert.match(
        res.text,
        /^the database cannot be written, nothing was changed: disk I\/O error\n$/,
      );
      assert.equal(await scrapePushed(gw.url), before);
    } finally {
      chattr("-i", ...files);
    }
    assert.equal((await put("after")).status, 200);
    const after = await scrapePushed(gw.url);
    assert.match(after, /^after\{/m);
    assert.doesNotMatch(after, /^lost\{/m);
  },
});

Deno.test({
  name:
    "background checkpoints that fail are logged once, retried, and logged once when they work again",
  ignore: !CHATTR_WORKS,
  async fn() {
    const lines: string[] = [];
    const logger = createLogger({
      level: "info",
      format: "logfmt",
      write: (line) => lines.push(line),
    });
    await using gw = await startTestGateway([], { logger });
    const put = (job: string) =>
      send(`${gw.url}/metrics/job/${job}`, {
        method: "PUT",
        body: series(50, job),
      });
    const count = (pattern: RegExp) =>
      lines.filter((line) => pattern.test(line)).length;
    const failed =
      /level=warn msg="background WAL checkpoints failed; retrying/;
    const resumed =
      /level=info msg="background WAL checkpoints work again" file=\S+ failedSeconds=/;
    assert.equal((await put("before")).status, 200);
    // Commits only append to the WAL; the checkpoint writes the file.
    chattr("+i", gw.dbPath);
    try {
      for (let i = 0; i < 100 && count(failed) === 0; i++) {
        assert.equal((await put(`during${i}`)).status, 200);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(count(failed), 1);
      assert.match(
        (await send(`${gw.url}/metrics`)).text,
        /^pushvault_wal_checkpoint_failing 1$/m,
      );
    } finally {
      chattr("-i", gw.dbPath);
    }
    for (let i = 0; i < 100 && count(resumed) === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(count(failed), 1);
    assert.equal(count(resumed), 1);
    const own = (await send(`${gw.url}/metrics`)).text;
    assert.match(own, /^pushvault_wal_checkpoint_failing 0$/m);
    assert.match(own, /^pushvault_wal_checkpoint_blocked_seconds 0$/m);
    assert.match(own, /^pushvault_wal_bytes \d+$/m);
    assert.equal((await put("after")).status, 200);
  },
});

Deno.test({
  name: "start() refuses a read-only database file and leaves it untouched",
  ignore: !READ_ONLY_WORKS,
  async fn() {
    await using dir = await tempDir();
    const dbPath = `${dir.path}/pv.db`;
    {
      await using gw = await start(testConfig(dbPath));
      const res = await send(`${gw.url}/metrics/job/j`, {
        method: "PUT",
        body: "x 1\n",
      });
      assert.equal(res.status, 200);
    }
    const hash = await sha256(dbPath);
    const restore = makeReadOnly(dbPath);
    try {
      const error = await start(testConfig(dbPath)).then(
        async (gw) => {
          await gw.shutdown();
          throw new Error("start() should have refused the file");
        },
        (e: unknown) => e,
      );
      assert.ok(error instanceof StoreOpenError, String(error));
      assert.equal(
        error.message,
        `database ${
          JSON.stringify(dbPath)
        } (--persistence.file) cannot be written: attempt to write a readonly database. Check that this user may write the file and its directory (SQLite keeps ${dbPath}-wal and ${dbPath}-shm next to it). The file was left untouched.`,
      );
    } finally {
      restore();
    }
    assert.equal(await sha256(dbPath), hash);
  },
});

Deno.test({
  name: "start() refuses a database in a read-only directory",
  ignore: !READ_ONLY_WORKS,
  async fn() {
    await using dir = await tempDir();
    const dbPath = `${dir.path}/pv.db`;
    {
      await using _gw = await start(testConfig(dbPath));
    }
    const restore = makeReadOnly(dir.path);
    try {
      const error = await start(testConfig(dbPath)).then(
        async (gw) => {
          await gw.shutdown();
          throw new Error("start() should have refused the directory");
        },
        (e: unknown) => e,
      );
      assert.ok(error instanceof StoreOpenError, String(error));
      assert.equal(
        error.message,
        `cannot use database ${
          JSON.stringify(dbPath)
        } (--persistence.file): unable to open database file (check that this user may write the directory: SQLite creates the -wal and -shm files next to the database). The file was left untouched.`,
      );
    } finally {
      restore();
    }
  },
});

Deno.test("a database locked by another writer answers 503 until the lock goes", async () => {
  await using gw = await startTestGateway();
  const put = () =>
    send(`${gw.url}/metrics/job/locked`, { method: "PUT", body: "l 1\n" });
  assert.equal((await put()).status, 200);
  const other = new DatabaseSync(gw.dbPath);
  try {
    other.exec("BEGIN IMMEDIATE");
    // The store waits busy_timeout (2 s) for the lock, then gives up.
    const res = await put();
    assert.equal(res.status, 503);
    assert.equal(
      res.text,
      "the database cannot be written, nothing was changed: database is locked\n",
    );
    other.exec("ROLLBACK");
  } finally {
    other.close();
  }
  assert.equal((await put()).status, 200);
});

/** A database with a few hundred pushes, closed cleanly. */
async function populatedDatabase(dbPath: string): Promise<void> {
  await using gw = await start(testConfig(dbPath));
  for (let i = 0; i < 30; i++) {
    const res = await send(`${gw.url}/metrics/job/j${i % 5}`, {
      method: "PUT",
      body: series(40, `m${i}`),
    });
    assert.equal(res.status, 200);
  }
}

/** Overwrites page `page` (1-based) of the file with garbage. */
function damagePage(dbPath: string, page: number): void {
  const file = Deno.openSync(dbPath, { read: true, write: true });
  try {
    const pageSize = 4096;
    const garbage = new Uint8Array(pageSize);
    for (let i = 0; i < pageSize; i++) garbage[i] = (i * 131 + 7) & 0xff;
    file.seekSync((page - 1) * pageSize, Deno.SeekMode.Start);
    file.writeSync(garbage);
  } finally {
    file.close();
  }
}

Deno.test("start() refuses a database with a damaged page and leaves it untouched", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/pv.db`;
  await populatedDatabase(dbPath);
  const pages = Deno.statSync(dbPath).size / 4096;
  assert.ok(pages > 20, `only ${pages} pages`);
  damagePage(dbPath, Math.floor(pages / 2));
  const hash = await sha256(dbPath);
  const error = await start(testConfig(dbPath)).then(
    async (gw) => {
      await gw.shutdown();
      throw new Error("start() should have refused the damaged file");
    },
    (e: unknown) => e,
  );
  assert.ok(error instanceof StoreOpenError, String(error));
  assert.match(
    error.message,
    new RegExp(
      `^database ${
        RegExp.escape(JSON.stringify(dbPath))
      } \\(--persistence\\.file\\) is damaged: [^]+\\. It was left untouched; restore it from a backup, or salvage it with \`sqlite3 ${
        RegExp.escape(dbPath)
      } \\.recover \\| sqlite3 new\\.db\` and start on the new file\\.$`,
    ),
  );
  assert.equal(await sha256(dbPath), hash);
});

Deno.test("pushvault exits 1 naming the damaged database", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/pv.db`;
  await populatedDatabase(dbPath);
  damagePage(dbPath, Math.floor(Deno.statSync(dbPath).size / 4096 / 2));
  const result = await withProcesses((group) =>
    group.runPushvault([
      "--web.listen-address=127.0.0.1:0",
      `--persistence.file=${dbPath}`,
    ])
  );
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /level=error msg="cannot start" err=".*is damaged: /,
  );
  assert.doesNotMatch(result.stderr, /msg=listening/);
});

Deno.test("the view stays as it was when a push is refused for a full disk, as a scrape shows", async () => {
  // The same check through the text a scrape sends, own metrics aside.
  await using gw = await startTestGateway();
  await send(`${gw.url}/metrics/job/a`, { method: "PUT", body: "a 1\n" });
  const before = stripOwn((await send(`${gw.url}/metrics`)).text);
  gw.gw.store.setMaxPageCount(1);
  const res = await send(`${gw.url}/metrics/job/a`, {
    method: "PUT",
    body: series(1000, "b"),
  });
  assert.equal(res.status, 503);
  assert.equal(stripOwn((await send(`${gw.url}/metrics`)).text), before);
});
