/**
 * An HTTP fuzzer against a running gateway on 127.0.0.1: random and
 * mutated URLs, headers and bodies (text, OpenMetrics, protobuf, gzip,
 * snappy), bounded in count and time, with a fixed seed. The server must
 * never answer 500, never crash, and afterwards the database and the scrape
 * must agree (a restart from the file rebuilds exactly what was scraped).
 *
 * Longer runs: `PUSHVAULT_FUZZ_REQUESTS=20000 PUSHVAULT_FUZZ_SEED=7 deno
 * test -A tests/security/http_fuzz_test.ts`.
 * @module
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { encodeDelimited } from "../../src/exposition/protobuf_encode.ts";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { start } from "../../src/start.ts";
import { stripOwn, tempDir, testConfig } from "../test_utils.ts";
import { makePki, tlsClient } from "./security_utils.ts";
import { mulberry32 } from "../../scripts/mulberry32.ts";

const REQUESTS = Number(Deno.env.get("PUSHVAULT_FUZZ_REQUESTS") ?? 1500);
const SEED = Number(Deno.env.get("PUSHVAULT_FUZZ_SEED") ?? 20261125);
/** Stop early past this, whatever the count (slow CI machines). */
const TIME_BUDGET_MS = 30_000;

class Fuzz {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }
  chance(p: number): boolean {
    return this.#next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

const METHODS = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH"];

const PATHS = [
  "/metrics/job/fuzz",
  "/metrics/job/fuzz/instance/i1",
  "/metrics/job/fuzz/a/b/c/d",
  "/metrics/job@base64/ZnV6eg",
  "/metrics/job/fuzz/label@base64/",
  "/metrics/job/fuzz/instance@base64/PQ==",
  "/metrics/job/",
  "/metrics/job",
  "/metrics",
  "/metrics/",
  "/api/v1/metrics",
  "/api/v1/status",
  '/api/v1/history?match[]={job="fuzz"}&limit=5',
  '/api/v1/admin/delete?match[]={job=~"fuzz.+"}&dry_run=true',
  "/api/v1/admin/delete?older_than=1x",
  "/api/v1/admin/wipe",
  "/-/healthy",
  "/-/ready",
  "/",
  "/status",
  "/static/nope.js",
];

const PATH_JUNK = [
  "%00",
  "%ff",
  "%2F",
  "%2f%2f",
  "//",
  "/..",
  "/.",
  "@base64",
  "%",
  "%zz",
  "é",
  "😀",
  "U__a_2e_b",
  "/job/",
  "=",
  "?",
  "#",
  "/" + "x".repeat(300),
];

const TEXT_BODIES = [
  "fuzz_a 1\n",
  '# HELP fuzz_b Help with \\n escapes.\n# TYPE fuzz_b counter\nfuzz_b{l="v"} 3\n',
  "# TYPE fuzz_h histogram\n" +
  'fuzz_h_bucket{le="1"} 1\nfuzz_h_bucket{le="+Inf"} 2\nfuzz_h_sum 3\nfuzz_h_count 2\n',
  "# TYPE fuzz_s summary\n" +
  'fuzz_s{quantile="0.5"} 1\nfuzz_s_sum 2\nfuzz_s_count 3\n',
  "fuzz_c NaN\nfuzz_d +Inf\nfuzz_e -Inf\nfuzz_f 5e-324\nfuzz_g 1.797e308\n",
  'fuzz_t{a="1"} 1 1700000000000\n',
  "# TYPE fuzz_a gauge\nfuzz_a 2\n",
  "# EOF\n",
  "",
];

const TOKENS = [
  "{",
  "}",
  '"',
  "\\",
  "\n",
  " ",
  "#",
  "# TYPE ",
  "# HELP ",
  "=",
  ",",
  "NaN",
  "+Inf",
  "1e999",
  "-0",
  "\u0000",
  "\uffff",
  "_bucket",
  "_sum",
  "le",
  "quantile",
  "job",
  "instance",
  "push_time_seconds",
  "é",
];

const CONTENT_TYPES = [
  undefined,
  "text/plain; version=0.0.4",
  "text/plain",
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
  "application/openmetrics-text; version=1.0.0",
  "application/json",
  "garbage;;;=",
];

const ENCODINGS = [undefined, "gzip", "GZIP", "snappy", "identity", "br", "x"];

function randomFamily(f: Fuzz): MetricFamily {
  const name = f.pick(["fuzz_pa", "fuzz_pb", "fuzz_a", "fuzz_h"]);
  const labels = f.chance(0.5)
    ? [{
      name: f.pick(["l", "job", "instance", "le"]),
      value: f.pick(["", "v", "é"]),
    }]
    : [];
  const value = f.pick([0, -0, 1, NaN, Infinity, -Infinity, 5e-324, 1.797e308]);
  switch (f.int(3)) {
    case 0:
      return {
        name,
        help: f.pick([undefined, "h"]),
        type: "gauge",
        metrics: [{ labels, value }],
      };
    case 1:
      return {
        name,
        help: "c",
        type: "counter",
        metrics: [{ labels, value: Math.abs(value) }],
      };
    default:
      return {
        name,
        help: undefined,
        type: "histogram",
        metrics: [{
          labels,
          sampleCount: 2,
          sampleSum: value,
          buckets: [{ upperBound: 1, cumulativeCount: 1 }],
        }],
      } as MetricFamily;
  }
}

function mutate(f: Fuzz, bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = [...bytes];
  const n = f.int(4);
  for (let i = 0; i < n; i++) {
    const at = f.int(out.length + 1);
    switch (f.int(4)) {
      case 0:
        if (out.length > 0) out[Math.min(at, out.length - 1)] = f.int(256);
        break;
      case 1:
        out.splice(at, f.int(8));
        break;
      case 2:
        out.splice(at, 0, ...new TextEncoder().encode(f.pick(TOKENS)));
        break;
      default:
        out.length = Math.min(out.length, at); // truncate
    }
  }
  return new Uint8Array(out);
}

function randomRequest(f: Fuzz, base: string): Request | undefined {
  let path = f.pick(PATHS);
  if (f.chance(0.4)) {
    const at = 1 + f.int(path.length); // after the leading "/"
    path = path.slice(0, at) + f.pick(PATH_JUNK) + path.slice(at);
  }
  const method = f.pick(METHODS);
  const headers = new Headers();
  const type = f.pick(CONTENT_TYPES);
  if (type) headers.set("Content-Type", type);
  let body: Uint8Array<ArrayBuffer> | undefined;
  if (method !== "GET" && method !== "HEAD" && f.chance(0.9)) {
    const protobuf = type?.includes("protobuf") ?? false;
    body = protobuf
      ? new Uint8Array(
        encodeDelimited(
          Array.from({ length: 1 + f.int(3) }, () => randomFamily(f)),
        ),
      )
      : new TextEncoder().encode(f.pick(TEXT_BODIES));
    if (f.chance(0.5)) body = mutate(f, body);
    const encoding = f.pick(ENCODINGS);
    if (encoding) {
      headers.set("Content-Encoding", encoding);
      if (encoding.toLowerCase() === "gzip" && f.chance(0.8)) {
        body = new Uint8Array(gzipSync(body));
        if (f.chance(0.3)) body = mutate(f, body);
      }
    }
  }
  if (f.chance(0.2)) {
    headers.set("Pushvault-TTL", f.pick(["1m", "0", "-1s", "999999d", "x"]));
  }
  if (f.chance(0.2)) {
    headers.set(
      "Accept",
      f.pick([
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        "text/plain;version=0.0.4",
        "*/*",
        ";;",
      ]),
    );
  }
  if (f.chance(0.2)) {
    headers.set("Accept-Encoding", f.pick(["gzip", "br", "x"]));
  }
  try {
    const request = new Request(`${base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      redirect: "manual",
    });
    // Loopback only: a mutation must never turn the path into another host.
    return new URL(request.url).host === new URL(base).host
      ? request
      : undefined;
  } catch {
    return undefined; // a URL or header fetch itself refuses
  }
}

for (const transport of ["http", "https"] as const) {
  Deno.test(`the HTTP fuzzer over ${transport} never gets a 500, and the database and the scrape agree`, async () => {
    await using dir = await tempDir();
    const dbPath = `${dir.path}/pv.db`;
    const flags = ["--web.enable-admin-api"];
    let client: Deno.HttpClient | undefined;
    if (transport === "https") {
      // The TLS listener is node:https behind an adapter of ours: fuzz it too.
      const pki = await makePki(dir.path);
      await Deno.writeTextFile(
        `${dir.path}/web.yml`,
        `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n`,
      );
      flags.push(`--web.config.file=${dir.path}/web.yml`);
      client = tlsClient(pki);
    }
    using _client = client;
    const config = testConfig(dbPath, flags);
    const f = new Fuzz(SEED);
    const statuses = new Map<number, number>();
    const get = (url: string) =>
      fetch(url, client ? { client } : {}).then((r) => r.text());
    let scrapeBefore: string;
    {
      await using gw = await start(config, { maintenanceIntervalMs: 0 });
      const deadline = Date.now() + TIME_BUDGET_MS;
      for (let i = 0; i < REQUESTS && Date.now() < deadline; i++) {
        const request = randomRequest(f, gw.url);
        if (!request) continue;
        const description = `${request.method} ${request.url} ${
          JSON.stringify(Object.fromEntries(request.headers))
        } (seed ${SEED}, request ${i})`;
        const res = await fetch(request, client ? { client } : {});
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        assert.ok(
          res.status < 500 || res.status === 503 || res.status === 507,
          `${res.status} ${text} for ${description}`,
        );
      }
      assert.equal(await get(`${gw.url}/-/healthy`), "OK");
      scrapeBefore = stripOwn(await get(`${gw.url}/metrics`));
    }
    // Several kinds of answers were exercised, not only 404s.
    for (const status of [200, 202, 400, 404, 405]) {
      assert.ok(
        (statuses.get(status) ?? 0) > 0,
        `no ${status} in ${[...statuses]}`,
      );
    }
    await using again = await start(config, { maintenanceIntervalMs: 0 });
    assert.equal(stripOwn(await get(`${again.url}/metrics`)), scrapeBefore);
  });
}
