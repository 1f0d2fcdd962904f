/**
 * Request heads at and past `--web.max-header-bytes` (docs/security.md,
 * Limits), and requests the HTTP layer refuses (unknown methods, malformed
 * heads), over plain HTTP (our HTTP/1.1 engine, by default) and over TLS
 * (node:https). Long URLs go over raw connections or curl: `fetch` itself
 * refuses URLs over 64 KiB.
 */

import assert from "node:assert/strict";
import { FlagError, parseFlags } from "../../src/cli/flags.ts";
import { startTestGateway, tempDir } from "../test_utils.ts";
import { makePki, startWithWebConfig } from "../security/security_utils.ts";
import { run } from "../e2e/e2e_utils.ts";
import { createLogger } from "../../src/log.ts";

const PYTHON = "/usr/bin/python3";
/** `--push.max-label-value-length`'s default. */
const MAX_LABEL_VALUE = 65_536;
/** The defaults: 1 MiB of head on both listeners. */
const DEFAULTS = { plain: [], tls: [] };

interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/**
 * Sends `request` over a new connection to `url` (trusting `caCert` for
 * https) and reads the answer up to the end of the connection.
 */
async function sendRaw(
  url: string,
  request: string,
  caCert?: string,
): Promise<RawResponse> {
  const { hostname, port, protocol } = new URL(url);
  const conn = protocol === "https:"
    ? await Deno.connectTls({
      hostname,
      port: Number(port),
      caCerts: caCert === undefined ? [] : [caCert],
    })
    : await Deno.connect({ hostname, port: Number(port) });
  // A server that keeps the connection open would hang the test instead
  // of failing it.
  const guard = setTimeout(() => conn.close(), 60_000);
  try {
    const bytes = new TextEncoder().encode(request);
    for (let at = 0, i = 0; at < bytes.length && i < 100_000; i++) {
      at += await conn.write(bytes.subarray(at));
    }
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(64 * 1024);
    for (let i = 0; i < 10_000; i++) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    const whole = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      whole.set(chunk, offset);
      offset += chunk.length;
    }
    const text = new TextDecoder().decode(whole);
    const split = text.indexOf("\r\n\r\n");
    const head = split < 0 ? text : text.slice(0, split);
    return {
      status: Number(head.split(" ", 2)[1]),
      head,
      body: split < 0 ? "" : text.slice(split + 4),
    };
  } finally {
    clearTimeout(guard);
    try {
      conn.close();
    } catch {
      // closed by the guard
    }
  }
}

/** GET /metrics with fetch (a short URL), trusting `caCert`. */
async function scrapeText(
  target: { url: string; caCert?: string },
): Promise<string> {
  using client = Deno.createHttpClient({
    caCerts: target.caCert === undefined ? [] : [target.caCert],
  });
  const res = await fetch(`${target.url}/metrics`, { client });
  return await res.text();
}

