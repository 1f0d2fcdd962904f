/**
 * Load generator for the gateway benchmark, run as its own process so that
 * it does not share the server's event loop:
 *
 *   deno run -A scripts/bench/load.ts --url http://127.0.0.1:9091 \
 *     --concurrency 8 --duration 10s --body-kind 10series --groups 1000
 *
 * Keeps `concurrency` keep-alive connections busy, each sending one request
 * at a time: PUTs of 10 or 1,000 series to distinct groups with distinct
 * values (`--body-kind none` sends GET /-/healthy instead, to compare with
 * wrk). Requests in the warm-up are not counted. Prints one JSON object:
 * count, requests/s, latency percentiles (every latency kept and sorted),
 * errors by kind, and CPU seconds over the measured window of itself, of the
 * server (`--watch-pid <pid>`) and of every other process on the machine.
 * Bounded by `--duration` and `--max-requests`.
 * @module
 */

import { formatRequest, Http1Connection } from "./http1.ts";
import {
  type BodyKind,
  loadBody,
  loadPath,
  TEXT_CONTENT_TYPE,
} from "./workload.ts";

export interface LoadOptions {
  readonly url: string;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly bodyKind: BodyKind | "none";
  readonly groups: number;
  /** Push to aggregating groups (`/aggregate/metrics/job/load-aggregate/…`). */
  readonly aggregate?: boolean;
  readonly maxRequests: number;
  /** A process whose CPU time to report over the measured window (the server). */
  readonly watchPid?: number;
}

export interface LoadResult {
  readonly bodyKind: BodyKind | "none";
  readonly concurrency: number;
  readonly groups: number;
  readonly seconds: number;
  readonly count: number;
  /** Requests answered during the warm-up (not in `count`). */
  readonly warmupCount: number;
  readonly perSecond: number;
  readonly seriesPerSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  readonly errors: number;
  /** Non-2xx statuses and connection failures, by kind, with one example. */
  readonly errorKinds: Readonly<Record<string, number>>;
  readonly errorExample: string | null;
  readonly requestBytes: number;
  /**
   * CPU seconds (user + system) over the measured window, warm-up excluded:
   * this load generator, the watched server, and the whole machine less
   * both (other processes: on a shared machine they compete for the cores).
   */
  readonly clientCpuSeconds: number;
  readonly serverCpuSeconds: number;
  /**
   * CPU seconds of the server's main thread alone (the thread whose id is
   * the process id: Deno's event loop, HTTP and JavaScript): near
   * `seconds`, the thread is saturated and decides the rate.
   */
  readonly serverMainThreadCpuSeconds: number;
  readonly otherCpuSeconds: number;
  readonly cores: number;
}

interface CpuSnapshot {
  readonly self: number;
  readonly server: number;
  readonly serverMain: number;
  readonly machine: number;
}

function snapshotCpu(watchPid: number | undefined): CpuSnapshot {
  return {
    self: cpuSecondsOf("self"),
    server: watchPid === undefined ? NaN : cpuSecondsOf(watchPid),
    serverMain: watchPid === undefined
      ? NaN
      : cpuSecondsOf(`${watchPid}/task/${watchPid}`),
    machine: machineBusySeconds(),
  };
}

/** Busy CPU seconds of all cores since boot (/proc/stat: all but idle, iowait). */
export function machineBusySeconds(): number {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n", 1)[0] ?? "";
    const t = line.trim().split(/\s+/).slice(1).map(Number);
    const total = t.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - (t[3] ?? 0) - (t[4] ?? 0)) / 100;
  } catch {
    return NaN;
  }
}

/**
 * User + system CPU seconds so far of a process (`pid`, "self") or of one
 * of its threads (`"<pid>/task/<tid>"`), NaN where /proc is absent.
 */
