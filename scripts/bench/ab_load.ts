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
import {
  mainThreadBusy,
  preload,
  preloadRequests,
  type Server,
  startPushvault,
} from "./gateway_bench.ts";
import type { LoadResult } from "./load.ts";
import { parseDuration } from "./load.ts";
import { SERIES_PER_GROUP } from "./workload.ts";

const PRELOAD_CLIENTS = 8;
/** Long enough for 1M series (about 15 s here); a cap, not a target. */
const PRELOAD_CAP_MS = 600_000;
const encoder = new TextEncoder();

function print(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

/** Tree `root`'s Pushvault on `db`, ready. */
async function startTree(
  dir: string,
  db: string,
  tag: string,
  root: string,
): Promise<Server> {
  const server = await startPushvault(dir, db, tag, [], root);
  try {
    await server.waitReady(60_000);
  } catch (error) {
    await server.stop();
    throw new Error(`${root}: ${(error as Error).message}`);
  }
  return server;
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
    const first = await startTree(dir, template, "preload", trees.A);
    try {
      const result = await preload(
        first,
        preloadRequests(groups),
        PRELOAD_CLIENTS,
        PRELOAD_CAP_MS,
      );
      if (!result.complete) {
        throw new Error(`preload: ${result.errorExample ?? "not complete"}`);
      }
    } finally {
      await first.stop();
    }
    const results: Record<"A" | "B", number[]> = { A: [], B: [] };
    // Server CPU per push: steadier than pushes/s on a shared machine.
    const cpu: Record<"A" | "B", number[]> = { A: [], B: [] };
    for (let round = 1; round <= rounds; round++) {
      for (const name of ["A", "B"] as const) {
        const db = `${dir}/run.db`;
        await Deno.copyFile(template, db);
        const server = await startTree(dir, db, `${name}${round}`, trees[name]);
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
        const micros = (result.serverCpuSeconds * 1e6) / result.count;
        cpu[name].push(micros);
        print(
          `round ${round} ${name} (${trees[name]}): ${
            result.perSecond.toFixed(1)
          }/s, p99 ${result.p99Ms.toFixed(2)} ms, server CPU ${
            micros.toFixed(0)
          } µs per push (main thread busy ${
            ((mainThreadBusy(result) ?? NaN) * 100).toFixed(0)
          }%), errors ${result.errors}`,
        );
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    print(
      `mean A ${mean(results.A).toFixed(1)}/s, B ${
        mean(results.B).toFixed(1)
      }/s, B/A ${
        (mean(results.B) / mean(results.A)).toFixed(3)
      }; server CPU per push A ${mean(cpu.A).toFixed(0)} µs, B ${
        mean(cpu.B).toFixed(0)
      } µs, B/A ${(mean(cpu.B) / mean(cpu.A)).toFixed(3)}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
