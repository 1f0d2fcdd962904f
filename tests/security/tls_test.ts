import assert from "node:assert/strict";
import { tempDir } from "../test_utils.ts";
import type { Pki } from "./security_utils.ts";
import {
  basic,
  hash,
  makePki,
  startWithWebConfig,
  tlsClient,
} from "./security_utils.ts";

/** Status of GET path with this client, or "refused" if TLS fails. */
async function status(
  url: string,
  client: Deno.HttpClient,
  init: RequestInit = {},
): Promise<number | "refused"> {
  try {
    const res = await fetch(url, { client, ...init });
    await res.body?.cancel();
    return res.status;
  } catch (error) {
    assert.ok(error instanceof TypeError, String(error));
    return "refused";
  }
}

function tlsYaml(pki: Pki, extra = ""): string {
  return `tls_server_config:
  cert_file: ${pki.serverCert}
  key_file: ${pki.serverKey}
${extra}`;
}

Deno.test("TLS serves the gateway over HTTPS with the configured certificate", async () => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  await using gw = await startWithWebConfig(
    tlsYaml(pki) +
      "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n",
    [],
    { dir: dir.path },
  );
  assert.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  using client = tlsClient(pki);
  const push = await fetch(`${gw.url}/metrics/job/tls`, {
    client,
    method: "PUT",
    body: "tls_pushed 1\n",
  });
  assert.equal(push.status, 200);
  assert.equal(push.headers.get("content-length"), "0");
  assert.equal(push.headers.get("x-frame-options"), "sameorigin");
  await push.body?.cancel();
  const scrape = await fetch(`${gw.url}/metrics`, {
    client,
    headers: { "Accept-Encoding": "gzip" },
  });
  assert.equal(scrape.status, 200);
  assert.match(await scrape.text(), /^tls_pushed\{instance="",job="tls"\} 1$/m);
  // A client that does not trust the CA is refused in the handshake.
  using untrusting = Deno.createHttpClient({});
  assert.equal(await status(`${gw.url}/-/healthy`, untrusting), "refused");
});

Deno.test("TLS with RequireAndVerifyClientCert refuses clients without a valid certificate", async () => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  await using gw = await startWithWebConfig(
    tlsYaml(
      pki,
      `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${pki.caCert}\n`,
    ),
    [],
    { dir: dir.path },
  );
  const url = `${gw.url}/-/healthy`;
  {
    using none = tlsClient(pki);
    assert.equal(await status(url, none), "refused");
  }
  {
    using rogue = tlsClient(pki, { cert: pki.rogueCert, key: pki.rogueKey });
    assert.equal(await status(url, rogue), "refused");
  }
  {
    using good = tlsClient(pki, { cert: pki.clientCert, key: pki.clientKey });
    assert.equal(await status(url, good), 200);
  }
});

Deno.test("TLS client_auth_type policies match Go's tls.ClientAuthType", async (t) => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  const cases = [
    {
      policy: "RequestClientCert",
      none: 200,
      rogue: 200,
      good: 200,
    },
    {
      policy: "RequireAnyClientCert",
      none: "refused",
      rogue: 200,
      good: 200,
    },
    {
      policy: "VerifyClientCertIfGiven",
      ca: true,
      none: 200,
      rogue: "refused",
      good: 200,
    },
  ] as const;
  for (const c of cases) {
    await t.step(c.policy, async () => {
      await using gw = await startWithWebConfig(
        tlsYaml(
          pki,
          `  client_auth_type: ${c.policy}\n${
            "ca" in c ? `  client_ca_file: ${pki.caCert}\n` : ""
          }`,
        ),
        [],
        { dir: dir.path },
      );
      const url = `${gw.url}/-/healthy`;
      using none = tlsClient(pki);
      using rogue = tlsClient(pki, { cert: pki.rogueCert, key: pki.rogueKey });
      using good = tlsClient(pki, { cert: pki.clientCert, key: pki.clientKey });
      assert.equal(await status(url, none), c.none, "without a certificate");
      assert.equal(await status(url, rogue), c.rogue, "self-signed");
      assert.equal(await status(url, good), c.good, "signed by the CA");
    });
  }
});

