/**
 * The servers under test as child processes: Pushvault started as a user
 * starts it (the V8 flags of `deno task start` and the compiled binary),
 * from the work tree or a `git archive` of `--rev`, and Debian's
 * Pushgateway 1.5.1. Each is stopped by PID, never by name.
 * @module
 */

import { V8_FLAGS } from "../../compile.ts";
import { formatRequest, Http1Connection } from "../http1.ts";
import { HOST, PUSHGATEWAY_BIN, REPO, sleep } from "./common.ts";

export interface Memory {
  readonly rssMiB: number;
  readonly hwmMiB: number;
}

export const running = new Set<Server>();

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
export let pushvaultSource = { root: REPO, revision: "work tree" };

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
export async function preparePushvault(
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
export async function startPushgateway(
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

export async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await sleep(1);
  return port;
}
