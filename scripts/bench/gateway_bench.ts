/**
 * Pushvault and Debian's Pushgateway 1.5.1 side by side on loopback, with
 * the same data and the same load (`deno task bench:gateway`):
 *
 *   deno run -A scripts/bench/gateway_bench.ts [--quick]
 *     [--sizes 100000,1000000 | --series 100000] [--json out.json]
 *     [--load-seconds 10] [--scrapes 5] [--rev HEAD] [--keep]
 *     [--profile [--profile-body 10series|1000series]]
 *
 * The whole comparison runs once per store size (`--sizes`, in series;
 * default 100k and 1M, `--quick` 20k), one table per size, one JSON file
 * with every size. `--rev` runs Pushvault from a `git archive` of that
 * commit (the work tree may change under a run); by default it runs from
 * the work tree.
 *
 * Both servers run as child processes (killed by PID when the run ends, on
 * error and on SIGINT/SIGTERM). Pushvault is preloaded by HTTP pushes of the
 * workload groups (workload.ts), scraped, restarted on its database. The
 * Pushgateway is not preloaded by HTTP: every push re-gathers its whole
 * store (O(n²) over a preload, hours at 1M series), so it starts on a
 * persistence file of the same groups written by pg_snapshot.ts, which it
 * restores before it answers /-/ready; then it is scraped. In the full run,
 * at up to 100k series, a second, empty Pushgateway also takes HTTP pushes
 * of the same groups for at most 30 s, for its preload rate. Both are then
 * loaded by `load.ts` in a process of its own, one server at a time, and
 * scraped while `load.ts` pushes. `wrk` runs the same kind of load to show
 * that load.ts is not what limits the figures. `sqlite_ceiling.ts` measures
 * what `node:sqlite` alone commits, the ceiling of design.md's performance
 * plan. Prints a table per size and writes every figure as JSON.
 * `--profile` instead runs Pushvault alone under `deno run --cpu-prof` and
 * prints where a load run (`--profile-body 10series|1000series`) spends its
 * time.
 *
 * Every loop is bounded in count and time. Loopback only.
 * @module
 */

import { V8_FLAGS } from "../compile.ts";
import { formatSummary, summarizeProfile } from "./cpuprofile_top.ts";
import { formatRequest, Http1Connection } from "./http1.ts";
import { cpuSecondsOf, type LoadResult } from "./load.ts";
import { encodeSnapshotChunks, workloadGroups } from "./pg_snapshot.ts";
import type { CeilingResult } from "./sqlite_ceiling.ts";
import {
  loadBody,
  preloadBody,
  preloadPath,
  SERIES_PER_GROUP,
  TEXT_CONTENT_TYPE,
} from "./workload.ts";

const HOST = "127.0.0.1";
const PUSHGATEWAY_BIN = "/usr/bin/prometheus-pushgateway";
const WRK_BIN = "/usr/bin/wrk";
const REPO = new URL("../../", import.meta.url).pathname;
const SCRIPTS = new URL("./", import.meta.url).pathname;
const encoder = new TextEncoder();

/** Above this many series a size counts as large: fewer, longer runs. */
const LARGE_STORE_SERIES = 200_000;
/** The informational HTTP preload of a Pushgateway runs up to this size. */
const PG_HTTP_PRELOAD_MAX_SERIES = 100_000;
/** Above this load.ts p99, wrk (2 s timeout) would drop most PUTs. */
const WRK_PUT_MAX_P99_MS = 1500;

