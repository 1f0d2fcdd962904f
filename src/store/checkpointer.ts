/**
 * Checkpoints the WAL on a thread of its own, so that a commit only appends
 * to the WAL (issue 7). Left to SQLite, every 1,000th WAL page a COMMIT also
 * copies the WAL back into the database and fsyncs it, on the thread that
 * answers HTTP: with 10-series pushes that cost a fifth of all server time,
 * and the p99 latency tripled.
 *
 * The worker holds a second connection to the same file and runs a PASSIVE
 * checkpoint every `intervalMs`: it never waits for the writer and the
 * writer never waits for it. It runs from embedded source
 * (embedded_worker.ts). Stopping is synchronous, so `Store.close()` stays
 * synchronous: the worker is told through shared memory and closes its
 * connection before the store's own last checkpoint.
 * @module
 */

import { startEmbeddedWorker } from "./embedded_worker.ts";

export interface CheckpointerOptions {
  readonly path: string;
  /** The writer's `--storage.sync`: how the checkpoint syncs. */
  readonly sync: "normal" | "full";
  /** Pause between two checkpoints. */
  readonly intervalMs: number;
  /** The worker could not open the file or a checkpoint failed; it stopped. */
  readonly onError: (message: string) => void;
}

/** What the worker has done so far (read from shared memory). */
export interface CheckpointerStats {
  /** Checkpoints run. */
  readonly runs: number;
  /** WAL pages in the log at the last run. */
  readonly logPages: number;
  /** Of those, pages copied into the database by the end of the last run. */
  readonly checkpointedPages: number;
}

// Slots of the shared Int32Array.
const STOP = 0;
const STARTED = 1;
const STOPPED = 2;
const RUNS = 3;
const LOG = 4;
const CHECKPOINTED = 5;
const SLOTS = 6;

/**
 * The worker: plain JavaScript, run as a module from a Blob URL. Reports an
 * error once through postMessage and stops; the writer then checkpoints
 * itself again (see {@link Checkpointer.start}).
 */
const WORKER_SOURCE = `
import { DatabaseSync } from "node:sqlite";
self.onmessage = (event) => {
  const { path, sync, intervalMs, control } = event.data;
  const ctl = new Int32Array(control);
  // Stopped before it began: the store may be closed and its files gone.
  if (Atomics.compareExchange(ctl, ${STARTED}, 0, 1) !== 0) return;
  let db;
  try {
    db = new DatabaseSync(path);
    db.exec("PRAGMA busy_timeout = 0");
    db.exec("PRAGMA synchronous = " + (sync === "full" ? "FULL" : "NORMAL"));
    const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
    while (Atomics.load(ctl, ${STOP}) === 0) {
      const row = checkpoint.get();
      Atomics.add(ctl, ${RUNS}, 1);
      Atomics.store(ctl, ${LOG}, row.log);
      Atomics.store(ctl, ${CHECKPOINTED}, row.checkpointed);
      Atomics.wait(ctl, ${STOP}, 0, intervalMs);
    }
  } catch (error) {
    self.postMessage({ error: String(error && error.message || error) });
  } finally {
    try { db && db.close(); } catch { /* closing is best effort */ }
    Atomics.store(ctl, ${STOPPED}, 1);
    Atomics.notify(ctl, ${STOPPED});
  }
};
`;

export class Checkpointer {
  readonly #worker: Worker;
  readonly #ctl: Int32Array;
  #stopped = false;

  private constructor(worker: Worker, ctl: Int32Array) {
    this.#worker = worker;
    this.#ctl = ctl;
  }

  /** Starts the worker; it opens its own connection to `options.path`. */
  static start(options: CheckpointerOptions): Checkpointer {
    const control = new SharedArrayBuffer(SLOTS * 4);
    const worker = startEmbeddedWorker(WORKER_SOURCE, {
      path: options.path,
      sync: options.sync,
      intervalMs: options.intervalMs,
      control,
    });
    // Assigned before this task ends, so no message of the worker is missed.
    worker.onmessage = (event: MessageEvent<{ error: string }>) => {
      options.onError(event.data.error);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      options.onError(event.message);
    };
    return new Checkpointer(worker, new Int32Array(control));
  }

  get stats(): CheckpointerStats {
    return {
      runs: Atomics.load(this.#ctl, RUNS),
      logPages: Atomics.load(this.#ctl, LOG),
      checkpointedPages: Atomics.load(this.#ctl, CHECKPOINTED),
    };
  }

  /**
   * Stops the worker and waits (at most `timeoutMs`) until it has closed its
   * connection. Synchronous; safe to call twice.
   */
  stop(timeoutMs = 5000): void {
    if (this.#stopped) return;
    this.#stopped = true;
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
