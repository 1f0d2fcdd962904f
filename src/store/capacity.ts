/**
 * The store's series limit (`--storage.max-series`, 507), checked in the
 * store's transaction against the view as earlier pushes of the same commit
 * left it, so that pushes queued together are counted exactly. A pure
 * function of the push and the view, with an estimate that spares counting
 * the whole view on every push.
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import { LimitError } from "../push/push_error.ts";
import type { ReadView } from "./view.ts";

/**
 * An estimate of the series in the store, so that the store limit does not
 * count the whole view on every push (a push costs what it carries:
 * docs/performance.md, Pushes). Only pushes add series, each what it was
 * checked for against the view the pushes before it left; deletions only make
 * the estimate high. It is recounted at least once a second, and always before
 * a push is refused.
 */
export class SeriesBound {
  #view: ReadView | undefined;
  #bound = 0;
  #countedAt = 0;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The estimate for `view` (recounted if stale or the view was replaced). */
  get(view: ReadView): number {
    if (view !== this.#view || this.#now() - this.#countedAt > 1000) {
      this.recount(view);
    }
    return this.#bound;
  }

  recount(view: ReadView): number {
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
 * The LimitError (507) of a push that would take the store past
 * `maxSeries`; undefined when it fits. A push that does not add series
 * always fits, so a store over a lowered limit can still be replaced and
 * shrunk.
 */
export function storeCapacityRefusal(
  view: ReadView,
  push: {
    readonly key: GroupingKey;
    readonly families: readonly MetricFamily[];
    readonly replaceAll: boolean;
  },
  maxSeries: number,
  bound: SeriesBound = new SeriesBound(),
): LimitError | undefined {
  if (maxSeries <= 0) return undefined;
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
  if (added <= removed) return undefined;
  const delta = added - removed;
  if (bound.get(view) + delta <= maxSeries) {
    bound.add(delta);
    return undefined;
  }
  const current = bound.recount(view);
  const after = current + delta;
  if (after <= maxSeries) {
    bound.add(delta);
    return undefined;
  }
  return new LimitError(
    "store_full",
    "store_full",
    `the store is full: it holds ${current} series and this push would bring it to ${after}, over the limit of ${maxSeries} (--storage.max-series); delete groups or raise the limit`,
  );
}
