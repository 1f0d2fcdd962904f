/**
 * How big and how slow the web UI's page and `/api/v1/metrics` are on a big
 * store, and whether the server stays responsive while it sends them:
 *
 *   deno run -A scripts/bench/ui_size.ts [--groups 100000] [--series 3]
 *     [--db /tmp/pv-ui-bench.db] [--repo DIR] [--settle 10000]
 *     [--paths /-/healthy,/,/api/v1/metrics] [--accept <Accept header>]
 *
 * Fills the database once by HTTP pushes (`--groups` groups of `--series`
 * series; kept for later runs beside a marker file), then for each path
 * starts a fresh Pushvault as a user does (`deno run -A --v8-flags=…
 * src/main.ts` from `--repo`, default this checkout), waits `--settle`
 * milliseconds for start-up's deferred work, GETs the path
 * (`Accept-Encoding: identity`) while probing `/-/healthy` every 10 ms, and
 * prints the response's bytes and time, the longest probe and the server's
 * peak RSS (VmHWM, which includes start-up). Each server is killed by PID.
 * Every loop is bounded. Loopback only.
 * @module
 */

import { parseArgs } from "node:util";

const HOST = "127.0.0.1";
const V8_FLAGS = "--v8-flags=--heap-growing-percent=30";

function print(text: string): void {
  // deno-lint-ignore no-console -- a benchmark's output is its report
  console.log(text);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface Server extends AsyncDisposable {
  readonly url: string;
  readonly pid: number;
}

async function startServer(repo: string, db: string): Promise<Server> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      V8_FLAGS,
      `${repo}/src/main.ts`,
      `--web.listen-address=${HOST}:${port}`,
      `--persistence.file=${db}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://${HOST}:${port}`;
  const server: Server = {
    url,
    pid: child.pid,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
    },
  };
  for (let i = 0; i < 1200; i++) {
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.body?.cancel();
      if (res.ok) return server;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await server[Symbol.asyncDispose]();
  throw new Error(`Pushvault on ${url} not ready after 120 s`);
}

function hwmMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return kb / 1024;
}

async function fill(url: string, groups: number, series: number) {
  let next = 0;
  const worker = async () => {
    while (next < groups) {
      const n = next++;
      let body = "# TYPE bench_value gauge\n";
      for (let s = 0; s < series; s++) body += `bench_value{s="${s}"} ${n}\n`;
      const res = await fetch(`${url}/metrics/job/bench/instance/i${n}`, {
        method: "PUT",
        body,
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`push ${n} answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

interface Measured {
  readonly status: number;
  readonly bytes: number;
  readonly ms: number;
  readonly longestProbeMs: number;
  readonly probes: number;
}

async function measure(
  url: string,
  path: string,
  accept: string | undefined,
): Promise<Measured> {
  let done = false;
  let longest = 0;
  let probes = 0;
  const probe = (async () => {
    for (let i = 0; i < 100_000 && !done; i++) {
      const t0 = performance.now();
      const res = await fetch(`${url}/-/healthy`);
      await res.body?.cancel();
      longest = Math.max(longest, performance.now() - t0);
      probes++;
      await sleep(10);
    }
  })();
  await sleep(100);
  const t0 = performance.now();
  const res = await fetch(`${url}${path}`, {
    headers: {
      "Accept-Encoding": "identity",
      ...(accept === undefined ? {} : { Accept: accept }),
    },
  });
  let bytes = 0;
  if (res.body) {
    for await (const chunk of res.body) bytes += chunk.length;
  }
  const ms = performance.now() - t0;
  await sleep(100);
  done = true;
  await probe;
  return { status: res.status, bytes, ms, longestProbeMs: longest, probes };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      groups: { type: "string", default: "100000" },
      series: { type: "string", default: "3" },
      db: { type: "string", default: "/tmp/pv-ui-bench.db" },
      repo: {
        type: "string",
        default: new URL("../../", import.meta.url).pathname,
      },
      paths: { type: "string", default: "/-/healthy,/,/api/v1/metrics" },
      settle: { type: "string", default: "10000" },
      accept: { type: "string" },
    },
  });
  const groups = Number(values.groups);
  const series = Number(values.series);
  const marker = `${values.db}.filled-${groups}x${series}`;
  let filled = false;
  try {
    filled = Deno.statSync(marker).isFile;
  } catch {
    filled = false;
  }
  if (!filled) {
    for (const suffix of ["", "-wal", "-shm"]) {
      try {
        Deno.removeSync(`${values.db}${suffix}`);
      } catch {
        // not there
      }
    }
    await using server = await startServer(values.repo, values.db);
    const t0 = performance.now();
    await fill(server.url, groups, series);
    print(
      `filled ${groups} groups × ${series} series in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
    Deno.writeTextFileSync(marker, "");
  }
  print(`repo ${values.repo}, ${groups} groups × ${series} series`);
  print(
    "path\tstatus\tbytes\tMiB\ttime ms\tlongest probe ms\tprobes\tVmHWM MiB (before → after)",
  );
  for (const path of values.paths.split(",")) {
    await using server = await startServer(values.repo, values.db);
    // Start-up leaves work for later (indexing restored series): let it end.
    await sleep(Number(values.settle));
    const before = hwmMiB(server.pid);
    const m = await measure(server.url, path, values.accept);
    const after = hwmMiB(server.pid);
    print(
      [
        path,
        m.status,
        m.bytes,
        (m.bytes / 1048576).toFixed(2),
        m.ms.toFixed(0),
        m.longestProbeMs.toFixed(0),
        m.probes,
        `${before.toFixed(0)} → ${after.toFixed(0)}`,
      ].join("\t"),
    );
  }
}

if (import.meta.main) await main();
