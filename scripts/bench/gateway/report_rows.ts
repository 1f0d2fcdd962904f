/**
 * The rows of one size's table: each figure for Pushvault and for the
 * Pushgateway, with how to print it, and the table they make.
 * @module
 */

import type { LoadResult } from "../load.ts";
import type { SizeResult } from "./run.ts";

export type Row = [
  string,
  number | undefined,
  number | undefined,
  (n: number) => string,
];

export const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
export const mib = (n: number) => `${n.toFixed(1)} MiB`;
const rate = (n: number) => `${n < 100 ? n.toFixed(1) : Math.round(n)}/s`;
const int = (n: number) => String(Math.round(n));
export const bytes = (n: number) =>
  n >= 2 ** 20
    ? `${(n / 2 ** 20).toFixed(2)} MiB`
    : `${(n / 1024).toFixed(1)} KiB`;
export const secs = (n: number) => `${n.toFixed(2)} s`;
const micros = (n: number) => `${Math.round(n)} µs`;
const cores = (n: number) => n.toFixed(2);
const percent = (n: number) => `${(100 * n).toFixed(0)}%`;

/** Server CPU µs per request over the measured window. */
export function cpuPerPush(r: LoadResult | undefined): number | undefined {
  if (!r || r.count === 0) return undefined;
  return (r.serverCpuSeconds * 1e6) / (r.count + r.errors);
}

/** load.ts's own CPU µs per request over the measured window. */
function clientCpuPerRequest(r: LoadResult | undefined): number | undefined {
  if (!r || r.count === 0) return undefined;
  return (r.clientCpuSeconds * 1e6) / (r.count + r.errors);
}

/** Cores the server kept busy during the measured window. */
function serverCores(r: LoadResult | undefined): number | undefined {
  if (!r || r.seconds <= 0) return undefined;
  return r.serverCpuSeconds / r.seconds;
}

/**
 * Share of the measured window the server's main thread was on a core;
 * undefined when not measured (runs recorded before it was, or no /proc).
 */
export function mainThreadBusy(
  r: LoadResult | undefined,
): number | undefined {
  const cpu = r?.serverMainThreadCpuSeconds;
  if (!r || r.seconds <= 0 || cpu === undefined || Number.isNaN(cpu)) {
    return undefined;
  }
  return cpu / r.seconds;
}

/** Cores busy with other processes during the measured window. */
function otherCores(r: LoadResult | undefined): number | undefined {
  if (!r || r.seconds <= 0) return undefined;
  return Math.max(0, r.otherCpuSeconds / r.seconds);
}

