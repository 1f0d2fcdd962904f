/**
 * Online backup (docs/operations.md): `sqlite3 pv.db ".backup …"` and
 * `VACUUM INTO`, taken while pushes keep arriving, give files that open
 * with `sqlite3`, pass its integrity check, hold every push acknowledged
 * before the backup began, and restore: Pushvault started on a copy serves
 * those pushes.
 * @module
 */

import assert from "node:assert/strict";
import { withProcesses } from "../e2e/process_utils.ts";
import { emptyDir, getText, push, runOk, sqlite } from "./deploy_utils.ts";

const WORKERS = 4;
const JOB = "backup_test";

/** `{instance="w1",job="backup_test"}`, the grouping key of worker `w`. */
const groupKey = (worker: number) => `{instance="w${worker}",job="${JOB}"}`;

/**
 * Pushers that PUT `seq <n>` to their own group, n = 1, 2, …, one push at a
 * time each, until stopped. `acked` holds `<group key> <n>` of every push
 * answered 200, added when the answer arrived.
 */
class Pushers {
  readonly acked = new Set<string>();
  #running = true;
  readonly #loops: Promise<void>[];

  constructor(url: string) {
    this.#loops = Array.from({ length: WORKERS }, (_, i) => this.#loop(url, i));
  }

  async #loop(url: string, worker: number): Promise<void> {
    for (let n = 1; this.#running; n++) {
      const status = await push(
        url,
        `job/${JOB}/instance/w${worker}`,
        `# TYPE seq gauge\nseq ${n}\n`,
      );
      assert.equal(status, 200);
      this.acked.add(`${groupKey(worker)} ${n}`);
    }
  }

  /** Resolves once at least `count` more pushes were acknowledged. */
  async waitForMore(count: number): Promise<void> {
    const target = this.acked.size + count;
    const deadline = Date.now() + 60_000;
    while (this.acked.size < target) {
      if (Date.now() > deadline) {
        throw new Error(
          `only ${this.acked.size} of ${target} pushes acknowledged`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

/** `<group key> <n>` of every `seq` value in the history of `db`. */
async function storedPushes(db: string): Promise<Set<string>> {
  const rows = await sqlite(
    db,
    "SELECT group_key || ' ' || CAST(value AS INTEGER) FROM sample_history WHERE metric = 'seq'",
  );
  return new Set(rows);
}

function missing(expected: ReadonlySet<string>, stored: ReadonlySet<string>) {
  return [...expected].filter((push) => !stored.has(push));
}

Deno.test("sqlite3 .backup and VACUUM INTO taken during pushes hold every push acknowledged before they began", async (t) => {
  await using dir = await emptyDir();
  const db = `${dir.path}/pv.db`;
  const backups = [
    {
      name: "sqlite3 .backup",
      file: `${dir.path}/backup.db`,
      commands: [".timeout 5000", `.backup '${dir.path}/backup.db'`],
    },
    {
      name: "VACUUM INTO",
      file: `${dir.path}/vacuum.db`,
      commands: [".timeout 5000", `VACUUM INTO '${dir.path}/vacuum.db'`],
    },
  ] as const;
  const ackedBefore = new Map<string, ReadonlySet<string>>();
  let ackedAll: ReadonlySet<string> = new Set();

  await withProcesses(async (group) => {
    const server = await group.pushvault({ dbPath: db });
    const pushers = new Pushers(server.url);
    try {
      for (const backup of backups) {
        await pushers.waitForMore(100);
        ackedBefore.set(backup.name, new Set(pushers.acked));
        // Pushes go on while the shell copies the file.
        await runOk("sqlite3", [db, ...backup.commands]);
      }
      await pushers.waitForMore(20);
    } finally {
      await pushers.stop();
    }
    ackedAll = pushers.acked;
    assert.equal((await server.process.stop()).code, 0);
  });

  for (const backup of backups) {
    await t.step(
      `${backup.name} opens with sqlite3 and passes its integrity check`,
      async () => {
        assert.deepEqual(await sqlite(backup.file, "PRAGMA integrity_check"), [
          "ok",
        ]);
      },
    );
    await t.step(
      `${backup.name} holds every push acknowledged before it began`,
      async () => {
        const before = ackedBefore.get(backup.name) ?? new Set();
        assert.ok(before.size >= 100);
        assert.deepEqual(missing(before, await storedPushes(backup.file)), []);
      },
    );
  }

  await t.step(
    "the server's own file holds every acknowledged push",
    async () => {
      assert.ok(ackedAll.size >= 220);
      assert.deepEqual(missing(ackedAll, await storedPushes(db)), []);
    },
  );

  await t.step(
    "Pushvault restored from the .backup copy serves those pushes",
    async () => {
      const restored = `${dir.path}/restored.db`;
      await Deno.copyFile(backups[0].file, restored);
      const before = ackedBefore.get(backups[0].name) ?? new Set();
      await withProcesses(async (group) => {
        const server = await group.pushvault({ dbPath: restored });
        const scrape = await getText(server.url, "/metrics");
        for (let worker = 0; worker < WORKERS; worker++) {
          const match = new RegExp(
            `^seq\\{instance="w${worker}",job="${JOB}"\\} (\\d+)$`,
            "m",
          ).exec(scrape);
          assert.ok(match, `no seq for w${worker} in\n${scrape}`);
          const last = Math.max(
            0,
            ...[...before].filter((p) => p.startsWith(`${groupKey(worker)} `))
              .map((p) => Number(p.split(" ")[1])),
          );
          assert.ok(
            Number(match[1]) >= last,
            `w${worker}: ${match[1]} < ${last}`,
          );
        }
        assert.equal((await server.process.stop()).code, 0);
      });
    },
  );
});
