/**
 * A/B of two source trees under the same push load: the runs alternate (A, B,
 * A, B, …), each on a fresh copy of one preloaded database, so that the
 * machine's drift (±10% within an hour here) falls on both alike:
 *
 *   deno run -A scripts/bench/ab_load.ts --a <tree> --b <tree> \
 *     [--series 100000] [--body-kind 10series] [--groups 1000] \
 *     [--duration 12s] [--rounds 2]
 *
 * A tree is a checkout of Pushvault (`git worktree add /tmp/before HEAD~1`).
 * The database is preloaded once, by HTTP pushes of the benchmark's workload
 * through tree A, in a temporary directory that is removed at the end. Each
 * run starts the tree's server on its copy, scrapes it once (start-up leaves
 * reading the families until after ready), then runs load.ts for
 * `--duration`. Prints one line per run and the mean per tree. Loopback
 * only; stops only the servers it started.
 * @module
 */

import { parseArgs } from "node:util";
import type { LoadResult } from "./load.ts";
import { parseDuration } from "./load.ts";
import {
  preloadBody,
  preloadPath,
  SERIES_PER_GROUP,
  TEXT_CONTENT_TYPE,
} from "./workload.ts";

const HOST = "127.0.0.1";
const encoder = new TextEncoder();

function print(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}
const PRELOAD_CLIENTS = 8;

interface Server {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function startServer(tree: string, db: string): Promise<Server> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--heap-growing-percent=30",
      `${tree}/src/main.ts`,
      `--web.listen-address=${HOST}:${port}`,
      `--persistence.file=${db}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://${HOST}:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
  };
  for (let i = 0; i < 1200; i++) {
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.body?.cancel();
      if (res.ok) return { url, pid: child.pid, stop };
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new Error(`${tree}: the server was not ready within 60 s`);
}

async function preload(url: string, groups: number): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < groups) {
      const g = next++;
      const res = await fetch(url + preloadPath(g), {
        method: "PUT",
        body: preloadBody(g),
        headers: { "content-type": TEXT_CONTENT_TYPE },
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`preload of group ${g}: ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: PRELOAD_CLIENTS }, client));
}

async function runLoadProcess(
  server: Server,
  args: { kind: string; groups: number; duration: string },
): Promise<LoadResult> {
  const loadScript = new URL("./load.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      loadScript,
      "--url",
      server.url,
      "--concurrency",
      "8",
      "--duration",
      args.duration,
      "--body-kind",
      args.kind,
      "--groups",
      String(args.groups),
      "--watch-pid",
      String(server.pid),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("load.ts failed");
  return JSON.parse(new TextDecoder().decode(out.stdout)) as LoadResult;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      a: { type: "string" },
      b: { type: "string" },
      series: { type: "string", default: "100000" },
      "body-kind": { type: "string", default: "10series" },
      groups: { type: "string", default: "1000" },
      duration: { type: "string", default: "12s" },
      rounds: { type: "string", default: "2" },
    },
  });
  if (values.a === undefined || values.b === undefined) {
    throw new Error("--a and --b name the two source trees to compare");
  }
  const trees = { A: values.a, B: values.b };
  const rounds = Math.min(20, Math.max(1, Number(values.rounds)));
  parseDuration(values.duration); // fails early on a bad duration
  const dir = await Deno.makeTempDir({ prefix: "pv-ab-" });
  try {
    const template = `${dir}/template.db`;
    const groups = Math.ceil(Number(values.series) / SERIES_PER_GROUP);
    const first = await startServer(trees.A, template);
    try {
      await preload(first.url, groups);
    } finally {
      await first.stop();
    }
    const results: Record<"A" | "B", number[]> = { A: [], B: [] };
    for (let round = 1; round <= rounds; round++) {
      for (const name of ["A", "B"] as const) {
        const db = `${dir}/run.db`;
        await Deno.copyFile(template, db);
        const server = await startServer(trees[name], db);
        let result: LoadResult;
        try {
          const scrape = await fetch(`${server.url}/metrics`);
          await scrape.arrayBuffer();
          await new Promise((resolve) => setTimeout(resolve, 1000));
          result = await runLoadProcess(server, {
            kind: values["body-kind"],
            groups: Number(values.groups),
            duration: values.duration,
          });
        } finally {
          await server.stop();
          for (const f of [db, `${db}-wal`, `${db}-shm`]) {
            await Deno.remove(f).catch(() => {});
          }
        }
        results[name].push(result.perSecond);
        print(
          `round ${round} ${name} (${trees[name]}): ${
            result.perSecond.toFixed(1)
          }/s, p99 ${result.p99Ms.toFixed(2)} ms, errors ${result.errors}`,
        );
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    print(
      `mean A ${mean(results.A).toFixed(1)}/s, B ${
        mean(results.B).toFixed(1)
      }/s, B/A ${(mean(results.B) / mean(results.A)).toFixed(3)}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
