/**
 * A disk that is really full: a small tmpfs mounted for the test (root
 * only; skipped, saying so, where `mount` is not permitted). Pushvault is
 * killed with SIGKILL once its volume is full and started again on it: it
 * must serve what it acknowledged, answer pushes 503, and take pushes again
 * once there is room, without a restart.
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createLogger } from "../../src/log.ts";
import { start } from "../../src/start.ts";
import { send, testConfig } from "../test_utils.ts";
import { withProcesses } from "../e2e/process_utils.ts";

/** Whether this process may mount a tmpfs (root, not in a locked-down container). */
const MOUNT_WORKS = (() => {
  const dir = Deno.makeTempDirSync({ prefix: "pushvault-mount-" });
  try {
    const mount = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
      stderr: "null",
    }).outputSync();
    if (!mount.success) return false;
    new Deno.Command("umount", { args: [dir] }).outputSync();
    return true;
  } catch {
    return false;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
})();

/** Said in the test's name where it is skipped. */
const SKIPPED = MOUNT_WORKS
  ? ""
  : " (skipped: `mount -t tmpfs` is not permitted here; it needs root)";

/** A tmpfs of `kib` KiB on a fresh directory; unmounted and removed on dispose. */
function smallVolume(kib: number): AsyncDisposable & { path: string } {
  const path = Deno.makeTempDirSync({ prefix: "pushvault-volume-" });
  const out = new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${kib}k`, "tmpfs", path],
  }).outputSync();
  if (!out.success) {
    Deno.removeSync(path);
    throw new Error(`mount failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return {
    path,
    async [Symbol.asyncDispose]() {
      await new Deno.Command("umount", { args: [path] }).output();
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** Writes zeros into `path` until the volume has no room left. */
function fillUp(path: string): void {
  const file = Deno.openSync(path, { write: true, create: true });
  const chunk = new Uint8Array(4096);
  try {
    for (let i = 0; i < 100_000; i++) file.writeSync(chunk);
  } catch (error) {
    // Full; anything else (no memory for the tmpfs on a busy machine) would
    // leave room, and the test would then test nothing.
    if ((error as { code?: string }).code !== "ENOSPC") throw error;
  } finally {
    file.close();
  }
}

function body(job: string): string {
  let text = "";
  for (let i = 0; i < 100; i++) {
    text += `${job}_value{i="${i}",pad="${"x".repeat(100)}"} ${i}\n`;
  }
  return text;
}

/**
 * Pushvault pushed until its volume was full and was killed with SIGKILL;
 * then SQLite, starting again with not a page free, cut the -shm file to 3
 * bytes and failed to grow it. Every read fails then with "disk I/O error".
 * Returns the jobs whose pushes were acknowledged.
 */
async function killedWhenFull(volume: string): Promise<string[]> {
  const dbPath = `${volume}/pv.db`;
  const acknowledged: string[] = [];
  await withProcesses(async (group) => {
    const pv = await group.pushvault({ dbPath });
    for (let i = 0; i < 400; i++) {
      const job = `j${i}`;
      const res = await send(`${pv.url}/metrics/job/${job}`, {
        method: "PUT",
        body: body(job),
      });
      if (res.status !== 200) {
        assert.equal(res.status, 503, res.text);
        break;
      }
      acknowledged.push(job);
    }
    assert.ok(acknowledged.length > 3, `${acknowledged.length} pushes`);
    pv.process.signal("SIGKILL");
    await pv.process.wait();
  });
  Deno.truncateSync(`${dbPath}-shm`, 3);
  fillUp(`${volume}/filler`);
  return acknowledged;
}

/**
 * A few pushes, then a process that committed one more transaction to the
 * WAL and was killed with SIGKILL, then a volume filled to the last page:
 * the -shm file is whole, but the first write (a WAL frame past the end of
 * the file) fails with "database or disk is full".
 */
async function killedThenFilled(volume: string): Promise<string[]> {
  const dbPath = `${volume}/pv.db`;
  const acknowledged = ["a", "b", "c"];
  {
    await using gw = await start(testConfig(dbPath));
    for (const job of acknowledged) {
      const res = await send(`${gw.url}/metrics/job/${job}`, {
        method: "PUT",
        body: body(job),
      });
      assert.equal(res.status, 200);
    }
  }
  const crash = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { DatabaseSync } from "node:sqlite";
      const db = new DatabaseSync(${JSON.stringify(dbPath)});
      db.exec("PRAGMA wal_autocheckpoint = 0");
      db.exec("INSERT INTO pushes (time, method, status, request_id) SELECT 0, 'TEST', 0, min(id) FROM requests");
      Deno.kill(Deno.pid, "SIGKILL");`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(crash.signal, "SIGKILL", new TextDecoder().decode(crash.stderr));
  assert.ok(Deno.statSync(`${dbPath}-wal`).size > 0, "the crash left a WAL");
  fillUp(`${volume}/filler`);
  return acknowledged;
}

const CASES = [
  {
    name: "killed when full, the -shm file cut to 3 bytes",
    crash: killedWhenFull,
    error: "disk I/O error",
  },
  {
    name: "killed, then the disk filled up",
    crash: killedThenFilled,
    error: "database or disk is full",
  },
] as const;

Deno.test({
  name:
    "Pushvault starts on a full disk after kill -9, serves what it acknowledged, and takes pushes once there is room" +
    SKIPPED,
  ignore: !MOUNT_WORKS,
  async fn(t) {
    for (const c of CASES) {
      await t.step(c.name, async () => {
        await using volume = smallVolume(3072);
        const dbPath = `${volume.path}/pv.db`;
        // Room to give back later: enough to copy the WAL into the file.
        Deno.writeFileSync(`${volume.path}/spare`, new Uint8Array(1536 * 1024));
        const acknowledged = await c.crash(volume.path);

        const lines: string[] = [];
        const logger = createLogger({
          level: "info",
          format: "logfmt",
          write: (line) => lines.push(line),
        });
        await using gw = await start(testConfig(dbPath), { logger });
        assert.match(
          lines.join(""),
          /level=warn msg="database cannot be written; serving scrapes and the UI from it, pushes answer 503 until there is room" file=\S+ err="([^"]+)"/,
        );
        assert.equal(
          /msg="database cannot be written[^\n]* err="([^"]+)"/.exec(
            lines.join(""),
          )?.[1],
          c.error,
        );
        const scrape = (await send(`${gw.url}/metrics`)).text;
        for (const job of acknowledged) {
          assert.match(
            scrape,
            new RegExp(`^${job}_value\\{i="99",instance="",job="${job}"`, "m"),
          );
        }
        assert.match(scrape, /^pushvault_storage_writable 0$/m);
        assert.equal((await send(`${gw.url}/`)).status, 200);
        // Pushvault may find room itself: the push that met the full volume
        // may have left pages in the WAL file past its last commit (written
        // over after the restart without growing the file), and the write
        // that tries a read-only file checkpoints the WAL into the file,
        // which may need no new pages, and then deletes it (after pushes
        // with background checkpoints, on a busy machine). A push is then
        // taken, which is right, but only once such a write worked.
        const refused = await send(`${gw.url}/metrics/job/late`, {
          method: "PUT",
          body: body("late"),
        });
        if (refused.status === 200) {
          assert.match(
            lines.join(""),
            /level=info msg="database can be written again; pushes are accepted"/,
          );
        } else {
          assert.equal(refused.status, 503);
          assert.match(
            refused.text,
            /^the database cannot be written, nothing was changed: (database or disk is full|disk I\/O error)\n$/,
          );
        }

        // Room again: a later push goes through, without a restart.
        Deno.removeSync(`${volume.path}/spare`);
        Deno.removeSync(`${volume.path}/filler`);
        let status = 0;
        for (let i = 0; i < 100 && status !== 200; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          status = (await send(`${gw.url}/metrics/job/late`, {
            method: "PUT",
            body: body("late"),
          })).status;
        }
        assert.equal(status, 200, gw.store.readOnlyReason);
        assert.match(
          lines.join(""),
          /level=info msg="database can be written again; pushes are accepted"/,
        );
        const after = (await send(`${gw.url}/metrics`)).text;
        assert.match(after, /^late_value\{i="99",instance="",job="late"/m);
        assert.match(after, /^pushvault_storage_writable 1$/m);
        // Other processes may read the file again (the sqlite3 shell).
        const reader = new DatabaseSync(dbPath, { readOnly: true });
        try {
          const row = reader.prepare(
            "SELECT count(*) AS n FROM groups WHERE deleted_at IS NULL",
          ).get() as { n: number };
          assert.equal(row.n, acknowledged.length + 1);
        } finally {
          reader.close();
        }
      });
    }
  },
});
