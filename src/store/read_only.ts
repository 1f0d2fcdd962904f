/**
 * A file that could not be written since start (a full disk): reads are
 * served, writes answer "unavailable", and writes are tried again, on a
 * timer and at most once a second by a write request, until one works
 * (docs/operations.md, "Disk full").
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { errorMessage } from "../error_message.ts";

/** Why and how the file is served read-only. */
export interface ReadOnly {
  /** SQLite's message for the last write tried. */
  reason: string;
  /** Opened in exclusive locking mode: the -shm file could not be grown. */
  exclusive: boolean;
  /** performance.now() before which a write request does not try again. */
  nextTry: number;
}

/** A write request tries the file again at most this often while read-only. */
const WRITE_RETRY_MIN_MS = 1000;

/** Whether the store's file can be written, and trying again until it can. */
export class WriteRetries {
  readonly #db: DatabaseSync;
  /** Set while the file could not be written since start. */
  #readOnly: ReadOnly | undefined;
  /** Told when writes work again; see {@link start}. */
  #onWritable: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Work deferred until the file can be written (see {@link defer}). */
  #deferred: (() => void) | undefined;

  constructor(db: DatabaseSync, readOnly: ReadOnly | undefined) {
    this.#db = db;
    this.#readOnly = readOnly;
  }

  /** false while the file could not be written since start. */
  get writable(): boolean {
    return this.#readOnly === undefined;
  }

  /** Why the file cannot be written, while {@link writable} is false. */
  get reason(): string | undefined {
    return this.#readOnly?.reason;
  }

  /** Whether the file is open in exclusive locking mode, read-only. */
  get exclusive(): boolean {
    return this.#readOnly?.exclusive ?? false;
  }

  /**
   * While the file cannot be written, tries a write every `intervalMs` and
   * tells `onWritable` once one works. No-op when it can be written.
   */
  start(intervalMs: number, onWritable: () => void): void {
    if (this.#readOnly === undefined || this.#timer) return;
    this.#onWritable = onWritable;
    this.#timer = setInterval(() => this.tryWrites(), intervalMs);
  }

  /** Runs `work` once the file can be written, before `onWritable`. */
  defer(work: () => void): void {
    this.#deferred = work;
  }

  /** Throws while the file cannot be written (see {@link tryWrites}). */
  refuse(): void {
    const readOnly = this.#readOnly;
    if (readOnly === undefined) return;
    if (performance.now() >= readOnly.nextTry && this.tryWrites()) return;
    throw new Error(readOnly.reason); // callers answer it as "unavailable"
  }

  /**
   * One write that changes nothing (the header's user_version); if it
   * works, the store is writable again. Out of exclusive locking mode
   * first, which SQLite allows only out of WAL: the WAL is checkpointed into
   * the file then (once, on this thread), and WAL mode is entered again with
   * the shared-memory index, so that other processes may read the file.
   */
  tryWrites(): boolean {
    const readOnly = this.#readOnly;
    if (readOnly === undefined) return true;
    readOnly.nextTry = performance.now() + WRITE_RETRY_MIN_MS;
    if (!this.#db.isOpen) return false;
    try {
      const version = (this.#db.prepare("PRAGMA user_version").get() as {
        user_version: number;
      }).user_version;
      this.#db.exec(`PRAGMA user_version = ${version}`);
      if (readOnly.exclusive) {
        this.#db.exec("PRAGMA journal_mode = DELETE");
        this.#db.exec("PRAGMA locking_mode = NORMAL");
        const mode = this.#db.prepare("PRAGMA journal_mode = WAL").get() as {
          journal_mode: string;
        };
        if (mode.journal_mode !== "wal") {
          throw new Error(`journal mode ${mode.journal_mode}, not wal`);
        }
        readOnly.exclusive = false;
      }
    } catch (error) {
      readOnly.reason = errorMessage(error);
      return false;
    }
    this.#readOnly = undefined;
    this.stop();
    this.#deferred?.();
    this.#deferred = undefined;
    this.#onWritable?.();
    return true;
  }

  /** Stops trying (the store closes). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
