/**
 * HTTP alone: the plain HTTP/1.1 engine (src/http/http1/) against
 * `Deno.serve`, each serving a trivial handler in a child process under
 * load.ts, so that the server CPU per request is the HTTP layer's and the
 * handler's few reads of the request:
 *
 *   deno run -A scripts/bench/http_engine_micro.ts \
 *     [--engine <tree> ...] [--serve] [--body-kind 10series|none] \
 *     [--duration 8s] [--rounds 3]
 *
 * Each `--engine <tree>` is the engine of that checkout (default: this
 * one); `--serve` adds `Deno.serve`. The runs alternate (one of each per
 * round), so that the machine's drift falls on all alike. The handler reads
 * `Content-Length` and the body (`bytes()`) and answers 200 with no body, as
 * a push does (`--body-kind none`: `GET /-/healthy`, answered "OK" with a
 * Content-Type). Prints one line per run and the mean per server. Loopback
 * only; stops only the servers it started, by PID.
 * @module
 */

import { parseArgs } from "node:util";
import type { LoadResult } from "./load.ts";

const HOST = "127.0.0.1";
const encoder = new TextEncoder();

function print(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

/** The handler both servers run. */
async function handler(request: Request): Promise<Response> {
  if (request.method === "GET") {
    return new Response("OK", {
      headers: { "Content-Type": "text/plain; charset=utf-8" },
    });
  }
  request.headers.get("content-length");
  await request.bytes();
  return new Response(null, { status: 200 });
}

/** Child: serves on `port` until killed. */
async function serve(kind: string, port: number): Promise<void> {
  if (kind === "deno") {
    Deno.serve({ hostname: HOST, port, onListen: () => {} }, handler);
  } else if (kind === "floor") {
    floor(port);
  } else {
    const module = await import(`${kind}/src/http/http1/http1_listener.ts`);
    const { createLogger } = await import(`${kind}/src/log.ts`);
    module.Http1Listener.listen({
      hostname: HOST,
      port,
      handler,
      logger: createLogger({ level: "warn", format: "logfmt" }),
      readTimeoutMs: 60_000,
      maxHeaderBytes: 1024 * 1024,
    });
  }
  // SIGTERM ends the child through exit, so that `--cpu-prof` is written.
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  print("ready");
  await new Promise(() => {});
}

/**
 * The floor of any engine over `Deno.listen`: one read and one write of a
 * fixed answer per request, no parsing (each request's head and body must
 * arrive in one read, as load.ts sends them).
 */
function floor(port: number): void {
  const answer = encoder.encode(
    "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
  );
  const listener = Deno.listen({ hostname: HOST, port });
  (async () => {
    for await (const conn of listener) {
      conn.setNoDelay(true);
      (async () => {
        const buf = new Uint8Array(16 * 1024);
        try {
          for (let i = 0; i < 1e9; i++) {
            const n = await conn.read(buf);
            if (n === null) break;
            await conn.write(answer);
          }
        } catch {
          // closed
        }
      })();
    }
  })();
}

function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** load.ts in a process of its own, so that it does not share our loop. */
async function runLoadProcessArgs(args: string[]): Promise<LoadResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./load.ts", import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("load.ts failed");
  return JSON.parse(new TextDecoder().decode(out.stdout)) as LoadResult;
}

async function waitReady(child: Deno.ChildProcess): Promise<void> {
  const reader = child.stdout.getReader();
  let text = "";
  for (let i = 0; i < 1000 && !text.includes("ready"); i++) {
    const { done, value } = await reader.read();
    if (done) throw new Error("server exited before it was ready");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void child.stdout.cancel().catch(() => {});
}

async function run(
  kind: string,
  options: { bodyKind: string; duration: string },
): Promise<{ cpuMicros: number; perSecond: number }> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--child",
      kind,
      "--port",
      String(port),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    await waitReady(child);
    const result = await runLoadProcessArgs([
      "--url",
      `http://${HOST}:${port}`,
      "--concurrency",
      "8",
      "--duration",
      options.duration,
      "--body-kind",
      options.bodyKind,
      "--groups",
      "1000",
      "--watch-pid",
      String(child.pid),
    ]);
    if (result.errors > 0) {
      throw new Error(`${kind}: ${result.errors} errors`);
    }
    return {
      cpuMicros: (result.serverCpuSeconds * 1e6) / result.count,
      perSecond: result.perSecond,
    };
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  }
}

if (import.meta.main) {
  const args = parseArgs({
    args: Deno.args,
    options: {
      child: { type: "string" },
      port: { type: "string" },
      engine: { type: "string", multiple: true },
      serve: { type: "boolean", default: false },
      "body-kind": { type: "string", default: "10series" },
      duration: { type: "string", default: "8s" },
      rounds: { type: "string", default: "3" },
    },
  });
  if (args.values.child !== undefined) {
    await serve(args.values.child, Number(args.values.port));
  } else {
    const here = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
    const kinds = (args.values.engine ?? [here]).map((t) =>
      t.replace(/\/$/, "")
    );
    if (args.values.serve) kinds.push("deno");
    const results = new Map<string, { cpu: number[]; rate: number[] }>();
    for (const kind of kinds) results.set(kind, { cpu: [], rate: [] });
    const rounds = Number(args.values.rounds);
    for (let round = 0; round < rounds; round++) {
      for (const kind of kinds) {
        const r = await run(kind, {
          bodyKind: args.values["body-kind"],
          duration: args.values.duration,
        });
        results.get(kind)?.cpu.push(r.cpuMicros);
        results.get(kind)?.rate.push(r.perSecond);
        print(
          `round ${round + 1} ${kind}: ${r.cpuMicros.toFixed(1)} µs/request, ${
            r.perSecond.toFixed(0)
          }/s`,
        );
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const [kind, r] of results) {
      print(
        `mean ${kind}: ${mean(r.cpu).toFixed(1)} µs/request, ${
          mean(r.rate).toFixed(0)
        }/s`,
      );
    }
  }
}
