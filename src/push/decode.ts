/**
 * A push body → metric families, in the format its Content-Type names
 * (text, OpenMetrics or delimited protobuf), with the per-push token limits
 * applied while parsing. Pure and synchronous.
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import { requestFormat } from "../exposition/negotiate.ts";
import { parseOpenMetrics } from "../exposition/openmetrics_parse.ts";
import { decodeDelimited } from "../exposition/protobuf_decode.ts";
import { parseText } from "../exposition/text_parse.ts";
import { TokenTooLongError } from "../exposition/token_limits.ts";
import type { TokenLimits } from "../exposition/token_limits.ts";
import { tokenTooLong } from "./limits.ts";

/**
 * Throws the body's ExpositionError (kind "invalid"), or LimitError for a
 * token over its limit, as the later label checks would.
 */
export function decodeBody(
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
