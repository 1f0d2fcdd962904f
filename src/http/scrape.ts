/**
 * GET on the telemetry path: the merged exposition of every group plus the
 * gateway's own families, in text 0.0.4 or delimited protobuf,
 * gzip-compressed when the client accepts it (docs/compatibility.md).
 * @module
 */

import {
  acceptsGzip,
  PROTOBUF_DELIMITED_CONTENT_TYPE,
  responseFormat,
  TEXT_CONTENT_TYPE,
} from "../exposition/negotiate.ts";
import {
  type GzipFragment,
  GzipJoiner,
  inflateFragment,
  inflateFragments,
} from "../exposition/gzip_fragments.ts";
import { wholeFamily } from "../store/family_pages.ts";
import type { Store } from "../store/store.ts";
import type { ReadView as View } from "../store/view.ts";
import { SLICE_MS, slicedStream } from "./sliced_stream.ts";
import type { SelfMetrics } from "./self_metrics.ts";
import { type GroupScope, groupsInScope } from "../push/group_scope.ts";

export interface ScrapeDeps {
  readonly store: Store;
  readonly metrics: SelfMetrics;
}

/**
 * The protobuf encoder (protobufjs, some 15 MB of an idle server), loaded
 * by the first scrape that asks for protobuf.
 */
let protobuf: typeof import("../store/protobuf_scrape.ts") | undefined;

export function handleScrape(
  request: Request,
  deps: ScrapeDeps,
  scope?: GroupScope,
): Response | Promise<Response> {
  if (
    protobuf === undefined &&
    responseFormat(request.headers.get("accept")) === "protobuf-delimited"
  ) {
    return import("../store/protobuf_scrape.ts").then((loaded) => {
      protobuf = loaded;
      return handleScrape(request, deps, scope);
    });
  }
  const view = deps.store.view;
  // A scope limited by selectors sees its groups and none of the gateway's
  // own families (docs/security.md, Scopes): matched once per group.
  const visible = scope && groupsInScope(view.groups(), scope);
  const own = visible ? new Map() : deps.metrics.families({
    groups: view.groupCount,
    series: view.seriesCount,
    inconsistentSeries: view.counters.inconsistentSeries,
  });
  const format = responseFormat(request.headers.get("accept"));
  const gzip = acceptsGzip(request.headers.get("accept-encoding"));
  const headers = new Headers({
    "Content-Type": format === "protobuf-delimited"
      ? PROTOBUF_DELIMITED_CONTENT_TYPE
      : TEXT_CONTENT_TYPE,
  });
  if (gzip) headers.set("Content-Encoding", "gzip");
  if (format === "protobuf-delimited" && protobuf !== undefined) {
    // Made a family (a page of a big family) at a time as the client reads,
    // never whole: a million series took 26 s of the HTTP thread and 650
    // MiB built whole.
    const readRows = deps.store.familyRowsAfter.bind(deps.store);
    const pieces = protobuf.protobufScrape({
      view,
      own,
      readRows,
      readFamily: (stored) => wholeFamily(readRows, stored),
      ...(visible ? { visible } : {}),
    });
    return new Response(
      slicedStream(
        view.startUpDone ? pieces : startUpFirst(view, pieces),
        { gzip },
      ),
      { headers },
    );
  }
  // The protobuf text encodings are debugging aids nobody scrapes with; they
  // get the text format (and say so in Content-Type).
  if (!view.startUpDone) {
    return new Response(
      afterStartUp(
        view,
        () => textStream(view.renderParts(own, visible), gzip),
      ),
      { headers },
    );
  }
  const parts = view.renderParts(own, visible);
  if (gzip) {
    return new Response(
      gzipStream(parts.length, (i) => parts[i] as GzipFragment),
      {
        headers,
      },
    );
  }
  let length = 0;
  for (const part of parts) length += part.length;
  if (length <= STREAM_ABOVE) {
    return new Response(inflateFragments(parts), { headers });
  }
  return new Response(inflateStream(parts), { headers });
}

/**
 * Series restored at start-up and not yet sorted, or families whose pieces
 * are not yet written, cost the first scrape up to 1.3 s in one turn with
 * 1M series. A scrape that comes before start-up's background work is
 * done (View.indexSome) does the rest first, a slice per turn: it answers
 * no later than it would have, and others are answered meanwhile.
 */
