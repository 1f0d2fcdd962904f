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
  const body: string | Uint8Array<ArrayBuffer> = format === "protobuf-delimited"
    ? encodeDelimited(deps.store.mergedFamilies(own)) as Uint8Array<ArrayBuffer>
    : view.render(own);
  const headers = new Headers({
    "Content-Type": format === "protobuf-delimited"
      ? PROTOBUF_DELIMITED_CONTENT_TYPE
      : TEXT_CONTENT_TYPE,
  });
  if (!acceptsGzip(request.headers.get("accept-encoding"))) {
    return new Response(body, { headers });
  }
  headers.set("Content-Encoding", "gzip");
  const bytes = typeof body === "string"
    ? new TextEncoder().encode(body)
    : body;
  const stream = new Blob([bytes]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Response(stream, { headers });
}
