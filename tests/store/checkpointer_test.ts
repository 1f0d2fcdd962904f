import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { parseText } from "../../src/exposition/text_parse.ts";
import { parseGroupingKey } from "../../src/push/grouping_key.ts";
import { sanitizePush } from "../../src/push/validate.ts";
import { Checkpointer } from "../../src/store/checkpointer.ts";
import type { CheckpointerEvent } from "../../src/store/checkpointer.ts";
import { Store } from "../../src/store/store.ts";
import { tempDir } from "../test_utils.ts";

const encoder = new TextEncoder();

async function pushSome(
  store: Store,
  pushes: number,
  series = 50,
): Promise<void> {
  const key = parseGroupingKey("job/batch");
  if (!key) throw new Error("bad key");
  const pad = "x".repeat(series > 50 ? 4000 : 0);
  for (let i = 0; i < pushes; i++) {
    const body = `# TYPE rows_total counter\n${
      Array.from(
        { length: series },
        // A padded series is new on every push, so that each push writes
        // its labels (a series' labels are stored once, schema 6).
        (_, s) => `rows_total{shard="${s}",pad="${pad}${pad && i}"} ${i}\n`,
      )
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

Deno.test("Checkpointer reports a file it cannot open once, and resumes once it can", async () => {
  await using dir = await tempDir();
  const events: CheckpointerEvent[] = [];
  const checkpointer = Checkpointer.start({
    path: `${dir.path}/later/pv.db`,
    sync: "normal",
    intervalMs: 10,
    maxBackoffMs: 20,
    onEvent: (event) => events.push(event),
  });
  try {
    await until(() => events.length > 0, "the worker reports its error");
    const failed = events[0];
    assert.equal(failed?.type, "failed");
    assert.match(
      failed.type === "failed" ? failed.error : "",
      /unable to open database file/,
    );
    await Deno.mkdir(`${dir.path}/later`);
    new Store({ path: `${dir.path}/later/pv.db` }).close();
    await until(() => events.length > 1, "the worker reports it works");
    assert.deepEqual(events.map((e) => e.type), ["failed", "resumed"]);
    assert.ok(checkpointer.stats.runs > 0);
    assert.equal(checkpointer.stats.failing, false);
  } finally {
    checkpointer.stop();
  }
});

Deno.test("Store.startBackgroundCheckpoints() says when a reader holds the WAL, and shrinks it after", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  const store = new Store({ path });
  const events: { message: string; event: CheckpointerEvent }[] = [];
  const reader = new DatabaseSync(path, { readOnly: true });
  try {
    store.startBackgroundCheckpoints(
      (message, event) => events.push({ message, event }),
      {
        heldWarningMs: 50,
        truncateBytes: 256 * 1024,
        shrinkStepBytes: 512 * 1024,
      },
    );
    await pushSome(store, 2);
    // A read transaction keeps the snapshot it began with, as a sqlite3
    // shell in BEGIN does: no checkpoint may go past it.
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) AS n FROM samples").get();
    await pushSome(store, 40);
    await until(
      () => events.some((e) => e.event.type === "held"),
      "the worker reports the reader",
    );
    const held = events.find((e) => e.event.type === "held");
    assert.match(
      held?.message ?? "",
      /^a reader \(sqlite3 shell, backup, Litestream\) has held the WAL for \d+s; the WAL is \d+\.\d MiB; end long read transactions$/,
    );
    const stats = store.checkpointStats;
    assert.ok(stats !== undefined && stats.heldSeconds > 0, "held seconds");
    assert.ok(stats.walBytes > 256 * 1024, `WAL ${stats.walBytes} bytes`);
    reader.exec("COMMIT");
    // Caught up again, the worker cuts the long WAL file back.
    await until(
      () => Deno.statSync(`${path}-wal`).size <= 256 * 1024,
      "the WAL file is cut back",
    );
    await until(
      () => events.some((e) => e.event.type === "released"),
      "the worker reports the end of it",
    );
    assert.equal(store.checkpointStats?.heldSeconds, 0);
    assert.deepEqual(events.map((e) => e.event.type), ["held", "released"]);
  } finally {
    reader.close();
    store.close();
  }
});

Deno.test("Store: a commit never checkpoints the WAL itself, however long it grows", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  const store = new Store({ path });
  try {
    // The worker runs once, then not for an hour: only a commit could
    // checkpoint (SQLite's own automatic checkpoint, past 64 MiB before).
    store.startBackgroundCheckpoints(() => {}, { intervalMs: 3_600_000 });
    // The worker starts on the first write to the WAL.
    await pushSome(store, 1);
    await until(
      () => (store.checkpointStats?.runs ?? 0) > 0,
      "the worker has run once",
    );
    const before = Deno.statSync(path).size;
    await pushSome(store, 36, 500);
    const wal = Deno.statSync(`${path}-wal`).size;
    assert.ok(wal > 65 * 1024 * 1024, `WAL only ${wal} bytes`);
    // Nothing was copied back into the database file.
    assert.equal(Deno.statSync(path).size, before);
  } finally {
    store.close();
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
    onEvent: (event) => {
      throw new Error(JSON.stringify(event));
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
