/**
 * Helpers for the deployment tests: run a command to its end, start a
 * server process in a chosen working directory (the bundle and the compiled
 * binary must run from an empty one) and find its address in its log, push
 * and scrape. Every child is killed by its own PID when disposed; its output
 * is collected and shown only when a test fails.
 * @module
 */

import { ROOT } from "../../scripts/build_info.ts";

export { ROOT };

/** Time a server may take to log `msg=listening` (bounded polling). */
const START_TIMEOUT_MS = 60_000;
/** Time a server may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 20_000;

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  /** Added to (or, with `null`, removed from) this process's environment. */
  readonly env?: Readonly<Record<string, string | null>>;
  /** {@link run} kills the command (SIGTERM) after this long. */
  readonly timeoutMs?: number;
}

/** The environment of this process with `changes` applied. */
export function environment(
  changes: Readonly<Record<string, string | null>> = {},
): Record<string, string> {
  const env = Deno.env.toObject();
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs `command` to its end and returns its exit code and output. */
export async function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const out = await new Deno.Command(command, {
    args: [...args],
    cwd: options.cwd ?? ROOT,
    env: environment({ NO_COLOR: "1", ...options.env }),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.timeoutMs === undefined
      ? {}
      : { signal: AbortSignal.timeout(options.timeoutMs) }),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** Like {@link run}, but throws with the output unless the exit code is 0. */
export async function runOk(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${result.code}\n` +
        `--- stdout ---\n${result.stdout}--- stderr ---\n${result.stderr}`,
    );
  }
  return result;
}

/** A server started by {@link startServer}. */
export class Server implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #chunks: string[] = [];
  readonly #done: Promise<void>;
  #exited = false;
  /** `http://127.0.0.1:PORT`, once listening. */
  url = "";

  constructor(command: string, args: readonly string[], options: RunOptions) {
    this.#child = new Deno.Command(command, {
      args: [...args],
      cwd: options.cwd ?? ROOT,
      env: environment({ NO_COLOR: "1", ...options.env }),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const decoder = new TextDecoder();
    const collect = (stream: ReadableStream<Uint8Array>) =>
      stream.pipeTo(
        new WritableStream({
          write: (chunk) => {
            this.#chunks.push(decoder.decode(chunk, { stream: true }));
          },
        }),
      ).catch(() => {});
    this.#done = Promise.all([
      collect(this.#child.stdout),
      collect(this.#child.stderr),
      this.#child.status.then(() => {
        this.#exited = true;
      }),
    ]).then(() => {});
  }

  /** Everything the server wrote so far (stdout and stderr interleaved). */
  output(): string {
    return this.#chunks.join("");
  }

  /** Waits for the `msg=listening address=…` log line. */
  async listening(): Promise<string> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const match = /level=info msg=listening address=(\S+)/.exec(
        this.output(),
      );
      if (match) {
        this.url = `http://${match[1]}`;
        return this.url;
      }
      if (this.#exited) {
        await this.#done;
        throw new Error(
          `the server exited before listening:\n${this.output()}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`the server did not listen in time:\n${this.output()}`);
      }
      await sleep(20);
    }
  }

  /** SIGTERM, then the exit status (SIGKILL after a bounded wait). */
  async stop(): Promise<Deno.CommandStatus> {
    this.#signal("SIGTERM");
    const timer = setTimeout(() => this.#signal("SIGKILL"), STOP_TIMEOUT_MS);
    try {
      const status = await this.#child.status;
      await this.#done;
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  #signal(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // It exited between the check and the kill.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#signal("SIGKILL");
    await this.#child.status;
    await this.#done;
  }
}

/** Starts a server and waits until it listens; kills it if that fails. */
export async function startServer(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<Server> {
  const server = new Server(command, args, options);
  try {
    await server.listening();
    return server;
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
}

/** PUT of a text body to a group; returns the status. */
export async function push(
  url: string,
  path: string,
  body: string,
  method: "PUT" | "POST" = "PUT",
): Promise<number> {
  const res = await fetch(`${url}/metrics/${path}`, { method, body });
  await res.body?.cancel();
  return res.status;
}

/** GET of a path; returns the body text, throwing unless it answered 200. */
export async function getText(url: string, path: string): Promise<string> {
  const res = await fetch(`${url}${path}`);
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(`GET ${path} answered ${res.status}: ${text}`);
  }
  return text;
}

/** A new empty temporary directory, removed on dispose. */
export async function emptyDir(
  prefix = "pushvault-deploy-",
): Promise<{ readonly path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Runs `sql` with the sqlite3 shell; returns its output lines. */
export async function sqlite(
  dbPath: string,
  ...commands: readonly string[]
): Promise<string[]> {
  const result = await runOk("sqlite3", [dbPath, ...commands]);
  return result.stdout.split("\n").filter((line) => line !== "");
}

/** `git rev-parse --short HEAD` of the repository. */
export async function gitRevision(): Promise<string> {
  return (await runOk("git", ["rev-parse", "--short", "HEAD"])).stdout.trim();
}
