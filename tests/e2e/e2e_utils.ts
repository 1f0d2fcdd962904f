/**
 * Helpers for the end-to-end tests: run a real client as a child process,
 * read the history tables while the server runs (with `node:sqlite` and with
 * the `sqlite3` shell, as an operator would), find a free loopback port and
 * poll with a bound. Children are awaited to the end, so the sanitizers stay
 * on.
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { SQLOutputValue } from "node:sqlite";
import { freePort } from "./process_utils.ts";

/** What a finished child process left behind. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Thrown when a child exits with a status other than the one expected. */
export class CommandError extends Error {
  override name = "CommandError";
  readonly result: RunResult;
  constructor(command: string, result: RunResult) {
    super(
      `${command} exited with ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
    this.result = result;
  }
}

const decoder = new TextDecoder();

/**
 * Runs `command args…` to its end, writing `stdin` (if any) to it; throws a
 * CommandError (with both outputs) when the exit code is not `expectCode`.
 */
export async function run(
  command: string,
  args: readonly string[],
  options: {
    readonly stdin?: Uint8Array | string;
    readonly cwd?: string;
    readonly env?: Record<string, string>;
    readonly expectCode?: number;
  } = {},
): Promise<RunResult> {
  const child = new Deno.Command(command, {
    args: [...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
  }).spawn();
  if (options.stdin !== undefined) {
    const bytes = typeof options.stdin === "string"
      ? new TextEncoder().encode(options.stdin)
      : options.stdin;
    const writer = child.stdin.getWriter();
    await writer.write(bytes);
    await writer.close();
  }
  const output = await child.output();
  const result = {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
  if (result.code !== (options.expectCode ?? 0)) {
    throw new CommandError(`${command} ${args.join(" ")}`, result);
  }
  return result;
}

/** Whether an executable file exists at `path` (for `ignore:` with a reason). */
export function hasExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** One request with the curl binary: the HTTP status and the response body. */
export async function curl(
  args: readonly string[],
  stdin?: Uint8Array | string,
): Promise<{ status: number; body: string }> {
  // The status goes on a line of its own after the body.
  const { stdout } = await run(
    "curl",
    ["--silent", "--show-error", "--write-out", "\n%{http_code}", ...args],
    stdin === undefined ? {} : { stdin },
  );
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

/** A row of a SQLite result, columns by name. */
export type Row = Record<string, SQLOutputValue>;

/**
 * Runs one query on a second, read-only connection to the server's database
 * file, next to the server's own connection (WAL lets both work at once).
 */
export function queryDb(
  dbPath: string,
  sql: string,
  ...params: (string | number | null)[]
): Row[] {
  using db = new DatabaseSync(dbPath, { readOnly: true });
  // Rows come with a null prototype; plain objects compare with deepEqual.
  return db.prepare(sql).all(...params).map((row) => ({ ...row }));
}

/** Runs one query with the `sqlite3` shell (read-only, JSON output). */
export async function querySqliteShell(
  dbPath: string,
  sql: string,
): Promise<Row[]> {
  const { stdout } = await run("sqlite3", ["-readonly", "-json", dbPath, sql]);
  // The shell prints nothing at all (not "[]") when no row matched.
  return stdout.trim() === "" ? [] : JSON.parse(stdout) as Row[];
}

export { freePort };

/**
 * Calls `probe` until it returns a value other than undefined, at most
 * `timeoutMs` (default 30 s), pausing `intervalMs` between tries; throws an
 * Error naming `what` and the last value seen when time runs out.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { readonly timeoutMs?: number; readonly intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) =>
      setTimeout(resolve, options.intervalMs ?? 250)
    );
  }
}

/**
 * Polls `probe` until its value deep-equals `expected` (at most `timeoutMs`,
 * default 30 s), then asserts it once more, so that a timeout fails with the
 * diff of the last value seen rather than a bare "timed out".
 */
export async function assertEventually<T>(
  what: string,
  probe: () => Promise<T>,
  expected: T,
  options: { readonly timeoutMs?: number; readonly intervalMs?: number } = {},
): Promise<void> {
  await pollUntil(what, async () => {
    try {
      assert.deepStrictEqual(await probe(), expected);
      return true;
    } catch {
      return undefined;
    }
  }, options).catch(() => {});
  assert.deepStrictEqual(await probe(), expected, `${what}: not reached`);
}

export const PROMETHEUS = "/usr/bin/prometheus";

/** A Prometheus child process and what it printed. */
export interface PrometheusRun {
  /** `http://127.0.0.1:port` of its web API. */
  readonly url: string;
}

/** Thrown when a test with Prometheus fails; carries Prometheus' output. */
export class PrometheusError extends Error {
  override name = "PrometheusError";
}

/**
 * Starts the Prometheus binary in a fresh temp dir, scraping `target`
 * (host:port) every second with `honor_labels: true`, waits until it is
 * ready (at most 30 s), runs `body`, then stops it by PID (SIGTERM, SIGKILL
 * after 10 s) and removes the directory. When `body` fails, the error is
 * rethrown with Prometheus' output appended.
 */
export async function withPrometheus<T>(
  target: string,
  body: (prometheus: PrometheusRun) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "pushvault-prometheus-" });
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pushvault
    honor_labels: true
    static_configs:
      - targets: [${JSON.stringify(target)}]
`,
  );
  const child = new Deno.Command(PROMETHEUS, {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Drain both pipes from the start, so that Prometheus never blocks on them.
  const output = child.output();

  async function stop(): Promise<string> {
    try {
      child.kill("SIGTERM");
    } catch {
      // It has exited already.
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // It has exited in the meantime.
      }
    }, 10_000);
    const result = await output;
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true });
    return decoder.decode(result.stdout) + decoder.decode(result.stderr);
  }

  let value: T;
  try {
    await pollUntil("Prometheus to be ready", async () => {
      const res = await fetch(`${url}/-/ready`);
      await res.body?.cancel();
      return res.ok ? true : undefined;
    });
    value = await body({ url });
  } catch (error) {
    const log = await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new PrometheusError(
      `${message}\n--- prometheus output ---\n${log}`,
      { cause: error },
    );
  }
  await stop();
  return value;
}

/** A vector element of `/api/v1/query`: labels and the value as text. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: string;
}

/** An instant query; the vector sorted by its labels, timestamps dropped. */
export async function queryPrometheus(
  prometheusUrl: string,
  promql: string,
): Promise<PromSample[]> {
  const res = await fetch(
    `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`,
  );
  const json = await res.json() as {
    status: string;
    error?: string;
    data?: {
      resultType: string;
      result: { metric: Record<string, string>; value: [number, string] }[];
    };
  };
  if (json.status !== "success" || json.data?.resultType !== "vector") {
    throw new Error(
      `query ${JSON.stringify(promql)} failed: ${JSON.stringify(json)}`,
    );
  }
  return json.data.result
    .map((r) => ({ metric: sortKeys(r.metric), value: r.value[1] }))
    .sort((a, b) => {
      const x = JSON.stringify(a.metric);
      const y = JSON.stringify(b.metric);
      return x < y ? -1 : x > y ? 1 : 0;
    });
}

function sortKeys(
  labels: Record<string, string>,
): Readonly<Record<string, string>> {
  return Object.fromEntries(
    Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}