function put(path: string, host: string, body: string): string {
  return `PUT ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
}

/** RFC 4648 base64url of an ASCII string, as clients put in `@base64`. */
function base64Url(text: string): string {
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_");
}

/** Each listener: plain HTTP (our engine) and TLS (node:https). */
async function withListeners(
  flags: { readonly plain: readonly string[]; readonly tls: readonly string[] },
  test: (
    target: { name: string; url: string; caCert?: string },
  ) => Promise<void>,
): Promise<void> {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  {
    await using plain = await startTestGateway(flags.plain, {
      dir: dir.path,
    });
    await test({ name: "plain HTTP", url: plain.url });
  }
  await using dir2 = await tempDir();
  await using tls = await startWithWebConfig(
    `tls_server_config:\n  cert_file: ${dir.path}/${pki.serverCert}\n  key_file: ${dir.path}/${pki.serverKey}\n`,
    flags.tls,
    { dir: dir2.path },
  );
  await test({
    name: "TLS",
    url: tls.url,
    caCert: pki.read(pki.caCert),
  });
}

Deno.test("a grouping label value of the longest length allowed is stored, plain and @base64, over plain HTTP and TLS", async (t) => {
  await withListeners(DEFAULTS, async (target) => {
    const host = new URL(target.url).host;
    const plainValue = "p".repeat(MAX_LABEL_VALUE);
    const b64Value = "b".repeat(MAX_LABEL_VALUE);
    await t.step(target.name, async () => {
      for (
        const path of [
          `/metrics/job/plain/l/${plainValue}`,
          `/metrics/job/b64/l@base64/${base64Url(b64Value)}`,
        ]
      ) {
        const res = await sendRaw(
          target.url,
          put(path, host, "long_key 1\n"),
          target.caCert,
        );
        assert.equal(res.status, 200, `${res.head}\n${res.body}`);
      }
      const scrape = await scrapeText(target);
      assert.ok(
        scrape.includes(
          `long_key{instance="",job="plain",l="${plainValue}"} 1`,
        ),
        "the plain value is scraped whole",
      );
      assert.ok(
        scrape.includes(
          `long_key{instance="",job="b64",l="${b64Value}"} 1`,
        ),
        "the @base64 value is scraped whole",
      );
    });
  });
});

Deno.test("a URL past --web.max-header-bytes gets 414 naming the flag, and is counted, over plain HTTP and TLS", async (t) => {
  const flags = ["--web.max-header-bytes=128KiB"];
  await withListeners({ plain: flags, tls: flags }, async (target) => {
    const host = new URL(target.url).host;
    await t.step(target.name, async () => {
      const res = await sendRaw(
        target.url,
        put(`/metrics/job/j/l/${"x".repeat(200_000)}`, host, "m 1\n"),
        target.caCert,
      );
      assert.equal(res.status, 414, res.head);
      assert.match(res.head, /^HTTP\/1\.1 414 URI Too Long\r\n/);
      assert.match(res.head, /\r\nConnection: close(\r\n|$)/);
      assert.equal(
        res.body,
        "URI too long: the request line and headers may be at most 131072 bytes (--web.max-header-bytes)\n",
      );
      const scrape = await scrapeText(target);
      assert.match(
        scrape,
        /^pushgateway_http_requests_total\{code="414",handler="[a-z]+",method="[a-z]+"\} 1$/m,
      );
    });
  });
});

Deno.test("headers past --web.max-header-bytes get 431 with a message", async () => {
  await using pv = await startTestGateway(["--web.max-header-bytes=128KiB"]);
  const host = new URL(pv.url).host;
  // Many short lines: the last read shows that the URL had ended.
  const lines = Array.from(
    { length: 2000 },
    (_, i) => `X-Filler-${i}: ${"h".repeat(100)}\r\n`,
  );
  const res = await sendRaw(
    pv.url,
    `GET /-/healthy HTTP/1.1\r\nHost: ${host}\r\n${lines.join("")}\r\n`,
  );
  assert.equal(res.status, 431, res.head);
  assert.match(res.body, /at most 131072 bytes \(--web\.max-header-bytes\)\n$/);
});

Deno.test("Python's urllib gets an HTTPError 414 for a URL past the limit, not a reset", async () => {
  await using pv = await startTestGateway(["--web.max-header-bytes=128KiB"]);
  const script = `
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1] + "/metrics/job/" + "j" * 1_000_000, data=b"m 1\\n", method="PUT")
try:
    urllib.request.urlopen(req, timeout=30)
    print("no error")
except urllib.error.HTTPError as e:
    print("HTTPError", e.code, e.read().decode().strip())
except Exception as e:
    print("other", type(e).__name__, e)
`;
  const { stdout } = await run(PYTHON, ["-c", script, pv.url]);
  assert.equal(
    stdout.trim(),
    "HTTPError 414 URI too long: the request line and headers may be at most 131072 bytes (--web.max-header-bytes)",
  );
});

Deno.test("Python prometheus_client pushes a grouping key of the longest value allowed", async () => {
  await using pv = await startTestGateway();
  const script = `
import sys
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
registry = CollectorRegistry()
Gauge("py_long_key", "Long key.", registry=registry).set(1)
push_to_gateway(sys.argv[1], job="py", registry=registry,
                grouping_key={"plain": "v" * ${MAX_LABEL_VALUE}, "slashed": "/" * ${MAX_LABEL_VALUE}})
