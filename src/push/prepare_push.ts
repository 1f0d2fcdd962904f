/**
 * A push body made ready for the store, in pure steps: decoded (decode.ts),
 * checked against the per-push limits (limits.ts), sanitized (validate.ts,
 * docs/compatibility.md, validation), and, when asked, each family prepared
 * for writing (prepare.ts). Synchronous: the HTTP handler runs it inline,
 * the push worker (http/push_worker.ts) runs the very same steps for large
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
import { type PreparedFamily, prepareFamily } from "./prepare.ts";
import type { GroupingKey } from "./grouping_key.ts";
import { sanitizePush } from "./validate.ts";

export interface PushBody {
  readonly body: Uint8Array;
  readonly contentType: string | null;
  readonly key: GroupingKey;
  readonly utf8Names: boolean;
  readonly limits: PushLimits;
}

export interface ReadyPush {
  /** Sanitized families. */
  readonly families: readonly MetricFamily[];
  readonly problems: readonly string[];
  readonly seriesCount: number;
  /** `families` prepared for writing, when asked for. */
  readonly prepared?: PreparedFamily[];
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
  return {
    families: sanitized.families,
    problems: sanitized.problems,
    seriesCount: sanitized.seriesCount,
    ...(prepare && sanitized.problems.length === 0
      ? { prepared: sanitized.families.map(prepareFamily) }
      : {}),
  };
}
