/**
 * The whole comparison of one store size: Pushvault preloaded by HTTP,
 * scraped and restarted on its database; the Pushgateway started on a
 * persistence file of the same groups; then both under the same loads.
 * @module
 */

import type { LoadResult } from "../load.ts";
import { encodeSnapshotChunks, workloadGroups } from "../pg_snapshot.ts";
import type { CeilingResult } from "../sqlite_ceiling.ts";
import { SERIES_PER_GROUP } from "../workload.ts";
import { progress, PUSHGATEWAY_BIN } from "./common.ts";
import {
  dbSize,
  measureCeiling,
  runLoadProcess,
  runWrk,
  scrapesUnderLoad,
  type ScrapeUnderLoad,
  settle,
  wrkLua,
  type WrkResult,
} from "./measure_load.ts";
import {
  censusScrape,
  measureScrapes,
  preload,
  preloadRequests,
  type PreloadResult,
  type ScrapeResult,
  type StoreCensus,
} from "./measure_scrape.ts";
import { type Options, settingsFor, type SizeSettings } from "./options.ts";
import {
  type Memory,
  pushvaultSource,
  startPushgateway,
  startPushvault,
} from "./servers.ts";

/** Above this load.ts p99, wrk (2 s timeout) would drop most PUTs. */
const WRK_PUT_MAX_P99_MS = 1500;

export interface SnapshotResult {
  readonly path: string;
  readonly groups: number;
  readonly series: number;
  readonly bytes: number;
  /** Encoding and writing, in this process (not the Pushgateway's time). */
  readonly seconds: number;
}

/** Writes workload groups 0..groups-1 as a Pushgateway 1.5.1 persistence file. */
export async function writePgSnapshot(
  path: string,
  groups: number,
): Promise<SnapshotResult> {
  const started = performance.now();
  const chunks = encodeSnapshotChunks(workloadGroups(groups, Date.now()));
  let bytes = 0;
  {
    using file = await Deno.open(path, { write: true, createNew: true });
    for (const chunk of chunks) {
      // write() returns at least 1 byte or throws: at most chunk.length turns.
      for (let at = 0; at < chunk.length;) {
        at += await file.write(chunk.subarray(at));
      }
      bytes += chunk.length;
    }
  }
  return {
    path,
    groups,
    series: groups * SERIES_PER_GROUP,
    bytes,
    seconds: (performance.now() - started) / 1000,
  };
}

export interface ServerFigures {
  startEmptyMs?: number;
  /** Pushvault: its preload. */
  preload?: PreloadResult;
  /** Pushgateway, informational: a second one pushed to from empty, capped. */
  httpPreload?: PreloadResult;
  memoryAfterPreload?: Memory;
  scrape?: ScrapeResult;
  memoryAfterScrapes?: Memory;
  census?: StoreCensus;
  storageBytesAfterPreload?: number;
  restart?: {
    readyMs: number;
    how: string;
    memory: Memory;
    /**
     * Start → the end of the first full text scrape after ready: what a
     * Prometheus scraping right after a restart waits for (Pushvault reads
     * its families into memory after ready; the Pushgateway before).
     */
    firstScrapeDoneMs?: number;
  };
  healthyLoad?: LoadResult;
  healthyWrk?: WrkResult | undefined;
  small?: LoadResult;
  /** The same load to aggregating groups (Pushvault only). */
  smallAggregate?: LoadResult;
  smallWrk?: WrkResult | undefined;
  large?: LoadResult;
  scrapeUnderLoad?: ScrapeUnderLoad;
  memoryAtEnd?: Memory;
  storageBytesAtEnd?: number;
  notes: string[];
}

export async function machineInfo(): Promise<Record<string, unknown>> {
  const cpu = Deno.readTextFileSync("/proc/cpuinfo");
  const free = await new Deno.Command("free", { args: ["-g"], stdout: "piped" })
    .output();
  return {
    nproc: navigator.hardwareConcurrency,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpu)?.[1] ?? "unknown",
    memTotalGiB: Deno.systemMemoryInfo().total / 2 ** 30,
    freeG: new TextDecoder().decode(free.stdout).trim(),
    loadAverageAtStart: Deno.loadavg(),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    pushgateway: PUSHGATEWAY_BIN,
  };
}

