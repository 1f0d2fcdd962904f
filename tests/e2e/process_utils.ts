/**
 * Child processes for whole-process tests and scripts: Pushvault as
 * `deno run -A src/main.ts` (its address read from the `msg=listening` log
 * line) and the reference Pushgateway binary, both on 127.0.0.1. Every
 * child's stdout and stderr are collected (never printed) so that a failing
 * test can show them; every child is killed by its own PID when the group
 * that started it ends, whatever happens. Polling is bounded everywhere.
 * @module
 */

import { fileURLToPath } from "node:url";

/** `src/main.ts`, the entry point the whole-process tests spawn. */
export const MAIN_PATH = fileURLToPath(
  new URL("../../src/main.ts", import.meta.url),
);

/**
 * Debian's `prometheus-pushgateway` 1.5.1, the reference
 * (docs/compatibility.md, at its start).
 */
export const PUSHGATEWAY_BINARY = "/usr/bin/prometheus-pushgateway";

/** Time a child may take to start listening (the first run compiles). */
const START_TIMEOUT_MS = 60_000;
/** Time a child may take to exit after SIGTERM before it is SIGKILLed. */
const STOP_TIMEOUT_MS = 20_000;

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether the reference binary is installed (tests are skipped if not). */
export function pushgatewayInstalled(): boolean {
  try {
    return Deno.statSync(PUSHGATEWAY_BINARY).isFile;
  } catch {
    return false;
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** Collects a child's output stream as text until the stream ends. */
class OutputCollector {
  readonly #chunks: string[] = [];
  readonly #decoder = new TextDecoder();
  #ended = false;
  /** Resolves when the stream has ended (the child closed it or exited). */
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = stream.pipeTo(
      new WritableStream({
        write: (chunk) => {
          this.#chunks.push(this.#decoder.decode(chunk, { stream: true }));
        },
      }),
    ).catch(() => {}).finally(() => {
      this.#chunks.push(this.#decoder.decode());
      this.#ended = true;
    });
  }

  text(): string {
    return this.#chunks.join("");
  }

  /**
   * Resolves with the first match of `pattern` in the output; rejects when
   * the stream ends or `timeoutMs` passes without one.
   */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.text());
      if (match) return match;
      if (this.#ended) {
        throw new Error(`the output ended without matching ${pattern}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`no output matched ${pattern} within ${timeoutMs} ms`);
      }
      await sleep(20);
    }
  }
}

/** A spawned child with its collected output. */
export class ChildProcess implements AsyncDisposable {
  readonly name: string;
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #stdout: OutputCollector;
  readonly #stderr: OutputCollector;
  #exited = false;

  constructor(name: string, command: string, args: readonly string[]) {
    this.name = name;
    this.#child = new Deno.Command(command, {
      args: [...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.#stdout = new OutputCollector(this.#child.stdout);
    this.#stderr = new OutputCollector(this.#child.stderr);
    this.status = this.#child.status.then((status) => {
      this.#exited = true;
      return status;
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  stdout(): string {
    return this.#stdout.text();
  }

  stderr(): string {
    return this.#stderr.text();
  }

  /** Waits for `pattern` on stderr (where both servers log). */
  waitForLog(pattern: RegExp, timeoutMs = START_TIMEOUT_MS) {
    return this.#stderr.waitFor(pattern, timeoutMs);
  }

  /** Sends `signal` to this child's PID, unless it has already exited. */
  signal(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      Deno.kill(this.pid, signal);
    } catch (error) {
      // It exited between the check and the kill.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /**
   * Waits for the child to exit and for its output to be fully read; after
   * `timeoutMs` it is SIGKILLed so that a hung child cannot hang the test.
   */
  async wait(timeoutMs = STOP_TIMEOUT_MS): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killer = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal("SIGKILL");
        resolve();
      }, timeoutMs);
    });
    try {
      await Promise.race([this.status, killer]);
      const status = await this.status;
      await Promise.all([this.#stdout.done, this.#stderr.done]);
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` and waits for the exit. */
  stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    this.signal(signal);
    return this.wait();
  }

  /** The output, for a failure message. */
  describe(): string {
    return `--- ${this.name} (pid ${this.pid}) stdout ---\n${this.stdout()}` +
      `--- ${this.name} (pid ${this.pid}) stderr ---\n${this.stderr()}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.signal("SIGKILL");
    await this.wait();
  }
}

/** A child that serves HTTP on `url`. */
export interface ServerProcess {
  readonly process: ChildProcess;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
}

export interface PushvaultOptions {
  /** The SQLite file (`--persistence.file`). */
  readonly dbPath: string;
  /** More flags, after the listen address and the file. */
  readonly flags?: readonly string[];
}

/** The arguments for `deno` that run Pushvault with `flags`. */
export function pushvaultArgs(flags: readonly string[]): string[] {
  return ["run", "-A", "--quiet", MAIN_PATH, ...flags];
}

/** The outcome of a process run to its end. */
export interface RunResult {
  readonly code: number;
  readonly signal: Deno.Signal | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Starts, tracks and finally kills child processes. Use through
 * withProcesses(), which adds every child's output to a failure.
 */
export class ProcessGroup implements AsyncDisposable {
  readonly #children: ChildProcess[] = [];

  /** Spawns a child of this group (killed by PID when the group ends). */
  spawn(name: string, command: string, args: readonly string[]): ChildProcess {
    const child = new ChildProcess(
      `${name} #${this.#children.length + 1}`,
      command,
      args,
    );
    this.#children.push(child);
    return child;
  }

  /**
   * Starts Pushvault on 127.0.0.1 with a free port and waits for its
   * `msg=listening address=…` log line. Throws (with its output) if it exits
   * first.
   */
  async pushvault(options: PushvaultOptions): Promise<ServerProcess> {
    const child = this.spawn(
      "pushvault",
      Deno.execPath(),
      pushvaultArgs([
        "--web.listen-address=127.0.0.1:0",
        `--persistence.file=${options.dbPath}`,
        ...(options.flags ?? []),
      ]),
    );
    try {
      const match = await child.waitForLog(
        /level=info msg=listening address=(\S+)/,
      );
      return { process: child, url: `http://${match[1]}` };
    } catch (error) {
      await child.wait(1000);
      throw new Error(`Pushvault (pid ${child.pid}) did not start`, {
        cause: error,
      });
    }
  }

  /** Runs Pushvault with `flags` until it exits (SIGKILL after `timeoutMs`). */
  async runPushvault(
    flags: readonly string[],
    timeoutMs = START_TIMEOUT_MS,
  ): Promise<RunResult> {
    const child = this.spawn(
      "pushvault",
      Deno.execPath(),
      pushvaultArgs(flags),
    );
    const status = await child.wait(timeoutMs);
    return {
      code: status.code,
      signal: status.signal,
      stdout: child.stdout(),
      stderr: child.stderr(),
    };
  }

  /**
   * Starts the reference Pushgateway on a free 127.0.0.1 port and waits
   * until `/-/ready` answers 200. Without persistence unless `flags` name a
   * `--persistence.file` (the empty one is required for Debian's build,
   * whose default is a system path).
   */
  async pushgateway(flags: readonly string[] = []): Promise<ServerProcess> {
    const persistence = flags.some((f) => f.startsWith("--persistence.file="))
      ? []
      : ["--persistence.file="];
    let lastError: unknown;
    // The free port can be taken between freePort() and the bind: retry.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = freePort();
      const child = this.spawn("pushgateway", PUSHGATEWAY_BINARY, [
        `--web.listen-address=127.0.0.1:${port}`,
        ...persistence,
        ...flags,
      ]);
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitUntilReady(url, child);
        return { process: child, url };
      } catch (error) {
        lastError = new Error(
          `the Pushgateway (pid ${child.pid}) did not start`,
          { cause: error },
        );
        child.signal("SIGKILL");
        await child.wait();
      }
    }
    throw lastError;
  }

  /** Everything every child wrote, for a failure message. */
  describe(): string {
    return this.#children.map((child) => child.describe()).join("\n");
  }

  /** Kills every child still running (each by its PID) and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(
      this.#children.map((child) => child[Symbol.asyncDispose]()),
    );
  }
}

/**
 * Runs `body` with a fresh ProcessGroup. On failure the error is rethrown as
 * the cause of one that carries the output of every child; in any case
 * every child is killed by its PID before this returns.
 */
export async function withProcesses<T>(
  body: (group: ProcessGroup) => Promise<T>,
): Promise<T> {
  await using group = new ProcessGroup();
  try {
    return await body(group);
  } catch (error) {
    throw new Error(
      `failed with these child processes:\n${group.describe()}`,
      { cause: error },
    );
  }
}

async function waitUntilReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exited) throw new Error("it exited before it was ready");
    try {
      const res = await fetch(`${url}/-/ready`, {
        signal: AbortSignal.timeout(2000),
      });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(25);
  }
  throw new Error(`${url}/-/ready did not answer 200 in time`);
}

/** An error's stack (or message) followed by those of its causes. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const text = error.stack ?? `${error.name}: ${error.message}`;
  return error.cause === undefined
    ? text
    : `${text}\nCaused by: ${errorText(error.cause)}`;
}
