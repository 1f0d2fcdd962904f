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
  const body: string[] | Uint8Array<ArrayBuffer> =
    format === "protobuf-delimited"
      ? encodeDelimited(
        deps.store.mergedFamilies(own),
      ) as Uint8Array<ArrayBuffer>
      : view.renderParts(own);
  const headers = new Headers({
    "Content-Type": format === "protobuf-delimited"
      ? PROTOBUF_DELIMITED_CONTENT_TYPE
      : TEXT_CONTENT_TYPE,
  });
  const gzip = acceptsGzip(request.headers.get("accept-encoding"));
  if (gzip) headers.set("Content-Encoding", "gzip");
  let stream: ReadableStream<Uint8Array<ArrayBuffer>>;
  if (Array.isArray(body)) {
    let length = 0;
    for (const part of body) length += part.length;
    if (length <= STREAM_ABOVE && !gzip) {
      return new Response(body.join(""), { headers });
    }
    stream = streamText(body);
  } else {
    if (!gzip) return new Response(body, { headers });
    stream = new Blob([body]).stream();
  }
  return new Response(
    gzip ? stream.pipeThrough(new CompressionStream("gzip")) : stream,
    { headers },
  );
}

/** Text bodies longer than this (UTF-16 units) are streamed in chunks. */
const STREAM_ABOVE = 256 * 1024;
/** UTF-16 units per streamed chunk. */
const CHUNK = 64 * 1024;

/**
 * The parts of a text scrape as UTF-8 chunks of about {@link CHUNK}, encoded
 * as the client reads them: a big scrape never exists as one string or one
 * buffer (issue 7: memory stays bounded). The parts are immutable strings, so
 * the body is the view as it was when the scrape began.
 */
function streamText(parts: readonly string[]): ReadableStream<
  Uint8Array<ArrayBuffer>
> {
  const encoder = new TextEncoder();
  let part = 0;
  let offset = 0;
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      let chunk = "";
      while (part < parts.length && chunk.length < CHUNK) {
        const text = parts[part] as string;
        let end = Math.min(text.length, offset + CHUNK - chunk.length);
        // Never split a surrogate pair between two chunks.
        if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) {
          end--;
          if (end <= offset) break; // the pair starts the next chunk
        }
        chunk += text.slice(offset, end);
        offset = end;
        if (offset >= text.length) {
          part++;
          offset = 0;
        }
      }
      if (chunk.length > 0) controller.enqueue(encoder.encode(chunk));
      if (part >= parts.length) controller.close();
    },
  }, { highWaterMark: 0 });
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}