Deno.test("TLS client_allowed_sans admits only certificates with a listed SAN", async (t) => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  for (
    const [sans, expected] of [
      ['["spiffe://pv/pusher"]', 200],
      ['["pusher.example", "other"]', 200],
      ['["someone.else"]', "refused"],
    ] as const
  ) {
    await t.step(`${sans} → ${expected}`, async () => {
      await using gw = await startWithWebConfig(
        tlsYaml(
          pki,
          `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${pki.caCert}\n  client_allowed_sans: ${sans}\n`,
        ),
        [],
        { dir: dir.path },
      );
      using good = tlsClient(pki, { cert: pki.clientCert, key: pki.clientKey });
      assert.equal(await status(`${gw.url}/-/healthy`, good), expected);
    });
  }
});

Deno.test("TLS combines client certificates with basic auth", async () => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  await using gw = await startWithWebConfig(
    tlsYaml(
      pki,
      `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${pki.caCert}\n`,
    ) + `basic_auth_users:\n  ci: '${hash("pw")}'\n`,
    [],
    { dir: dir.path },
  );
  using good = tlsClient(pki, { cert: pki.clientCert, key: pki.clientKey });
  const url = `${gw.url}/metrics/job/both`;
  assert.equal(
    await status(url, good, { method: "PUT", body: "b 1\n" }),
    401,
  );
  assert.equal(
    await status(url, good, {
      method: "PUT",
      body: "b 1\n",
      headers: basic("ci", "pw"),
    }),
    200,
  );
});

Deno.test("TLS min_version TLS13 refuses a TLS 1.2 client", async () => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  await using gw = await startWithWebConfig(
    tlsYaml(pki, "  min_version: TLS13\n"),
    [],
    { dir: dir.path },
  );
  const curl = async (args: string[]) => (await new Deno.Command("curl", {
    args: [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--cacert",
      `${dir.path}/${pki.caCert}`,
      ...args,
      `${gw.url}/-/healthy`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output());
  const tls13 = await curl(["--tlsv1.3"]);
  assert.equal(new TextDecoder().decode(tls13.stdout), "200");
  const tls12 = await curl(["--tls-max", "1.2"]);
  assert.equal(tls12.success, false);
});

Deno.test("TLS picks up a renewed certificate without a restart", async () => {
  await using dir = await tempDir();
  const first = await makePki(dir.path);
  const second = await makePki(dir.path, "renewed-");
  await using gw = await startWithWebConfig(tlsYaml(first), [], {
    dir: dir.path,
  });
  using trustsFirst = tlsClient(first);
  using trustsSecond = tlsClient(second);
  const url = `${gw.url}/-/healthy`;
  assert.equal(await status(url, trustsFirst), 200);
  assert.equal(await status(url, trustsSecond), "refused");

  // Renewal as cert-manager does it: new files in place, same config file.
  await Deno.copyFile(
    `${dir.path}/${second.serverCert}`,
    `${dir.path}/${first.serverCert}`,
  );
  await Deno.copyFile(
    `${dir.path}/${second.serverKey}`,
    `${dir.path}/${first.serverKey}`,
  );
  assert.equal(gw.gw.reloadWebConfig(), true);
  using freshSecond = tlsClient(second);
  assert.equal(await status(url, freshSecond), 200);
  using freshFirst = tlsClient(first);
  assert.equal(await status(url, freshFirst), "refused");
});

Deno.test("TLS keeps its client_auth_type when a reload would change it", async () => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  const strict = tlsYaml(
    pki,
    `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${pki.caCert}\n`,
  );
  await using gw = await startWithWebConfig(strict, [], { dir: dir.path });
  await Deno.writeTextFile(gw.configPath, tlsYaml(pki));
  assert.equal(gw.gw.reloadWebConfig(), false);
  using none = tlsClient(pki);
  assert.equal(await status(`${gw.url}/-/healthy`, none), "refused");
});

Deno.test("TLS streams a big scrape whole, plain and gzipped", async () => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  await using gw = await startWithWebConfig(tlsYaml(pki), [], {
    dir: dir.path,
  });
  using client = tlsClient(pki);
  // About 1 MB of text with 2- and 4-byte characters: many pieces, some
  // characters split between two of them.
  const values = Array.from(
    { length: 20_000 },
    (_, i) => `${"😀".repeat(i % 3)}${String(i).padStart(6, "0")}é`,
  );
  const body = values.map((v, i) => `big{x="${v}"} ${i}\n`).join("");
  const push = await fetch(`${gw.url}/metrics/job/big`, {
    client,
    method: "PUT",
    body,
  });
  assert.equal(push.status, 200);
  await push.body?.cancel();
  const lines = (text: string) =>
    text.split("\n").filter((l) => l.startsWith("big{")).sort();
  const expected = values.map((v, i) =>
    `big{instance="",job="big",x="${v}"} ${i}`
  ).sort();
  for (const encoding of ["identity", "gzip"]) {
    const scrape = await fetch(`${gw.url}/metrics`, {
      client,
      headers: { "Accept-Encoding": encoding },
    });
    assert.equal(scrape.status, 200);
    const text = await scrape.text();
    assert.ok(text.length > 500_000, `${encoding}: ${text.length} characters`);
    assert.deepEqual(lines(text), expected, encoding);
  }
});

