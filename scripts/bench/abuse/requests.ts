/**
 * Sending the rows' requests, each with a timeout, through `fetch` or a
 * raw socket, and a loop of pushes; their statuses as checks.
 * @module
 */

import { type Check, formatMs } from "../abuse_report.ts";
import { formatRequest, Http1Connection } from "../http1.ts";
import { HOST, now, sleep, TEXT } from "./common.ts";
import type { RowContext } from "./row.ts";

export interface Sent {
  readonly status: number | "timed out" | string;
  readonly ms: number;
  readonly bytes: number;
  readonly bodyStart: string;
}

/** One request by fetch, its body counted as it streams; never throws. */
export async function send(
  ctx: RowContext,
  method: string,
  path: string,
  init: {
    body?: Uint8Array<ArrayBuffer> | string;
    headers?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<Sent> {
  const timeout = AbortSignal.timeout(
    init.timeoutMs ?? ctx.sizes.requestTimeoutMs,
  );
  const start = now();
  let bytes = 0;
  let bodyStart = "";
  try {
    const res = await fetch(ctx.base + path, {
      method,
      headers: { ...ctx.headers, ...init.headers },
      signal: AbortSignal.any([ctx.signal, timeout]),
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(ctx.client === undefined ? {} : { client: ctx.client }),
    });
    if (res.body !== null) {
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        if (bytes < 300) bodyStart += decoder.decode(chunk.subarray(0, 300));
        bytes += chunk.length;
      }
    }
    return { status: res.status, ms: now() - start, bytes, bodyStart };
  } catch (error) {
    const ms = now() - start;
    if (timeout.aborted || ctx.signal.aborted) {
      return { status: "timed out", ms, bytes, bodyStart };
    }
    const message = error instanceof Error ? error.message : String(error);
    return { status: `failed (${message.slice(0, 60)})`, ms, bytes, bodyStart };
  }
}

/**
 * One request on a fresh raw HTTP/1.1 connection (plain HTTP only), for
 * what fetch refuses to send (a URL over 64 KiB); never throws.
 */
export async function sendRaw(
  ctx: RowContext,
  method: string,
  path: string,
  body: Uint8Array,
): Promise<Sent> {
  const start = now();
  let conn: Http1Connection | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    conn = await Http1Connection.open(HOST, ctx.server.port);
    const opened = conn;
    const timedOut = new Promise<"timed out">((resolve) => {
      timer = setTimeout(() => {
        opened.close();
        resolve("timed out");
      }, ctx.sizes.requestTimeoutMs);
    });
    const res = await Promise.race([
      conn.request(formatRequest(method, path, HOST, TEXT, body)),
      timedOut,
    ]);
    if (res === "timed out") {
      return { status: res, ms: now() - start, bytes: 0, bodyStart: "" };
    }
    return {
      status: res.status,
      ms: now() - start,
      bytes: res.bodyBytes,
      bodyStart: res.bodyStart,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      status: `failed (${message.slice(0, 60)})`,
      ms: now() - start,
      bytes: 0,
      bodyStart: "",
    };
  } finally {
    clearTimeout(timer);
    conn?.close();
  }
}

export function sentText(sent: Sent): string {
  return `${sent.status} in ${formatMs(sent.ms)}`;
}

export function statusCheck(name: string, sent: Sent, expected: number): Check {
  const met = sent.status === expected;
  return {
    name,
    met,
    text: `${name} ${sent.status}${met ? "" : `, expected ${expected}`}`,
  };
}

/** Counts of each status, `200×7, 401×3`. */
export function statusCounts(statuses: readonly (number | string)[]): string {
  const counts = new Map<string, number>();
  for (const s of statuses) {
    counts.set(String(s), (counts.get(String(s)) ?? 0) + 1);
  }
  return [...counts].map(([s, n]) => `${s}×${n}`).join(", ");
}

/** The statuses of requests sent together, counted, and the slowest's time. */
export function countsAndSlowest(sents: readonly Sent[]): string {
  const slowest = Math.max(...sents.map((s) => s.ms));
  return `${statusCounts(sents.map((s) => s.status))}, slowest ${
    formatMs(slowest)
  }`;
}

export interface PushLoopResult {
  readonly count: number;
  readonly errors: number;
  readonly latencies: readonly number[];
  readonly errorExample: string | null;
}

/**
 * `workers` keep-alive connections (plain HTTP) sending `request(n)` for
 * n = 0, 1, … until `stop()` says so, `max` requests were sent, or the row
 * is aborted. Non-200 answers and broken connections are counted.
 */
export async function pushLoop(
  ctx: RowContext,
  options: {
    workers: number;
    max: number;
    stop: () => boolean;
    request: (n: number) => Uint8Array;
  },
): Promise<PushLoopResult> {
  let next = 0;
  let errors = 0;
  let errorExample: string | null = null;
  const latencies: number[] = [];
  const worker = async () => {
    let conn: Http1Connection | undefined;
    try {
      while (
        next < options.max && !options.stop() && !ctx.signal.aborted &&
        errors < 1000
      ) {
        const request = options.request(next++);
        const start = now();
        try {
          conn ??= await Http1Connection.open(HOST, ctx.server.port);
          const res = await conn.request(request);
          latencies.push(now() - start);
          if (res.status !== 200) {
            errors++;
            errorExample ??= `${res.status}: ${res.bodyStart.slice(0, 120)}`;
          }
        } catch (error) {
          errors++;
          errorExample ??= error instanceof Error
            ? error.message
            : String(error);
          conn?.close();
          conn = undefined;
          await sleep(10);
        }
      }
    } finally {
      conn?.close();
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  return { count: latencies.length, errors, latencies, errorExample };
}
