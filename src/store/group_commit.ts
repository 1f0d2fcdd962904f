/**
 * The store's group commit (docs/architecture.md, A push; docs/performance.md,
 * Pushes): pushes that arrive while others wait share one transaction, each
 * answered only after the shared COMMIT; a large push prepared on the push
 * worker is written on a second connection, a slice at a time, while requests
 * are answered in between; a batch that finds the write lock taken waits off
 * the thread that answers HTTP. {@link GroupCommit} owns
 * the queue, the second connection and their state; the store holds one
 * and hands it what it needs ({@link GroupCommitHost}).
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { PushError } from "../push/push_error.ts";
import { nextTurn } from "../event_loop.ts";
import type { SeriesBound } from "./capacity.ts";
import { isBusy, unavailable } from "./errors.ts";
import { BUSY_TIMEOUT_MS, configure, type SyncMode } from "./open_database.ts";
import { capacityRefusal, problemsOf, problemSteps } from "./push_rules.ts";
import { kindConflict } from "./aggregate_writes.ts";
import {
  aggregateRows,
  type AsideAggregate,
  writeAggregateAside,
} from "./aggregate_aside.ts";
import {
  type AcceptedWrite,
  applyAccepted,
  pushInTransaction,
  writeAccepted,
} from "./push_writes.ts";
import type { SeriesMemory } from "./row_writers.ts";
import {
  newWriter,
  prepareStatements,
  type Statements,
  type Writer,
} from "./statements.ts";
import type { PushCommand, PushOutcome } from "./store_types.ts";
import type { View } from "./view.ts";
import { type StagedFamily, writeThenStage } from "./staged_family.ts";

// setImmediate is the global: importing node:timers would load Deno's Node
// layer at start (docs/performance.md, "Fixed costs").

export interface QueuedPush {
  readonly command: PushCommand;
  readonly resolve: (outcome: PushOutcome) => void;
  readonly reject: (error: unknown) => void;
  /** performance.now() when its batch first found the write lock taken. */
  lockedSince?: number;
}

/** A write queued behind a large push (a DELETE, a history row). */
export interface QueuedTask {
  readonly task: () => void;
  /** Told when the task will not run (the store closes). */
  readonly cancel: (error: unknown) => void;
  lockedSince?: number;
}

export type QueueEntry = QueuedPush | QueuedTask;

/**
 * Sample rows from which a push is written aside (GroupCommit.#commitAside):
 * written inline, 10k rows hold the HTTP thread for about 60 ms.
 */
export const ASIDE_MIN_ROWS = 10_000;

/** How long a slice of a push written aside may run before a turn. */
export const ASIDE_SLICE_MS = 10;

/**
 * BEGIN IMMEDIATE on `w` without waiting on this thread for a lock held
 * elsewhere (a `sqlite3` shell, the checkpointer): tries again shortly, up
 * to BUSY_TIMEOUT_MS, as the batches do (GroupCommit.#retryWhenUnlocked).
 */