const START_UP_SLICE = 20_000;

/** Most slices a scrape does: the work ends, unless pushes keep adding. */
const START_UP_STEPS = 100_000;

/** `pieces`, after the view's start-up work, done an empty piece a slice. */
function* startUpFirst(
  view: View,
  pieces: Iterator<Uint8Array, void, undefined>,
): Generator<Uint8Array, void, undefined> {
  try {
    for (let i = 0; i < START_UP_STEPS && view.indexSome(START_UP_SLICE); i++) {
      yield NOTHING;
    }
    // Bounded: the scrape's own pieces, each sent as it comes.
    for (let next = pieces.next(); !next.done; next = pieces.next()) {
      yield next.value;
    }
  } finally {
    pieces.return?.(undefined);
  }
}

const NOTHING = new Uint8Array(0);

/**
 * The text body `make` returns once the view's start-up work is done, which
 * the first read does, pausing every {@link SLICE_MS}.
 */
function afterStartUp(
  view: View,
  make: () => ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  let inner: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (inner === undefined) {
        let started = performance.now();
        for (
          let i = 0;
          i < START_UP_STEPS && view.indexSome(START_UP_SLICE);
          i++
        ) {
          if (performance.now() - started >= SLICE_MS) {
            await new Promise((resolve) => setTimeout(resolve, 0));
            started = performance.now();
          }
        }
        inner = make().getReader();
      }
      const next = await inner.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel(reason) {
      await inner?.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** The text body of `parts`, gzipped or not, streamed. */
function textStream(
  parts: readonly GzipFragment[],
  gzip: boolean,
): ReadableStream<Uint8Array> {
  return gzip
    ? gzipStream(parts.length, (i) => parts[i] as GzipFragment)
    : inflateStream(parts);
}

/**
 * Fragments `0 … count - 1` as one gzip member, a fragment per read: the
 * view's cached pieces, compressed once, are sent as they are.
 */
function gzipStream(
  count: number,
  fragmentAt: (i: number) => GzipFragment,
): ReadableStream<Uint8Array> {
  const joiner = new GzipJoiner();
  let next = -1;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next < 0) {
        next = 0;
        controller.enqueue(joiner.header());
        return;
      }
      while (next < count) {
        const chunk = joiner.add(fragmentAt(next++));
        if (chunk.length === 0) continue;
        controller.enqueue(chunk);
        return;
      }
      controller.enqueue(joiner.end());
      controller.close();
    },
  }, { highWaterMark: 0 });
}

/** Bodies longer than this (bytes) are streamed in chunks. */
const STREAM_ABOVE = 256 * 1024;

/**
 * The parts inflated one per read (at most TextArena's PIECE bytes each):
 * a big scrape is never held whole in memory (memory stays
 * bounded). The parts never change, so the body is the view as it was when
 * the scrape began.
 *
 * Each chunk is freed when the next one is asked for, so a reader must be
 * done with a chunk (or have copied it) before it reads the next. Both
 * writers keep to that: Deno.serve's hands a chunk to the runtime, which
 * keeps its own reference to the memory until written, before it reads on;
 * tls_server.ts's copies the first and writes each later one out first
 * (tests/http/scrape_test.ts and tests/security/tls_test.ts read big
 * scrapes both ways). Left to the GC, the 128 MiB a text scrape of 1M
 * series inflates piled up in malloc's arena: 60–120 MiB more resident.
 */
function inflateStream(
  parts: readonly GzipFragment[],
): ReadableStream<Uint8Array<ArrayBuffer>> {
  let next = 0;
  let sent: Uint8Array<ArrayBuffer> | undefined;
  const freeSent = () => {
    if (sent !== undefined && sent.byteLength > 0) sent.buffer.transfer(0);
    sent = undefined;
  };
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      freeSent();
      while (next < parts.length) {
        const part = parts[next++] as GzipFragment;
        if (part.length === 0) continue;
        sent = inflateFragment(part);
        controller.enqueue(sent);
        return;
      }
      controller.close();
    },
    cancel: freeSent,
  }, { highWaterMark: 0 });
}
