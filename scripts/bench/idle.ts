/**
 * The fixed costs of an idle server: time from spawn to the first 200 from
 * `/-/ready`, resident memory (VmRSS) two seconds after that, again one
 * second after one push and one scrape, and the thread count. Each target
 * runs `--runs` times on a fresh empty database; the median is printed as
 * a Markdown table.
 *
 * The idle figure is split too: file-backed pages (RssFile: mostly the
 * deno binary's own code and data, touched by what the program ran) and
 * the rest (RssAnon: heaps, stacks).
 *
 * Targets: Pushvault started as a user starts it (scripts/start.sh), a bare
 * Deno.serve hello world with the same V8 flags (the floor of any Deno
 * server), and Debian's prometheus-pushgateway when it is installed.
 *
 * Run: `deno run -A scripts/bench/idle.ts --runs 5`
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "5" },
    pushgateway: { type: "string", default: "prometheus-pushgateway" },
  },
});
const runs = Number(values.runs);

const root = fileURLToPath(new URL("../../", import.meta.url));
/** The start task's and start.sh's V8 flags: the hello world runs with them. */
const V8_FLAGS = (await Deno.readTextFile(`${root}scripts/start.sh`))
  .match(/--v8-flags=(\S+)/)?.[1] ?? "";

const HELLO = `
const address = Deno.args[0] ?? "127.0.0.1:0";
const [hostname, port] = address.split(":");
Deno.serve({ hostname, port: Number(port), onListen() {} }, () =>
  new Response("ok"));
`;

interface Target {
  readonly name: string;
  /** The command for a listen address and an empty directory. */
  command(address: string, dir: string): string[];
  /** Whether it takes a push and a scrape. */
  readonly pushes: boolean;
}

interface Sample {
  readonly readyMs: number;
  readonly idleMiB: number;
  readonly idleFileMiB: number;
  readonly afterMiB: number;
  readonly threads: number;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function status(
  pid: number,
): Promise<{ rss: number; file: number; threads: number }> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  const field = (name: string) =>
    Number(text.match(new RegExp(`^${name}:\\s+(\\d+)`, "m"))?.[1] ?? NaN);
  return {
    rss: field("VmRSS") / 1024,
    file: field("RssFile") / 1024,
    threads: field("Threads"),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function fetchOk(url: string, init?: RequestInit): Promise<boolean> {
  try {
    const response = await fetch(url, init);
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

async function runOnce(target: Target): Promise<Sample> {
  const dir = await Deno.makeTempDir({ prefix: "pv-idle-" });
  const address = `127.0.0.1:${freePort()}`;
  const url = `http://${address}`;
  const [program, ...args] = target.command(address, dir);
  const started = performance.now();
  const child = new Deno.Command(program as string, {
    args,
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    while (!(await fetchOk(`${url}/-/ready`))) {
      if (performance.now() - started > 30_000) {
        throw new Error(`${target.name} not ready after 30 s`);
      }
      await sleep(2);
    }
    const readyMs = performance.now() - started;
    await sleep(2000);
    const idle = await status(child.pid);
    if (target.pushes) {
      const pushed = await fetchOk(`${url}/metrics/job/idle`, {
        method: "PUT",
        body: "# TYPE idle_metric gauge\nidle_metric 1\n",
      });
      if (!pushed || !(await fetchOk(`${url}/metrics`))) {
        throw new Error(`${target.name}: push or scrape failed`);
      }
    }
    await sleep(1000);
    const after = await status(child.pid);
    return {
      readyMs,
      idleMiB: idle.rss,
      idleFileMiB: idle.file,
      afterMiB: after.rss,
      threads: idle.threads,
    };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle] as number
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function installed(program: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(program, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

const helloFile = await Deno.makeTempFile({ suffix: ".ts" });
await Deno.writeTextFile(helloFile, HELLO);

const targets: Target[] = [
  {
    name: "Pushvault (scripts/start.sh)",
    pushes: true,
    command: (address, dir) => [
      "bash",
      `${root}scripts/start.sh`,
      `--persistence.file=${dir}/pushvault.db`,
      `--web.listen-address=${address}`,
    ],
  },
  {
    name: "Deno.serve hello world",
    pushes: false,
    command: (address) => [
      Deno.execPath(),
      "run",
      "-A",
      `--v8-flags=${V8_FLAGS}`,
      helloFile,
      address,
    ],
  },
];
if (await installed(values.pushgateway)) {
  targets.push({
    name: "prometheus-pushgateway",
    pushes: true,
    command: (address) => [
      values.pushgateway,
      `--web.listen-address=${address}`,
    ],
  });
}

const out = (line: string) =>
  Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
out(
  "| program | spawn → ready (ms) | idle RSS (MiB) | of which file-backed (MiB) | after 1 push + 1 scrape (MiB) | threads |",
);
out("|---|---|---|---|---|---|");
try {
  for (const target of targets) {
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) samples.push(await runOnce(target));
    const of = (pick: (s: Sample) => number) => median(samples.map(pick));
    out(
      `| ${target.name} | ${of((s) => s.readyMs).toFixed(0)} | ${
        of((s) => s.idleMiB).toFixed(1)
      } | ${of((s) => s.idleFileMiB).toFixed(1)} | ${
        of((s) => s.afterMiB).toFixed(1)
      } | ${of((s) => s.threads)} |`,
    );
  }
} finally {
  await Deno.remove(helloFile);
}
