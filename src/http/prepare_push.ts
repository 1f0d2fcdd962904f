/**
 * A push body made ready for the store: decoded (text, OpenMetrics or
 * protobuf), checked against the per-push limits, sanitized (docs/compatibility.md, validation),
 * and, when asked, each family prepared for writing (store/prepare.ts).
 * Pure and synchronous: the HTTP handler runs it inline, the push worker
 * (push_worker.ts) runs it for large bodies on the other core.
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import { requestFormat } from "../exposition/negotiate.ts";
import { parseOpenMetrics } from "../exposition/openmetrics_parse.ts";
import { decodeDelimited } from "../exposition/protobuf.ts";
import { parseText } from "../exposition/text_parse.ts";
import { TokenTooLongError } from "../exposition/token_limits.ts";
import type { TokenLimits } from "../exposition/token_limits.ts";
import {
  checkLabelLengths,
  checkSeriesPerPush,
  tokenLimitsOf,
  tokenTooLong,
} from "./limits.ts";
import type { PushLimits } from "./limits.ts";
import { type PreparedFamily, prepareFamily } from "../store/prepare.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import { sanitizePush } from "../push/validate.ts";

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

/** Throws what the handler answers with (PushError, LimitError, …). */
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

/** Throws LimitError for a token over its limit, as the later checks would. */
function decodeBody(
  body: Uint8Array,
  contentType: string | null,
  options: { readonly utf8Names: boolean; readonly limits: TokenLimits },
): MetricFamily[] {
  try {
    switch (requestFormat(contentType)) {
      case "protobuf":
        return decodeDelimited(body, options);
      case "openmetrics":
        return parseOpenMetrics(body, options);
      case "text":
        return parseText(body, options);
    }
  } catch (error) {
    throw error instanceof TokenTooLongError ? tokenTooLong(error) : error;
  }
}
