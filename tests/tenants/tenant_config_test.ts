/**
 * Tenants' configuration: `basic_auth_scopes` entries with selectors and
 * `basic_auth_rate_limits` as the file spells them, refused when wrong;
 * a user's own rate limit (429, counted by user); a reload that changes a
 * user's scopes while the server runs (plain HTTP and TLS); the Python client pushing in and
 * out of its scope.
 */

import assert from "node:assert/strict";
import { parseWebConfig, WebConfigError } from "../../src/http/web_config.ts";
import { run } from "../e2e/e2e_utils.ts";
import {
  catchError,
  GO_HASH,
  hash,
  makePki,
  startWithWebConfig,
} from "../security/security_utils.ts";
import { tempDir } from "../test_utils.ts";
import { jobsInApi, PASSWORD, TenantClient } from "./tenant_utils.ts";

const FILE = "/etc/pushvault/web.yml";
const parse = (text: string) => parseWebConfig(text, { file: FILE });

Deno.test("basic_auth_scopes takes scopes limited by selectors", () => {
  const config = parse(`
basic_auth_users:
  ci: ${GO_HASH}
  pay: ${GO_HASH}
  both: ${GO_HASH}
basic_auth_scopes:
  ci:
    - push:{job=~"ci-.*"}
    - 'read:{job=~"ci-.*"}'
    - 'read:{team="infra", instance!=""}'
  pay: ['scrape:{team="payments"}', read]
  both: [push, 'push:{job="x"}', 'admin: {job="staging"}']
`);
  const ci = config.users.get("ci");
  assert.deepEqual([...ci?.scopes ?? []], ["push", "read"]);
  assert.deepEqual(ci?.limited?.get("push")?.spelled, ['push:{job=~"ci-.*"}']);
  assert.deepEqual(ci?.limited?.get("read")?.spelled, [
    'read:{job=~"ci-.*"}',
    'read:{team="infra", instance!=""}',
  ]);
  assert.equal(ci?.limited?.get("read")?.selectors.length, 2);
  assert.equal(ci?.limited?.get("read")?.user, "ci");
  const pay = config.users.get("pay");
  assert.deepEqual([...pay?.scopes ?? []], ["scrape", "read"]);
  assert.deepEqual([...pay?.limited?.keys() ?? []], ["scrape"]);
  // A bare scope beside a limited one of the same name: every group.
  const both = config.users.get("both");
  assert.deepEqual([...both?.scopes ?? []], ["push", "admin"]);
  assert.deepEqual([...both?.limited?.keys() ?? []], ["admin"]);
  assert.deepEqual(both?.limited?.get("admin")?.spelled, [
    'admin:{job="staging"}',
  ]);
});

Deno.test("basic_auth_rate_limits gives a user a bucket of its own", () => {
  const config = parse(`
basic_auth_users:
  ci: ${GO_HASH}
  other: ${GO_HASH}
basic_auth_rate_limits:
  ci:
    interval: 500ms
    burst: 3
rate_limit:
  interval: 1s
  burst: 100
`);
  assert.deepEqual(config.users.get("ci")?.rateLimit, {
    intervalMs: 500,
    burst: 3,
  });
  assert.equal(config.users.get("other")?.rateLimit, undefined);
  assert.deepEqual(config.rateLimit, { intervalMs: 1000, burst: 100 });
});

Deno.test("a bad scope selector or user rate limit is refused naming its key", () => {
  const users = `basic_auth_users:\n  ci: ${GO_HASH}\n`;
  const cases = [
    {
      text: `${users}basic_auth_scopes:\n  ci: ['push:{job=~"("}']\n`,
      key: "basic_auth_scopes.ci",
      message: /scope "push:\{job=~\\"\(\\"\}": invalid regular expression/,
    },
    {
      text: `${users}basic_auth_scopes:\n  ci: ['push:job="x"']\n`,
      key: "basic_auth_scopes.ci",
      message: /expected a selector in braces/,
    },
    {
      text: `${users}basic_auth_scopes:\n  ci: ['push:{}']\n`,
      key: "basic_auth_scopes.ci",
      message: /at least one label matcher/,
    },
    {
      text: `${users}basic_auth_scopes:\n  ci: [push:{job="x"}]\n`,
      key: "basic_auth_scopes.ci",
      message: /found a mapping; quote a scope with a selector/,
    },
    {
      text: `${users}basic_auth_scopes:\n  ci: ['write:{job="x"}']\n`,
      key: "basic_auth_scopes.ci",
      message: /unknown scope "write"/,
    },
    {
      text:
        `${users}basic_auth_rate_limits:\n  bob:\n    interval: 1s\n    burst: 1\n`,
      key: "basic_auth_rate_limits.bob",
      message: /no user "bob" in basic_auth_users/,
    },
    {
      text: `${users}basic_auth_rate_limits:\n  ci:\n    interval: 1s\n`,
      key: "basic_auth_rate_limits.ci.burst",
      message: /must be at least 1/,
    },
    {
      text:
        `${users}basic_auth_rate_limits:\n  ci:\n    interval: 1s\n    burst: 1\n    every: 2\n`,
      key: "basic_auth_rate_limits.ci.every",
      message: /unknown key/,
    },
  ];
  for (const c of cases) {
    const error = catchError(() => parse(c.text), WebConfigError);
    assert.equal(error.key, c.key, error.message);
    assert.match(error.message, c.message);
  }
});

Deno.test("a user's rate limit answers 429 to that user only, counted by user", async () => {
  const h = hash(PASSWORD);
  await using gw = await startWithWebConfig(`
basic_auth_users:
  slow: '${h}'
  fast: '${h}'
basic_auth_rate_limits:
  slow:
    interval: 1h
    burst: 2
`);
  const client = new TenantClient(gw.url);
  try {
    for (const expected of [200, 200, 429, 429]) {
      const res = await client.send("slow", "GET", "/-/healthy");
      assert.equal(res.status, expected, res.text);
    }
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (await client.send("fast", "GET", "/-/healthy")).status,
        200,
      );
    }
    const scrape = await client.send("fast", "GET", "/metrics");
    assert.match(
      scrape.text,
      /^pushvault_user_rate_limited_total\{user="slow"\} 2$/m,
    );
    assert.doesNotMatch(scrape.text, /user_rate_limited_total\{user="fast"/);
    assert.match(
      scrape.text,
      /^pushvault_http_refused_total\{reason="user_rate_limited"\} 2$/m,
    );
  } finally {
    client.close();
  }
});

