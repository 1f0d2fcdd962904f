/**
 * A password flood against Pushvault with basic auth (cost-10 bcrypt), and
 * what it does to a legitimate client whose credentials are cached:
 *
 *   deno run -A scripts/bench/auth_flood.ts [--root <tree>] [--seconds 10]
 *     [--flooders 8] [--addresses 1]
 *
 * Pushvault runs as a user runs it (`deno run -A --v8-flags=… src/main.ts`
 * of `--root`, by default this tree, e.g. a `git archive` of an older
 * commit for a before/after). `--flooders` clients send wrong passwords
 * (each one new, so nothing is cached) for an unknown user, as fast as they
 * are answered, from `--addresses` loopback source addresses (127.0.x.y,
 * round robin: an attacker with many addresses). Meanwhile one client
 * pushes with good, cached credentials, one request at a time; its p50/p99
 * are printed alone, then under the flood. A second good user, cached
 * before the flood, is asked once after it: its latency shows whether the
 * flood evicted it from the cache.
 *
 * Loopback only; every loop is bounded by `--seconds`; the server is
 * stopped by its PID.
 * @module
 */

import bcrypt from "bcryptjs";
import http from "node:http";
import { parseArgs } from "node:util";

const HOST = "127.0.0.1";
const encoder = new TextEncoder();

function print(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

function basic(user: string, password: string): string {
  return `Basic ${btoa(`${user}:${password}`)}`;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ??
    NaN;
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `n=${sorted.length} p50=${quantile(sorted, 0.5).toFixed(1)}ms p99=${
    quantile(sorted, 0.99).toFixed(1)
  }ms max=${(sorted.at(-1) ?? NaN).toFixed(1)}ms`;
}

/** One request over a new connection from `localAddress`; the status. */
function floodRequest(
  port: number,
  localAddress: string,
  password: string,
): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({
      host: HOST,
      port,
      path: "/-/healthy",
      localAddress,
      headers: { Authorization: basic("mallory", password) },
      agent: false,
    }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.end();
  });
}

/** 127.0.0.1 for index 0, then 127.0.x.y through the /16. */
function sourceAddress(index: number, addresses: number): string {
  const n = (index % addresses) + 1;
  return `127.0.${Math.floor(n / 256) % 256}.${n % 256}`;
}

async function timedPush(
  url: string,
  authorization: string,
): Promise<{ ms: number; status: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/metrics/job/bench`, {
    method: "PUT",
    body: "bench_value 1\n",
    headers: { Authorization: authorization },
  });
  await res.arrayBuffer();
  return { ms: performance.now() - t0, status: res.status };
}

async function goodClient(
  url: string,
  authorization: string,
  until: number,
): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < 1_000_000 && performance.now() < until; i++) {
    const r = await timedPush(url, authorization);
    if (r.status !== 200) throw new Error(`good push answered ${r.status}`);
    ms.push(r.ms);
  }
  return ms;
}

async function main(): Promise<void> {
  const args = parseArgs({
    args: Deno.args,
    options: {
      root: {
        type: "string",
        default: new URL("../../", import.meta.url).pathname,
      },
      seconds: { type: "string", default: "10" },
      flooders: { type: "string", default: "8" },
      addresses: { type: "string", default: "1" },
    },
  });
  const seconds = Number(args.values.seconds);
  const flooders = Number(args.values.flooders);
  const addresses = Math.max(
    1,
    Math.min(65_000, Number(args.values.addresses)),
  );
  const dir = await Deno.makeTempDir({ prefix: "pushvault-auth-flood-" });
  const port = freePort();
  const url = `http://${HOST}:${port}`;
  await Deno.writeTextFile(
    `${dir}/web.yml`,
    `basic_auth_users:\n  good: '${bcrypt.hashSync("right", 10)}'\n  other: '${
      bcrypt.hashSync("also-right", 10)
    }'\n`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--heap-growing-percent=30",
      `${args.values.root}/src/main.ts`,
      `--web.listen-address=${HOST}:${port}`,
      `--persistence.file=${dir}/pv.db`,
      `--web.config.file=${dir}/web.yml`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const good = basic("good", "right");
    const other = basic("other", "also-right");
    let up = false;
    for (let i = 0; i < 300 && !up; i++) {
      try {
        up = (await timedPush(url, good)).status === 200;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    if (!up) throw new Error("Pushvault did not answer within 30 s");
    await timedPush(url, other); // cached before the flood

    const alone = await goodClient(url, good, performance.now() + 3000);
    print(`alone:       ${summary(alone)}`);

    const until = performance.now() + seconds * 1000;
    const statuses = new Map<number, number>();
    let sent = 0;
    const flood = Array.from({ length: flooders }, async (_, f) => {
      for (let i = 0; i < 10_000_000 && performance.now() < until; i++) {
        const n = sent++;
        const status = await floodRequest(
          port,
          sourceAddress(n, addresses),
          `wrong-${f}-${i}`,
        );
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    });
    const flooded = await goodClient(url, good, until);
    await Promise.all(flood);
    print(`under flood: ${summary(flooded)}`);
    print(
      `flood:       ${flooders} clients from ${addresses} address(es), ${sent} requests (${
        (sent / seconds).toFixed(0)
      }/s), statuses ${
        JSON.stringify(Object.fromEntries([...statuses].sort()))
      }`,
    );
    const after = await timedPush(url, other);
    print(
      `after:       user cached before the flood: ${
        after.ms.toFixed(1)
      }ms (status ${after.status})`,
    );
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
