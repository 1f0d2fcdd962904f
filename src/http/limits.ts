/**
 * Limits on what one push may cost, each with a clear answer (README
 * "Limits"): series per push (413), label name and value length in UTF-8
 * bytes (400), series in the whole store (507), and a deadline for reading
 * the body (408). The body size itself is limited where bodies are read
 * (`exposition/decompress.ts`, 413).
 *
 * The checks are pure functions of the push and the view; the deadline wraps
 * the request stream. Nothing here touches the database or logs.
 * @module
 */

import type { ReadDeadline } from "../exposition/decompress.ts";
import type { MetricFamily } from "../exposition/model.ts";
import {
  type TokenLimits,
  type TokenTooLongError,
  utf8Length,
} from "../exposition/token_limits.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import type { View } from "../store/view.ts";
import { LimitError, type PushRefusal } from "../push/push_error.ts";

export { LimitError, type PushRefusal, utf8Length };

export interface PushLimits {
  readonly maxSeriesPerPush: number;
  /** UTF-8 bytes. */
  readonly maxLabelNameLength: number;
  /** UTF-8 bytes. */
  readonly maxLabelValueLength: number;
  /** Series in the store, metadata series included; 0 = no limit. */
  readonly maxSeries: number;
  /** Milliseconds to receive a push body; 0 = no limit. */
  readonly readTimeoutMs: number;
}

/** Throws LimitError if the decoded push carries more series than allowed. */
export function checkSeriesPerPush(
  families: readonly MetricFamily[],
  limits: PushLimits,
): void {
  let series = 0;
  for (const family of families) series += family.metrics.length;
  if (series > limits.maxSeriesPerPush) {
    throw new LimitError(
      "too_large",
      "too_many_series",
      `push carries ${series} series, more than the limit of ${limits.maxSeriesPerPush} (--push.max-series-per-push); split it into several groups`,
    );
  }
}

/**
 * Throws LimitError for the first label name or value (grouping key
 * included) longer than allowed, naming the metric and label.
 */
export function checkLabelLengths(
  families: readonly MetricFamily[],
  key: GroupingKey,
  limits: PushLimits,
): void {
  // A UTF-16 unit is at most 3 UTF-8 bytes: most strings need no count.
  const nameFast = limits.maxLabelNameLength / 3;
  const valueFast = limits.maxLabelValueLength / 3;
  // `describe` names the metric only when a label is refused: the common
  // case builds no string per label.
  const check = (describe: () => string, name: string, value: string) => {
    if (
      name.length > nameFast && utf8Length(name) > limits.maxLabelNameLength
    ) {
      throw labelNameTooLong(
        name,
        describe(),
        utf8Length(name),
        limits.maxLabelNameLength,
      );
    }
    if (
      value.length > valueFast &&
      utf8Length(value) > limits.maxLabelValueLength
    ) {
      throw labelValueTooLong(
        name,
        describe(),
        utf8Length(value),
        limits.maxLabelValueLength,
      );
    }
  };
  const groupingKey = () => "the grouping key";
  for (const label of key.labels) {
    check(groupingKey, label.name, label.value);
  }
  for (const family of families) {
    const metric = () => `metric ${JSON.stringify(truncate(family.name))}`;
    for (const m of family.metrics) {
      for (const label of m.labels) check(metric, label.name, label.value);
    }
  }
}

function labelNameTooLong(
  name: string,
  where: string,
  bytes: number,
  limit: number,
): LimitError {
  return new LimitError(
    "invalid",
    "label_name_too_long",
    `label name ${
      JSON.stringify(truncate(name))
    } of ${where} is ${bytes} bytes long, more than the limit of ${limit} (--push.max-label-name-length)`,
  );
}

function labelValueTooLong(
  name: string,
  where: string,
  bytes: number,
  limit: number,
): LimitError {
  return new LimitError(
    "invalid",
    "label_value_too_long",
    `value of label ${
      JSON.stringify(truncate(name))
    } of ${where} is ${bytes} bytes long, more than the limit of ${limit} (--push.max-label-value-length)`,
  );
}

/** The limits the parsers apply to each token as they read it. */
export function tokenLimitsOf(limits: PushLimits): TokenLimits {
  return {
    maxLabelNameBytes: limits.maxLabelNameLength,
    maxLabelValueBytes: limits.maxLabelValueLength,
  };
}

/**
 * The answer to a token a parser refused for its length: the same as
 * {@link checkLabelLengths} gives for a label (the parser finds it first),
 * and for a metric name, which is limited as a label value (README "Limits").
 */
export function tokenTooLong(error: TokenTooLongError): LimitError {
  const metric = `metric ${JSON.stringify(truncate(error.metric))}`;
  if (error.label === undefined) {
    return new LimitError(
      "invalid",
      "label_value_too_long",
      `metric name ${
        JSON.stringify(truncate(error.metric))
      } is ${error.bytes} bytes long, more than the limit of ${error.limit} (--push.max-label-value-length)`,
    );
  }
  return error.reason === "label_name_too_long"
    ? labelNameTooLong(error.label, metric, error.bytes, error.limit)
    : labelValueTooLong(error.label, metric, error.bytes, error.limit);
}

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

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
