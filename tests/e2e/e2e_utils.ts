/**
 * Helpers for the end-to-end tests: run a real client as a child process,
 * read the history tables while the server runs (with `node:sqlite` and with
 * the `sqlite3` shell, as an operator would), find a free loopback port and
 * poll with a bound. Children are awaited to the end, so the sanitizers stay
 * on.
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { SQLOutputValue } from "node:sqlite";

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

/**
 * A loopback port that was free a moment ago: listen on port 0, read the
 * port, close. Another process could take it before it is used; the tests
 * that need one run a single child on it.
 */
export function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return (listener.addr as Deno.NetAddr).port;
}

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
