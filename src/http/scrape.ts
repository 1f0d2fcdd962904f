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
import { compressFragment, GzipJoiner } from "../exposition/gzip_fragments.ts";
import type { GzipFragment } from "../exposition/gzip_fragments.ts";
import { encodeDelimited } from "../exposition/protobuf.ts";
import type { Store } from "../store/store.ts";
import type { SelfMetrics } from "./self_metrics.ts";

export interface ScrapeDeps {
  readonly store: Store;
  readonly metrics: SelfMetrics;
}

/**
 * Compressed pieces of the view's cached family texts, keyed by the cached
 * bytes themselves: a family that did not change since the last scrape is
 * not compressed again, and a replaced text's pieces go with it.
 */
export type FragmentCache = WeakMap<Uint8Array, GzipFragment[]>;

export function handleScrape(
  request: Request,
  deps: ScrapeDeps,
  fragments: FragmentCache,
): Response {
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
  return new Response(gzip ? gzipParts(parts, fragments) : streamParts(parts), {
    headers,
  });
}

/** Uncompressed bytes per gzip piece: a piece takes a few ms to deflate. */
const PIECE = 1024 * 1024;

/**
 * The parts as one gzip member, made of pieces of at most {@link PIECE}
 * bytes deflated once and reused while the text they came from is cached
 * (issue 7: gzip of cached fragments). One piece is compressed per read, so
 * a big scrape never blocks pushes for more than one piece.
 */
function gzipParts(
  parts: readonly Uint8Array<ArrayBuffer>[],
  cache: FragmentCache,
): ReadableStream<Uint8Array> {
  const joiner = new GzipJoiner();
  let started = false;
  let part = 0;
  let piece = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(joiner.header());
        return;
      }
      while (part < parts.length) {
        const bytes = parts[part] as Uint8Array<ArrayBuffer>;
        if (piece * PIECE >= bytes.length) {
          part++;
          piece = 0;
          continue;
        }
        let pieces = cache.get(bytes);
        if (!pieces) cache.set(bytes, pieces = []);
        let fragment = pieces[piece];
        if (!fragment) {
          const start = piece * PIECE;
          fragment = compressFragment(
            bytes.subarray(start, Math.min(bytes.length, start + PIECE)),
          );
          pieces[piece] = fragment;
        }
        piece++;
        controller.enqueue(joiner.add(fragment));
        return;
      }
      controller.enqueue(joiner.end());
      controller.close();
    },
  }, { highWaterMark: 0 });
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
