/**
 * Filling a store by HTTP pushes and timing scrapes of it: the preload, the
 * cold, text and gzip scrapes, and a census of what one scrape holds.
 * @module
 */

import { formatRequest, Http1Connection } from "../http1.ts";
import {
  preloadBody,
  preloadPath,
  SERIES_PER_GROUP,
  TEXT_CONTENT_TYPE,
} from "../workload.ts";
import { encoder, HOST, median, progress } from "./common.ts";
import type { Server } from "./servers.ts";

export interface PreloadResult {
  readonly groups: number;
  readonly series: number;
  readonly seconds: number;
  readonly pushesPerSecond: number;
  readonly errors: number;
  readonly complete: boolean;
  readonly errorExample: string | null;
}

export function preloadRequests(groups: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let g = 0; g < groups; g++) {
    out.push(
      formatRequest(
        "PUT",
        preloadPath(g),
        HOST,
        { "Content-Type": TEXT_CONTENT_TYPE },
        encoder.encode(preloadBody(g)),
      ),
    );
  }
  return out;
}

export async function preload(
  server: Server,
  requests: readonly Uint8Array[],
  concurrency: number,
  capMs: number,
): Promise<PreloadResult> {
  let next = 0;
  let done = 0;
  let errors = 0;
  let errorExample: string | null = null;
  const start = performance.now();
  const deadline = start + capMs;
  let lastReport = start;
  async function worker(): Promise<void> {
    const conn = await Http1Connection.open(HOST, server.port);
    try {
      while (next < requests.length && performance.now() < deadline) {
        if (errors > 20) return;
        const request = requests[next++] as Uint8Array;
        const res = await conn.request(request);
        if (res.status !== 200) {
          errors++;
          errorExample ??= `status ${res.status}: ${res.bodyStart}`;
        }
        done++;
        const now = performance.now();
        if (now - lastReport > 10_000) {
          lastReport = now;
          progress(`  ${server.name}: ${done}/${requests.length} groups`);
        }
      }
    } finally {
      conn.close();
    }
  }
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const seconds = (performance.now() - start) / 1000;
  return {
    groups: done,
    series: done * SERIES_PER_GROUP,
    seconds,
    pushesPerSecond: done / seconds,
    errors,
    complete: done === requests.length && errors === 0,
    errorExample,
  };
}

export interface ScrapeResult {
  readonly coldMs: number;
  readonly textMedianMs: number;
  readonly textAllMs: readonly number[];
  readonly textBytes: number;
  readonly gzipMedianMs: number;
  readonly gzipAllMs: readonly number[];
  readonly gzipBytes: number;
}

export async function scrapeOnce(
  conn: Http1Connection,
  gzip: boolean,
): Promise<{ ms: number; bytes: number }> {
  const request = formatRequest(
    "GET",
    "/metrics",
    HOST,
    gzip ? { "Accept-Encoding": "gzip" } : {},
    null,
  );
  const t0 = performance.now();
  const res = await conn.request(request);
  const ms = performance.now() - t0;
  if (res.status !== 200) {
    throw new Error(`scrape answered ${res.status}: ${res.bodyStart}`);
  }
  if (gzip && res.headers.get("content-encoding") !== "gzip") {
    throw new Error("scrape with Accept-Encoding: gzip was not compressed");
  }
  return { ms, bytes: res.bodyBytes };
}

export async function measureScrapes(
  server: Server,
  times: number,
): Promise<ScrapeResult> {
  const conn = await Http1Connection.open(HOST, server.port);
  try {
    const cold = await scrapeOnce(conn, false);
    const text: number[] = [];
    let textBytes = cold.bytes;
    for (let i = 0; i < times; i++) {
      const r = await scrapeOnce(conn, false);
      text.push(r.ms);
      textBytes = r.bytes;
    }
    const gzip: number[] = [];
    let gzipBytes = 0;
    for (let i = 0; i < times; i++) {
      const r = await scrapeOnce(conn, true);
      gzip.push(r.ms);
      gzipBytes = r.bytes;
    }
    return {
      coldMs: cold.ms,
      textMedianMs: median(text),
      textAllMs: text,
      textBytes,
      gzipMedianMs: median(gzip),
      gzipAllMs: gzip,
      gzipBytes,
    };
  } finally {
    conn.close();
  }
}

/** What one uncompressed scrape holds, counted line by line. */
export interface StoreCensus {
  /** Sample lines of the workload's families (`batch_job_*`). */
  readonly series: number;
  /** `push_time_seconds` and `push_failure_time_seconds` lines. */
  readonly pushTimeLines: number;
  /** Every other sample line: the server's own metrics. */
  readonly otherLines: number;
  readonly bytes: number;
}

/** Every family workload.ts pushes starts with this. */
const WORKLOAD_FAMILY_PREFIX = "batch_job_";

/**
 * One extra text scrape through `fetch`, counted as it streams: shows that
 * both stores hold the same series (the Pushgateway's came from a file).
 */
export async function censusScrape(server: Server): Promise<StoreCensus> {
  const res = await fetch(`${server.url}/metrics`, {
    headers: { "Accept-Encoding": "identity" },
    signal: AbortSignal.timeout(300_000),
  });
  if (!res.ok || res.body === null) {
    throw new Error(`${server.name}: census scrape answered ${res.status}`);
  }
  let series = 0;
  let pushTimeLines = 0;
  let otherLines = 0;
  let bytes = 0;
  let rest = "";
  const count = (line: string) => {
    if (line === "" || line.startsWith("#")) return;
    if (line.startsWith(WORKLOAD_FAMILY_PREFIX)) series++;
    else if (
      line.startsWith("push_time_seconds{") ||
      line.startsWith("push_failure_time_seconds{")
    ) pushTimeLines++;
    else otherLines++;
  };
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    bytes += chunk.length;
    const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) count(line);
  }
  count(rest + decoder.decode());
  return { series, pushTimeLines, otherLines, bytes };
}
