/**
 * Checkpoints the WAL on a thread of its own, so that a commit only appends
 * to the WAL and never copies it back (docs/operations.md, "Durability"). Left to SQLite,
 * every 1,000th WAL page a COMMIT also copies the WAL into the database and
 * fsyncs it, on the thread that answers HTTP: with 10-series pushes that cost
 * a fifth of all server time; after a long reader it copied gigabytes at
 * once and every request waited seconds. The writer's own automatic
 * checkpoint is therefore off while this worker exists.
 *
 * The worker holds a second connection to the same file. Every `intervalMs`
 * it runs a PASSIVE checkpoint, which never waits for the writer and the
 * writer never waits for. Once that has caught up quickly (a run that took
 * long, copying a backlog, is run again first) and the WAL is long, a
 * RESTART checkpoint lets the next commit write the WAL from its start
 * again: it waits up to 50 ms for the write lock and holds it for the few
 * pages written since. A WAL file grown large (a reader held it) is then cut
 * back by a write of the worker's own, 256 MiB at a time. Commits wait for
 * that lock off the HTTP thread (Store.enqueuePush). A reader that keeps an
 * old snapshot (a `sqlite3` shell in a transaction, a backup, Litestream)
 * holds the checkpoint back: the worker measures for how long and says so.
 * A failing checkpoint (a full disk) is retried with a growing pause, and
 * said once when it fails and once when it works again. Runs from embedded
 * source (embedded_worker.ts).
 *
 * Stopping is synchronous, so `Store.close()` stays synchronous: the worker
 * is told through shared memory and closes its connection before the
 * store's own last checkpoint.
 * @module
 */

import { startEmbeddedWorker } from "./embedded_worker.ts";

export interface CheckpointerOptions {
  readonly path: string;
  /** The writer's `--storage.sync`: how the checkpoint syncs. */
  readonly sync: "normal" | "full";
  /** Pause between two checkpoints. */
  readonly intervalMs: number;
  /** What the worker has to say (see {@link CheckpointerEvent}). */
  readonly onEvent: (event: CheckpointerEvent) => void;
  /** A reader holding checkpoints back this long is reported (default 10 s). */
  readonly heldWarningMs?: number;
  /** WAL pages past which a caught-up checkpoint restarts the WAL (4096). */
  readonly restartPages?: number;
  /** WAL file bytes past which it is cut back once caught up (64 MiB). */
  readonly truncateBytes?: number;
  /** At most this much is cut from the WAL file at a time (256 MiB). */
  readonly shrinkStepBytes?: number;
  /** Longest pause between two tries while checkpoints fail (5 s). */
  readonly maxBackoffMs?: number;
  /**
   * PASSIVE checkpoints only, never RESTART or a cut WAL file: Litestream
   * replicates the file and owns the WAL's restarts (docs/operations.md, "Beyond one
   * machine"). Also set later with {@link Checkpointer.passiveOnly}.
   */
  readonly passiveOnly?: boolean;
}

/**
 * - `failed`: a checkpoint (or opening the file) failed; retried with backoff.
 * - `resumed`: a checkpoint worked again after `failed`.
 * - `held`: a reader has held checkpoints back for `heldSeconds` (said once
 *   past `heldWarningMs`, then every minute while it lasts).
 * - `released`: checkpoints caught up again after `held`.
 */
export type CheckpointerEvent =
  | { readonly type: "failed"; readonly error: string }
  | { readonly type: "resumed"; readonly failedSeconds: number }
  | {
    readonly type: "held";
    readonly heldSeconds: number;
    readonly walBytes: number;
  }
  | {
    readonly type: "released";
    readonly heldSeconds: number;
    readonly walBytes: number;
  };

/** What the worker has done so far (read from shared memory). */
export interface CheckpointerStats {
  /** Checkpoints run. */
  readonly runs: number;
  /** WAL pages in the log at the last run. */
  readonly logPages: number;
  /** Of those, pages copied into the database by the end of the last run. */
  readonly checkpointedPages: number;
  /** Size of the `-wal` file at the last run. */
  readonly walBytes: number;
  /** How long a reader has held checkpoints back (0 when none does). */
  readonly heldSeconds: number;
  /** Whether the last try failed (it is retried with backoff). */
  readonly failing: boolean;
}

/** How long a RESTART or TRUNCATE checkpoint waits for the write lock. */
const RESTART_WAIT_MS = 50;
/** A PASSIVE run at most this long leaves few pages for a RESTART to copy. */
const QUICK_MS = 25;

// Slots of the shared Int32Array.
const STOP = 0;
const STARTED = 1;
const STOPPED = 2;
const RUNS = 3;
const LOG = 4;
const CHECKPOINTED = 5;
const WAL_KIB = 6;
const HELD_MS = 7;
const FAILING = 8;
const PASSIVE_ONLY = 9;
const SLOTS = 10;

/**
 * The worker: plain JavaScript, run as a module from a Blob URL. It never
 * stops on an error, only when told to (the writer does not checkpoint).
 */
