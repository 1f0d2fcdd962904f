/**
 * The gateway's own metrics (docs/compatibility.md, The gateway's own metrics):
 * `pushgateway_build_info`, `pushgateway_http_requests_total`, the push
 * duration and size summaries, `process_*`, and Pushvault's own `pushvault_*`
 * families. Exposed under the Pushgateway's names so existing dashboards keep
 * working.
 * @module
 */

import type { Label, MetricFamily } from "../exposition/model.ts";
import type { OwnFamily } from "../push/consistency.ts";
import { BRANCH, BUILD_DATE, REVISION, VERSION } from "../version.ts";

const REQUESTS_HELP =
  "Total HTTP requests processed by the Pushgateway, excluding scrapes.";
const DURATION_HELP = "HTTP request duration for pushes to the Pushgateway.";
const SIZE_HELP = "HTTP request size for pushes to the Pushgateway.";
const BUILD_HELP =
  "A metric with a constant '1' value labeled by version, revision, branch, goversion from which pushgateway was built, and the goos and goarch for the build.";

/**
 * Families this process exposes, for the consistency rules
 * (docs/compatibility.md, The consistency check).
 */
export const OWN_FAMILIES: ReadonlyMap<string, OwnFamily> = new Map([
  ["pushgateway_build_info", {
    type: "gauge",
    help: BUILD_HELP,
    helpMustMatch: false,
  }],
  ["pushvault_build_info", {
    type: "gauge",
    help: "Pushvault build information.",
    helpMustMatch: false,
  }],
  ["pushgateway_http_requests_total", {
    type: "counter",
    help: REQUESTS_HELP,
    helpMustMatch: true,
  }],
  ["pushgateway_http_push_duration_seconds", {
    type: "summary",
    help: DURATION_HELP,
    helpMustMatch: true,
  }],
  ["pushgateway_http_push_size_bytes", {
    type: "summary",
    help: SIZE_HELP,
    helpMustMatch: true,
  }],
  ["process_start_time_seconds", {
    type: "gauge",
    help: "Start time of the process since unix epoch in seconds.",
    helpMustMatch: false,
  }],
  ["process_resident_memory_bytes", {
    type: "gauge",
    help: "Resident memory size in bytes.",
    helpMustMatch: false,
  }],
  ["process_cpu_seconds_total", {
    type: "counter",
    help: "Total user and system CPU time spent in seconds.",
    helpMustMatch: false,
  }],
  ["pushvault_groups_expired_total", {
    type: "counter",
    help:
      "Groups deleted because their TTL ran out (--group.ttl or the Pushvault-TTL header).",
    helpMustMatch: false,
  }],
  ["pushvault_history_pruned_rows_total", {
    type: "counter",
    help:
      "History rows removed by --history.retention, --history.max-size, or to make room after a write failed for lack of it.",
    helpMustMatch: false,
  }],
  ["pushvault_history_pruned_bytes_total", {
    type: "counter",
    help:
      "Bytes of database pages freed by pruning history; later writes reuse them before the file grows.",
    helpMustMatch: false,
  }],
  ["pushvault_history_prune_runs_total", {
    type: "counter",
    help:
      "Runs of the history pruner that removed rows, by reason (retention, max_size, out_of_room).",
    helpMustMatch: false,
  }],
  ["pushvault_database_bytes", {
    type: "gauge",
    help: "Size of the database file, its -wal file not included.",
    helpMustMatch: false,
  }],
  ["pushvault_database_free_bytes", {
    type: "gauge",
    help:
      "Free pages in the database file, reused by later writes before it grows.",
    helpMustMatch: false,
  }],
  ["pushvault_history_max_size_bytes", {
    type: "gauge",
    help: "--history.max-size: the most the database may use; 0 = no bound.",
    helpMustMatch: false,
  }],
  ["pushvault_pushes_prepared_on_worker_total", {
    type: "counter",
    help:
      "Pushes with a large body decoded and prepared on the push worker thread.",
    helpMustMatch: false,
  }],
  ["pushvault_groups", {
    type: "gauge",
    help: "Groups currently stored.",
    helpMustMatch: false,
  }],
  ["pushvault_series", {
    type: "gauge",
    help: "Series currently stored, metadata series included.",
    helpMustMatch: false,
  }],
  ["pushvault_push_refused_total", {
    type: "counter",
    help:
      "Pushes refused by a limit or because the database could not be written, by reason.",
    helpMustMatch: false,
  }],
  ["pushvault_http_refused_total", {
    type: "counter",
    help:
      "Requests refused by --web.config.file before reaching Pushvault (unauthorized, forbidden, rate_limited, user_rate_limited, too_many_failures, auth_busy).",
    helpMustMatch: false,
  }],
  ["pushvault_user_rate_limited_total", {
    type: "counter",
    help:
      "Requests refused with 429 by a user's own limit in basic_auth_rate_limits, by user.",
    helpMustMatch: false,
  }],
  ["pushvault_web_config_reloads_total", {
    type: "counter",
    help: "Reloads of --web.config.file after it changed, by result.",
    helpMustMatch: false,
  }],
  ["pushvault_web_config_last_reload_successful", {
    type: "gauge",
    help:
      "1 if the last change of --web.config.file could be used, 0 if the previous configuration is still in force.",
    helpMustMatch: false,
  }],
  ["pushvault_wal_bytes", {
    type: "gauge",
    help: "Size of the database's -wal file.",
    helpMustMatch: false,
  }],
  ["pushvault_wal_checkpoint_blocked_seconds", {
    type: "gauge",
    help:
      "How long a reader (sqlite3 shell, backup, Litestream) has kept WAL checkpoints from catching up; 0 when none does.",
    helpMustMatch: false,
  }],
  ["pushvault_wal_checkpoint_failing", {
    type: "gauge",
    help:
      "1 while background WAL checkpoints fail (retried with backoff), else 0.",
    helpMustMatch: false,
  }],
  ["pushvault_storage_writable", {
    type: "gauge",
    help:
      "1 if the database can be written, 0 while pushes are answered 503 because it could not be written since start.",
    helpMustMatch: false,
  }],
  ["pushvault_scrape_inconsistent_series_total", {
    type: "counter",
    help:
      "Series left out of scrapes because they conflict with another group (only possible with --push.disable-consistency-check).",
    helpMustMatch: false,
  }],
]);

