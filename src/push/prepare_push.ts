/**
 * A push body made ready for the store, in pure steps: decoded (decode.ts),
 * checked against the per-push limits (limits.ts), sanitized (validate.ts,
 * docs/compatibility.md, Validation), and, when asked, each family prepared
 * for writing (prepare.ts). Synchronous: the HTTP handler runs it inline,
 * the push worker (push/push_worker.ts) runs the very same steps for large
 * bodies on the other core.
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import { decodeBody } from "./decode.ts";
import {
  checkLabelLengths,
  checkSeriesPerPush,
  type PushLimits,
  tokenLimitsOf,
} from "./limits.ts";
import { type PreparedFamily, prepareKeyedFamily } from "./prepare.ts";
import { seriesKeysOf } from "./series_key.ts";
import type { GroupingKey } from "./grouping_key.ts";
import { sanitizePush } from "./validate.ts";

export interface PushBody {
  readonly body: Uint8Array;
  readonly contentType: string | null;
  readonly key: GroupingKey;
  readonly utf8Names: boolean;
  readonly limits: PushLimits;
}

/**
 * One push, ready for the store: it carries everything the store's checks
 * and writes need, its series keys included, and nothing refers back to
 * side tables.
 */
export interface ReadyPush {
  /** Sanitized families (placeholders without metrics from the worker). */
  readonly families: readonly MetricFamily[];
  /** Problems found by validation; any of them refuses the push. */
  readonly problems: readonly string[];
  readonly seriesCount: number;
  /**
   * The series keys of each family, as `families`; absent when `problems`
   * refuse the push (nothing is checked or written then).
   */
  readonly keys?: readonly (readonly string[])[];
  /** Per family: whether its keys are known all different (the worker). */
  readonly distinct?: readonly boolean[];
  /** `families` prepared for writing, when asked for. */
  readonly prepared?: readonly PreparedFamily[];
}

/** Throws what the handler answers with (an error with a kind). */
export function preparePush(push: PushBody, prepare: boolean): ReadyPush {
  const families = decodeBody(push.body, push.contentType, {
    utf8Names: push.utf8Names,
    limits: tokenLimitsOf(push.limits),
  });
  checkSeriesPerPush(families, push.limits);
  const sanitized = sanitizePush(families, push.key, {
    utf8Names: push.utf8Names,
  });
  checkLabelLengths(sanitized.families, push.key, push.limits);
  const { problems, seriesCount } = sanitized;
  if (problems.length > 0) {
    return { families: sanitized.families, problems, seriesCount };
  }
  const keys = sanitized.families.map(seriesKeysOf);
  return {
    families: sanitized.families,
    problems,
    seriesCount,
    keys,
    ...(prepare
      ? {
        prepared: sanitized.families.map((family, i) =>
          prepareKeyedFamily(family, keys[i] as readonly string[])
        ),
      }
      : {}),
  };
}