const WORKER_SOURCE = `
import { DatabaseSync } from "node:sqlite";
self.onmessage = (event) => {
  const o = event.data;
  const ctl = new Int32Array(o.control);
  // Stopped before it began: the store may be closed and its files gone.
  if (Atomics.compareExchange(ctl, ${STARTED}, 0, 1) !== 0) return;
  let db;
  let statements;
  let failedAt = 0;
  let backoff = o.intervalMs;
  let heldSince = 0;
  let heldReported = 0;
  const walBytes = () => {
    try { return Deno.statSync(o.path + "-wal").size; } catch { return 0; }
  };
  const close = () => {
    try { db && db.close(); } catch { /* closing is best effort */ }
    db = undefined;
  };
  try {
    while (Atomics.load(ctl, ${STOP}) === 0) {
      let pause = o.intervalMs;
      try {
        if (db === undefined) {
          db = new DatabaseSync(o.path);
          db.exec("PRAGMA busy_timeout = 0");
          db.exec("PRAGMA synchronous = " + (o.sync === "full" ? "FULL" : "NORMAL"));
          statements = {
            passive: db.prepare("PRAGMA wal_checkpoint(PASSIVE)"),
            restart: db.prepare("PRAGMA wal_checkpoint(RESTART)"),
            version: db.prepare("PRAGMA user_version"),
          };
        }
        let began = Date.now();
        let row = statements.passive.get();
        // A long run (a backlog after a reader) leaves as many new pages
        // behind as were written meanwhile; run again until one is quick,
        // so that a RESTART below holds the write lock for a few pages.
        for (let i = 0; i < 5 && Date.now() - began > o.quickMs && row.checkpointed === row.log; i++) {
          began = Date.now();
          row = statements.passive.get();
        }
        const now = Date.now();
        const quick = now - began <= o.quickMs;
        let bytes = walBytes();
        let released = 0;
        if (row.checkpointed < row.log) {
          if (heldSince === 0) heldSince = now;
        } else {
          if (heldReported > 0) released = now - heldSince;
          heldSince = 0;
          heldReported = 0;
          // Caught up: let the next commit write the WAL from its start.
          // Under steady pushes the write lock is rarely free at the very
          // moment asked, so the worker waits a little for it; commits wait
          // meanwhile only for the pages written since the PASSIVE run.
          const shrink = bytes > o.truncateBytes;
          const passiveOnly = Atomics.load(ctl, ${PASSIVE_ONLY}) === 1;
          if (!passiveOnly && quick && (shrink || row.log > o.restartPages)) {
            db.exec("PRAGMA busy_timeout = " + o.restartWaitMs);
            try {
              const done = statements.restart.get();
              if (shrink && done.busy === 0) {
                // A write of our own starts the WAL over and cuts the file
                // to journal_size_limit (SQLite does it at that commit), a
                // step at a time: cutting gigabytes at once holds the write
                // lock for a second or more.
                const limit = Math.max(o.truncateBytes, bytes - o.shrinkStepBytes);
                db.exec("PRAGMA journal_size_limit = " + limit);
                const version = statements.version.get().user_version;
                try {
                  db.exec("BEGIN IMMEDIATE");
                  db.exec("PRAGMA user_version = " + version);
                  db.exec("COMMIT");
                } catch (error) {
                  if (db.isTransaction) db.exec("ROLLBACK");
                  // The writer took the lock back first: cut it next time.
                  if (!/database is locked/.test(String(error && error.message))) throw error;
                }
              }
            } finally {
              db.exec("PRAGMA busy_timeout = 0");
            }
            bytes = walBytes();
          }
        }
        Atomics.add(ctl, ${RUNS}, 1);
        Atomics.store(ctl, ${LOG}, row.log);
        Atomics.store(ctl, ${CHECKPOINTED}, row.checkpointed);
        Atomics.store(ctl, ${WAL_KIB}, Math.min(2147483647, Math.ceil(bytes / 1024)));
        const held = heldSince === 0 ? 0 : now - heldSince;
        Atomics.store(ctl, ${HELD_MS}, Math.min(2147483647, held));
        // Told after the slots are set: a listener sees them as they were.
        if (released > 0) {
          self.postMessage({ type: "released", heldSeconds: released / 1000, walBytes: bytes });
        }
        if (held >= o.heldWarningMs && now - heldReported >= (heldReported === 0 ? 0 : 60000)) {
          heldReported = now;
          self.postMessage({ type: "held", heldSeconds: held / 1000, walBytes: bytes });
        }
        if (failedAt !== 0) {
          Atomics.store(ctl, ${FAILING}, 0);
          self.postMessage({ type: "resumed", failedSeconds: (now - failedAt) / 1000 });
          failedAt = 0;
        }
        backoff = o.intervalMs;
      } catch (error) {
        // A new connection next time: the old one may be what is broken.
        close();
        if (failedAt === 0) {
          failedAt = Date.now();
          Atomics.store(ctl, ${FAILING}, 1);
          self.postMessage({ type: "failed", error: String(error && error.message || error) });
        }
        pause = backoff;
        backoff = Math.min(backoff * 2, o.maxBackoffMs);
      }
      Atomics.wait(ctl, ${STOP}, 0, pause);
    }
  } finally {
    close();
    Atomics.store(ctl, ${STOPPED}, 1);
    Atomics.notify(ctl, ${STOPPED});
  }
};
`;