export function tableRows(size: SizeResult): Row[] {
  const pv = size.pushvault;
  const pg = size.pushgateway;
  const k = size.settings.scrapes;
  const pgHttp = pg.httpPreload;
  return [
    [
      "series preloaded (PV: HTTP pushes; PG: persistence file)",
      pv.preload?.series,
      size.snapshot.series,
      int,
    ],
    [
      "workload series in a scrape (batch_job_* sample lines)",
      pv.census?.series,
      pg.census?.series,
      int,
    ],
    [
      "PV preload time (100-series PUTs, 8 clients)",
      pv.preload?.seconds,
      undefined,
      secs,
    ],
    [
      pgHttp
        ? `preload pushes/s by HTTP (PG: from empty, first ${
          Math.round(pgHttp.seconds)
        } s)`
        : "preload pushes/s by HTTP",
      pv.preload?.pushesPerSecond,
      pgHttp?.pushesPerSecond,
      rate,
    ],
    [
      "PG HTTP preload: series pushed before its cap",
      undefined,
      pgHttp?.series,
      int,
    ],
    [
      "PG persistence file written (pg_snapshot.ts)",
      undefined,
      size.snapshot.seconds,
      secs,
    ],
    ["start → /-/ready, empty store", pv.startEmptyMs, pg.startEmptyMs, ms],
    [
      "start → /-/ready, preloaded store (PV restart; PG restore)",
      pv.restart?.readyMs,
      pg.restart?.readyMs,
      ms,
    ],
    [
      "start → first full scrape done, preloaded store",
      pv.restart?.firstScrapeDoneMs,
      pg.restart?.firstScrapeDoneMs,
      ms,
    ],
    [
      "RSS after preload (PG: after restore)",
      pv.memoryAfterPreload?.rssMiB,
      pg.memoryAfterPreload?.rssMiB,
      mib,
    ],
    [
      "peak RSS (VmHWM) after preload",
      pv.memoryAfterPreload?.hwmMiB,
      pg.memoryAfterPreload?.hwmMiB,
      mib,
    ],
    ["scrape text, first (cold)", pv.scrape?.coldMs, pg.scrape?.coldMs, ms],
    [
      `scrape text, median of ${k}`,
      pv.scrape?.textMedianMs,
      pg.scrape?.textMedianMs,
      ms,
    ],
    [
      `scrape gzip, median of ${k}`,
      pv.scrape?.gzipMedianMs,
      pg.scrape?.gzipMedianMs,
      ms,
    ],
    [
      `scrape text under 10-series pushes, median of ${
        pv.scrapeUnderLoad?.textAllMs.length ?? "—"
      }/${pg.scrapeUnderLoad?.textAllMs.length ?? "—"}`,
      pv.scrapeUnderLoad?.textMedianMs,
      pg.scrapeUnderLoad?.textMedianMs,
      ms,
    ],
    [
      "10-series pushes/s while scraping",
      pv.scrapeUnderLoad?.load.perSecond,
      pg.scrapeUnderLoad?.load.perSecond,
      rate,
    ],
    ["scrape size, text", pv.scrape?.textBytes, pg.scrape?.textBytes, bytes],
    ["scrape size, gzip", pv.scrape?.gzipBytes, pg.scrape?.gzipBytes, bytes],
    [
      "RSS after scrapes",
      pv.memoryAfterScrapes?.rssMiB,
      pg.memoryAfterScrapes?.rssMiB,
      mib,
    ],
    [
      "peak RSS (VmHWM) after scrapes",
      pv.memoryAfterScrapes?.hwmMiB,
      pg.memoryAfterScrapes?.hwmMiB,
      mib,
    ],
    [
      "on disk after preload (PV db+wal+shm; PG file)",
      pv.storageBytesAfterPreload,
      pg.storageBytesAfterPreload,
      bytes,
    ],
    [
      "RSS after restart (PG: after restore)",
      pv.restart?.memory.rssMiB,
      pg.restart?.memory.rssMiB,
      mib,
    ],
    [
      "GET /-/healthy req/s, wrk",
      pv.healthyWrk?.requestsPerSecond,
      pg.healthyWrk?.requestsPerSecond,
      rate,
    ],
    [
      "GET /-/healthy req/s, load.ts",
      pv.healthyLoad?.perSecond,
      pg.healthyLoad?.perSecond,
      rate,
    ],
    [
      "GET /-/healthy, load.ts CPU per request",
      clientCpuPerRequest(pv.healthyLoad),
      clientCpuPerRequest(pg.healthyLoad),
      micros,
    ],
    [
      "10-series pushes/s (8 clients, 1,000 groups)",
      pv.small?.perSecond,
      pg.small?.perSecond,
      rate,
    ],
    [
      "10-series aggregating pushes/s (same load to /aggregate/…)",
      pv.smallAggregate?.perSecond,
      undefined,
      rate,
    ],
    [
      "10-series aggregating p50",
      pv.smallAggregate?.p50Ms,
      undefined,
      ms,
    ],
    [
      "10-series aggregating server CPU per push",
      cpuPerPush(pv.smallAggregate),
      undefined,
      micros,
    ],
    ["10-series pushes measured", pv.small?.count, pg.small?.count, int],
    ["10-series p50", pv.small?.p50Ms, pg.small?.p50Ms, ms],
    ["10-series p99", pv.small?.p99Ms, pg.small?.p99Ms, ms],
    [
      "10-series server CPU per push",
      cpuPerPush(pv.small),
      cpuPerPush(pg.small),
      micros,
    ],
    [
      "10-series server CPU, cores busy",
      serverCores(pv.small),
      serverCores(pg.small),
      cores,
    ],
    [
      // Go has no one main thread: the Pushgateway's figure would mean nothing.
      "10-series server main thread, share busy",
      mainThreadBusy(pv.small),
      undefined,
      percent,
    ],
    [
      "10-series other processes' CPU, cores busy",
      otherCores(pv.small),
      otherCores(pg.small),
      cores,
    ],
    ["10-series errors", pv.small?.errors, pg.small?.errors, int],
    [
      "10-series, load.ts CPU per push",
      clientCpuPerRequest(pv.small),
      clientCpuPerRequest(pg.small),
      micros,
    ],
    [
      "10-series pushes/s, wrk",
      pv.smallWrk?.requestsPerSecond,
      pg.smallWrk?.requestsPerSecond,
      rate,
    ],
    ["10-series p50, wrk", pv.smallWrk?.p50Ms, pg.smallWrk?.p50Ms, ms],
    ["10-series p99, wrk", pv.smallWrk?.p99Ms, pg.smallWrk?.p99Ms, ms],
    [
      "1000-series pushes/s (8 clients, 100 groups)",
      pv.large?.perSecond,
      pg.large?.perSecond,
      rate,
    ],
    ["1000-series pushes measured", pv.large?.count, pg.large?.count, int],
    [
      "1000-series series/s",
      pv.large?.seriesPerSecond,
      pg.large?.seriesPerSecond,
      rate,
    ],
    ["1000-series p50", pv.large?.p50Ms, pg.large?.p50Ms, ms],
    ["1000-series p99", pv.large?.p99Ms, pg.large?.p99Ms, ms],
    [
      "1000-series server CPU per push",
      cpuPerPush(pv.large),
      cpuPerPush(pg.large),
      micros,
    ],
    [
      "1000-series server CPU, cores busy",
      serverCores(pv.large),
      serverCores(pg.large),
      cores,
    ],
    [
      "1000-series other processes' CPU, cores busy",
      otherCores(pv.large),
      otherCores(pg.large),
      cores,
    ],
    ["1000-series errors", pv.large?.errors, pg.large?.errors, int],
    ["RSS at end", pv.memoryAtEnd?.rssMiB, pg.memoryAtEnd?.rssMiB, mib],
    [
      "peak RSS (VmHWM) at end",
      pv.memoryAtEnd?.hwmMiB,
      pg.memoryAtEnd?.hwmMiB,
      mib,
    ],
    ["PV database (db+wal+shm) at end", pv.storageBytesAtEnd, undefined, bytes],
  ];
}

export function formatTable(rows: readonly Row[]): string {
  const cells = rows.map(([name, a, b, f]) => [
    name,
    a === undefined || Number.isNaN(a) ? "—" : f(a),
    b === undefined || Number.isNaN(b) ? "—" : f(b),
    a === undefined || b === undefined || b === 0 || Number.isNaN(a / b)
      ? "—"
      : `${(a / b).toFixed(a / b < 0.1 ? 3 : 2)}`,
  ]);
  const header = ["figure", "Pushvault", "Pushgateway", "ratio PV/PG"];
  const width = header.map((h, i) =>
    Math.max(h.length, ...cells.map((c) => (c[i] as string).length))
  );
  const line = (c: readonly string[]) =>
    `| ${
      c.map((x, i) =>
        i === 0 ? x.padEnd(width[i] as number) : x.padStart(width[i] as number)
      ).join(" | ")
    } |`;
  return [
    line(header),
    `| ${
      width.map((n, i) => (i === 0 ? "-" : "").padEnd(n, "-")).join(" | ")
    } |`,
    ...cells.map(line),
  ].join("\n") + "\n";
}
