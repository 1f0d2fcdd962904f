/**
 * Helpers for the replication drills (docs/operations.md, "Beyond one machine"): the real
 * Litestream 0.3.13 binary that scripts/setup.sh installs from npm into
 * `.tools/`, a real OpenSSH server on a free loopback port serving SFTP with
 * keys made in a temp dir, Litestream configurations, Pushvault started as
 * a user starts it under `litestream replicate -exec`, pushers that record
 * every acknowledgement with its time, and `litestream restore`. Children
 * are killed by their own PID; every wait is bounded.
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { ChildProcess, freePort, MAIN_PATH } from "../e2e/process_utils.ts";

export { ChildProcess, freePort, MAIN_PATH };

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The binary of npm's @flydotio/litestream-linux-x64 (scripts/setup.sh). */
export const LITESTREAM = Deno.env.get("LITESTREAM") ??
  `${ROOT}/.tools/node_modules/@flydotio/litestream-linux-x64/litestream`;
export const SSHD = "/usr/sbin/sshd";

/** Seconds between two uploads of a replica (Litestream's default). */
export const SYNC_INTERVAL_S = 1;
/**
 * Seconds between two copies of the WAL to Litestream's shadow WAL, which
 * the replicas upload from (its `monitor-interval`, default 1 s).
 */
export const MONITOR_INTERVAL_S = 1;

export function installed(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs a command to its end; never throws for a non-zero exit. */
export async function run(
  command: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(command, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: out.code,
    stdout: decode(out.stdout),
    stderr: decode(out.stderr),
  };
}

export async function runOk(
  command: string,
  args: readonly string[],
): Promise<string> {
  const r = await run(command, args);
  if (r.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${r.code}:\n${r.stdout}${r.stderr}`,
    );
  }
  return r.stdout;
}

/** An OpenSSH server serving SFTP on 127.0.0.1 to the key at `keyPath`. */
export interface SftpServer extends AsyncDisposable {
  readonly port: number;
  readonly user: string;
  readonly keyPath: string;
  readonly process: ChildProcess;
}

/**
 * Starts `sshd -D -e` on a free loopback port with a host key and a client
 * key generated in `dir`; key logins only, `internal-sftp`.
 */
export async function startSftpServer(dir: string): Promise<SftpServer> {
  const user = (await runOk("id", ["-un"])).trim();
  const hostKey = `${dir}/ssh_host_ed25519_key`;
  const keyPath = `${dir}/client_ed25519_key`;
  for (const file of [hostKey, keyPath]) {
    await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file]);
  }
  await Deno.copyFile(`${keyPath}.pub`, `${dir}/authorized_keys`);
  // sshd checks that its privilege separation directory exists.
  await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const config = `${dir}/sshd_config`;
    await Deno.writeTextFile(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `PidFile ${dir}/sshd.pid`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        // The tests run as root (CI); the key is the only way in.
        "PermitRootLogin yes",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        // The temp dir is not owned the way StrictModes wants.
        "StrictModes no",
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    const process = new ChildProcess("sshd", SSHD, ["-D", "-e", "-f", config]);
    try {
      await process.waitForLog(/Server listening on 127\.0\.0\.1/, 10_000);
      return {
        port,
        user,
        keyPath,
        process,
        [Symbol.asyncDispose]: async () => {
          await process[Symbol.asyncDispose]();
        },
      };
    } catch (error) {
      await process[Symbol.asyncDispose]();
      // The port was taken between freePort() and sshd's bind: again.
      if (!/Address already in use/.test(process.stderr())) {
        throw new Error(`sshd did not start:\n${process.describe()}`, {
          cause: error,
        });
      }
    }
  }
  throw new Error("sshd found no free port in 5 tries");
}

export type Replica =
  | { readonly type: "file"; readonly name: string; readonly path: string }
  | {
    readonly type: "sftp";
    readonly name: string;
    readonly server: SftpServer;
    readonly path: string;
  };

/** A litestream.yml for `dbPath` with `replicas` (sync-interval 1 s). */
export function litestreamConfig(
  dbPath: string,
  replicas: readonly Replica[],
): string {
  const lines = ["dbs:", `  - path: ${dbPath}`, "    replicas:"];
  for (const r of replicas) {
    lines.push(`      - name: ${r.name}`, `        type: ${r.type}`);
    if (r.type === "sftp") {
      lines.push(
        `        host: 127.0.0.1:${r.server.port}`,
        `        user: ${r.server.user}`,
        `        key-path: ${r.server.keyPath}`,
      );
    }
    lines.push(
      `        path: ${r.path}`,
      `        sync-interval: ${SYNC_INTERVAL_S}s`,
    );
  }
  return lines.join("\n") + "\n";
}

/** The command line a user runs (README, "The two commands"). */
export function pushvaultCommand(port: number, dbPath: string): string[] {
  return [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    "--v8-flags=--heap-growing-percent=30",
    MAIN_PATH,
    `--web.listen-address=127.0.0.1:${port}`,
    `--persistence.file=${dbPath}`,
  ];
}

/** Pushvault under `litestream replicate -exec`, and the PIDs of both. */
export interface Replicating extends AsyncDisposable {
  readonly url: string;
  readonly litestream: ChildProcess;
  /** Pushvault's PID (a child of Litestream). */
  readonly pushvaultPid: number;
}

/**
 * Starts `litestream replicate -config CONFIG -exec "pushvault …"` and
 * waits until Pushvault listens and Litestream has written a snapshot.
 * Litestream logs on stdout, Pushvault (its child) on stderr.
 */
export async function startReplicating(
  options: { configPath: string; dbPath: string; port?: number },
): Promise<Replicating> {
  const port = options.port ?? freePort();
  const litestream = new ChildProcess("litestream", LITESTREAM, [
    "replicate",
    "-config",
    options.configPath,
    "-exec",
    pushvaultCommand(port, options.dbPath).join(" "),
  ]);
  try {
    await litestream.waitForLog(/msg=listening address=/, 60_000);
    const pushvaultPid = await childOf(litestream.pid);
    return {
      url: `http://127.0.0.1:${port}`,
      litestream,
      pushvaultPid,
      [Symbol.asyncDispose]: async () => {
        killPid(pushvaultPid);
        await litestream[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    await litestream[Symbol.asyncDispose]();
    throw new Error(
      `litestream -exec did not start:\n${litestream.describe()}`,
      {
        cause: error,
      },
    );
  }
}

/** The PID of the one child process of `pid` (read from /proc). */
export async function childOf(pid: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    for await (const entry of Deno.readDir("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
        // pid (comm) state ppid …; comm may hold spaces and parentheses.
        const ppid = Number(
          stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1],
        );
        if (ppid === pid) return Number(entry.name);
      } catch {
        // It exited while we read.
      }
    }
    await sleep(50);
  }
  throw new Error(`process ${pid} has no child`);
}

/** SIGKILLs `pid` unless it is gone. */
export function killPid(pid: number, signal: Deno.Signal = "SIGKILL"): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Waits (bounded) until `pid` has exited. */
export async function waitGone(pid: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      if (/^\d+ \(.*\) Z/.test(stat)) return; // a zombie has exited
    } catch {
      return;
    }
    await sleep(20);
  }
  throw new Error(`process ${pid} did not exit within ${timeoutMs} ms`);
}