/** A WAL file at least this long at start is checkpointed at once. */
const START_AT_ONCE_BYTES = 1024 * 1024;
/** How often, until the worker runs, the WAL file is looked at for a write. */
const WATCH_MS = 1000;

export class Checkpointer {
  #worker: Worker | undefined;
  readonly #ctl: Int32Array;
  readonly #options: CheckpointerOptions;
  #watch: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  private constructor(options: CheckpointerOptions) {
    this.#options = options;
    this.#ctl = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
    if (options.passiveOnly) this.#ctl[PASSIVE_ONLY] = 1;
  }

  /** Starts the worker; it opens its own connection to `options.path`. */
  static start(options: CheckpointerOptions): Checkpointer {
    const checkpointer = new Checkpointer(options);
    checkpointer.#spawn();
    return checkpointer;
  }

  /**
   * Starts the worker once the WAL is written to (its file changes), or at
   * once when it is already long: every worker is a V8 isolate of its own
   * (about 10 MB), which an idle server with nothing to checkpoint does
   * without. Until then {@link stats} show no runs and the WAL's size.
   */
  static startOnWrite(options: CheckpointerOptions): Checkpointer {
    const checkpointer = new Checkpointer(options);
    const seen = walFile(options.path);
    if (seen === undefined || seen.size >= START_AT_ONCE_BYTES) {
      checkpointer.#spawn();
      return checkpointer;
    }
    checkpointer.#noteWal(seen.size);
    checkpointer.#watch = setInterval(() => {
      const now = walFile(options.path);
      if (now?.size === seen.size && now.mtime === seen.mtime) return;
      clearInterval(checkpointer.#watch);
      checkpointer.#watch = undefined;
      checkpointer.#spawn();
    }, Math.min(WATCH_MS, options.intervalMs));
    return checkpointer;
  }

  #noteWal(bytes: number): void {
    Atomics.store(
      this.#ctl,
      WAL_KIB,
      Math.min(2147483647, Math.ceil(bytes / 1024)),
    );
  }

  #spawn(): void {
    const options = this.#options;
    const worker = startEmbeddedWorker(WORKER_SOURCE, {
      path: options.path,
      sync: options.sync,
      intervalMs: options.intervalMs,
      heldWarningMs: options.heldWarningMs ?? 10_000,
      restartPages: options.restartPages ?? 4096,
      truncateBytes: options.truncateBytes ?? 64 * 1024 * 1024,
      maxBackoffMs: Math.max(options.intervalMs, options.maxBackoffMs ?? 5000),
      restartWaitMs: RESTART_WAIT_MS,
      quickMs: QUICK_MS,
      shrinkStepBytes: options.shrinkStepBytes ?? 256 * 1024 * 1024,
      control: this.#ctl.buffer,
    });
    // Assigned before this task ends, so no message of the worker is missed.
    worker.onmessage = (event: MessageEvent<CheckpointerEvent>) => {
      options.onEvent(event.data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      options.onEvent({ type: "failed", error: event.message });
    };
    this.#worker = worker;
  }

  /** From now on PASSIVE checkpoints only (see the option of that name). */
  passiveOnly(): void {
    Atomics.store(this.#ctl, PASSIVE_ONLY, 1);
  }

  get stats(): CheckpointerStats {
    return {
      runs: Atomics.load(this.#ctl, RUNS),
      logPages: Atomics.load(this.#ctl, LOG),
      checkpointedPages: Atomics.load(this.#ctl, CHECKPOINTED),
      walBytes: Atomics.load(this.#ctl, WAL_KIB) * 1024,
      heldSeconds: Atomics.load(this.#ctl, HELD_MS) / 1000,
      failing: Atomics.load(this.#ctl, FAILING) === 1,
    };
  }

  /**
   * Stops the worker and waits (at most `timeoutMs`) until it has closed its
   * connection. Synchronous; safe to call twice.
   */
  stop(timeoutMs = 5000): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#watch);
    if (this.#worker === undefined) return;
    Atomics.store(this.#ctl, STOP, 1);
    Atomics.notify(this.#ctl, STOP);
    // A worker that has not begun never will (it checks this slot first)
    // and opens nothing; one that has is waited for until its connection is
    // closed. Else it could open the file after the store closed it, and
    // create it again or its -shm next to a directory being removed.
    if (Atomics.compareExchange(this.#ctl, STARTED, 0, -1) === 1) {
      Atomics.wait(this.#ctl, STOPPED, 0, timeoutMs);
    }
    this.#worker.terminate();
  }
}

/** The `-wal` file's size and last change; undefined when it cannot be read. */
function walFile(path: string): { size: number; mtime: number } | undefined {
  try {
    const info = Deno.statSync(`${path}-wal`);
    return { size: info.size, mtime: info.mtime?.getTime() ?? 0 };
  } catch {
    return undefined;
  }
}
