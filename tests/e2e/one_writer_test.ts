/**
 * One writer per database file (docs/operations.md, One writer per database),
 * as whole processes: a second server and `pushvault import` on a live file
 * are refused naming the file and the holder's PID; the sqlite3 shell and the
 * online backup still read it; after kill -9 a new server starts.
 * @module
 */

import assert from "node:assert/strict";
import { withProcesses } from "./process_utils.ts";
import { tempDir } from "../test_utils.ts";

/** Runs the sqlite3 shell; returns its stdout, throwing unless it exits 0. */
function sqlite3(...args: string[]): string {
  const out = new Deno.Command("sqlite3", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const decoder = new TextDecoder();
  if (out.code !== 0) {
    throw new Error(`sqlite3 ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  }
  return decoder.decode(out.stdout);
}

Deno.test("main.ts refuses a second writer on a live database and starts after kill -9 of the first", async (t) => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/pv.db`;
  await withProcesses(async (group) => {
    const first = await group.pushvault({ dbPath });
    const pushed = await fetch(`${first.url}/metrics/job/one`, {
      method: "PUT",
      body: "# TYPE m gauge\nm 1\n",
    });
    await pushed.body?.cancel();
    assert.equal(pushed.status, 200);
    const pid = `PID ${first.process.pid}`;

    await t.step(
      "a second server exits 1 naming the file and the PID",
      async () => {
        const second = await group.runPushvault([
          "--web.listen-address=127.0.0.1:0",
          `--persistence.file=${dbPath}`,
        ]);
        assert.equal(second.code, 1, second.stderr);
        assert.ok(second.stderr.includes(dbPath), second.stderr);
        assert.ok(second.stderr.includes(pid), second.stderr);
        assert.doesNotMatch(second.stderr, /msg=listening/);
      },
    );

    await t.step(
      "pushvault import into it exits 1 before fetching",
      async () => {
        const imported = await group.runPushvault([
          "import",
          `--from=${first.url}`,
          `--persistence.file=${dbPath}`,
        ]);
        assert.equal(imported.code, 1, imported.stderr);
        assert.ok(imported.stderr.includes(dbPath), imported.stderr);
        assert.ok(imported.stderr.includes(pid), imported.stderr);
        assert.doesNotMatch(imported.stdout, /imported/);
      },
    );

    await t.step(
      "the sqlite3 shell and the online backup still read it",
      () => {
        assert.equal(
          sqlite3(
            dbPath,
            ".timeout 5000",
            "SELECT group_key FROM group_status WHERE job = 'one';",
          ),
          '{job="one"}\n',
        );
        const backup = `${dir.path}/backup.db`;
        sqlite3(dbPath, ".timeout 5000", `.backup '${backup}'`);
        assert.equal(sqlite3(backup, "PRAGMA integrity_check;"), "ok\n");
        assert.equal(
          sqlite3(backup, "SELECT count(*) FROM groups WHERE job = 'one';"),
          "1\n",
        );
      },
    );

    await t.step(
      "after kill -9 of the first, a new server starts on the file",
      async () => {
        const killed = await first.process.stop("SIGKILL");
        assert.equal(killed.signal, "SIGKILL");
        const next = await group.pushvault({ dbPath });
        const scrape = await (await fetch(`${next.url}/metrics`)).text();
        assert.match(scrape, /^m\{instance="",job="one"\} 1$/m);
      },
    );
  });
});