/** `litestream restore -config CONFIG [-replica NAME] -o OUT DB`. */
export function restore(
  options: {
    configPath: string;
    dbPath: string;
    outPath: string;
    replica?: string;
    flags?: readonly string[];
  },
) {
  return run(LITESTREAM, [
    "restore",
    "-config",
    options.configPath,
    ...(options.replica ? ["-replica", options.replica] : []),
    ...(options.flags ?? []),
    "-o",
    options.outPath,
    options.dbPath,
  ]);
}

/** Litestream's generations of `dbPath` in its replica `name`. */
export async function generations(
  configPath: string,
  dbPath: string,
  name: string,
): Promise<string[]> {
  const out = await runOk(LITESTREAM, [
    "generations",
    "-config",
    configPath,
    "-replica",
    name,
    dbPath,
  ]);
  return out.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[1] ?? "")
    .filter((g) => g !== "");
}

/** One acknowledged request of a pusher. */
export interface Ack {
  readonly method: "PUT" | "DELETE";
  /** `{instance="…",job="drill"}` */
  readonly groupKey: string;
  readonly instance: string;
  /** Value of every series in the push (distinct over the drill). */
  readonly value: number;
  readonly series: number;
  /** When the answer arrived (ms since the epoch). */
  readonly ackMs: number;
}

export const SERIES_PER_PUSH = 5;

/** The body of an ordinary drill push: SERIES_PER_PUSH series, one value. */
export function drillBody(value: number, series = SERIES_PER_PUSH): string {
  let body = "# TYPE drill_value gauge\n";
  for (let k = 0; k < series; k++) body += `drill_value{k="${k}"} ${value}\n`;
  return body;
}

export const groupKey = (instance: string) =>
  `{instance="${instance}",job="drill"}`;

