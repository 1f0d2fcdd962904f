/**
 * The ten-million-series tier: 10,000 groups of 1,000 series pushed to
 * Pushvault by HTTP, then what a large user waits for and pays: peak
 * resident memory, a full text scrape (streamed: RSS sampled during it),
 * a gzip scrape, and start-up to /-/ready on that database. The Pushgateway
 * is started on a persistence file of the same groups, within a bounded
 * time and memory, and the report says how far it got.
 * @module
 */

import { formatRequest, Http1Connection } from "../http1.ts";
import {
  encodeSnapshotChunks,
  familiesFromText,
  groupingLabelsFromPath,
  type SnapshotGroup,
} from "../pg_snapshot.ts";
import { preloadBody, preloadPath, TEXT_CONTENT_TYPE } from "../workload.ts";
import { encoder, HOST, progress, sleep } from "./common.ts";
import { dbSize } from "./measure_load.ts";
import { scrapeOnce } from "./measure_scrape.ts";
import { type Server, startPushgateway, startPushvault } from "./servers.ts";

export const TIER_GROUPS = 10_000;
export const TIER_SERIES_PER_GROUP = 1_000;
/** The Pushgateway's whole share of the tier: start, restore, one scrape. */
const PG_BUDGET_MS = 600_000;
/** Past this RSS the Pushgateway is stopped: the machine is shared. */
const PG_RSS_CAP_MIB = 12 * 1024;
/** The targets the tier is measured against. */
export const TARGETS = {
  peakRssMiB: 4 * 1024,
  textScrapeMs: 5_000,
  gzipScrapeMs: 5_000,
  restartReadyMs: 10_000,
} as const;

const PARTITIONS = TIER_SERIES_PER_GROUP - 100;

/**
 * Group `g`'s body: the 100 series of the workload's group `g` and one
 * gauge with 900 partitions, 1,000 series in all.
 */
export function tierBody(g: number): string {
  const lines = [
    "# HELP batch_job_partition_rows Rows written per partition by the last run.",
    "# TYPE batch_job_partition_rows gauge",
  ];
  for (let p = 0; p < PARTITIONS; p++) {
    lines.push(
      `batch_job_partition_rows{partition="p${p}"} ${
        (g * 7919 + p * 104_729) % 1_000_003
      }`,
    );
  }
  return preloadBody(g) + lines.join("\n") + "\n";
}

/** The highest VmRSS seen while sampling, and VmHWM. */
export class RssSampler {
  readonly #pid: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  peakMiB = 0;
  constructor(pid: number, everyMs = 100) {
    this.#pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), everyMs);
  }
  #sample(): void {
    const m = readMemory(this.#pid);
    if (m !== undefined) this.peakMiB = Math.max(this.peakMiB, m.rssMiB);
  }
  stop(): number {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sample();
    return this.peakMiB;
  }
}

function readMemory(
  pid: number,
): { rssMiB: number; hwmMiB: number } | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rssMiB: kb("VmRSS") / 1024, hwmMiB: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

interface TierPreload {
  readonly groups: number;
  readonly series: number;
  readonly seconds: number;
  readonly errors: number;
  readonly errorExample: string | null;
  readonly complete: boolean;
}

/** PUTs of groups 0..groups-1, each body built when it is sent. */
export async function preloadTier(
  server: Server,
  groups: number,
  concurrency: number,
  capMs: number,
): Promise<TierPreload> {
  let next = 0;
  let done = 0;
  let errors = 0;
  let errorExample: string | null = null;
  const start = performance.now();
  let lastReport = start;
  async function worker(): Promise<void> {
    const conn = await Http1Connection.open(HOST, server.port);
    try {
      while (next < groups && performance.now() - start < capMs) {
        if (errors > 20) return;
        const g = next++;
        const res = await conn.request(formatRequest(
          "PUT",
          preloadPath(g),
          HOST,
          { "Content-Type": TEXT_CONTENT_TYPE },
          encoder.encode(tierBody(g)),
        ));
        if (res.status !== 200) {
          errors++;
          errorExample ??= `status ${res.status}: ${res.bodyStart}`;
        }
        done++;
        if (performance.now() - lastReport > 30_000) {
          lastReport = performance.now();
          progress(`  ${server.name}: ${done}/${groups} groups`);
        }
      }
    } finally {
      conn.close();
    }
  }
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return {
    groups: done,
    series: done * TIER_SERIES_PER_GROUP,
    seconds: (performance.now() - start) / 1000,
    errors,
    errorExample,
    complete: done === groups && errors === 0,
  };
}

