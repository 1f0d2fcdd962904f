/**
 * Background upkeep: expires groups past their TTL (`--group.ttl`, the
 * Pushvault-TTL header) and removes history older than `--history.retention`
 * in small batches, yielding between batches so that no push waits for more
 * than one short transaction. Time comes in through `now`; tests call
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
  readonly onExpired?: (count: number) => void;
  readonly onPruned?: (rows: number) => void;
}

/** Rows per kind and transaction; a batch takes a few milliseconds. */
const BATCH = 500;

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
    // A file that cannot be written (README "Disk full") would fail every
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
      const cutoff = nowSeconds - this.#o.retentionSeconds;
      for (let i = 0; i < 10_000 && !this.#stopped; i++) {
        const rows = store.pruneHistory(cutoff, BATCH);
        if (rows === 0) break;
        this.#o.onPruned?.(rows);
        await new Promise((resolve) => setTimeout(resolve, 0)); // let pushes in
      }
    } catch (error) {
      logger.warn("maintenance failed; will retry", {
        err: errorMessage(error),
      });
    }
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
