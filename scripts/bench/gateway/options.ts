/**
 * The gateway benchmark's command line: the store sizes, the load windows,
 * and what one size runs with once its options are resolved.
 * @module
 */

import { SERIES_PER_GROUP } from "../workload.ts";

/** Above this many series a size counts as large: fewer, longer runs. */
const LARGE_STORE_SERIES = 200_000;
/** The informational HTTP preload of a Pushgateway runs up to this size. */
const PG_HTTP_PRELOAD_MAX_SERIES = 100_000;

export interface Options {
  readonly quick: boolean;
  /**
   * Which parts run: the store sizes, the ten-million-series tier, or both
   * (the full run; `--quick` and explicit sizes run the sizes alone).
   */
  readonly tiers: readonly ("sizes" | "10m")[];
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
export interface SizeSettings {
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
    "tier",
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
  const tier = values.get("tier");
  if (tier !== undefined && !["10m", "sizes"].includes(tier.toLowerCase())) {
    throw new Error(`--tier is 10m or sizes, got ${JSON.stringify(tier)}`);
  }
  return {
    quick,
    tiers: tier !== undefined
      ? [tier.toLowerCase() === "10m" ? "10m" : "sizes"]
      : quick || series !== undefined || sizes !== undefined
      ? ["sizes"]
      : ["sizes", "10m"],
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