export async function beginWhenUnlocked(w: Writer): Promise<void> {
  const started = performance.now();
  for (let delay = 1;; delay = Math.min(50, delay * 2)) {
    w.stmt.dontWaitForLock.run();
    try {
      w.stmt.begin.run();
      return;
    } catch (error) {
      if (!isBusy(error) || performance.now() - started >= BUSY_TIMEOUT_MS) {
        throw error;
      }
    } finally {
      w.stmt.waitForLock.run();
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** GroupCommit.flush() waiting for the write lock on this thread if need be. */
export const WAIT = { waitForLock: true } as const;

/** How long batches keep a SAVEPOINT per push after a push's write failed. */
const CAREFUL_AFTER_FAULT_MS = 30_000;

/** What `PRAGMA max_page_count` is when nobody has lowered it. */
const MAX_PAGE_COUNT = 0xfffffffe;

/** What the group commit takes from the store it writes for. */
export interface GroupCommitHost {
  /** The database file (":memory:" has no second connection). */
  readonly path: string;
  readonly sync: SyncMode;
  /** Pushes from this many sample rows on are written aside. */
  readonly asideMinRows: number;
  /** The store's connection, its statements and its writer. */
  readonly db: DatabaseSync;
  readonly stmt: Statements;
  readonly main: Writer;
  /** What the row writers remember across writes. */
  readonly series: SeriesMemory;
  /** The estimate the series limit is checked with (capacity.ts). */
  readonly seriesBound: SeriesBound;
  /** The current view, every family read into it. */
  liveView(): View;
  /** Reads what start-up left of the view, before a BEGIN. */
  settle(): void;
  /** Whether the view could not be read again after a failed COMMIT. */
  viewStale(): boolean;
  /** Reads the view anew from the database (the database is the truth). */
  reloadView(): void;
  /** Throws while the file cannot be written (a full disk at start). */
  refuseWhileReadOnly(): void;
  /** Told of every failed write, to notice a lack of room. */
  noteOutOfRoom(error: unknown): void;
  /** The max_page_count set on the store's connection, if any. */
  maxPageCount(): number | undefined;
  /** Whether WAL checkpoints run on the checkpointer's thread. */
  backgroundCheckpoints(): boolean;
}

/** The queue of writes waiting for a shared COMMIT, and how it is run. */
export class GroupCommit {
  readonly #host: GroupCommitHost;
  #queue: QueueEntry[] = [];
  #flushScheduled = false;
  /** Set while a batch waits for the write lock (#retryWhenUnlocked). */
  #lockRetryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Until then (performance.now()), batches use a SAVEPOINT per push. */
  #carefulUntil = 0;
  /**
   * A second connection to the same file, opened at the first large push:
   * a large push is written there, a slice at a time, so that requests are
   * answered between slices (see {@link GroupCommit.#commitAside}).
   */
  #asideWriter: Writer | undefined;
  /** Set while a large push is written on {@link GroupCommit.#asideWriter}. */
  #aside: Promise<void> | undefined;

  constructor(host: GroupCommitHost) {
    this.#host = host;
  }

  /** Whether a large push is being written on the second connection. */
  get writingAside(): boolean {
    return this.#aside !== undefined;
  }

  /**
   * Queues a push for the next shared transaction (Store.enqueuePush);
   * the promise settles after its COMMIT.
   */
  enqueue(command: PushCommand): Promise<PushOutcome> {
    const { promise, resolve, reject } = Promise.withResolvers<PushOutcome>();
    this.#queue.push({ command, resolve, reject });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // A macrotask, so that requests already read reach the queue first.
      setImmediate(() => this.flush({ waitForLock: false }));
    }
    return promise;
  }

  /** Queues a write behind the large push being written aside, in order. */
  enqueueTask(task: QueuedTask): void {
    this.#queue.push(task);
  }

  /**
   * Commits every queued push in one transaction; see Store.enqueuePush.
   *
   * First without a SAVEPOINT per push: they cost each small push about 5%
   * (measured), and a statement of a push almost never fails (a full disk
   * shows at COMMIT, in WAL). If one does, the whole transaction is rolled
   * back, the view read anew if earlier pushes of the batch had changed it,
   * and the batch runs again with a SAVEPOINT per push, so that only the
   * failing push fails, as before. Batches stay careful for a while after,
   * so that a lasting fault (a full disk) does not re-read the view each
   * time.
   */
  flush(options: { readonly waitForLock: boolean } = WAIT): void {
    // While a large push is written aside, the queue waits for its COMMIT:
    // #commitAside flushes it then, in order.
    if (this.#aside !== undefined) return;
    const entries = this.#queue;
    this.#queue = [];
    this.#flushScheduled = false;
    clearTimeout(this.#lockRetryTimer);
    this.#lockRetryTimer = undefined;
    if (entries.length === 0) return;
    const host = this.#host;
    host.settle();
    if (host.viewStale()) host.reloadView();
    const wait = options.waitForLock;
    let special = entries.findIndex((e) => "task" in e || this.#isLarge(e));
    if (special < 0) {
      // The common case, small pushes only: one batch, as it always was.
      const batch = entries as QueuedPush[];
      if (this.#commitPushes(batch, wait) === "locked") {
        this.#retryWhenUnlocked(batch);
      }
      return;
    }
    let at = 0;
    while (at < entries.length) {
      const end = special < 0 ? entries.length : special;
      if (end > at) {
        const batch = entries.slice(at, end) as QueuedPush[];
        if (this.#commitPushes(batch, wait) === "locked") {
          return this.#retryWhenUnlocked(entries.slice(at));
        }
      }
      if (end === entries.length) return;
      const entry = entries[end] as QueueEntry;
      at = end + 1;
      special = entries.findIndex(
        (e, i) => i >= at && ("task" in e || this.#isLarge(e)),
      );
      if ("task" in entry) {
        entry.task();
        continue;
      }
      const full = capacityRefusal(
        host.liveView(),
        entry.command,
        host.seriesBound,
      );
      if (full) {
        entry.reject(full);
        continue;
      }
      // A check against the view is done a step at a time (#commitAside).
      const problems = checkedAside(entry.command)
        ? []
        : problemsOf(host.liveView(), entry.command);
      const conflict = kindConflict(host.main, host.liveView(), entry.command);
      if (problems.length > 0 || conflict !== undefined) {
        // Refused: a history row, written as any push's.
        if (this.#commitPushes([entry], wait) === "locked") {
          return this.#retryWhenUnlocked(entries.slice(end));
        }
        continue;
      }
      this.#queue = [...entries.slice(at), ...this.#queue];
      this.#aside = this.#commitAside(entry);
      return;
    }
  }

  /**
   * Throws "unavailable" while a large push is written aside: writes that
   * answer at once (admin wipe, bulk delete, expiry) cannot wait for it on
   * this thread. Pushes, deletes and history rows queue behind it instead.
   */
  refuseWhileAside(): void {
    if (this.#aside === undefined) return;
    throw new PushError(
      "unavailable",
      "a large push is being written, nothing was changed; try again in a few seconds",
    );
  }

  /**
   * Commits what is queued; a large push being written aside is rolled
   * back (its connection closed) and it and what waits behind it answer
   * 503. Before the store's connection closes.
   */
  close(): void {
    this.flush();
    if (this.#aside !== undefined) {
      // Closing its connection rolls the large push back; it answers 503.
      this.#asideWriter?.db.close();
      const error = unavailable(new Error("the store was closed"));
      for (const entry of this.#queue) {
        if ("task" in entry) entry.cancel(error);
        else entry.reject(error);
      }
      this.#queue = [];
    }
    if (this.#asideWriter?.db.isOpen) this.#asideWriter.db.close();
  }

  /**
   * Commits small pushes in one transaction (see Store.enqueuePush), or
   * finds the write lock taken.
   */
  #commitPushes(
    batch: readonly QueuedPush[],
    wait: boolean,
  ): "done" | "locked" {
    if (performance.now() >= this.#carefulUntil) {
      const optimistic = this.#commitBatch(batch, { savepoints: false, wait });
      if (optimistic === "locked" || optimistic === "done") return optimistic;
      this.#carefulUntil = performance.now() + CAREFUL_AFTER_FAULT_MS;
      if (optimistic === "retry, view touched") {
        this.#host.reloadView();
        if (this.#host.viewStale()) {
          const error = new Error("the view could not be read again");
          for (const entry of batch) entry.reject(unavailable(error));
          return "done";
        }
      }
    }
    const careful = this.#commitBatch(batch, { savepoints: true, wait });
    return careful === "locked" ? "locked" : "done";
  }

  /**
   * Whether a queued push is written aside (#commitAside): one prepared on
   * the push worker with at least ASIDE_MIN_ROWS sample rows, into a
   * database file (an in-memory one has no second connection).
   */
  #isLarge(entry: QueueEntry): entry is QueuedPush {
    if ("task" in entry || this.#host.path === ":memory:") return false;
    // An aggregating push is decoded inline and summed aside.
    const prepared = entry.command.prepared;
    if (prepared === undefined) {
      return aggregateRows(entry.command) >= this.#host.asideMinRows;
    }
    let rows = 0;
    for (const f of prepared) rows += f.samples.count;
    return rows >= this.#host.asideMinRows;
  }

  /**
   * Writes one large push on a second connection, a slice of INSERTs at a
   * time with the event loop turning in between, so that scrapes, health
   * checks and reads are answered while it is written (docs/security.md, "Limits").
   * "No await inside a transaction" holds for what it protects: no other
   * request can enter this transaction, as it is the only user of its
   * connection, and the store's own connection does not write until it
   * ends (the queue waits, deletes and history rows queue behind it, other
   * writes answer "unavailable"); reads there see the last COMMIT. The push
   * is answered after the COMMIT and the view changes only then, as for any
   * push; a failure or kill -9 before the COMMIT leaves nothing of it.
   * Its consistency was checked by the caller against the view, which
   * cannot change before the COMMIT.
   */
  async #commitAside(entry: QueuedPush): Promise<void> {
    const host = this.#host;
    const command = entry.command;
    const status = command.checkConsistency ? 200 : 202;
    let w: Writer | undefined;
    let written: AcceptedWrite | undefined;
    let staged: ReadonlyMap<string, StagedFamily> | undefined;
    let applied: ((view: View) => void) | undefined;
    try {
      // The view cannot change meanwhile: the queue waits for this push.
      // An aggregating push's sums are checked (writeAggregateAside).
      const problems = checkedAside(command) && command.aggregate === undefined
        ? await this.#inSlices(problemSteps(host.liveView(), command))
        : [];
      if (problems.length > 0) {
        // Refused: written by the next flush as any refused push, its
        // problems known (problemsOf does not look again).
        this.#queue.unshift({ ...entry, command: { ...command, problems } });
      } else {
        host.refuseWhileReadOnly();
        w = this.#openAside();
        await beginWhenUnlocked(w);
        const result: AsideAggregate = await this.#inSlices<AsideAggregate>(
          command.aggregate === undefined
            ? writeThenStage(
              writeAccepted(w, host.liveView(), host.series, command, status),
              host.liveView(),
              command.key.id,
            )
            : writeAggregateAside(
              w,
              host.liveView(),
              host.series,
              command,
              status,
            ),
        );
        if ("problems" in result) {
          // Refused: nothing written; the next flush writes its history row.
          w.db.exec("ROLLBACK");
          const refused = { ...command, problems: result.problems };
          this.#queue.unshift({ ...entry, command: refused });
        } else {
          ({ written, staged, applied } = result);
          w.stmt.commit.run();
        }
      }
    } catch (error) {
      host.series.cache.clear();
      host.noteOutOfRoom(error);
      try {
        if (w?.db.isOpen && w.db.isTransaction) w.db.exec("ROLLBACK");
      } catch {
        // SQLite rolls back an unfinished transaction itself.
      }
      entry.reject(error instanceof PushError ? error : unavailable(error));
    }
    if (written !== undefined) {
      applyAccepted(host.liveView(), command, written, staged);
      applied?.(host.liveView());
      entry.resolve({ status });
    }
    this.#aside = undefined;
    if (this.#queue.length > 0 && host.db.isOpen) {
      this.#flushScheduled = true;
      setImmediate(() => this.flush({ waitForLock: false }));
    }
  }

  /**
   * Runs `steps` to their end, letting the event loop turn every
   * ASIDE_SLICE_MS; throws once the store closed meanwhile.
   */
  async #inSlices<T>(steps: Generator<void, T, undefined>): Promise<T> {
    let until = performance.now() + ASIDE_SLICE_MS;
    for (;;) {
      const step = steps.next();
      if (step.done === true) return step.value;
      if (performance.now() >= until) {
        // A timer: with setImmediate here no request was answered while
        // a million series were written (probes waited 0.6–1.5 s).
        await nextTurn();
        if (!this.#host.db.isOpen) throw new Error("the store was closed");
        until = performance.now() + ASIDE_SLICE_MS;
      }
    }
  }

  /** The second connection for large pushes, opened on first use. */
  #openAside(): Writer {
    const host = this.#host;
    const maxPageCount = host.maxPageCount() ?? MAX_PAGE_COUNT;
    if (this.#asideWriter?.db.isOpen) {
      this.#asideWriter.db.exec(`PRAGMA max_page_count = ${maxPageCount}`);
      return this.#asideWriter;
    }
    const db = new DatabaseSync(host.path);
    try {
      configure(db, host.sync, { integrityCheck: false, path: host.path });
      // Its COMMIT must not checkpoint on this thread either, once the
      // checkpointer does it (Store.startBackgroundCheckpoints).
      if (host.backgroundCheckpoints()) {
        db.exec("PRAGMA wal_autocheckpoint = 0");
      }
      db.exec(`PRAGMA max_page_count = ${maxPageCount}`);
      this.#asideWriter = newWriter(db, prepareStatements(db));
    } catch (error) {
      db.close();
      throw error;
    }
    return this.#asideWriter;
  }

  /**
   * Puts a batch that found the write lock taken (a `sqlite3` shell writing,
   * the checkpointer restarting the WAL) back at the head of the queue and
   * tries again shortly, instead of waiting on the thread that answers HTTP
   * (docs/operations.md, "Faults"). Past BUSY_TIMEOUT_MS it fails as a blocking wait
   * would have.
   */
  #retryWhenUnlocked(batch: QueueEntry[]): void {
    const now = performance.now();
    const first = batch[0] as QueueEntry;
    first.lockedSince ??= now;
    const waited = now - first.lockedSince;
    if (waited >= BUSY_TIMEOUT_MS) {
      const error = new Error("database is locked");
      for (const entry of batch) {
        if ("task" in entry) entry.cancel(unavailable(error));
        else entry.reject(unavailable(error));
      }
      return;
    }
    this.#queue = [...batch, ...this.#queue];
    this.#flushScheduled = true;
    const delay = Math.min(50, Math.max(1, waited / 4));
    this.#lockRetryTimer = setTimeout(
      () => this.flush({ waitForLock: false }),
      delay,
    );
  }

  /**
   * Runs `batch` in one transaction and answers each push, or (without
   * `savepoints`, when a push's statements fail) rolls it all back and
   * answers none: the caller runs it again with savepoints.
   */
  #commitBatch(
    batch: readonly QueuedPush[],
    options: { readonly savepoints: boolean; readonly wait: boolean },
  ): "done" | "retry" | "retry, view touched" | "locked" {
    const host = this.#host;
    const { stmt, db, main, series, seriesBound } = host;
    const savepoints = options.savepoints;
    try {
      host.refuseWhileReadOnly();
      if (options.wait) stmt.begin.run();
      else {
        stmt.dontWaitForLock.run();
        try {
          stmt.begin.run();
        } finally {
          stmt.waitForLock.run();
        }
      }
    } catch (error) {
      if (!options.wait && isBusy(error)) return "locked";
      for (const entry of batch) entry.reject(unavailable(error));
      return "done";
    }
    // Not replaced before the COMMIT: a batch reloads it only after.
    const view = host.liveView();
    /** Applied to the view, to be answered after the COMMIT. */
    const done: { entry: QueuedPush; outcome: PushOutcome }[] = [];
    /** Refused for the series limit, to be answered with the batch. */
    const overLimit: { entry: QueuedPush; error: Error }[] = [];
    // Set once the shared transaction is lost: every push of the batch fails.
    let failure: { error: unknown } | undefined;
    for (const entry of batch) {
      if (failure) {
        entry.reject(unavailable(failure.error));
        continue;
      }
      // Before any write: a push over the series limit changes nothing.
      // Answered with the batch: a batch run again checks it again.
      const full = capacityRefusal(view, entry.command, seriesBound);
      if (full) {
        overLimit.push({ entry, error: full });
        continue;
      }
      let result;
      try {
        if (savepoints) stmt.savepoint.run();
        result = pushInTransaction(main, view, series, entry.command);
        if (savepoints) stmt.release.run();
      } catch (error) {
        host.noteOutOfRoom(error);
        if (!savepoints) {
          rollbackQuietly(db, series);
          return done.length > 0 ? "retry, view touched" : "retry";
        }
        entry.reject(error instanceof PushError ? error : unavailable(error));
        try {
          // On a full disk or an I/O error SQLite may already have rolled
          // back the whole transaction, earlier pushes of the batch included.
          series.cache.clear();
          if (!db.isTransaction) throw error;
          db.exec("ROLLBACK TO push");
          db.exec("RELEASE push");
        } catch (lost) {
          failure = { error: lost };
        }
        continue;
      }
      // Later pushes of the batch must be checked against this one.
      result.apply();
      done.push({ entry, outcome: result.outcome });
    }
    if (!failure) {
      try {
        stmt.commit.run();
      } catch (error) {
        failure = { error };
      }
    }
    for (const o of overLimit) o.entry.reject(o.error);
    if (failure) {
      host.noteOutOfRoom(failure.error);
      rollbackQuietly(db, series);
      if (done.length > 0) host.reloadView();
      for (const d of done) d.entry.reject(unavailable(failure.error));
      return "done";
    }
    for (const d of done) d.entry.resolve(d.outcome);
    return "done";
  }
}

/**
 * Whether a large push's consistency check is left to
 * GroupCommit.#commitAside, which does it a step at a time: half a second
 * in one turn for 500k series against other groups' (docs/performance.md).
 */
function checkedAside(command: PushCommand): boolean {
  return command.checkConsistency && command.problems.length === 0;
}

/**
 * ROLLBACK if a transaction is open; a failing ROLLBACK changes nothing.
 * The row writers forget what they remembered: ids of rolled-back rows
 * must never be reused.
 */
export function rollbackQuietly(db: DatabaseSync, series: SeriesMemory): void {
  series.cache.clear();
  try {
    if (db.isTransaction) db.exec("ROLLBACK");
  } catch {
    // SQLite rolls back an unfinished transaction itself (at the latest
    // when the connection is next used or the WAL is next opened).
  }
}
