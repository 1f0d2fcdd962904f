/**
 * The store-level benchmarks (store_push_bench.ts, history_size.ts,
 * series_history.ts) push text bodies straight into the Store, without
 * HTTP: this turns one into the PushCommand the push handler would build.
 * @module
 */

import { parseText } from "../../src/exposition/text_parse.ts";
import { parseGroupingKey } from "../../src/push/grouping_key.ts";
import { sanitizePush } from "../../src/push/validate.ts";
import type { PushCommand } from "../../src/store/store.ts";

const encoder = new TextEncoder();

/** A PUT of the text `body` to `path` (`/metrics/job/…`) at `time`. */
export function textPushCommand(
  path: string,
  body: string,
  time: number,
  userAgent: string,
): PushCommand {
  const key = parseGroupingKey(path.slice("/metrics/".length));
  if (!key) throw new Error(`not a push path: ${path}`);
  const sanitized = sanitizePush(parseText(encoder.encode(body)), key);
  return {
    method: "PUT",
    key,
    families: sanitized.families,
    problems: sanitized.problems,
    seriesCount: sanitized.seriesCount,
    checkConsistency: true,
    time,
    request: {
      path,
      contentType: "text/plain; version=0.0.4",
      bodyBytes: body.length,
      remoteAddr: "127.0.0.1",
      userAgent,
    },
  };
}
