/**
 * What Litestream costs and how fast a replica comes back (docs/operations.md, "Beyond
 * one machine"), on this machine, loopback only:
 *
 *   deno run -A scripts/bench/replication_bench.ts [--duration 10s] [--restore-series 100000]
 *
 * `--duration 0s` measures only the restore, `--restore-series 0` only the load.
 *
 * 1. Pushes/s and latency of 10-series pushes (scripts/bench/load.ts, its
 *    own process, 8 connections) against Pushvault alone, under
 *    `litestream replicate -exec` with a file replica, and with an SFTP
 *    replica (OpenSSH's sshd on a loopback port, keys in a temp dir).
 * 2. Restore time: Pushvault under Litestream (file replica) is filled with
 *    `--restore-series` series, then SIGKILLed with Litestream and its
 *    directory deleted; measured are `litestream restore` and the time from
 *    starting Pushvault on the restored file to `/-/ready` answering 200.
 *
 * Needs scripts/setup.sh (Litestream in .tools/, openssh-server). Prints
 * one JSON object per measurement. Every child is killed by its PID.
 * @module
 */

import {
  ChildProcess,
  freePort,
  killPid,
  LITESTREAM,
  litestreamConfig,
  pushvaultCommand,
  type Replica,
  restore,
  sleep,
  startReplicating,
  startSftpServer,
  waitGone,
} from "../../tests/replication/replication_utils.ts";
import type { LoadResult } from "./load.ts";

const LOAD_TS = new URL("./load.ts", import.meta.url).pathname;

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] ?? fallback : fallback;
}

const DURATION = arg("duration", "10s");
const RESTORE_SERIES = Number(arg("restore-series", "100000"));

function print(record: Record<string, unknown>): void {
  Deno.stdout.writeSync(
    new TextEncoder().encode(JSON.stringify(record) + "\n"),
  );
}

async function load(url: string, pid: number): Promise<LoadResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      LOAD_TS,
      "--url",
      url,
      "--concurrency",
      "8",
      "--duration",
      DURATION,
      "--body-kind",
      "10series",
      "--groups",
      "1000",
      "--watch-pid",
      String(pid),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) throw new Error(`load.ts exited ${out.code}`);
  return JSON.parse(new TextDecoder().decode(out.stdout)) as LoadResult;
}

function summary(setup: string, r: LoadResult) {
  return {
    setup,
    pushesPerSecond: Math.round(r.perSecond),
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors,
    count: r.count,
  };
}

async function alone(dir: string): Promise<void> {
  const port = freePort();
  const [command = "", ...args] = pushvaultCommand(port, `${dir}/alone.db`);
  await using pv = new ChildProcess("pushvault", command, args);
  await pv.waitForLog(/msg=listening/, 60_000);
  print(summary("alone", await load(`http://127.0.0.1:${port}`, pv.pid)));
}

async function replicated(
  dir: string,
  name: string,
  replica: Replica,
): Promise<void> {
  const dbPath = `${dir}/${name}/pushvault.db`;
  await Deno.mkdir(`${dir}/${name}`);
  const configPath = `${dir}/${name}.yml`;
  await Deno.writeTextFile(configPath, litestreamConfig(dbPath, [replica]));
  await using rep = await startReplicating({ configPath, dbPath });
  const result = await load(rep.url, rep.pushvaultPid);
  let walMax = 0;
  try {
    walMax = Deno.statSync(`${dbPath}-wal`).size;
  } catch {
    // no WAL file
  }
  const log = rep.litestream.stdout();
  print({
    ...summary(`litestream, ${name} replica`, result),
    walBytesAtEnd: walMax,
    litestreamErrors: log.match(/level=ERROR/g)?.length ?? 0,
    generations: log.match(/new generation/g)?.length ?? 0,
  });
}

async function restoreTime(dir: string): Promise<void> {
  const primary = `${dir}/restore-primary`;
  await Deno.mkdir(primary);
  const dbPath = `${primary}/pushvault.db`;
  const configPath = `${dir}/restore.yml`;
  await Deno.writeTextFile(
    configPath,
    litestreamConfig(dbPath, [
      { type: "file", name: "file", path: `${dir}/restore-replica` },
    ]),
  );
  const rep = await startReplicating({ configPath, dbPath });
  try {
    const perPush = 1000;
    for (let n = 0; n < RESTORE_SERIES / perPush; n++) {
      let body = "# TYPE bench_value gauge\n";
      for (let s = 0; s < perPush; s++) {
        body += `bench_value{series="${s}"} ${n * perPush + s}\n`;
      }
      const res = await fetch(`${rep.url}/metrics/job/bench/instance/i${n}`, {
        method: "PUT",
        body,
      });
      await res.body?.cancel();
      if (res.status !== 200) throw new Error(`push ${n}: ${res.status}`);
    }
    await sleep(3000); // several sync intervals: everything is uploaded
  } finally {
    killPid(rep.litestream.pid);
    killPid(rep.pushvaultPid);
    await rep.litestream.wait();
    await waitGone(rep.pushvaultPid);
  }
  await Deno.remove(primary, { recursive: true });
  const restored = `${dir}/restored/pushvault.db`;
  await Deno.mkdir(`${dir}/restored`);
  const began = performance.now();
  const r = await restore({ configPath, dbPath, outPath: restored });
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  const restoreMs = performance.now() - began;
  const port = freePort();
  const [command = "", ...args] = pushvaultCommand(port, restored);
  const started = performance.now();
  await using pv = new ChildProcess("pushvault", command, args);
  let readyMs = NaN;
  for (let i = 0; i < 6000 && !pv.exited; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/-/ready`);
      await res.body?.cancel();
      if (res.status === 200) {
        readyMs = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  const size = (await Deno.stat(restored)).size;
  print({
    setup: "restore from the file replica",
    series: RESTORE_SERIES,
    databaseBytes: size,
    restoreMs: Math.round(restoreMs),
    startToReadyMs: Math.round(readyMs),
    totalMs: Math.round(restoreMs + readyMs),
  });
}

if (import.meta.main) {
  const dir = await Deno.makeTempDir({ prefix: "pushvault-replication-" });
  try {
    print({ litestream: LITESTREAM, duration: DURATION });
    if (DURATION !== "0s") {
      await alone(dir);
      await replicated(dir, "file", {
        type: "file",
        name: "file",
        path: `${dir}/file-replica`,
      });
      await using sftp = await startSftpServer(dir);
      await replicated(dir, "sftp", {
        type: "sftp",
        name: "sftp",
        server: sftp,
        path: `${dir}/sftp-replica`,
      });
    }
    if (RESTORE_SERIES > 0) await restoreTime(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
