/**
 * The limits of a push that are not about what it carries: series in the
 * whole store (507) and a deadline for reading the body (408). The limits
 * on what one push carries are in push/limits.ts (re-exported here); the
 * body size is limited where bodies are read (`exposition/decompress.ts`,
 * 413).
 *
 * The store check is a pure function of the push and the view; the deadline
 * wraps the request stream. Nothing here touches the database or logs.
 * @module
 */

import type { ReadDeadline } from "../exposition/decompress.ts";
import type { MetricFamily } from "../exposition/model.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import type { View } from "../store/view.ts";
import { LimitError, type PushRefusal } from "../push/push_error.ts";

export { LimitError, type PushRefusal };
export {
  checkLabelLengths,
  checkSeriesPerPush,
  type PushLimits,
  tokenLimitsOf,
  tokenTooLong,
  utf8Length,
} from "../push/limits.ts";

/**
 * An estimate of the series in the store, so that the store limit does not
 * count the whole view on every push (docs/performance.md: a push costs what it
 * carries). Only pushes add series, each about what it was checked for;
 * deletions only make the estimate high. Concurrent pushes to one group can
 * make it low by their own size, so it is recounted at least once a second,
 * and always before a push is refused.
 */
export class SeriesBound {
  #view: View | undefined;
  #bound = 0;
  #countedAt = 0;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The estimate for `view` (recounted if stale or the view was replaced). */
  get(view: View): number {
    if (view !== this.#view || this.#now() - this.#countedAt > 1000) {
      this.recount(view);
    }
    return this.#bound;
  }

  recount(view: View): number {
    this.#view = view;
    this.#bound = view.seriesCount;
    this.#countedAt = this.#now();
    return this.#bound;
  }

  add(delta: number): void {
    this.#bound += delta;
  }
}

/**
 * Throws LimitError (507) if applying this push would take the store past
 * `maxSeries`. A push that does not add series always passes, so a store
 * over a lowered limit can still be replaced and shrunk.
 */
export function checkStoreCapacity(
  view: View,
  push: {
    readonly key: GroupingKey;
    readonly families: readonly MetricFamily[];
    readonly replaceAll: boolean;
  },
  maxSeries: number,
  bound: SeriesBound = new SeriesBound(),
): void {
  if (maxSeries <= 0) return;
  let added = 0;
  for (const family of push.families) added += family.metrics.length;
  const group = view.group(push.key.id);
  let removed = 0;
  if (!group) {
    added += 2; // push_time_seconds and push_failure_time_seconds
  } else if (push.replaceAll) {
    for (const stored of group.families.values()) {
      removed += stored.keys.length;
    }
  } else {
    for (const family of push.families) {
      removed += group.families.get(family.name)?.keys.length ?? 0;
    }
  }
  if (added <= removed) return;
  const delta = added - removed;
  if (bound.get(view) + delta <= maxSeries) {
    bound.add(delta);
    return;
  }
  const current = bound.recount(view);
  const after = current + delta;
  if (after <= maxSeries) {
    bound.add(delta);
  } else {
    throw new LimitError(
      "store_full",
      "store_full",
      `the store is full: it holds ${current} series and this push would bring it to ${after}, over the limit of ${maxSeries} (--storage.max-series); delete groups or raise the limit`,
    );
  }
}

/** Thrown by a stream wrapped with {@link withReadDeadline}. */
export class ReadTimeoutError extends LimitError {
  override name = "ReadTimeoutError";
  constructor(ms: number) {
    super(
      "timeout",
      "read_timeout",
      `request body not received within ${ms / 1000}s (--web.read-timeout)`,
    );
  }
}

/**
 * The `--web.read-timeout` of every body being read, kept by one interval
 * timer instead of a timer per request (a timer and a wrapping stream per
 * request cost a push several %). A body that has not ended `ms` after
 * its watch began is cancelled with ReadTimeoutError within `ms / 8` more
 * (at most 250 ms more). The timer runs while bodies are being read and
 * stops at the first tick that finds none. `ms` 0 watches nothing.
 */
export class ReadDeadlines implements ReadDeadline {
  readonly #ms: number;
  readonly #tickMs: number;
  readonly #watched = new Set<{ at: number; expire: (e: Error) => void }>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(ms: number) {
    this.#ms = ms;
    this.#tickMs = Math.max(5, Math.min(250, Math.ceil(ms / 8)));
  }

  watch(expire: (error: Error) => void): () => void {
    if (this.#ms <= 0) return noop;
    const entry = { at: performance.now() + this.#ms, expire };
    this.#watched.add(entry);
    if (this.#timer === undefined) {
      const timer = setInterval(() => this.#sweep(), this.#tickMs);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
    return () => this.#watched.delete(entry);
  }

  #sweep(): void {
    if (this.#watched.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = performance.now();
    for (const entry of this.#watched) {
      if (entry.at > now) continue;
      this.#watched.delete(entry);
      entry.expire(new ReadTimeoutError(this.#ms));
    }
  }

  /** Stops the timer (at shutdown); later watches start it again. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function noop(): void {}
