import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { parseText } from "../../src/exposition/text_parse.ts";
import { parseGroupingKey } from "../../src/push/grouping_key.ts";
import { sanitizePush } from "../../src/push/validate.ts";
import { Checkpointer } from "../../src/store/checkpointer.ts";
import { Store } from "../../src/store/store.ts";
import { tempDir } from "../test_utils.ts";

const encoder = new TextEncoder();

async function pushSome(store: Store, pushes: number): Promise<void> {
  const key = parseGroupingKey("job/batch");
  if (!key) throw new Error("bad key");
  for (let i = 0; i < pushes; i++) {
    const body = `# TYPE rows_total counter\n${
      Array.from({ length: 50 }, (_, s) => `rows_total{shard="${s}"} ${i}\n`)
        .join("")
    }`;
    const s = sanitizePush(parseText(encoder.encode(body)), key);
    await store.enqueuePush({
      method: "PUT",
      key,
      families: s.families,
      problems: s.problems,
      seriesCount: s.seriesCount,
      checkConsistency: true,
      time: 1000 + i,
      request: {
        path: "/metrics/job/batch",
        contentType: null,
        bodyBytes: body.length,
        remoteAddr: "127.0.0.1",
        userAgent: "test",
      },
    });
  }
}

/** Waits (bounded) until `ready()` holds. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}

Deno.test("Store.startBackgroundCheckpoints() copies the WAL into the database on a worker", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  const store = new Store({ path });
  const errors: string[] = [];
  try {
    store.startBackgroundCheckpoints((message) => errors.push(message));
    await pushSome(store, 20);
    await until(() => {
      const stats = store.checkpointStats;
      return stats !== undefined && stats.logPages > 0 &&
        stats.checkpointedPages === stats.logPages;
    }, "the worker has checkpointed every WAL page");
    // The writer's own automatic checkpoint is far off while the worker runs.
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      const rows = db.prepare("SELECT count(*) AS n FROM samples").get() as {
        n: number;
      };
      assert.equal(rows.n, 20 * 50);
    } finally {
      db.close();
    }
  } finally {
    store.close(); // stops the worker first, then checkpoints and closes
  }
  assert.deepEqual(errors, []);
  // Closed cleanly: the WAL was truncated by the store's last checkpoint.
  const wal = await Deno.stat(`${path}-wal`).catch(() => undefined);
  assert.ok(wal === undefined || wal.size === 0, `WAL left: ${wal?.size}`);
});

Deno.test("Checkpointer reports a file it cannot open and stops", async () => {
  await using dir = await tempDir();
  const errors: string[] = [];
  const checkpointer = Checkpointer.start({
    path: `${dir.path}/missing/dir/pv.db`,
    sync: "normal",
    intervalMs: 10,
    onError: (message) => errors.push(message),
  });
  try {
    await until(() => errors.length > 0, "the worker reports its error");
    assert.match(errors[0] ?? "", /unable to open database file/);
  } finally {
    checkpointer.stop();
  }
});

Deno.test("Checkpointer.stop() is synchronous and safe to call twice", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  new Store({ path }).close(); // creates the file in WAL mode
  const checkpointer = Checkpointer.start({
    path,
    sync: "full",
    intervalMs: 10,
    onError: (message) => {
      throw new Error(message);
    },
  });
  await until(() => checkpointer.stats.runs > 0, "the worker has run");
  checkpointer.stop();
  checkpointer.stop();
  // The worker's connection is closed: the file can be locked exclusively.
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
    db.exec("COMMIT");
  } finally {
    db.close();
  }
});