interface TimedScrape {
  readonly ms: number;
  readonly bytes: number;
  /** Highest RSS sampled during the scrape, and just before it. */
  readonly peakRssMiB: number;
  readonly rssBeforeMiB: number;
}

async function timedScrape(
  server: Server,
  gzip: boolean,
): Promise<TimedScrape> {
  const rssBeforeMiB = readMemory(server.pid)?.rssMiB ?? NaN;
  const sampler = new RssSampler(server.pid, 50);
  const conn = await Http1Connection.open(HOST, server.port);
  try {
    const r = await scrapeOnce(conn, gzip);
    return { ...r, peakRssMiB: sampler.stop(), rssBeforeMiB };
  } finally {
    sampler.stop();
    conn.close();
  }
}

/** Rejects after `ms`; the caller stops the server it waited on. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: not done after ${ms / 1000} s`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface PushvaultTier {
  startEmptyMs: number;
  preload?: TierPreload;
  rssAfterPreloadMiB?: number;
  text?: readonly TimedScrape[];
  gzip?: readonly TimedScrape[];
  peakRssFirstProcessMiB?: number;
  databaseBytes?: number;
  restart?: {
    readyMs: number;
    rssAtReadyMiB: number;
    firstTextScrape: TimedScrape;
    peakRssMiB: number;
  };
}

export interface PushgatewayTier {
  snapshotBytes: number;
  snapshotSeconds: number;
  readyMs?: number;
  rssAtReadyMiB?: number;
  text?: TimedScrape;
  peakRssMiB: number;
  stoppedBecause?: string;
}

export interface TierResult {
  readonly groups: number;
  readonly seriesPerGroup: number;
  readonly targets: typeof TARGETS;
  readonly pushvault: PushvaultTier;
  readonly pushgateway: PushgatewayTier;
  readonly seconds: number;
}

async function runPushvault(
  dir: string,
  concurrency: number,
  preloadCapMs: number,
  scrapes: number,
): Promise<PushvaultTier> {
  const file = `${dir}/pv.db`;
  let server = await startPushvault(dir, file, "pv");
  const first = new RssSampler(server.pid, 200);
  const pv: PushvaultTier = { startEmptyMs: await server.waitReady() };
  progress(
    `pushvault: preload ${TIER_GROUPS} groups × ${TIER_SERIES_PER_GROUP} series`,
  );
  pv.preload = await preloadTier(
    server,
    TIER_GROUPS,
    concurrency,
    preloadCapMs,
  );
  pv.rssAfterPreloadMiB = readMemory(server.pid)?.rssMiB ?? NaN;
  progress("pushvault: text and gzip scrapes");
  const text: TimedScrape[] = [];
  const gzip: TimedScrape[] = [];
  for (let i = 0; i < scrapes; i++) text.push(await timedScrape(server, false));
  for (let i = 0; i < scrapes; i++) gzip.push(await timedScrape(server, true));
  pv.text = text;
  pv.gzip = gzip;
  first.stop();
  pv.peakRssFirstProcessMiB = Math.max(
    first.peakMiB,
    readMemory(server.pid)?.hwmMiB ?? 0,
  );
  progress("pushvault: restart on its database");
  await server.stop(120_000);
  pv.databaseBytes = dbSize(file).total;
  server = await startPushvault(dir, file, "pv-restart");
  const second = new RssSampler(server.pid, 100);
  const readyMs = await server.waitReady(600_000);
  const rssAtReadyMiB = readMemory(server.pid)?.rssMiB ?? NaN;
  const firstTextScrape = await timedScrape(server, false);
  second.stop();
  pv.restart = {
    readyMs,
    rssAtReadyMiB,
    firstTextScrape,
    peakRssMiB: Math.max(second.peakMiB, readMemory(server.pid)?.hwmMiB ?? 0),
  };
  await server.stop(120_000);
  return pv;
}

/** The tier's groups as the Pushgateway stores them after their pushes. */
function* tierGroups(pushedAtMs: number): Generator<SnapshotGroup> {
  for (let g = 0; g < TIER_GROUPS; g++) {
    const labels = groupingLabelsFromPath(preloadPath(g));
    yield {
      labels,
      families: familiesFromText(tierBody(g), labels),
      pushedAtMs,
    };
  }
}

