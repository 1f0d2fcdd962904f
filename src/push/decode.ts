/**
 * A push body → metric families, in the format its Content-Type names
 * (text, OpenMetrics or delimited protobuf), with the per-push token limits
 * applied while parsing. Synchronous: protobuf needs its decoder loaded
 * first.
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import { requestFormat } from "../exposition/negotiate.ts";
import { parseText, type ScalarSlices } from "../exposition/text_parse.ts";
import { TokenTooLongError } from "../exposition/token_limits.ts";
import type { TokenLimits } from "../exposition/token_limits.ts";
import { tokenTooLong } from "./limits.ts";

/**
 * The protobuf decoder (protobufjs, some 15 MB of an idle server): loaded
 * by the first protobuf push ({@link loadProtobufDecoder}), and at once on
 * a worker thread (the push worker decodes large pushes of any format).
 */
let protobuf: typeof import("../exposition/protobuf_decode.ts") | undefined;

/**
 * The OpenMetrics parser, loaded by the first OpenMetrics push
 * ({@link loadDecoderFor}): most pushes are text, and an idle gateway is
 * smaller without it (docs/performance.md, "Fixed costs").
 */
let openMetrics:
  | typeof import("../exposition/openmetrics_parse.ts")
  | undefined;

/** Loads the protobuf decoder; {@link decodeBody} needs it for protobuf. */
export async function loadProtobufDecoder(): Promise<void> {
  protobuf ??= await import("../exposition/protobuf_decode.ts");
}

/** Loads what {@link decodeBody} needs for a body of this Content-Type. */
export async function loadDecoderFor(
  contentType: string | null,
): Promise<void> {
  switch (requestFormat(contentType)) {
    case "protobuf":
      return await loadProtobufDecoder();
    case "openmetrics":
      return await loadOpenMetricsParser();
    case "text":
      return;
  }
}

/** Loads the OpenMetrics parser; {@link decodeBody} needs it for OpenMetrics. */
async function loadOpenMetricsParser(): Promise<void> {
  openMetrics ??= await import("../exposition/openmetrics_parse.ts");
}

if ("WorkerGlobalScope" in globalThis) {
  await loadProtobufDecoder();
  await loadOpenMetricsParser();
}

/** Whether a body of this Content-Type needs {@link loadDecoderFor} first. */
export function needsDecoderLoaded(contentType: string | null): boolean {
  switch (requestFormat(contentType)) {
    case "protobuf":
      return protobuf === undefined;
    case "openmetrics":
      return openMetrics === undefined;
    case "text":
      return false;
  }
}

/**
 * Throws the body's ExpositionError (kind "invalid"), or LimitError for a
 * token over its limit, as the later label checks would. With `slices`, a
 * text body's scalar families are handed over a slice of metrics at a time
 * as they are parsed (text_parse.ts); the other formats are decoded whole.
 */
export function decodeBody(
  body: Uint8Array,
  contentType: string | null,
  options: {
    readonly utf8Names: boolean;
    readonly limits: TokenLimits;
    readonly slices?: ScalarSlices;
  },
): MetricFamily[] {
  try {
    switch (requestFormat(contentType)) {
      case "protobuf":
        if (protobuf === undefined) {
          throw new Error("the protobuf decoder is not loaded");
        }
        return protobuf.decodeDelimited(body, options);
      case "openmetrics":
        if (openMetrics === undefined) {
          throw new Error("the OpenMetrics parser is not loaded");
        }
        return openMetrics.parseOpenMetrics(body, options);
      case "text":
        return parseText(body, options);
    }
  } catch (error) {
    throw error instanceof TokenTooLongError ? tokenTooLong(error) : error;
  }
}
