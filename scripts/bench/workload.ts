/**
 * The data the gateway benchmark pushes: the preloaded store (groups of 100
 * series of a batch job: gauges, counters and histograms with realistic
 * names and labels) and the bodies of the load runs (10 or 1,000 series,
 * distinct values on every push). Text format 0.0.4, which both servers
 * accept. Pure: no I/O.
 * @module
 */

import { mulberry32 } from "../mulberry32.ts";
/** Series (sample lines) per preloaded group. */
export const SERIES_PER_GROUP = 100;

export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4";

const JOBS = [
  "backup",
  "etl-nightly",
  "report-builder",
  "db-vacuum",
  "cert-renewal",
  "index-rebuild",
  "log-shipper",
  "billing-export",
] as const;
const PHASES = ["snapshot", "upload", "verify", "prune"] as const;
const REGIONS = ["eu-west-1", "us-east-1", "ap-south-1"] as const;
const BOUNDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;
const REASONS = [
  "timeout",
  "connection_reset",
  "checksum_mismatch",
  "quota_exceeded",
  "permission_denied",
  "not_found",
  "throttled",
  "disk_full",
  "dns_failure",
  "tls_handshake",
  "lock_contention",
  "schema_mismatch",
  "oom_killed",
  "cancelled",
  "invalid_config",
  "unknown",
] as const;

/** URL path (after the host) of preloaded group `g`. */
export function preloadPath(g: number): string {
  const job = JOBS[g % JOBS.length] as string;
  return `/metrics/job/${job}/instance/worker-${
    String(g).padStart(5, "0")
  }.example.org:9100`;
}

/** The body of preloaded group `g`: exactly {@link SERIES_PER_GROUP} series. */
export function preloadBody(g: number): string {
  const rand = mulberry32(g + 1);
  const lines: string[] = [];
  const f = (x: number) => String(Math.round(x * 1000) / 1000);
  lines.push(
    "# HELP batch_job_last_success_timestamp_seconds Unix time the job last succeeded.",
    "# TYPE batch_job_last_success_timestamp_seconds gauge",
    `batch_job_last_success_timestamp_seconds ${
      1_795_000_000 + Math.floor(rand() * 86_400)
    }`,
    "# HELP batch_job_phase_duration_seconds Duration of each phase of the last run.",
    "# TYPE batch_job_phase_duration_seconds gauge",
  );
  for (const phase of PHASES) {
    lines.push(
      `batch_job_phase_duration_seconds{phase="${phase}"} ${f(rand() * 600)}`,
    );
  }
  lines.push(
    "# HELP batch_job_bytes_processed_total Bytes read from each volume.",
    "# TYPE batch_job_bytes_processed_total counter",
  );
  for (let v = 0; v < 10; v++) {
    for (const kind of ["full", "incremental"]) {
      lines.push(
        `batch_job_bytes_processed_total{kind="${kind}",volume="vol-${v}"} ${
          Math.floor(rand() * 1e12)
        }`,
      );
    }
  }
  lines.push(
    "# HELP batch_job_files_processed_total Files seen on each volume.",
    "# TYPE batch_job_files_processed_total counter",
  );
  for (let v = 0; v < 10; v++) {
    for (const status of ["ok", "skipped"]) {
      lines.push(
        `batch_job_files_processed_total{status="${status}",volume="vol-${v}"} ${
          Math.floor(rand() * 1e7)
        }`,
      );
    }
  }
  lines.push(
    "# HELP batch_job_chunk_upload_duration_seconds Time to upload one chunk.",
    "# TYPE batch_job_chunk_upload_duration_seconds histogram",
  );
  for (const region of REGIONS) {
    let cumulative = 0;
    for (const le of BOUNDS) {
      cumulative += Math.floor(rand() * 500);
      lines.push(
        `batch_job_chunk_upload_duration_seconds_bucket{region="${region}",le="${le}"} ${cumulative}`,
      );
    }
    cumulative += Math.floor(rand() * 10);
    lines.push(
      `batch_job_chunk_upload_duration_seconds_bucket{region="${region}",le="+Inf"} ${cumulative}`,
      `batch_job_chunk_upload_duration_seconds_sum{region="${region}"} ${
        f(cumulative * rand() * 3)
      }`,
      `batch_job_chunk_upload_duration_seconds_count{region="${region}"} ${cumulative}`,
    );
  }
  lines.push(
    "# HELP batch_job_errors_total Errors by reason during the last run.",
    "# TYPE batch_job_errors_total counter",
  );
  for (const reason of REASONS) {
    lines.push(
      `batch_job_errors_total{reason="${reason}"} ${Math.floor(rand() * 50)}`,
    );
  }
  return lines.join("\n") + "\n";
}

export type BodyKind = "10series" | "1000series";

/**
 * A load body in two parts: `head(seq)` carries a value that changes on
 * every push, `tail` (one of several precomputed variants) the other series.
 */
export interface LoadBody {
  readonly head: (seq: number) => string;
  readonly tails: readonly Uint8Array[];
  readonly series: number;
}

const LOAD_HEAD_HELP =
  "# HELP load_job_last_success_timestamp_seconds Unix time the job last succeeded.\n" +
  "# TYPE load_job_last_success_timestamp_seconds gauge\n";

export function loadBody(kind: BodyKind, variants = 16): LoadBody {
  const encoder = new TextEncoder();
  const tails: Uint8Array[] = [];
  for (let v = 0; v < variants; v++) {
    const rand = mulberry32(1000 + v);
    const lines: string[] = [];
    if (kind === "10series") {
      lines.push(
        "# HELP load_job_items_total Items processed per shard.",
        "# TYPE load_job_items_total counter",
      );
      for (let s = 0; s < 5; s++) {
        lines.push(
          `load_job_items_total{shard="${s}"} ${Math.floor(rand() * 1e6)}`,
        );
      }
      lines.push(
        "# HELP load_job_phase_duration_seconds Duration of each phase.",
        "# TYPE load_job_phase_duration_seconds gauge",
      );
      for (const phase of PHASES) {
        lines.push(
          `load_job_phase_duration_seconds{phase="${phase}"} ${
            Math.round(rand() * 6e5) / 1000
          }`,
        );
      }
    } else {
      // 9 counter families × 111 series + the head = 1,000 series.
      for (let fam = 0; fam < 9; fam++) {
        const name = `load_table_rows_${fam}_total`;
        lines.push(
          `# HELP ${name} Rows copied per table and partition.`,
          `# TYPE ${name} counter`,
        );
        for (let s = 0; s < 111; s++) {
          lines.push(
            `${name}{partition="p${s % 37}",table="table_${
              String(s).padStart(3, "0")
            }"} ${Math.floor(rand() * 1e9)}`,
          );
        }
      }
    }
    tails.push(encoder.encode(lines.join("\n") + "\n"));
  }
  return {
    head: (seq) =>
      `${LOAD_HEAD_HELP}load_job_last_success_timestamp_seconds ${
        1_795_000_000 + seq
      }\n`,
    tails,
    series: kind === "10series" ? 10 : 1000,
  };
}

/** URL path of load group `g` for a body kind. */
export function loadPath(kind: BodyKind, g: number): string {
  return `/metrics/job/${
    kind === "10series" ? "load-small" : "load-large"
  }/instance/client-${g}`;
}
