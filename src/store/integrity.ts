/**
 * `PRAGMA quick_check` of the database file, on the calling thread or on a
 * worker of its own while the caller reads the view: at 1M series
 * the check reads 400 MB and takes about 0.6 s, as long again as a third of
 * the rest of start-up. The worker opens the file read-only, so nothing is
 * written before the answer is in. The caller waits for the answer
 * synchronously (shared memory), so `new Store()` stays synchronous.
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { startEmbeddedWorker } from "./embedded_worker.ts";
import { errorMessage } from "../error_message.ts";

/** What `quick_check` found wrong; empty when the file is sound. */
export type IntegrityProblems = readonly string[];

/** The problems `quick_check` reports, at most five (the rest is noise). */
export function checkIntegrityNow(db: DatabaseSync): IntegrityProblems {
  try {
    return (db.prepare("PRAGMA quick_check(5)").all() as {
      quick_check: string;
    }[]).map((r) => r.quick_check).filter((r) => r !== "ok");
  } catch (error) {
    return [errorMessage(error)];
  }
}

// Slots of the shared Int32Array: the state, then the answer's byte length.
const STATE = 0;
const LENGTH = 1;
const PENDING = 0;
const STARTED = 1;
const DONE = 2;
/** How long a worker may take to start before the caller checks itself. */
const START_TIMEOUT_MS = 10_000;
/** Bytes of the answer kept (the problems joined by newlines, UTF-8). */
const ANSWER_BYTES = 8192;

const WORKER_SOURCE = `
import { DatabaseSync } from "node:sqlite";
self.onmessage = (event) => {
  const { path, control, answer } = event.data;
  const ctl = new Int32Array(control);
  Atomics.store(ctl, ${STATE}, ${STARTED});
  Atomics.notify(ctl, ${STATE});
  let problems;
  let db;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    problems = db.prepare("PRAGMA quick_check(5)").all()
      .map((r) => r.quick_check).filter((r) => r !== "ok");
  } catch (error) {
    problems = [String(error && error.message || error)];
  } finally {
    try { db && db.close(); } catch { /* nothing was written */ }
  }
  const bytes = new TextEncoder().encode(problems.join("\\n"));
  const n = Math.min(bytes.length, ${ANSWER_BYTES});
  new Uint8Array(answer).set(bytes.subarray(0, n));
  Atomics.store(ctl, ${LENGTH}, n);
  Atomics.store(ctl, ${STATE}, ${DONE});
  Atomics.notify(ctl, ${STATE});
};
`;

/** A check running on a worker; {@link wait} for its answer. */
export class BackgroundIntegrityCheck {
  readonly #worker: Worker;
  readonly #ctl: Int32Array;
  readonly #answer: Uint8Array;

  private constructor(worker: Worker, ctl: Int32Array, answer: Uint8Array) {
    this.#worker = worker;
    this.#ctl = ctl;
    this.#answer = answer;
  }

  /** Starts checking the file at `path` on a worker. */
  static start(path: string): BackgroundIntegrityCheck {
    const control = new SharedArrayBuffer(8);
    const answer = new SharedArrayBuffer(ANSWER_BYTES);
    return new BackgroundIntegrityCheck(
      startEmbeddedWorker(WORKER_SOURCE, { path, control, answer }),
      new Int32Array(control),
      new Uint8Array(answer),
    );
  }

  /** Stops the worker without waiting for its answer; safe to call twice. */
  cancel(): void {
    this.#worker.terminate();
  }

  /**
   * Blocks until the worker has answered and returns what it found, or
   * undefined if the worker did not start (the caller then checks itself).
   */
  wait(): IntegrityProblems | undefined {
    try {
      Atomics.wait(this.#ctl, STATE, PENDING, START_TIMEOUT_MS);
      if (Atomics.load(this.#ctl, STATE) === PENDING) return undefined;
      // quick_check always ends; a huge file just takes longer (a day at
      // most here, to keep the loop bounded).
      for (let s = 0; s < 86_400; s++) {
        if (Atomics.load(this.#ctl, STATE) === DONE) break;
        Atomics.wait(this.#ctl, STATE, STARTED, 1000);
      }
      if (Atomics.load(this.#ctl, STATE) !== DONE) {
        return ["the integrity check did not finish within a day"];
      }
      const n = Atomics.load(this.#ctl, LENGTH);
      // Copied out of shared memory: TextDecoder refuses shared buffers.
      const text = new TextDecoder().decode(this.#answer.slice(0, n));
      return text === "" ? [] : text.split("\n");
    } finally {
      this.#worker.terminate();
    }
  }
}