/** A reload that changes a user's scopes, over plain HTTP or TLS. */
async function reloadChangesScopes(scheme: "http" | "https"): Promise<void> {
  const h = hash(PASSWORD);
  await using dir = await tempDir();
  const pki = scheme === "https" ? await makePki(dir.path) : undefined;
  const tls = pki === undefined ? "" : `tls_server_config:
  cert_file: ${pki.serverCert}
  key_file: ${pki.serverKey}
`;
  const config = (payScopes: string) =>
    `${tls}
basic_auth_users:
  root: '${h}'
  pay: '${h}'
basic_auth_scopes:
  pay: ${payScopes}
`;
  await using gw = await startWithWebConfig(
    config(`['read:{team="payments"}', 'push:{team="payments"}']`),
    [],
    { webConfigPollMs: 20, dir: dir.path },
  );
  assert.ok(gw.url.startsWith(`${scheme}:`), gw.url);
  const client = new TenantClient(gw.url, pki && { pki });
  try {
    for (const path of ["/metrics/job/a/team/payments", "/metrics/job/b"]) {
      const res = await client.send("root", "PUT", path, { body: "x 1\n" });
      assert.equal(res.status, 200);
    }
    const jobs = async () =>
      jobsInApi((await client.send("pay", "GET", "/api/v1/metrics")).text);
    assert.deepEqual([...await jobs()], ["a"]);
    const push = () =>
      client.send("pay", "PUT", "/metrics/job/b", { body: "x 2\n" });
    assert.equal((await push()).status, 403);

    await Deno.writeTextFile(
      gw.configPath,
      config(`['read:{job="b"}', 'push:{job=~"a|b"}']`),
    );
    await eventually(async () => [...await jobs()].join() === "b");
    assert.equal((await push()).status, 200);

    // Without selectors again: every group, as before scopes had them.
    await Deno.writeTextFile(gw.configPath, config("[read]"));
    await eventually(async () => (await jobs()).size === 2);
    assert.equal((await push()).status, 403); // no push scope left
  } finally {
    client.close();
  }
}

Deno.test("a reload of the file changes a user's scopes live over plain HTTP", () =>
  reloadChangesScopes("http"));

Deno.test("a reload of the file changes a user's scopes live over TLS", () =>
  reloadChangesScopes("https"));

Deno.test("the Python client pushes in its scope and gets 403 outside it", async () => {
  const h = hash(PASSWORD);
  await using gw = await startWithWebConfig(`
basic_auth_users:
  ci: '${h}'
  root: '${h}'
basic_auth_scopes:
  ci: ['push:{job=~"ci-.*"}', 'read:{job=~"ci-.*"}']
`);
  const script = `
import sys
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from prometheus_client.exposition import basic_auth_handler
def handler(url, method, timeout, headers, data):
    return basic_auth_handler(url, method, timeout, headers, data, "ci", ${
    JSON.stringify(PASSWORD)
  })
registry = CollectorRegistry()
Gauge("py_gauge", "pushed by python", registry=registry).set(1)
try:
    push_to_gateway(sys.argv[1], job=sys.argv[2], registry=registry, handler=handler)
    print("pushed")
except Exception as error:
    print("refused", error)
`;
  const push = async (job: string) =>
    (await run("/usr/bin/python3", ["-c", script, gw.url, job])).stdout
      .trim();
  assert.equal(await push("ci-python"), "pushed");
  assert.match(await push("prod-python"), /^refused HTTP Error 403/);
  const client = new TenantClient(gw.url);
  try {
    const api = await client.send("ci", "GET", "/api/v1/metrics");
    assert.deepEqual([...jobsInApi(api.text)], ["ci-python"]);
    // Counted as the guard counts a user without the scope.
    const scrape = await client.send("root", "GET", "/metrics");
    assert.match(
      scrape.text,
      /^pushvault_http_refused_total\{reason="forbidden"\} 1$/m,
    );
  } finally {
    client.close();
  }
});

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("condition not met within 5 s");
}