const OBJECTIVES = [0.1, 0.5, 0.9] as const;
const WINDOW_MS = 10 * 60_000;
const WINDOW_MAX = 1024;

/** A sliding-window summary: exact quantiles over the last 10 minutes. */
class WindowSummary {
  readonly #samples: { at: number; value: number }[] = [];
  count = 0;
  sum = 0;
  observe(value: number, at: number): void {
    this.count++;
    this.sum += value;
    this.#samples.push({ at, value });
    if (this.#samples.length > WINDOW_MAX) this.#samples.shift();
  }
  quantiles(now: number): { quantile: number; value: number }[] {
    while (
      this.#samples.length > 0 &&
      (this.#samples[0]?.at ?? now) < now - WINDOW_MS
    ) {
      this.#samples.shift();
    }
    const sorted = this.#samples.map((s) => s.value).sort((a, b) => a - b);
    return OBJECTIVES.map((q) => ({
      quantile: q,
      value: sorted.length === 0 ? NaN : sorted[
        Math.min(sorted.length - 1, Math.floor(q * sorted.length))
      ] as number,
    }));
  }
}

export interface StoreStats {
  readonly groups: number;
  readonly series: number;
  readonly inconsistentSeries: number;
}

/** The store's storage state, for the `pushvault_wal_*` and writable gauges. */
export interface StorageStats {
  readonly walBytes: number;
  readonly checkpointBlockedSeconds: number;
  readonly checkpointFailing: boolean;
  readonly writable: boolean;
}

/** The database file's size, for the `pushvault_database_*` gauges. */
export interface DiskStats {
  readonly fileBytes: number;
  readonly freeBytes: number;
  /** --history.max-size; 0 = none. */
  readonly maxSizeBytes: number;
}

export class SelfMetrics {
  readonly #requests = new Map<string, { labels: Label[]; value: number }>();
  readonly #durations = new Map<string, WindowSummary>();
  readonly #sizes = new Map<string, WindowSummary>();
  readonly #startSeconds: number;
  expiredGroups = 0;
  /** undefined without --web.config.file. */
  webConfigReloadOk: boolean | undefined;
  readonly #labeled = new Map<string, Map<string, number>>();
  prunedRows = 0;
  prunedBytes = 0;
  /** Read at each scrape; unset, the database size gauges are left out. */
  disk: (() => DiskStats) | undefined;
  /** Pushes prepared on the push worker (push/push_worker.ts). */
  preparedOnWorker = 0;
  /** Read at each scrape; unset, the storage gauges are left out. */
  storage: (() => StorageStats) | undefined;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
    this.#startSeconds = now() / 1000;
  }

  /** Counts a request (scrapes, quit and router errors are not counted, as upstream). */
  countRequest(handler: string, method: string, code: number): void {
    const m = method.toLowerCase();
    const key = `${code}\xff${handler}\xff${m}`;
    const entry = this.#requests.get(key);
    if (entry) {
      entry.value++;
      return;
    }
    this.#requests.set(key, {
      labels: [
        { name: "code", value: String(code) },
        { name: "handler", value: handler },
        { name: "method", value: m },
      ],
      value: 1,
    });
  }

  /** Counts one refusal (or reload) in a `reason`/`result`-labelled counter. */
  countLabeled(
    family:
      | "pushvault_push_refused_total"
      | "pushvault_http_refused_total"
      | "pushvault_user_rate_limited_total"
      | "pushvault_web_config_reloads_total"
      | "pushvault_history_prune_runs_total",
    value: string,
  ): void {
    let counts = this.#labeled.get(family);
    if (!counts) this.#labeled.set(family, counts = new Map());
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }

  /** Counts one run of the history pruner (maintenance.ts). */
  countPruned(
    pruned: { reason: string; rows: number; freedBytes: number },
  ): void {
    this.prunedRows += pruned.rows;
    this.prunedBytes += pruned.freedBytes;
    this.countLabeled("pushvault_history_prune_runs_total", pruned.reason);
  }

  /** Observes a PUT or POST push: seconds taken and approximate request size. */
  observePush(method: string, seconds: number, bytes: number): void {
    const m = method.toLowerCase();
    const at = this.#now();
    let d = this.#durations.get(m);
    if (!d) this.#durations.set(m, d = new WindowSummary());
    d.observe(seconds, at);
    let s = this.#sizes.get(m);
    if (!s) this.#sizes.set(m, s = new WindowSummary());
    s.observe(bytes, at);
  }

  /** The families to merge into a scrape, keyed by name. */
  families(stats: StoreStats): Map<string, MetricFamily> {
    const out = new Map<string, MetricFamily>();
    const help = (name: string) => OWN_FAMILIES.get(name)?.help;
    const gauge = (name: string, value: number, labels: Label[] = []) => {
      out.set(name, {
        name,
        help: help(name),
        type: "gauge",
        metrics: [{ labels, value }],
      });
    };
    gauge("pushgateway_build_info", 1, [
      { name: "branch", value: BRANCH },
      {
        name: "goarch",
        value: Deno.build.arch === "aarch64" ? "arm64" : "amd64",
      },
      { name: "goos", value: Deno.build.os },
      { name: "goversion", value: `deno${Deno.version.deno}` },
      { name: "revision", value: REVISION },
      { name: "version", value: VERSION },
    ]);
    gauge("pushvault_build_info", 1, [
      { name: "build_date", value: BUILD_DATE },
      { name: "deno_version", value: Deno.version.deno },
      { name: "revision", value: REVISION },
      { name: "version", value: VERSION },
    ]);
    if (this.#requests.size > 0) {
      out.set("pushgateway_http_requests_total", {
        name: "pushgateway_http_requests_total",
        help: REQUESTS_HELP,
        type: "counter",
        metrics: [...this.#requests.values()].map((e) => ({
          labels: e.labels,
          value: e.value,
        })),
      });
    }
    const now = this.#now();
    for (
      const [name, map, h] of [
        [
          "pushgateway_http_push_duration_seconds",
          this.#durations,
          DURATION_HELP,
        ],
        ["pushgateway_http_push_size_bytes", this.#sizes, SIZE_HELP],
      ] as const
    ) {
      if (map.size === 0) continue;
      out.set(name, {
        name,
        help: h,
        type: "summary",
        metrics: [...map].map(([method, s]) => ({
          labels: [{ name: "method", value: method }],
          sampleCount: s.count,
          sampleSum: s.sum,
          quantiles: s.quantiles(now),
        })),
      });
    }
    gauge("process_start_time_seconds", this.#startSeconds);
    gauge("process_resident_memory_bytes", Deno.memoryUsage().rss);
    // The global, not an import of node:process: importing it would load
    // Deno's Node layer at start (docs/performance.md, "Fixed costs").
    const cpu = process.cpuUsage();
    out.set("process_cpu_seconds_total", {
      name: "process_cpu_seconds_total",
      help: help("process_cpu_seconds_total"),
      type: "counter",
      metrics: [{ labels: [], value: (cpu.user + cpu.system) / 1e6 }],
    });
    for (
      const [name, value] of [
        ["pushvault_groups_expired_total", this.expiredGroups],
        ["pushvault_history_pruned_rows_total", this.prunedRows],
        ["pushvault_history_pruned_bytes_total", this.prunedBytes],
        ["pushvault_pushes_prepared_on_worker_total", this.preparedOnWorker],
      ] as const
    ) {
      out.set(name, {
        name,
        help: help(name),
        type: "counter",
        metrics: [{ labels: [], value }],
      });
    }
    gauge("pushvault_groups", stats.groups);
    gauge("pushvault_series", stats.series);
    const storage = this.storage?.();
    if (storage) {
      gauge("pushvault_wal_bytes", storage.walBytes);
      gauge(
        "pushvault_wal_checkpoint_blocked_seconds",
        storage.checkpointBlockedSeconds,
      );
      gauge(
        "pushvault_wal_checkpoint_failing",
        storage.checkpointFailing ? 1 : 0,
      );
      gauge("pushvault_storage_writable", storage.writable ? 1 : 0);
    }
    const disk = this.disk?.();
    if (disk) {
      gauge("pushvault_database_bytes", disk.fileBytes);
      gauge("pushvault_database_free_bytes", disk.freeBytes);
      gauge("pushvault_history_max_size_bytes", disk.maxSizeBytes);
    }
    for (const [name, counts] of this.#labeled) {
      const label = name === "pushvault_web_config_reloads_total"
        ? "result"
        : name === "pushvault_user_rate_limited_total"
        ? "user"
        : "reason";
      out.set(name, {
        name,
        help: help(name),
        type: "counter",
        metrics: [...counts].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
          .map(([value, n]) => ({
            labels: [{ name: label, value }],
            value: n,
          })),
      });
    }
    if (this.webConfigReloadOk !== undefined) {
      gauge(
        "pushvault_web_config_last_reload_successful",
        this.webConfigReloadOk ? 1 : 0,
      );
    }
    out.set("pushvault_scrape_inconsistent_series_total", {
      name: "pushvault_scrape_inconsistent_series_total",
      help: help("pushvault_scrape_inconsistent_series_total"),
      type: "counter",
      metrics: [{ labels: [], value: stats.inconsistentSeries }],
    });
    return out;
  }
}