/**
 * Writes `requests` on one TLS connection (each a head and a body size) and
 * returns the status lines of the answers read within a few seconds.
 */
async function statusLinesOnOneConnection(
  url: string,
  pki: Pki,
  requests: readonly { head: string; bodyBytes: number }[],
): Promise<string[]> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connectTls({
    hostname,
    port: Number(port),
    caCerts: [pki.read(pki.caCert)],
  });
  try {
    const writing = (async () => {
      const chunk = new Uint8Array(64 * 1024).fill(97);
      for (const { head, bodyBytes } of requests) {
        await conn.write(new TextEncoder().encode(head));
        for (let left = bodyBytes; left > 0; left -= chunk.length) {
          await conn.write(chunk.subarray(0, Math.min(left, chunk.length)));
        }
      }
    })();
    let text = "";
    const decoder = new TextDecoder();
    const buf = new Uint8Array(64 * 1024);
    const deadline = Date.now() + 10_000;
    const answered = () => (text.match(/^HTTP\/1\.1 /gm) ?? []).length;
    while (answered() < requests.length && Date.now() < deadline) {
      const n = await Promise.race([
        conn.read(buf),
        new Promise<null>((r) => setTimeout(() => r(null), 1_000)),
      ]);
      if (n !== null) text += decoder.decode(buf.subarray(0, n));
    }
    await writing;
    return text.split("\r\n").filter((line) => line.startsWith("HTTP/1.1 "));
  } finally {
    conn.close();
  }
}

Deno.test("TLS keeps a connection usable after a request body the handler did not read", async () => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  await using gw = await startWithWebConfig(tlsYaml(pki), [], {
    dir: dir.path,
  });
  // A DELETE's body is never read; the GET after it on the same
  // connection must still be answered.
  const lines = await statusLinesOnOneConnection(gw.url, pki, [
    {
      head:
        "DELETE /metrics/job/unread HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n",
      bodyBytes: 1_000_000,
    },
    { head: "GET /-/healthy HTTP/1.1\r\nHost: a\r\n\r\n", bodyBytes: 0 },
  ]);
  assert.deepEqual(lines, ["HTTP/1.1 202 Accepted", "HTTP/1.1 200 OK"]);
});