export function cpuSecondsOf(pid: number | string): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat(5) (fields[0] is field 3),
    // in USER_HZ ticks, 100 per second on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const host = url.host;
  const hostname = url.hostname;
  const port = Number(url.port);
  const body = options.bodyKind === "none"
    ? undefined
    : loadBody(options.bodyKind);
  const encoder = new TextEncoder();
  const healthy = formatRequest("GET", "/-/healthy", host, {}, null);

  function nextRequest(seq: number): Uint8Array {
    if (!body || options.bodyKind === "none") return healthy;
    const head = encoder.encode(body.head(seq));
    const tail = body.tails[seq % body.tails.length] as Uint8Array;
    const payload = new Uint8Array(head.length + tail.length);
    payload.set(head, 0);
    payload.set(tail, head.length);
    return formatRequest(
      "PUT",
      options.aggregate === true
        ? `/aggregate/metrics/job/load-aggregate/instance/client-${
          seq % options.groups
        }`
        : loadPath(options.bodyKind, seq % options.groups),
      host,
      { "Content-Type": TEXT_CONTENT_TYPE },
      payload,
    );
  }

  const capacity = Math.max(1, options.maxRequests);
  const latencies = new Float64Array(capacity);
  let count = 0;
  let warmupCount = 0;
  let seq = 0;
  let errors = 0;
  let requestBytes = 0;
  const errorKinds: Record<string, number> = {};
  let errorExample: string | null = null;
  const noteError = (kind: string, example: string) => {
    errors++;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    errorExample ??= example;
  };

  const begin = performance.now();
  const measureFrom = begin + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;
  let cpuStart: CpuSnapshot | undefined;
  const cpuTimer = setTimeout(
    () => (cpuStart = snapshotCpu(options.watchPid)),
    Math.max(0, options.warmupMs),
  );

  async function worker(): Promise<void> {
    let conn: Http1Connection | undefined;
    let reconnects = 0;
    try {
      while (performance.now() < stopAt && count < capacity) {
        if (!conn) {
          if (reconnects++ > 1000) return;
          try {
            conn = await Http1Connection.open(hostname, port);
          } catch (error) {
            noteError("connect", String(error));
            await new Promise((r) => setTimeout(r, 10));
            continue;
          }
        }
        const request = nextRequest(seq++);
        const t0 = performance.now();
        try {
          const res = await conn.request(request);
          const t1 = performance.now();
          if (t0 < measureFrom) {
            warmupCount++;
            continue;
          }
          if (res.status >= 300) {
            noteError(`status ${res.status}`, res.bodyStart);
            continue;
          }
          if (count < capacity) {
            latencies[count++] = t1 - t0;
            requestBytes += request.length;
          }
        } catch (error) {
          conn.close();
          conn = undefined;
          if (t0 >= measureFrom) noteError("connection", String(error));
        }
      }
    } finally {
      conn?.close();
    }
  }

  await Promise.all(
    Array.from({ length: options.concurrency }, () => worker()),
  );
  const end = Math.min(performance.now(), stopAt);
  clearTimeout(cpuTimer);
  const cpuEnd = snapshotCpu(options.watchPid);
  const cpu0 = cpuStart ?? cpuEnd;
  const clientCpuSeconds = cpuEnd.self - cpu0.self;
  const serverCpuSeconds = cpuEnd.server - cpu0.server;
  const serverMainThreadCpuSeconds = cpuEnd.serverMain - cpu0.serverMain;
  const machineCpu = cpuEnd.machine - cpu0.machine;
  const seconds = Math.max(1e-9, (end - measureFrom) / 1000);
  const sorted = latencies.subarray(0, count).sort();
  const pct = (p: number) =>
    count === 0
      ? NaN
      : sorted[Math.min(count - 1, Math.ceil((p / 100) * count) - 1)] as number;
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    bodyKind: options.bodyKind,
    concurrency: options.concurrency,
    groups: options.groups,
    seconds,
    count,
    warmupCount,
    perSecond: count / seconds,
    seriesPerSecond: (count / seconds) * (body?.series ?? 0),
    p50Ms: pct(50),
    p90Ms: pct(90),
    p99Ms: pct(99),
    maxMs: count === 0 ? NaN : sorted[count - 1] as number,
    meanMs: count === 0 ? NaN : sum / count,
    errors,
    errorKinds,
    errorExample,
    requestBytes,
    clientCpuSeconds,
    serverCpuSeconds,
    serverMainThreadCpuSeconds,
    otherCpuSeconds: machineCpu - clientCpuSeconds -
      (Number.isNaN(serverCpuSeconds) ? 0 : serverCpuSeconds),
    cores: navigator.hardwareConcurrency,
  };
}

/** `10s`, `500ms`, `2m`, or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`bad duration ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  switch (m[2]) {
    case "ms":
      return n;
    case "m":
      return n * 60_000;
    default:
      return n * 1000;
  }
}

function parseArgs(args: readonly string[]): LoadOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`);
    const eq = arg.indexOf("=");
    if (eq > 0) values.set(arg.slice(2, eq), arg.slice(eq + 1));
    else values.set(arg.slice(2), args[++i] ?? "");
  }
  const url = values.get("url");
  if (!url) throw new Error("--url is required");
  const kind = values.get("body-kind") ?? "10series";
  if (kind !== "10series" && kind !== "1000series" && kind !== "none") {
    throw new Error(`--body-kind must be 10series, 1000series or none`);
  }
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") {
    throw new Error("load.ts only targets loopback addresses");
  }
  return {
    url,
    concurrency: Number(values.get("concurrency") ?? 8),
    durationMs: parseDuration(values.get("duration") ?? "10s"),
    warmupMs: parseDuration(values.get("warmup") ?? "1s"),
    bodyKind: kind,
    groups: Number(values.get("groups") ?? 1000),
    aggregate: values.has("aggregate"),
    maxRequests: Number(values.get("max-requests") ?? 2_000_000),
    ...(values.has("watch-pid")
      ? { watchPid: Number(values.get("watch-pid")) }
      : {}),
  };
}

if (import.meta.main) {
  const result = await runLoad(parseArgs(Deno.args));
  Deno.stdout.writeSync(
    new TextEncoder().encode(JSON.stringify(result) + "\n"),
  );
}
