/**
 * The deadline for reading a push's body (`--web.read-timeout`, 408). The
 * limits on what one push carries are in push/limits.ts, and the store's
 * series limit (507) in store/capacity.ts, checked in the store's
 * transaction (both re-exported here); the body size is limited where
 * bodies are read (`exposition/decompress.ts`, 413). Nothing here touches
 * the database or logs.
 * @module
 */

import type { ReadDeadline } from "./read_deadline.ts";
import { LimitError, type PushRefusal } from "../push/push_error.ts";

export { LimitError, type PushRefusal };
export { SeriesBound } from "../store/capacity.ts";
export {
  checkLabelLengths,
  checkSeriesPerPush,
  type PushLimits,
  tokenLimitsOf,
  tokenTooLong,
  utf8Length,
} from "../push/limits.ts";

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