/** PUTs `body` to the group; resolves with the Ack, or undefined on error. */
export async function putGroup(
  url: string,
  instance: string,
  value: number,
  series = SERIES_PER_PUSH,
): Promise<Ack | undefined> {
  try {
    const res = await fetch(`${url}/metrics/job/drill/instance/${instance}`, {
      method: "PUT",
      body: drillBody(value, series),
    });
    await res.body?.cancel();
    if (res.status !== 200) return undefined;
    return {
      method: "PUT",
      groupKey: groupKey(instance),
      instance,
      value,
      series,
      ackMs: Date.now(),
    };
  } catch {
    return undefined; // the server was killed: not acknowledged
  }
}

/** DELETEs the group; resolves with the Ack, or undefined on error. */
export async function deleteGroup(
  url: string,
  instance: string,
  onRefused?: (why: string) => void,
): Promise<Ack | undefined> {
  try {
    const res = await fetch(`${url}/metrics/job/drill/instance/${instance}`, {
      method: "DELETE",
    });
    const text = await res.text();
    if (res.status !== 202 && res.status !== 200) {
      onRefused?.(`DELETE answered ${res.status}: ${text}`);
      return undefined;
    }
    return {
      method: "DELETE",
      groupKey: groupKey(instance),
      instance,
      value: 0,
      series: 0,
      ackMs: Date.now(),
    };
  } catch (error) {
    onRefused?.(`DELETE failed: ${error}`);
    return undefined;
  }
}

/**
 * `workers` pushers, each PUTting to its own 10 groups with values
 * `worker * 1e6 + n`, increasing, until `stop()` or `maxPushes` in all.
 */
export class Pushers {
  readonly acks: Ack[] = [];
  #stopped = false;
  readonly done: Promise<void>;

  constructor(
    url: string,
    options: {
      workers: number;
      maxPushes: number;
      /** Each worker starts a push at most this often (0: back to back). */
      intervalMs?: number;
    },
  ) {
    const interval = options.intervalMs ?? 0;
    const worker = async (w: number) => {
      for (let n = 1; !this.#stopped; n++) {
        if (this.acks.length >= options.maxPushes) break;
        const began = Date.now();
        const ack = await putGroup(url, `w${w}g${n % 10}`, w * 1e6 + n);
        const rest = interval - (Date.now() - began);
        if (rest > 0) await sleep(rest);
        if (ack) this.acks.push(ack);
        else if (this.#stopped) break;
        else await sleep(10); // a refusal under load: go on, bounded above
      }
    };
    this.done = Promise.all(
      Array.from({ length: options.workers }, (_, w) => worker(w)),
    ).then(() => {});
  }

  /** Stops sending; requests in flight finish or fail. */
  stop(): void {
    this.#stopped = true;
  }
}

/** The `drill_*` samples of a scrape: `instance` → k → value. */
export function scrapeDrill(text: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  const re = /^drill_(?:value|big)\{(.*)\} (\S+)$/gm;
  for (const m of text.matchAll(re)) {
    const labels = m[1] ?? "";
    const instance = /instance="([^"]*)"/.exec(labels)?.[1] ?? "";
    const k = /(?:k|i)="([^"]*)"/.exec(labels)?.[1] ?? "";
    let series = out.get(instance);
    if (!series) out.set(instance, series = new Map());
    series.set(k, Number(m[2]));
  }
  return out;
}

/** (group key, value) → samples of that value in the history tables. */
export function historyCounts(dbPath: string): Map<string, number> {
  using db = new DatabaseSync(dbPath, { readOnly: true });
  const rows = db.prepare(
    `SELECT g.key AS key, s.value AS value, count(*) AS n
       FROM samples s JOIN families f ON f.id = s.family_id
       JOIN groups g ON g.id = f.group_id
      WHERE g.job = 'drill' GROUP BY g.key, s.value`,
  ).all() as unknown as { key: string; value: number; n: number }[];
  return new Map(rows.map((r) => [`${r.key} ${r.value}`, r.n]));
}

/** `PRAGMA integrity_check` through the sqlite3 shell. */
export async function integrityCheck(dbPath: string): Promise<string> {
  return (await runOk("sqlite3", [dbPath, "PRAGMA integrity_check;"])).trim();
}

/** Sizes of `path` sampled every `everyMs` until stopped; the largest. */
export class SizeSampler {
  max = 0;
  #timer: ReturnType<typeof setInterval>;
  constructor(path: string, everyMs = 50) {
    this.#timer = setInterval(() => {
      try {
        this.max = Math.max(this.max, Deno.statSync(path).size);
      } catch {
        // Not there yet, or removed.
      }
    }, everyMs);
  }
  stop(): number {
    clearInterval(this.#timer);
    return this.max;
  }
}
