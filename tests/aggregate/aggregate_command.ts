/**
 * Aggregating push commands for the store's tests, built from a text body
 * as the push handler hands them to the Store.
 * @module
 */

import { parseText } from "../../src/exposition/text_parse.ts";
import type { GaugeMode } from "../../src/push/aggregate.ts";
import { parseGroupingKey } from "../../src/push/grouping_key.ts";
import { seriesKeysOf } from "../../src/push/series_key.ts";
import { sanitizePush } from "../../src/push/validate.ts";
import type { PushCommand } from "../../src/store/store.ts";

const encoder = new TextEncoder();

export interface AggregateCommandOptions {
  readonly method?: "PUT" | "POST" | undefined;
  /** How gauges combine; false: a replacing push of the same body. */
  readonly gauge?: GaugeMode | false | undefined;
  /** Below `/metrics/`; `job/agg` when unset. */
  readonly path?: string | undefined;
  readonly time: number;
  /** The series keys in the command, as the push handler gives them. */
  readonly keys?: boolean;
}

/** A push of `body` to `/aggregate/metrics/<path>`. */
export function aggregateCommand(
  body: string,
  options: AggregateCommandOptions,
): PushCommand {
  const path = options.path ?? "job/agg";
  const key = parseGroupingKey(path);
  if (!key) throw new Error(path);
  const sanitized = sanitizePush(parseText(encoder.encode(body)), key);
  const gauge = options.gauge ?? "last";
  return {
    method: options.method ?? "POST",
    key,
    families: sanitized.families,
    problems: sanitized.problems,
    seriesCount: sanitized.seriesCount,
    ...(options.keys === true && sanitized.problems.length === 0
      ? { keys: sanitized.families.map(seriesKeysOf) }
      : {}),
    checkConsistency: true,
    time: options.time,
    request: {
      path: `/aggregate/metrics/${path}`,
      contentType: null,
      bodyBytes: body.length,
      remoteAddr: "127.0.0.1",
      userAgent: "test",
    },
    ...(gauge === false ? {} : { aggregate: { gauge } }),
  };
}