export interface SizeResult {
  readonly series: number;
  readonly groups: number;
  readonly settings: SizeSettings;
  readonly snapshot: SnapshotResult;
  readonly pushvault: ServerFigures;
  readonly pushgateway: ServerFigures;
  readonly loadAverageAtStart: readonly number[];
  readonly loadAverageAtEnd: readonly number[];
  /** Wall time of this size's comparison. */
  readonly seconds: number;
  /**
   * The ceiling measured again right before and right after Pushvault's
   * 10-series load: the machine's speed drifts (3 s at the start of a run
   * gave 9,500 to 14,800 transactions/s on the same day), so the share is
   * taken against what the machine did beside that load.
   */
  readonly ceilingBesideLoad?: {
    readonly before: CeilingResult;
    readonly after: CeilingResult;
  };
}

/** The whole comparison for one store size, in `dir` (its own). */
async function runSize(
  options: Options,
  settings: SizeSettings,
  dir: string,
): Promise<SizeResult> {
  const wallStart = performance.now();
  const loadAverageAtStart = Deno.loadavg();
  const { groups } = settings;
  progress(
    `size ${settings.series}: ${groups} groups × ${SERIES_PER_GROUP} series, temp ${dir}`,
  );
  const pv: ServerFigures = { notes: [] };
  const pg: ServerFigures = { notes: [] };
  const pvFile = `${dir}/pv.db`;

  progress("writing the Pushgateway's persistence file (pg_snapshot.ts)");
  const snapshot = await writePgSnapshot(`${dir}/pg.snapshot`, groups);
  pg.storageBytesAfterPreload = snapshot.bytes;

  progress("pushvault: start on an empty database, preload by HTTP");
  let pvServer = await startPushvault(dir, pvFile, "pv");
  pv.startEmptyMs = await pvServer.waitReady();
  pv.preload = await preload(
    pvServer,
    preloadRequests(groups),
    options.concurrency,
    options.preloadCapMs,
  );
  if (!pv.preload.complete) {
    pv.notes.push(
      `preload incomplete: ${pv.preload.groups}/${groups} groups, ${pv.preload.errors} errors (${pv.preload.errorExample})`,
    );
  }
  pv.memoryAfterPreload = pvServer.memory();
  progress("pushvault: scrapes");
  pv.scrape = await measureScrapes(pvServer, settings.scrapes);
  pv.memoryAfterScrapes = pvServer.memory();
  pv.census = await censusScrape(pvServer);
  pv.storageBytesAfterPreload = dbSize(pvFile).total;

  progress("pushvault: restart on its database");
  await pvServer.stop();
  pvServer = await startPushvault(dir, pvFile, "pv-restart");
  {
    const readyMs = await pvServer.waitReady();
    const memory = pvServer.memory();
    const first = await measureScrapes(pvServer, 1);
    pv.restart = {
      readyMs,
      how:
        "SIGTERM, then a new process on the same database file; spawn → first 200 from /-/ready",
      memory,
      firstScrapeDoneMs: readyMs + first.coldMs,
    };
  }

  progress("pushgateway: start with an empty store");
  {
    const empty = await startPushgateway(dir, "", "pg-empty");
    pg.startEmptyMs = await empty.waitReady();
    if (settings.pgHttpPreloadCapMs > 0) {
      progress(
        `pushgateway: HTTP preload from empty for at most ${
          settings.pgHttpPreloadCapMs / 1000
        } s (informational)`,
      );
      pg.httpPreload = await preload(
        empty,
        preloadRequests(groups),
        options.concurrency,
        settings.pgHttpPreloadCapMs,
      );
      if (pg.httpPreload.errors > 0) {
        pg.notes.push(
          `HTTP preload: ${pg.httpPreload.errors} errors (${pg.httpPreload.errorExample})`,
        );
      }
    }
    await empty.stop();
  }

  progress(
    "pushgateway: start on the persistence file (restored before ready)",
  );
  const pgServer = await startPushgateway(dir, snapshot.path, "pg");
  {
    const readyMs = await pgServer.waitReady();
    pg.memoryAfterPreload = pgServer.memory();
    pg.restart = {
      readyMs,
      how:
        "spawn with --persistence.file=<tmp>/pg.snapshot (the size's groups, written by pg_snapshot.ts) → first 200 from /-/ready; it restores the file before it listens",
      memory: pg.memoryAfterPreload,
    };
  }
  progress("pushgateway: scrapes");
  pg.scrape = await measureScrapes(pgServer, settings.scrapes);
  pg.restart.firstScrapeDoneMs = pg.restart.readyMs + pg.scrape.coldMs;
  pg.memoryAfterScrapes = pgServer.memory();
  pg.census = await censusScrape(pgServer);
  if (
    pv.census.series !== pg.census.series ||
    pv.census.pushTimeLines !== pg.census.pushTimeLines
  ) {
    pg.notes.push(
      `the stores differ: a Pushvault scrape has ${pv.census.series} workload series + ${pv.census.pushTimeLines} push-time lines, a Pushgateway scrape ${pg.census.series} + ${pg.census.pushTimeLines}`,
    );
  }

  let ceilingBesideLoad: SizeResult["ceilingBesideLoad"];
  const wrkScript = `${dir}/put_10series.lua`;
  await Deno.writeTextFile(wrkScript, wrkLua("10series"));
  for (const [server, figures] of [[pvServer, pv], [pgServer, pg]] as const) {
    progress(`load on ${server.name}: GET /-/healthy (wrk, load.ts)`);
    await settle(server, figures, "GET /-/healthy");
    figures.healthyWrk = await runWrk(
      server,
      "/-/healthy",
      options.wrkSeconds,
      options.concurrency,
      undefined,
    );
    figures.healthyLoad = await runLoadProcess(
      server,
      "none",
      1,
      options,
      options.wrkSeconds * 1000,
    );
    progress(`load on ${server.name}: 10-series PUTs`);
    const ceilingBefore = server === pvServer
      ? await measureCeiling(options)
      : undefined;
    await settle(server, figures, "10-series PUTs");
    figures.small = await runLoadProcess(
      server,
      "10series",
      options.smallGroups,
      options,
      settings.loadMs,
    );
    if (server === pvServer) {
      progress(`load on ${server.name}: 10-series aggregating pushes`);
      await settle(server, figures, "10-series aggregating PUTs");
      figures.smallAggregate = await runLoadProcess(
        server,
        "10series",
        options.smallGroups,
        options,
        settings.loadMs,
        true,
      );
    }
    if (ceilingBefore !== undefined) {
      ceilingBesideLoad = {
        before: ceilingBefore,
        after: await measureCeiling(options),
      };
    }
    if (figures.small.p99Ms <= WRK_PUT_MAX_P99_MS) {
      progress(`load on ${server.name}: 10-series PUTs with wrk`);
      figures.smallWrk = await runWrk(
        server,
        "/",
        options.wrkSeconds,
        options.concurrency,
        wrkScript,
      );
    } else {
      figures.notes.push(
        `10-series PUTs with wrk skipped: load.ts p99 ${
          figures.small.p99Ms.toFixed(0)
        } ms is near wrk's 2 s timeout, which would drop most pushes`,
      );
    }
    progress(`load on ${server.name}: 1000-series PUTs`);
    await settle(server, figures, "1000-series PUTs");
    figures.large = await runLoadProcess(
      server,
      "1000series",
      options.largeGroups,
      options,
      settings.loadMs,
    );
    progress(`load on ${server.name}: scrapes under 10-series PUTs`);
    await settle(server, figures, "scrapes under load");
    figures.scrapeUnderLoad = await scrapesUnderLoad(server, options, settings);
    figures.memoryAtEnd = server.memory();
  }
  pv.storageBytesAtEnd = dbSize(pvFile).total;
  pv.notes.push(
    "memory at end is of the restarted process (its peak covers start-up from the database and the load runs)",
  );
  await pvServer.stop();
  // SIGKILL: on SIGTERM it would persist its store, which nothing here reads.
  await pgServer.kill();

  return {
    series: settings.series,
    groups,
    settings,
    snapshot,
    pushvault: pv,
    pushgateway: pg,
    loadAverageAtStart,
    loadAverageAtEnd: Deno.loadavg(),
    seconds: (performance.now() - wallStart) / 1000,
    ...(ceilingBesideLoad ? { ceilingBesideLoad } : {}),
  };
}

/** Every size in `options.sizes`, each in a directory of its own. */
export async function runComparison(options: Options, dir: string) {
  const date = new Date().toISOString();
  const machine = await machineInfo();
  progress("node:sqlite ceiling");
  const ceiling = await measureCeiling(options);
  const sizes: SizeResult[] = [];
  for (const series of options.sizes) {
    const sizeDir = `${dir}/${series}`;
    await Deno.mkdir(sizeDir);
    sizes.push(await runSize(options, settingsFor(options, series), sizeDir));
    // The next size needs the disk more than this one's files.
    if (!options.keep) await Deno.remove(sizeDir, { recursive: true });
  }
  machine.loadAverageAtEnd = Deno.loadavg();
  return {
    date,
    machine,
    options,
    pushvaultRevision: pushvaultSource.revision,
    ceiling,
    sizes,
  };
}

export type Comparison = Awaited<ReturnType<typeof runComparison>>;
