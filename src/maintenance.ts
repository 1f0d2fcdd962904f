/**
 * Background upkeep: expires groups past their TTL (`--group.ttl`, the
 * Pushvault-TTL header), removes history older than `--history.retention`,
 * and then the oldest history while the database uses more than
 * `--history.max-size` or a write failed for lack of room (docs/operations.md, "Disk
 * full"). Always in small batches, yielding between batches so that no push
 * waits for more than one short transaction; never the current state, nor
 * a live group's last push-log row. Time comes in through `now`; tests call
 * `runOnce()` with a fake clock instead of waiting.
 * @module
 */

import type { Logger } from "./log.ts";
import type { Store } from "./store/store.ts";
import { errorMessage } from "./error_message.ts";

export interface MaintenanceOptions {
  readonly store: Store;
  readonly logger: Logger;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** Seconds of history to keep; 0 keeps only the current state. */
  readonly retentionSeconds: number;
  /** Default TTL of a group in seconds; 0 = groups never expire. */
  readonly defaultTtlSeconds: number;
  /**
   * Bytes of database pages the history may fill (`--history.max-size`);
   * 0 = only the retention period bounds it.
   */
  readonly maxSizeBytes?: number;
  readonly onExpired?: (count: number) => void;
  /** Told after each run that removed rows: how many and the room freed. */
  readonly onPruned?: (pruned: PruneResult) => void;
}

/** What one run of the pruner removed, and why. */
export interface PruneResult {
  readonly reason: "retention" | "max_size" | "out_of_room";
  readonly rows: number;
  /** Bytes of pages freed in the file (reused by later writes). */
  readonly freedBytes: number;
}

/** Most rows per kind and transaction. */
const BATCH = 500;

/**
 * Rows a transaction of the pruner aims at, a few milliseconds' work: the
 * number of families per batch follows, since a family row may carry one
 * sample or a million.
 */
const ROWS_PER_BATCH = 5000;

/**
 * Past --history.max-size, history is pruned down to this share of it, so
 * that the pruner does not run again at every growth of a page.
 */
const LOW_WATER = 0.9;

/**
 * After a write failed for lack of room: at least this much is freed (or
 * a twentieth of what is in use, if less), enough for many pushes.
 */
const RECLAIM_BYTES = 64 * 1024 * 1024;

export class Maintenance implements Disposable {
  readonly #o: MaintenanceOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: MaintenanceOptions) {
    this.#o = options;
  }

  /** Runs every `intervalMs` until disposed; the first run starts at once. */
  start(intervalMs: number): void {
    if (this.#stopped) return;
    const tick = () => {
      if (this.#stopped) return;
      void this.runOnce().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, intervalMs);
      });
    };
    this.#timer = setTimeout(tick, 0);
  }

  /** Expires due groups, then prunes old history. Never throws. */
  runOnce(): Promise<void> {
    this.#running ??= this.#run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #run(): Promise<void> {
    const { store, logger } = this.#o;
    const nowSeconds = this.#o.now() / 1000;
    // A file that cannot be written (docs/operations.md, "Disk full") would fail every
    // run; expiry and retention wait until the store can write again.
    if (!store.writable) return;
    try {
      const due = dueGroups(store, nowSeconds, this.#o.defaultTtlSeconds);
      if (due.length > 0) {
        const gone = store.deleteGroups(due, "EXPIRE", nowSeconds, {
          path: "(ttl)",
          contentType: null,
          bodyBytes: 0,
          remoteAddr: null,
          userAgent: "pushvault-ttl",
        });
        for (const id of gone) logger.info("group expired", { group: id });
        this.#o.onExpired?.(gone.length);
      }
      await this.#prune("retention", nowSeconds - this.#o.retentionSeconds, 0);
      // Then, oldest first, whatever its age, down to a size.
      const outOfRoom = store.takeOutOfRoom();
      const max = this.#o.maxSizeBytes ?? 0;
      const used = usedBytes(store);
      let target = max > 0 && used > max ? max * LOW_WATER : Infinity;
      if (outOfRoom) {
        target = Math.min(target, used - Math.min(RECLAIM_BYTES, used / 20));
      }
      if (target < used) {
        await this.#prune(
          outOfRoom ? "out_of_room" : "max_size",
          Infinity,
          target,
        );
      }
    } catch (error) {
      logger.warn("maintenance failed; will retry", {
        err: errorMessage(error),
      });
    }
  }

  /**
   * Removes history replaced before `cutoff` (Unix seconds), oldest first,
   * a batch per transaction, until none is left or the pages in use are
   * at most `targetBytes`; logs the run once and reports it.
   */
  async #prune(
    reason: PruneResult["reason"],
    cutoff: number,
    targetBytes: number,
  ): Promise<void> {
    const { store, logger } = this.#o;
    const start = performance.now();
    const before = usedBytes(store);
    let rows = 0;
    let batch = 8;
    for (let i = 0; i < 100_000 && !this.#stopped; i++) {
      if (targetBytes > 0 && usedBytes(store) <= targetBytes) break;
      const n = store.pruneHistory(cutoff, batch);
      if (n === 0) break;
      rows += n;
      batch = Math.max(
        1,
        Math.min(BATCH, Math.round((batch * ROWS_PER_BATCH) / n)),
      );
      await new Promise((resolve) => setTimeout(resolve, 0)); // let pushes in
    }
    if (rows === 0) return;
    const after = store.diskUsage();
    const freedBytes = Math.max(
      0,
      before - (after.fileBytes - after.freeBytes),
    );
    logger.info("history pruned", {
      reason,
      rows,
      freed_bytes: freedBytes,
      used_bytes: after.fileBytes - after.freeBytes,
      file_bytes: after.fileBytes,
      ms: Math.round(performance.now() - start),
    });
    this.#o.onPruned?.({ reason, rows, freedBytes });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#running;
  }

  [Symbol.dispose](): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}

/** Group ids whose last successful push (or creation) is older than their TTL. */
export function dueGroups(
  store: Store,
  nowSeconds: number,
  defaultTtl: number,
): string[] {
  const due: string[] = [];
  for (const group of store.view.groups()) {
    const ttl = group.ttl ?? defaultTtl;
    if (ttl <= 0) continue;
    const last = Math.max(group.pushTime, group.createdAt);
    if (nowSeconds - last > ttl) due.push(group.id);
  }
  return due;
}

/** Bytes of the database's pages in use: its size less its free pages. */
function usedBytes(store: Store): number {
  const usage = store.diskUsage();
  return usage.fileBytes - usage.freeBytes;
}
