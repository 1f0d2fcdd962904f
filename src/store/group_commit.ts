/**
 * The shapes and helpers of the store's group commit: the queue of pushes
 * and tasks waiting for one shared transaction, the thresholds of a push
 * written aside on the second connection, and taking the write lock there
 * without blocking the thread (docs/architecture.md).
 * @module
 */

import { isBusy } from "./errors.ts";
import { BUSY_TIMEOUT_MS } from "./open_database.ts";
import type { Writer } from "./statements.ts";
import type { PushCommand, PushOutcome } from "./store_types.ts";

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
 * Sample rows from which a push is written aside (the store's #commitAside):
 * written inline, 10k rows hold the HTTP thread for about 60 ms.
 */
export const ASIDE_MIN_ROWS = 10_000;

/** How long a slice of a push written aside may run before a turn. */
export const ASIDE_SLICE_MS = 10;

/**
 * BEGIN IMMEDIATE on `w` without waiting on this thread for a lock held
 * elsewhere (a `sqlite3` shell, the checkpointer): tries again shortly, up
 * to BUSY_TIMEOUT_MS, as the store's own batches do (#retryWhenUnlocked).
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

/** Store.#flushQueue() waiting for the write lock on this thread if need be. */
export const WAIT = { waitForLock: true } as const;