function print(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}
function progress(text: string): void {
  Deno.stderr.writeSync(
    encoder.encode(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`),
  );
}

// --- options -------------------------------------------------------------------

interface Options {
  readonly quick: boolean;
  /** Store sizes in series, one comparison each, in this order. */
  readonly sizes: readonly number[];
  readonly jsonPath: string | undefined;
  /** Load window; by default 10 s (20 s for large stores, 4 s with --quick). */
  readonly loadMs: number | undefined;
  readonly warmupMs: number;
  readonly wrkSeconds: number;
  readonly ceilingMs: number;
  readonly concurrency: number;
  readonly smallGroups: number;
  readonly largeGroups: number;
  /** Scrapes per kind; by default 5 (3 for large stores). */
  readonly scrapes: number | undefined;
  /** Wall-clock cap for Pushvault's preload. */
  readonly preloadCapMs: number;
  /** Cap of the informational HTTP preload of a Pushgateway; 0: none. */
  readonly pgHttpPreloadCapMs: number;
  readonly profile: boolean;
  readonly keep: boolean;
  /** Run Pushvault from this commit instead of the work tree. */
  readonly rev: string | undefined;
  /** The load run `--profile` records. */
  readonly profileBody: "10series" | "1000series";
}

/** What one store size runs with: options resolved for that size. */
interface SizeSettings {
  readonly series: number;
  readonly groups: number;
  readonly loadMs: number;
  readonly scrapes: number;
  readonly pgHttpPreloadCapMs: number;
}

export function settingsFor(options: Options, series: number): SizeSettings {
  const large = series > LARGE_STORE_SERIES;
  return {
    series,
    groups: Math.ceil(series / SERIES_PER_GROUP),
    loadMs: options.loadMs ?? (options.quick ? 4_000 : large ? 20_000 : 10_000),
    scrapes: options.scrapes ?? (large ? 3 : 5),
    pgHttpPreloadCapMs: series <= PG_HTTP_PRELOAD_MAX_SERIES
      ? options.pgHttpPreloadCapMs
      : 0,
  };
}

/** `1000000`, `1_000_000`, `100k`, `1M`, `1e6`. */
export function parseCount(text: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKmM]?)$/.exec(
    text.trim().replaceAll("_", ""),
  );
  const n = m
    ? Number(m[1]) *
      (m[2] === "" ? 1 : m[2]?.toLowerCase() === "k" ? 1e3 : 1e6)
    : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new Error(
      `expected a positive whole number of series, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

export function parseOptions(args: readonly string[]): Options {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`);
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (["quick", "profile", "keep"].includes(name)) {
      flags.add(name);
      continue;
    }
    values.set(name, eq > 0 ? arg.slice(eq + 1) : (args[++i] ?? ""));
  }
  const known = new Set([
    "series",
    "sizes",
    "json",
    "load-seconds",
    "warmup-seconds",
    "wrk-seconds",
    "ceiling-seconds",
    "concurrency",
    "scrapes",
    "preload-cap-seconds",
    "pg-http-preload-seconds",
    "rev",
    "profile-body",
  ]);
  for (const name of values.keys()) {
    if (!known.has(name)) throw new Error(`unknown flag --${name}`);
  }
  const quick = flags.has("quick");
  const num = (name: string, fallback: number) => {
    const text = values.get(name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0 || (n === 0 && !name.startsWith("pg-"))) {
      throw new Error(`--${name} must be a positive number`);
    }
    return n;
  };
  const optional = (name: string, scale: number) =>
    values.has(name) ? num(name, 0) * scale : undefined;
  const series = values.get("series");
  const sizes = values.get("sizes");
  if (series !== undefined && sizes !== undefined) {
    throw new Error("give --series or --sizes, not both");
  }
  return {
    quick,
    sizes: sizes !== undefined
      ? sizes.split(",").map(parseCount)
      : series !== undefined
      ? [parseCount(series.replaceAll(",", ""))]
      : quick
      ? [20_000]
      : [100_000, 1_000_000],
    jsonPath: values.get("json"),
    loadMs: optional("load-seconds", 1000),
    warmupMs: num("warmup-seconds", 1) * 1000,
    wrkSeconds: num("wrk-seconds", quick ? 3 : 5),
    ceilingMs: num("ceiling-seconds", quick ? 2 : 3) * 1000,
    concurrency: num("concurrency", 8),
    smallGroups: 1000,
    largeGroups: 100,
    scrapes: optional("scrapes", 1),
    preloadCapMs: num("preload-cap-seconds", quick ? 60 : 900) * 1000,
    pgHttpPreloadCapMs: num("pg-http-preload-seconds", quick ? 0 : 30) * 1000,
    profile: flags.has("profile"),
    keep: flags.has("keep"),
    rev: values.get("rev"),
    profileBody: values.get("profile-body") === "1000series"
      ? "1000series"
      : "10series",
  };
}

// --- child processes -----------------------------------------------------------

interface Memory {
  readonly rssMiB: number;
  readonly hwmMiB: number;
}

const running = new Set<Server>();

/** A server child process; stopped by PID, never by name. */
export class Server {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  readonly spawnedAt: number;
  readonly #child: Deno.ChildProcess;
  readonly #drains: Promise<unknown>[];
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  private constructor(
    name: string,
    port: number,
    child: Deno.ChildProcess,
    spawnedAt: number,
    drains: Promise<unknown>[],
  ) {
    this.name = name;
    this.port = port;
    this.url = `http://${HOST}:${port}`;
    this.#child = child;
    this.pid = child.pid;
    this.spawnedAt = spawnedAt;
    this.#drains = drains;
    this.status = child.status.then((s) => {
      this.#exited = true;
      running.delete(this);
      return s;
    });
  }

  static async spawn(
    name: string,
    command: string,
    args: string[],
    port: number,
    logPrefix: string,
    cwd = REPO,
  ): Promise<Server> {
    const out = await Deno.open(`${logPrefix}.out`, {
      write: true,
      create: true,
      append: true,
    });
    const err = await Deno.open(`${logPrefix}.err`, {
      write: true,
      create: true,
      append: true,
    });
    const spawnedAt = performance.now();
    const child = new Deno.Command(command, {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const drains = [
      child.stdout.pipeTo(out.writable).catch(() => {}),
      child.stderr.pipeTo(err.writable).catch(() => {}),
    ];
    const server = new Server(name, port, child, spawnedAt, drains);
    running.add(server);
    return server;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Milliseconds from spawn until GET /-/ready answered 200. */
  async waitReady(timeoutMs = 300_000): Promise<number> {
    const request = formatRequest("GET", "/-/ready", HOST, {}, null);
    const deadline = this.spawnedAt + timeoutMs;
    while (performance.now() < deadline) {
      if (this.#exited) throw new Error(`${this.name} exited during start-up`);
      let conn: Http1Connection | undefined;
      try {
        conn = await Http1Connection.open(HOST, this.port);
        const res = await conn.request(request);
        if (res.status === 200) return performance.now() - this.spawnedAt;
      } catch {
        // not listening yet
      } finally {
        conn?.close();
      }
      await sleep(5);
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms`);
  }

  memory(): Memory {
    const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rssMiB: kb("VmRSS") / 1024, hwmMiB: kb("VmHWM") / 1024 };
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 30_000): Promise<Deno.CommandStatus> {
    if (!this.#exited) this.#signal("SIGTERM");
    const timer = setTimeout(() => this.#signal("SIGKILL"), graceMs);
    try {
      const status = await this.status;
      await Promise.all(this.#drains);
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL; the promise settles once it has exited and its output is written. */
  /** SIGKILL now, synchronously: for exits that run no more async code. */
  killNow(): void {
    this.#signal("SIGKILL");
  }

  async kill(): Promise<void> {
    this.#signal("SIGKILL");
    await this.status;
    await Promise.all(this.#drains);
  }

  #signal(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Starts Pushvault from `root` (this work tree, or what `--rev` pinned) on
 * `file`, its output in `<dir>/<tag>.out|.err`. Also used by ab_load.ts.
 */
export async function startPushvault(
  dir: string,
  file: string,
  tag: string,
  extraDenoFlags: string[] = [],
  root = pushvaultSource.root,
): Promise<Server> {
  const port = await freePort();
  return Server.spawn(
    "pushvault",
    Deno.execPath(),
    [
      "run",
      "-A",
      ...V8_FLAGS, // as `deno task start` and the binary run it
      ...extraDenoFlags,
      "src/main.ts",
      `--web.listen-address=${HOST}:${port}`,
      `--persistence.file=${file}`,
      "--log.level=warn",
    ],
    port,
    `${dir}/${tag}`,
    root,
  );
}

/** Where Pushvault runs from: the work tree, or a `git archive` of `--rev`. */
let pushvaultSource = { root: REPO, revision: "work tree" };

async function git(args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-C", REPO, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/**
 * Other people edit the work tree while a run goes on; `--rev` pins the
 * source (src/ and deno.json of that commit, the work tree's deno.lock).
 * Either way, one `--version` run first, so that start-up is measured with
 * warm module and npm caches.
 */
async function preparePushvault(
  rev: string | undefined,
  dir: string,
): Promise<void> {
  if (rev === undefined) {
    const head = await git(["rev-parse", "--short=12", "HEAD"]);
    const dirty =
      (await git(["status", "--porcelain", "--", "src", "deno.json"]))
        .split("\n").filter((l) => l !== "").length;
    pushvaultSource = {
      root: REPO,
      revision: `work tree at ${head}${
        dirty > 0 ? ` with ${dirty} changed file(s) under src/` : ""
      }`,
    };
  } else {
    const commit = await git(["rev-parse", "--short=12", `${rev}^{commit}`]);
    const root = `${dir}/pushvault-src`;
    await Deno.mkdir(root);
    const archive = await new Deno.Command("sh", {
      args: [
        "-c",
        'git -C "$1" archive --format=tar "$2" src deno.json | tar -x -C "$3"',
        "sh",
        REPO,
        commit,
        root,
      ],
      stderr: "piped",
    }).output();
    if (!archive.success) {
      throw new Error(
        `git archive ${commit}: ${new TextDecoder().decode(archive.stderr)}`,
      );
    }
    try {
      await Deno.copyFile(`${REPO}deno.lock`, `${root}/deno.lock`);
    } catch {
      // no lock file: deno resolves from its cache
    }
    pushvaultSource = { root, revision: `commit ${commit} (--rev ${rev})` };
  }
  const warm = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/main.ts", "--version"],
    cwd: pushvaultSource.root,
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).output();
  if (!warm.success) {
    throw new Error(
      `pushvault --version failed: ${new TextDecoder().decode(warm.stderr)}`,
    );
  }
}

/**
 * A Pushgateway on `persistenceFile` ("" keeps nothing on disk). With a
 * file it restores that file before it listens, and persists only every
 * 24 h and on SIGTERM, so the file stays as written during a run; the bench
 * stops it with SIGKILL, so it never rewrites the file.
 */
async function startPushgateway(
  dir: string,
  persistenceFile: string,
  tag: string,
): Promise<Server> {
  const port = await freePort();
  return Server.spawn(
    "pushgateway",
    PUSHGATEWAY_BIN,
    [
      `--web.listen-address=${HOST}:${port}`,
      `--persistence.file=${persistenceFile}`,
      "--persistence.interval=24h",
    ],
    port,
    `${dir}/${tag}`,
  );
}

async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await sleep(1);
  return port;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// --- preload and scrapes -------------------------------------------------------

interface PreloadResult {
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

interface ScrapeResult {
  readonly coldMs: number;
  readonly textMedianMs: number;
  readonly textAllMs: readonly number[];
  readonly textBytes: number;
  readonly gzipMedianMs: number;
  readonly gzipAllMs: readonly number[];
  readonly gzipBytes: number;
}

async function scrapeOnce(
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

async function measureScrapes(
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

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1
    ? s[mid] as number
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

// --- load, wrk, ceiling (subprocesses) -----------------------------------------

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function runLoadProcess(
  server: Server,
  bodyKind: "10series" | "1000series" | "none",
  groups: number,
  options: Options,
  durationMs: number,
): Promise<LoadResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${SCRIPTS}load.ts`,
      "--url",
      server.url,
      "--concurrency",
      String(options.concurrency),
      "--duration",
      `${durationMs}ms`,
      "--warmup",
      `${options.warmupMs}ms`,
      "--body-kind",
      bodyKind,
      "--groups",
      String(groups),
      "--watch-pid",
      String(server.pid),
    ],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    // load.ts waits for the pushes under way when its window closes; at 1M
    // series one Pushgateway push can take 15 s with 8 clients queued.
    signal: AbortSignal.timeout(durationMs + options.warmupMs + 300_000),
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success || text === "") {
    throw new Error(
      `load.ts failed: ${new TextDecoder().decode(output.stderr).slice(-2000)}`,
    );
  }
  return JSON.parse(text.split("\n").pop() as string) as LoadResult;
}

interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly socketErrors: string | null;
  readonly command: string;
}

export function wrkLua(kind: "10series"): string {
  const body = loadBody(kind, 1);
  const tail = new TextDecoder().decode(body.tails[0]);
  const head = body.head(0).replace(/ 1795000000\n$/, " ");
  return `-- generated by gateway_bench.ts: PUTs of ${body.series} series, distinct groups and values
local tail = [==[${tail}]==]
local head = [==[${head}]==]
local counter = 0
local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end
function init(args)
  counter = (tid or 0) * 500
end
request = function()
  counter = counter + 1
  local body = head .. tostring(1795000000 + counter) .. "\\n" .. tail
  return wrk.format("PUT", "/metrics/job/wrk-small/instance/client-" .. (counter % 1000),
    { ["Content-Type"] = "${TEXT_CONTENT_TYPE}" }, body)
end
`;
}

async function runWrk(
  server: Server,
  path: string,
  seconds: number,
  concurrency: number,
  script: string | undefined,
): Promise<WrkResult | undefined> {
  if (!await exists(WRK_BIN)) return undefined;
  const args = [
    "-t2",
    `-c${concurrency}`,
    `-d${seconds}s`,
    "--latency",
    ...(script ? ["-s", script] : []),
    `${server.url}${path}`,
  ];
  const output = await new Deno.Command(WRK_BIN, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(seconds * 1000 + 60_000),
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!output.success || !rps) {
    throw new Error(
      `wrk failed: ${text}${new TextDecoder().decode(output.stderr)}`,
    );
  }
  const latency = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(text);
    if (!m) return NaN;
    const n = Number(m[1]);
    return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
  };
  return {
    requestsPerSecond: Number(rps[1]),
    p50Ms: latency("50"),
    p99Ms: latency("99"),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0),
    socketErrors: /Socket errors:.*/.exec(text)?.[0] ?? null,
    command: `wrk ${args.join(" ").replaceAll(server.url, "<url>")}`,
  };
}

async function measureCeiling(options: Options): Promise<CeilingResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${SCRIPTS}sqlite_ceiling.ts`,
      "--duration",
      `${options.ceilingMs}ms`,
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.ceilingMs + 120_000),
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success || text === "") {
    throw new Error(
      `sqlite_ceiling.ts failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return JSON.parse(text) as CeilingResult;
}

function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

function dbSize(path: string): { db: number; wal: number; total: number } {
  const db = fileSize(path);
  const wal = fileSize(`${path}-wal`);
  return { db, wal, total: db + wal + fileSize(`${path}-shm`) };
}

// --- Pushgateway persistence file, store census, settling ---------------------

interface SnapshotResult {
  readonly path: string;
  readonly groups: number;
  readonly series: number;
  readonly bytes: number;
  /** Encoding and writing, in this process (not the Pushgateway's time). */
  readonly seconds: number;
}

/** Writes workload groups 0..groups-1 as a Pushgateway 1.5.1 persistence file. */
async function writePgSnapshot(
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

/** What one uncompressed scrape holds, counted line by line. */
interface StoreCensus {
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
async function censusScrape(server: Server): Promise<StoreCensus> {
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

/**
 * Waits until the server's CPU falls below 8 % of a core over 250 ms, at
 * most `maxMs`: wrk leaves pushes queued in the Pushgateway when it stops,
 * and a load run should not pay for the previous one's backlog.
 */
async function waitIdle(
  server: Server,
  maxMs = 60_000,
): Promise<{ readonly ms: number; readonly idle: boolean }> {
  const start = performance.now();
  let last = cpuSecondsOf(server.pid);
  while (performance.now() - start < maxMs) {
    await sleep(250);
    const now = cpuSecondsOf(server.pid);
    if (!(now - last > 0.02)) {
      return { ms: performance.now() - start, idle: true };
    }
    last = now;
  }
  return { ms: performance.now() - start, idle: false };
}

async function settle(
  server: Server,
  figures: ServerFigures,
  before: string,
): Promise<void> {
  const { ms, idle } = await waitIdle(server);
  if (!idle) {
    figures.notes.push(
      `still busy ${
        (ms / 1000).toFixed(0)
      } s after the previous run, before ${before}`,
    );
  } else if (ms > 2_000) {
    figures.notes.push(
      `took ${(ms / 1000).toFixed(1)} s to go idle before ${before}`,
    );
  }
}

interface ScrapeUnderLoad {
  readonly textMedianMs: number;
  readonly textAllMs: readonly number[];
  readonly textBytes: number;
  /** The 10-series load the scrapes ran under. */
  readonly load: LoadResult;
}

/**
 * Text scrapes spread over a 10-series load run (`load.ts`, same settings
 * as the 10-series row), one per slot of `loadMs / scrapes`, none started
 * after the window; a scrape slower than its slot delays the next one.
 */
async function scrapesUnderLoad(
  server: Server,
  options: Options,
  settings: SizeSettings,
): Promise<ScrapeUnderLoad> {
  const load = runLoadProcess(
    server,
    "10series",
    options.smallGroups,
    options,
    settings.loadMs,
  );
  load.catch(() => {}); // awaited below; no unhandled rejection meanwhile
  const all: number[] = [];
  let textBytes = 0;
  const conn = await Http1Connection.open(HOST, server.port);
  try {
    // load.ts starts its warm-up after its own start-up: a margin.
    const begin = performance.now() + options.warmupMs + 500;
    const window = Math.max(1, settings.loadMs - 500);
    for (let i = 0; i < settings.scrapes; i++) {
      await sleep(
        Math.max(
          0,
          begin + (i * window) / settings.scrapes - performance.now(),
        ),
      );
      if (performance.now() > begin + window) break;
      const r = await scrapeOnce(conn, false);
      all.push(r.ms);
      textBytes = r.bytes;
    }
  } finally {
    conn.close();
  }
  return {
    textMedianMs: median(all),
    textAllMs: all,
    textBytes,
    load: await load,
  };
}

// --- the run -------------------------------------------------------------------

interface ServerFigures {
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
  smallWrk?: WrkResult | undefined;
  large?: LoadResult;
  scrapeUnderLoad?: ScrapeUnderLoad;
  memoryAtEnd?: Memory;
  storageBytesAtEnd?: number;
  notes: string[];
}

async function machineInfo(): Promise<Record<string, unknown>> {
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

interface SizeResult {
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
async function runComparison(options: Options, dir: string) {
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

type Comparison = Awaited<ReturnType<typeof runComparison>>;

// --- report --------------------------------------------------------------------

type Row = [
  string,
  number | undefined,
  number | undefined,
  (n: number) => string,
];

const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
const mib = (n: number) => `${n.toFixed(1)} MiB`;
const rate = (n: number) => `${n < 100 ? n.toFixed(1) : Math.round(n)}/s`;
const int = (n: number) => String(Math.round(n));
const bytes = (n: number) =>
  n >= 2 ** 20
    ? `${(n / 2 ** 20).toFixed(2)} MiB`
    : `${(n / 1024).toFixed(1)} KiB`;
const secs = (n: number) => `${n.toFixed(2)} s`;
const micros = (n: number) => `${Math.round(n)} µs`;
const cores = (n: number) => n.toFixed(2);
const percent = (n: number) => `${(100 * n).toFixed(0)}%`;

/** Server CPU µs per request over the measured window. */
function cpuPerPush(r: LoadResult | undefined): number | undefined {
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

function tableRows(size: SizeResult): Row[] {
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

function formatTable(rows: readonly Row[]): string {
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

const loadAverages = (xs: readonly number[]) =>
  xs.map((x) => x.toFixed(2)).join(" ");

/**
 * Pushvault's 10-series pushes/s against the ceiling: the one measured
 * beside the load (the mean of right before and right after) where there is
 * one, and the one at the start of the run.
 */
function ceilingShare(
  pushesPerSecond: number,
  atStart: CeilingResult,
  size: SizeResult,
): string {
  const share = (tps: number) => ((100 * pushesPerSecond) / tps).toFixed(1);
  const beside = size.ceilingBesideLoad;
  if (beside === undefined) {
    return `Pushvault 10-series pushes/s = ${
      share(atStart.transactionsPerSecond)
    } % of the node:sqlite ceiling`;
  }
  const before = beside.before.transactionsPerSecond;
  const after = beside.after.transactionsPerSecond;
  return `Pushvault 10-series pushes/s = ${
    share((before + after) / 2)
  } % of the node:sqlite ceiling measured beside that load (${
    Math.round(before)
  } tx/s right before, ${Math.round(after)} right after); ${
    share(atStart.transactionsPerSecond)
  } % of the one at the start of the run`;
}

function formatSize(
  size: SizeResult,
  result: Comparison,
): string {
  const c = result.ceiling;
  const s = size.settings;
  const pvSmall = size.pushvault.small?.perSecond;
  const lines = [
    `## ${size.series} series — ${size.groups} groups × ${SERIES_PER_GROUP} series (6 families: gauges, counters, 3 histograms)`,
    `load ${s.loadMs / 1000} s after ${
      result.options.warmupMs / 1000
    } s warm-up, ${result.options.concurrency} keep-alive clients (load.ts, its own process), consistency check on in both; ${s.scrapes} scrapes per kind; this size took ${
      size.seconds.toFixed(0)
    } s, load average ${loadAverages(size.loadAverageAtStart)} → ${
      loadAverages(size.loadAverageAtEnd)
    }`,
    "",
    formatTable(tableRows(size)),
    pvSmall === undefined ? "" : ceilingShare(pvSmall, c, size),
    `Pushgateway: not preloaded by HTTP (each push re-gathers its whole store); it started on a persistence file of the same ${size.snapshot.groups} groups (${
      bytes(size.snapshot.bytes)
    }) written by pg_snapshot.ts, so its "after preload" figures are after restoring that file.${
      size.pushgateway.httpPreload
        ? ` A second, empty Pushgateway took the same HTTP pushes for ${
          size.pushgateway.httpPreload.seconds.toFixed(0)
        } s: ${size.pushgateway.httpPreload.groups} groups, for the preload pushes/s row.`
        : ""
    }`,
  ];
  for (
    const [name, f] of [
      ["Pushvault", size.pushvault],
      ["Pushgateway", size.pushgateway],
    ] as const
  ) {
    for (const note of f.notes) lines.push(`note (${name}): ${note}`);
    for (const r of [f.small, f.large, f.scrapeUnderLoad?.load]) {
      if (r && r.errors > 0) {
        lines.push(
          `errors (${name}, ${r.bodyKind}): ${
            JSON.stringify(r.errorKinds)
          } e.g. ${r.errorExample}`,
        );
      }
    }
  }
  return lines.join("\n") + "\n";
}

function formatReport(result: Comparison): string {
  const m = result.machine;
  const c = result.ceiling;
  const first = result.sizes[0];
  const lines = [
    `# Pushvault vs Pushgateway 1.5.1 — ${result.date}`,
    `machine: nproc ${m.nproc}, ${m.cpuModel}, ${
      (m.memTotalGiB as number).toFixed(1)
    } GiB RAM, kernel ${m.kernel}, deno ${m.deno}, load average at start ${
      loadAverages(m.loadAverageAtStart as number[])
    }, at end ${loadAverages(m.loadAverageAtEnd as number[])}`,
    "free -g:",
    ...(m.freeG as string).split("\n").map((l) => `    ${l}`),
    `pushvault: ${result.pushvaultRevision}; pushgateway: ${PUSHGATEWAY_BIN} 1.5.1 (Debian); ${
      result.options.quick ? "--quick" : "full run"
    }, sizes ${result.options.sizes.join(", ")} series`,
    `ceiling: node:sqlite ${c.sqliteVersion} alone commits ${
      Math.round(c.transactionsPerSecond)
    } transactions/s of ${c.rowsPerTransaction} rows (WAL, synchronous=NORMAL), ${
      c.bulkMicrosPerRow.toFixed(2)
    } µs/row in one ${c.bulkRows}-row transaction`,
    "",
    ...result.sizes.map((size) => formatSize(size, result)),
    "how start-up with the store was measured:",
    `  Pushvault: ${first?.pushvault.restart?.how ?? "—"}`,
    `  Pushgateway: ${first?.pushgateway.restart?.how ?? "—"}`,
    `load generator check: wrk ${
      first?.pushvault.healthyWrk?.command ?? "(absent)"
    } vs load.ts with the same connections; the 10-series wrk row uses a Lua script with distinct groups and values.`,
    "pushes/s = pushes started in the measured window and answered 2xx (load.ts waits for those still under way when the window closes) / window; where a push takes longer than the window, 'pushes measured' shows how few the figure rests on.",
    "scrapes under load: text scrapes spread over a 10-series load.ts run (one per slot, none started after the window; a slow scrape delays the next).",
    "CPU figures cover the measured window only (warm-up excluded): server and load.ts from /proc/<pid>/stat, other processes = all cores busy (/proc/stat) less both; on a shared machine a high figure there means the servers competed for the cores.",
  ];
  return lines.join("\n") + "\n";
}

// --- profile mode --------------------------------------------------------------

async function runProfile(options: Options, dir: string): Promise<string> {
  const settings = settingsFor(options, options.sizes[0] ?? 100_000);
  const groups = settings.groups;
  // Outside the run's temp dir, which is removed at the end.
  const profDir = await Deno.makeTempDir({ prefix: "pv-cpuprofile-" });
  const pvFile = `${dir}/pv.db`;
  progress(`profile: preloading ${groups} groups without the profiler`);
  const first = await startPushvault(dir, pvFile, "pv");
  await first.waitReady();
  await preload(
    first,
    preloadRequests(groups),
    options.concurrency,
    options.preloadCapMs,
  );
  await first.stop();
  const kind = options.profileBody;
  progress(`profile: restart under --cpu-prof, ${kind} load`);
  const server = await startPushvault(dir, pvFile, "pv-prof", [
    "--cpu-prof",
    `--cpu-prof-dir=${profDir}`,
  ]);
  const readyMs = await server.waitReady();
  const loadStart = performance.now() - server.spawnedAt + options.warmupMs;
  const small = await runLoadProcess(
    server,
    kind,
    kind === "10series" ? options.smallGroups : options.largeGroups,
    options,
    settings.loadMs,
  );
  const loadEnd = performance.now() - server.spawnedAt;
  await server.stop();
  // The main thread's profile; workers (the WAL checkpointer) write their own.
  const files = [...Deno.readDirSync(profDir)].filter((e) =>
    e.name.endsWith(".cpuprofile") && !e.name.includes(".worker-")
  );
  const file = files[0];
  if (!file) throw new Error("no .cpuprofile was written");
  const profile = JSON.parse(
    await Deno.readTextFile(`${profDir}/${file.name}`),
  );
  const summary = summarizeProfile(profile, 30, {
    fromUs: loadStart * 1000,
    toUs: loadEnd * 1000,
  });
  return [
    `# Pushvault CPU profile — ${new Date().toISOString()}`,
    `pushvault: ${pushvaultSource.revision}`,
    `store: ${groups * SERIES_PER_GROUP} series; ready in ${
      readyMs.toFixed(0)
    } ms after restart`,
    `load: ${kind} PUTs, ${options.concurrency} clients, ${
      small.perSecond.toFixed(0)
    } pushes/s, p50 ${small.p50Ms.toFixed(2)} ms, p99 ${
      small.p99Ms.toFixed(2)
    } ms, errors ${small.errors}`,
    `window: samples from the end of the warm-up to the end of the load (start-up excluded)`,
    `profile file: ${profDir}/${file.name}`,
    "",
    formatSummary(summary),
  ].join("\n");
}

// --- main ----------------------------------------------------------------------

async function main(args: readonly string[]): Promise<number> {
  const options = parseOptions(args);
  const dir = await Deno.makeTempDir({ prefix: "pv-gateway-bench-" });
  const onSignal = () => {
    progress(`signal: killing ${running.size} server(s) by PID`);
    for (const server of running) server.killNow();
    Deno.exit(130);
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  // An error nobody awaits ends the process without running `finally`:
  // the servers must not outlive it.
  const onUncaught = () => {
    for (const server of running) server.killNow();
  };
  globalThis.addEventListener("unhandledrejection", onUncaught);
  globalThis.addEventListener("error", onUncaught);
  try {
    await preparePushvault(options.rev, dir);
    if (options.profile) {
      print(await runProfile(options, dir));
      return 0;
    }
    if (!await exists(WRK_BIN)) {
      progress(
        `${WRK_BIN} is absent (scripts/setup.sh installs it: apt-get install wrk): the wrk rows, which show that load.ts is not the limit, are left out`,
      );
    }
    const result = await runComparison(options, dir);
    print(formatReport(result));
    if (options.jsonPath) {
      await Deno.writeTextFile(
        options.jsonPath,
        JSON.stringify(
          {
            ...result,
            sizes: result.sizes.map((size) => ({
              ...size,
              table: tableRows(size).map(([n, a, b]) => ({
                figure: n,
                pushvault: a ?? null,
                pushgateway: b ?? null,
              })),
            })),
          },
          null,
          2,
        ) + "\n",
      );
      progress(`wrote ${options.jsonPath}`);
    }
    return 0;
  } finally {
    for (const server of [...running]) await server.kill();
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    globalThis.removeEventListener("unhandledrejection", onUncaught);
    globalThis.removeEventListener("error", onUncaught);
    if (options.keep) progress(`kept ${dir}`);
    else await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
