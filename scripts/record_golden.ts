/**
 * Records golden files from the reference Pushgateway (Debian's
 * `prometheus-pushgateway` 1.5.1): for each case of `tests/golden/cases.ts`
 * it starts a fresh gateway on a free 127.0.0.1 port without persistence,
 * sends the case's pushes, and writes under `tests/golden/`:
 *
 * - `<name>.scrape.txt`: `GET /metrics` as text, normalised
 *   (`tests/golden/normalize.ts`: own families dropped, push times `<time>`);
 * - `<name>.scrape.pb`: `GET /metrics` as delimited protobuf, raw bytes;
 * - `<name>.api.json`: `GET /api/v1/metrics`, normalised.
 *
 * Usage: `deno run -A scripts/record_golden.ts [--binary=PATH] [case...]`.
 * The gateway is killed by its PID when each case ends, whatever happens.
 * @module
 */

import { GOLDEN_CASES } from "../tests/golden/cases.ts";
import type { GoldenCase } from "../tests/golden/cases.ts";
import {
  normalizeApiJson,
  normalizeScrape,
} from "../tests/golden/normalize.ts";
import { PROTOBUF_DELIMITED_CONTENT_TYPE } from "../src/exposition/negotiate.ts";

const GOLDEN_DIR = new URL("../tests/golden/", import.meta.url);
const DEFAULT_BINARY = "/usr/bin/prometheus-pushgateway";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

interface Gateway {
  readonly url: string;
  readonly child: Deno.ChildProcess;
  readonly log: () => string;
}

async function startGateway(binary: string): Promise<Gateway> {
  const port = freePort();
  const child = new Deno.Command(binary, {
    args: [
      `--web.listen-address=127.0.0.1:${port}`,
      "--persistence.file=",
      "--log.level=debug",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const chunks: Uint8Array[] = [];
  // Drain stderr so the gateway never blocks on a full pipe.
  child.stderr.pipeTo(new WritableStream({ write: (c) => void chunks.push(c) }))
    .catch(() => {});
  const log = () =>
    new TextDecoder().decode(
      chunks.reduce((all, c) => {
        const next = new Uint8Array(all.length + c.length);
        next.set(all);
        next.set(c, all.length);
        return next;
      }, new Uint8Array()),
    );
  const url = `http://127.0.0.1:${port}`;
  const gateway = { url, child, log };
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.body?.cancel();
      if (res.ok) return gateway;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await stopGateway(gateway);
  throw new Error(`the Pushgateway did not become ready on ${url}:\n${log()}`);
}

async function stopGateway(gateway: Gateway): Promise<void> {
  try {
    gateway.child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await gateway.child.status;
}

async function recordCase(binary: string, c: GoldenCase): Promise<void> {
  const gateway = await startGateway(binary);
  try {
    for (const push of c.pushes) {
      const headers = new Headers();
      if (push.contentType !== undefined) {
        headers.set("Content-Type", push.contentType);
      }
      const res = await fetch(`${gateway.url}${push.path}`, {
        method: push.method,
        headers,
        body: push.body,
      });
      const answer = await res.text();
      if (!res.ok) {
        throw new Error(
          `case ${c.name}: ${push.method} ${push.path} answered ${res.status}: ${answer}`,
        );
      }
    }
    const text = await fetch(`${gateway.url}/metrics`);
    if (!text.ok) {
      throw new Error(
        `case ${c.name}: scrape answered ${text.status}: ${await text.text()}`,
      );
    }
    const scrape = normalizeScrape(await text.text());
    const pb = await fetch(`${gateway.url}/metrics`, {
      headers: { Accept: PROTOBUF_DELIMITED_CONTENT_TYPE },
    });
    const pbBytes = new Uint8Array(await pb.arrayBuffer());
    const api = await fetch(`${gateway.url}/api/v1/metrics`);
    const apiJson = normalizeApiJson(await api.text());
    await Deno.writeTextFile(
      new URL(`${c.name}.scrape.txt`, GOLDEN_DIR),
      scrape,
    );
    await Deno.writeFile(new URL(`${c.name}.scrape.pb`, GOLDEN_DIR), pbBytes);
    await Deno.writeTextFile(
      new URL(`${c.name}.api.json`, GOLDEN_DIR),
      `${apiJson}\n`,
    );
  } catch (error) {
    throw new Error(`${String(error)}\n--- gateway log ---\n${gateway.log()}`, {
      cause: error,
    });
  } finally {
    await stopGateway(gateway);
  }
}

async function main(args: readonly string[]): Promise<void> {
  let binary = DEFAULT_BINARY;
  const only = new Set<string>();
  for (const arg of args) {
    if (arg.startsWith("--binary=")) binary = arg.slice("--binary=".length);
    else only.add(arg);
  }
  const cases = GOLDEN_CASES.filter((c) => only.size === 0 || only.has(c.name));
  const unknown = [...only].filter((name) =>
    !GOLDEN_CASES.some((c) => c.name === name)
  );
  if (unknown.length > 0) {
    throw new Error(`unknown case(s): ${unknown.join(", ")}`);
  }
  for (const c of cases) {
    await recordCase(binary, c);
    // deno-lint-ignore no-console -- a script reporting progress
    console.log(`recorded ${c.name}`);
  }
}

if (import.meta.main) await main(Deno.args);
