/**
 * GET on the telemetry path: the merged exposition of every group plus the
 * gateway's own families, in text 0.0.4 or delimited protobuf (spec §5.4),
 * gzip-compressed when the client accepts it (spec §5.5).
 * @module
 */

import {
  acceptsGzip,
  PROTOBUF_DELIMITED_CONTENT_TYPE,
  responseFormat,
  TEXT_CONTENT_TYPE,
} from "../exposition/negotiate.ts";
import { encodeDelimited } from "../exposition/protobuf.ts";
import type { Store } from "../store/store.ts";
import type { SelfMetrics } from "./self_metrics.ts";

export interface ScrapeDeps {
  readonly store: Store;
  readonly metrics: SelfMetrics;
}

export function handleScrape(request: Request, deps: ScrapeDeps): Response {
  const view = deps.store.view;
  const own = deps.metrics.families({
    groups: view.groupCount,
    series: view.seriesCount,
    inconsistentSeries: view.counters.inconsistentSeries,
  });
  const format = responseFormat(request.headers.get("accept"));
  // The protobuf text encodings are debugging aids nobody scrapes with; they
  // get the text format (and say so in Content-Type).
  const parts: Uint8Array<ArrayBuffer>[] = format === "protobuf-delimited"
    ? [
      encodeDelimited(deps.store.mergedFamilies(own)) as Uint8Array<
        ArrayBuffer
      >,
    ]
    : view.renderParts(own);
  const headers = new Headers({
    "Content-Type": format === "protobuf-delimited"
      ? PROTOBUF_DELIMITED_CONTENT_TYPE
      : TEXT_CONTENT_TYPE,
  });
  const gzip = acceptsGzip(request.headers.get("accept-encoding"));
  if (gzip) headers.set("Content-Encoding", "gzip");
  let length = 0;
  for (const part of parts) length += part.length;
  if (length <= STREAM_ABOVE && !gzip) {
    return new Response(concat(parts, length), { headers });
  }
  const stream = streamParts(parts);
  return new Response(
    gzip ? stream.pipeThrough(new CompressionStream("gzip")) : stream,
    { headers },
  );
}

/** Bodies longer than this (bytes) are streamed in chunks. */
const STREAM_ABOVE = 256 * 1024;
/** Bytes per streamed chunk. */
const CHUNK = 64 * 1024;

function concat(
  parts: readonly Uint8Array<ArrayBuffer>[],
  length: number,
): Uint8Array<ArrayBuffer> {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  const body = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.length;
  }
  return body;
}

/**
 * The parts as chunks of at most {@link CHUNK} bytes, views into the parts
 * themselves (the view's cached family texts), handed out as the client
 * reads: a big scrape is never copied into one buffer (issue 7: memory
 * stays bounded). The parts never change, so the body is the view as it was
 * when the scrape began.
 */
function streamParts(
  parts: readonly Uint8Array<ArrayBuffer>[],
): ReadableStream<Uint8Array<ArrayBuffer>> {
  let part = 0;
  let offset = 0;
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      while (part < parts.length) {
        const bytes = parts[part] as Uint8Array<ArrayBuffer>;
        if (offset >= bytes.length) {
          part++;
          offset = 0;
          continue;
        }
        const end = Math.min(bytes.length, offset + CHUNK);
        controller.enqueue(bytes.subarray(offset, end));
        offset = end;
        return;
      }
      controller.close();
    },
  }, { highWaterMark: 0 });
}