async function runPushgateway(dir: string): Promise<PushgatewayTier> {
  progress("pushgateway: writing its persistence file of the same groups");
  const started = performance.now();
  const pushedAtMs = Date.now();
  const path = `${dir}/pg.snapshot`;
  let snapshotBytes = 0;
  {
    using file = await Deno.open(path, { write: true, createNew: true });
    for (const chunk of encodeSnapshotChunks(tierGroups(pushedAtMs))) {
      for (let at = 0; at < chunk.length;) {
        at += await file.write(chunk.subarray(at));
      }
      snapshotBytes += chunk.length;
    }
  }
  const pg: PushgatewayTier = {
    snapshotBytes,
    snapshotSeconds: (performance.now() - started) / 1000,
    peakRssMiB: 0,
  };
  progress(
    `pushgateway: start on it, at most ${PG_BUDGET_MS / 1000} s and ${
      PG_RSS_CAP_MIB / 1024
    } GiB`,
  );
  const server = await startPushgateway(dir, path, "pg");
  const sampler = new RssSampler(server.pid, 200);
  const deadline = server.spawnedAt + PG_BUDGET_MS;
  let capHit = false;
  const watch = setInterval(() => {
    if (sampler.peakMiB > PG_RSS_CAP_MIB && !capHit) {
      capHit = true;
      server.killNow();
    }
  }, 200);
  try {
    pg.readyMs = await server.waitReady(PG_BUDGET_MS);
    pg.rssAtReadyMiB = readMemory(server.pid)?.rssMiB ?? NaN;
    progress("pushgateway: one text scrape");
    pg.text = await within(
      timedScrape(server, false),
      Math.max(1, deadline - performance.now()),
      "the Pushgateway's text scrape",
    );
  } catch (e) {
    pg.stoppedBecause = capHit
      ? `RSS passed ${PG_RSS_CAP_MIB / 1024} GiB`
      : (e as Error).message;
  } finally {
    clearInterval(watch);
    pg.peakRssMiB = sampler.stop();
    // SIGKILL: on SIGTERM it would persist its store, which nothing reads.
    await server.kill();
  }
  return pg;
}

/** The tier in `dir` (its own): Pushvault, then the Pushgateway. */
export async function runTier10m(
  dir: string,
  concurrency: number,
  preloadCapMs: number,
): Promise<TierResult> {
  const wallStart = performance.now();
  progress(`tier 10m: temp ${dir}`);
  const pushvault = await runPushvault(dir, concurrency, preloadCapMs, 2);
  await sleep(1_000);
  const pushgateway = await runPushgateway(dir);
  return {
    groups: TIER_GROUPS,
    seriesPerGroup: TIER_SERIES_PER_GROUP,
    targets: TARGETS,
    pushvault,
    pushgateway,
    seconds: (performance.now() - wallStart) / 1000,
  };
}