print("pushed")
`;
  const { stdout } = await run(PYTHON, ["-c", script, new URL(pv.url).host]);
  assert.equal(stdout.trim(), "pushed");
  const scrape = await (await fetch(`${pv.url}/metrics`)).text();
  assert.ok(
    scrape.includes(
      `py_long_key{instance="",job="py",plain="${
        "v".repeat(MAX_LABEL_VALUE)
      }",slashed="${"/".repeat(MAX_LABEL_VALUE)}"} 1`,
    ),
  );
});

Deno.test("an unknown method is answered 405 with Allow every time, over plain HTTP and TLS", async (t) => {
  await withListeners(DEFAULTS, async (target) => {
    await t.step(target.name, async () => {
      const statuses = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        const res = await sendRaw(
          target.url,
          "FOO /metrics/job/j HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
          target.caCert,
        );
        const allow = /\r\nallow: ([^\r]*)/i.exec(res.head)?.[1];
        const key = `${res.status} ${allow} ${res.body.trim()}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
      }
      assert.deepEqual(
        [...statuses],
        [["405 DELETE, OPTIONS, POST, PUT Method Not Allowed", 30]],
      );
    });
  });
});

Deno.test("an unknown method over TLS is answered to curl every time", async () => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  await using gw = await startWithWebConfig(
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n`,
    [],
    { dir: dir.path },
  );
  const codes: string[] = [];
  for (let i = 0; i < 30; i++) {
    const { stdout } = await run("curl", [
      "-sk",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-X",
      "FOO",
      `${gw.url}/`,
    ], { expectCode: 0 });
    codes.push(stdout);
  }
  assert.deepEqual(new Set(codes), new Set(["405"]));
});

Deno.test("a malformed request head gets 400 with a message", async (t) => {
  await withListeners(DEFAULTS, async (target) => {
    await t.step(target.name, async () => {
      const res = await sendRaw(
        target.url,
        "GET /-/healthy HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        target.caCert,
      );
      assert.equal(res.status, 400, res.head);
      assert.match(res.body, /^malformed HTTP\/1\.1 request: .+\n$/);
    });
  });
});

Deno.test("parseFlags() takes --web.max-header-bytes as a size of 1KiB or more, unset by default", () => {
  const parsed = parseFlags(["--web.max-header-bytes=1MiB"]);
  assert.equal(
    parsed.type === "run" ? parsed.config.web.maxHeaderBytes : undefined,
    1024 * 1024,
  );
  const unset = parseFlags([]);
  assert.equal(
    unset.type === "run" ? unset.config.web.maxHeaderBytes : "not run",
    undefined,
  );
  for (const value of ["512", "64k", "1.5MiB"]) {
    assert.throws(
      () => parseFlags([`--web.max-header-bytes=${value}`]),
      (error) =>
        error instanceof FlagError &&
        error.message.includes(
          `for flag --web.max-header-bytes: expected a size of at least 1KiB`,
        ),
    );
  }
});

// Both listeners parse a pipelined request only once the one before it is
// answered, so a refused one cannot cut into that answer.
Deno.test("a refused request pipelined after a good one is answered after it", async (t) => {
  await withListeners(DEFAULTS, async (target) => {
    await t.step(target.name, async () => {
      const res = await sendRaw(
        target.url,
        "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n" +
          "FOO /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        target.caCert,
      );
      assert.equal(res.status, 200, res.head);
      const second = res.body.slice(res.body.indexOf("HTTP/1.1 "));
      assert.match(second, /^HTTP\/1\.1 405 Method Not Allowed\r\n/);
      assert.match(second, /\r\nAllow: GET, OPTIONS\r\n/i);
    });
  });
});

/** A job name of 100,000 characters, as the Pushgateway takes. */
const LONG_JOB = "j".repeat(100_000);
/** A label value limit that lets {@link LONG_JOB} through. */
const LONG_LABELS = ["--push.max-label-value-length=100000"];

Deno.test("a job name of 100,000 characters is pushed by curl and scraped back exactly, over plain HTTP and TLS", async (t) => {
  await using dir = await tempDir();
  const caFile = `${dir.path}/ca.pem`;
  await withListeners(
    { plain: LONG_LABELS, tls: LONG_LABELS },
    async (target) => {
      await t.step(target.name, async () => {
        const tlsArgs = target.caCert === undefined ? [] : ["--cacert", caFile];
        if (target.caCert !== undefined) {
          await Deno.writeTextFile(caFile, target.caCert);
        }
        const { stdout } = await run("curl", [
          "-s",
          ...tlsArgs,
          "-w",
          "%{http_code}",
          "--data-binary",
          "curl_long_job 1\n",
          `${target.url}/metrics/job/${LONG_JOB}`,
        ], { expectCode: 0 });
        assert.equal(stdout, "200");
        const scrape = await scrapeText(target);
        assert.ok(
          scrape.includes(
            `curl_long_job{instance="",job="${LONG_JOB}"} 1\n`,
          ),
          "the job name is scraped back whole",
        );
      });
    },
  );
});

Deno.test("Python prometheus_client pushes a job name of 100,000 characters, scraped back exactly", async () => {
  await using pv = await startTestGateway(LONG_LABELS);
  const script = `
import sys
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
registry = CollectorRegistry()
Gauge("py_long_job", "Long job.", registry=registry).set(2)
push_to_gateway(sys.argv[1], job="j" * 100000, registry=registry)
print("pushed")
`;
  const { stdout } = await run(PYTHON, ["-c", script, new URL(pv.url).host]);
  assert.equal(stdout.trim(), "pushed");
  const scrape = await (await fetch(`${pv.url}/metrics`)).text();
  assert.ok(scrape.includes(`py_long_job{instance="",job="${LONG_JOB}"} 2\n`));
});

Deno.test("by default a job name of 100,000 characters is refused by the label value limit, not by the HTTP layer", async () => {
  await using pv = await startTestGateway();
  const host = new URL(pv.url).host;
  const res = await sendRaw(
    pv.url,
    put(`/metrics/job/${LONG_JOB}`, host, "m 1\n"),
  );
  assert.equal(res.status, 400, res.head);
  assert.match(res.body, /\(--push\.max-label-value-length\)\n$/);
});

Deno.test("a URL past the default limit of 1 MiB gets 414 naming it, logged and counted, over plain HTTP and TLS", async (t) => {
  await withListeners(DEFAULTS, async (target) => {
    const host = new URL(target.url).host;
    await t.step(target.name, async () => {
      const res = await sendRaw(
        target.url,
        put(`/metrics/job/j/l/${"x".repeat(1_100_000)}`, host, "m 1\n"),
        target.caCert,
      );
      assert.equal(res.status, 414, res.head);
      assert.equal(
        res.body,
        "URI too long: the request line and headers may be at most 1048576 bytes (--web.max-header-bytes)\n",
      );
      const scrape = await scrapeText(target);
      assert.match(
        scrape,
        /^pushgateway_http_requests_total\{code="414",handler="(push|unknown)",method="(put|unknown)"\} 1$/m,
      );
    });
  });
});

Deno.test("a URL past the limit on plain HTTP is logged with its method and path", async () => {
  const lines: string[] = [];
  const logger = createLogger({
    level: "warn",
    format: "logfmt",
    write: (line) => lines.push(line),
  });
  await using pv = await startTestGateway(["--web.max-header-bytes=64KiB"], {
    logger,
  });
  const host = new URL(pv.url).host;
  const res = await sendRaw(
    pv.url,
    put(`/metrics/job/j/l/${"x".repeat(100_000)}`, host, "m 1\n"),
  );
  assert.equal(res.status, 414, res.head);
  const refused = lines.filter((line) => line.includes("request refused"));
  assert.equal(refused.length, 1, lines.join(""));
  assert.match(
    refused[0] as string,
    /status=414 method=PUT path=\/metrics\/job\/j\/l\/x+ /,
  );
  assert.match(refused[0] as string, /--web\.max-header-bytes/);
});
