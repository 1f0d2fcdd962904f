import assert from "node:assert/strict";
import { requiredScope } from "../../src/http/routes.ts";
import { parseBasicAuth } from "../../src/http/auth.ts";
import { send } from "../test_utils.ts";
import { basic, GO_HASH, hash, startWithWebConfig } from "./security_utils.ts";

const PASSWORD = "s3cret:with:colons";
const USERS = ["full", "ci", "prom", "viewer", "ops", "probe"] as const;
type User = typeof USERS[number];

const CONFIG = `
http_server_config:
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
${USERS.map((u) => `  ${u}: '${hash(PASSWORD)}'`).join("\n")}
  gopher: '${GO_HASH}'
basic_auth_scopes:
  ci: [push]
  prom: [scrape]
  viewer: [read]
  ops: [admin]
  probe: []
`;

/** Every endpoint, the scope it needs, and its answer with enough rights. */
const ENDPOINTS = [
  { method: "GET", path: "/-/healthy", scope: undefined, ok: 200 },
  { method: "GET", path: "/-/ready", scope: undefined, ok: 200 },
  { method: "GET", path: "/metrics", scope: "scrape", ok: 200 },
  {
    method: "PUT",
    path: "/metrics/job/a",
    body: "x 1\n",
    scope: "push",
    ok: 200,
  },
  {
    method: "POST",
    path: "/metrics/job/a",
    body: "y 1\n",
    scope: "push",
    ok: 200,
  },
  { method: "DELETE", path: "/metrics/job/b", scope: "push", ok: 202 },
  { method: "GET", path: "/api/v1/status", scope: "read", ok: 200 },
  { method: "GET", path: "/api/v1/metrics", scope: "read", ok: 200 },
  { method: "GET", path: "/api/v1/history", scope: "read", ok: 200 },
  { method: "GET", path: "/nonexistent", scope: "read", ok: 404 },
  { method: "PUT", path: "/api/v1/admin/wipe", scope: "admin", ok: 202 },
  {
    method: "POST",
    path: '/api/v1/admin/delete?match[]={job="none"}',
    scope: "admin",
    ok: 200,
  },
  // The lifecycle API is off: the answer with rights is its 403.
  { method: "PUT", path: "/-/quit", scope: "admin", ok: 403 },
] as const;

const SCOPES_OF: Record<User, readonly string[]> = {
  full: ["push", "scrape", "read", "admin"],
  ci: ["push"],
  prom: ["scrape"],
  viewer: ["read"],
  ops: ["admin"],
  probe: [],
};

Deno.test("basic auth answers 401 without right credentials on every endpoint", async (t) => {
  await using gw = await startWithWebConfig(CONFIG, ["--web.enable-admin-api"]);
  const cases = [
    { name: "no credentials", headers: {} },
    { name: "a wrong password", headers: basic("full", "wrong") },
    { name: "an unknown user", headers: basic("mallory", PASSWORD) },
    { name: "another scheme", headers: { Authorization: "Bearer abc" } },
    { name: "broken base64", headers: { Authorization: "Basic %%%" } },
  ];
  for (const e of ENDPOINTS) {
    for (const c of cases) {
      await t.step(`${e.method} ${e.path} with ${c.name}`, async () => {
        const res = await send(`${gw.url}${e.path}`, {
          method: e.method,
          headers: c.headers,
          ...("body" in e ? { body: e.body } : {}),
        });
        assert.equal(res.status, 401);
        assert.equal(res.text, "Unauthorized\n");
        assert.equal(res.headers.get("www-authenticate"), "Basic");
        assert.equal(
          res.headers.get("content-type"),
          "text/plain; charset=utf-8",
        );
        assert.equal(res.headers.get("x-frame-options"), "deny");
      });
    }
  }
  // Nothing reached the store.
  const scrape = await send(`${gw.url}/metrics`, {
    headers: basic("full", PASSWORD),
  });
  assert.doesNotMatch(scrape.text, /^x\{/m);
  assert.match(
    scrape.text,
    new RegExp(
      `^pushvault_http_refused_total\\{reason="unauthorized"\\} ${
        ENDPOINTS.length * cases.length
      }$`,
      "m",
    ),
  );
});

Deno.test("basic_auth_scopes give each user only its endpoints", async (t) => {
  await using gw = await startWithWebConfig(CONFIG, ["--web.enable-admin-api"]);
  for (const user of USERS) {
    for (const e of ENDPOINTS) {
      const allowed = e.scope === undefined ||
        SCOPES_OF[user].includes(e.scope);
      await t.step(
        `${user} ${allowed ? "may" : "may not"} ${e.method} ${e.path}`,
        async () => {
          const res = await send(`${gw.url}${e.path}`, {
            method: e.method,
            headers: basic(user, PASSWORD),
            ...("body" in e ? { body: e.body } : {}),
          });
          if (allowed) {
            assert.equal(res.status, e.ok, res.text);
          } else {
            assert.equal(res.status, 403);
            assert.equal(
              res.text,
              `Forbidden: user "${user}" has no "${e.scope}" scope, which ${e.method} ${
                new URL(e.path, "http://x").pathname
              } needs (basic_auth_scopes in --web.config.file)\n`,
            );
          }
          assert.equal(res.headers.get("x-frame-options"), "deny");
          assert.equal(
            res.headers.get("strict-transport-security"),
            "max-age=31536000",
          );
        },
      );
    }
  }
});

Deno.test("basic auth accepts a $2y$ hash made by Go's bcrypt", async () => {
  await using gw = await startWithWebConfig(CONFIG);
  const ok = await send(`${gw.url}/metrics/job/go`, {
    method: "POST",
    body: "z 1\n",
    headers: basic("gopher", "fakepassword"),
  });
  assert.equal(ok.status, 200);
  const wrong = await send(`${gw.url}/-/healthy`, {
    headers: basic("gopher", "fakepassword2"),
  });
  assert.equal(wrong.status, 401);
});

Deno.test("a reloaded web config takes effect and a broken one is ignored", async () => {
  await using gw = await startWithWebConfig(
    `basic_auth_users:\n  alice: '${hash("a")}'\n`,
    [],
    { webConfigPollMs: 20 },
  );
  const health = (user: string, password: string) =>
    send(`${gw.url}/-/healthy`, { headers: basic(user, password) });
  assert.equal((await health("bob", "b")).status, 401);

  // The watcher polls every 20 ms; wait (bounded) until bob is let in.
  await Deno.writeTextFile(
    gw.configPath,
    `basic_auth_users:\n  alice: '${hash("a")}'\n  bob: '${hash("b")}'\n`,
  );
  await eventually(async () => (await health("bob", "b")).status === 200);

  await Deno.writeTextFile(gw.configPath, "basic_auth_users:\n  bob: nope\n");
  await eventually(async () => {
    const m = await send(`${gw.url}/metrics`, { headers: basic("alice", "a") });
    return /^pushvault_web_config_last_reload_successful 0$/m.test(m.text);
  });
  assert.equal((await health("alice", "a")).status, 200);
  assert.equal((await health("bob", "b")).status, 200);
  const metrics = await send(`${gw.url}/metrics`, {
    headers: basic("alice", "a"),
  });
  assert.match(
    metrics.text,
    /^pushvault_web_config_reloads_total\{result="failure"\} 1$/m,
  );
  assert.match(
    metrics.text,
    /^pushvault_web_config_reloads_total\{result="success"\} 1$/m,
  );
});

Deno.test("rate_limit answers 429 past the burst", async () => {
  await using gw = await startWithWebConfig(
    "rate_limit:\n  interval: 1h\n  burst: 2\n",
  );
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    statuses.push((await send(`${gw.url}/-/healthy`)).status);
  }
  assert.deepEqual(statuses, [200, 200, 429]);
});

Deno.test("a web config without users leaves every endpoint open", async () => {
  await using gw = await startWithWebConfig(
    "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n",
  );
  const res = await send(`${gw.url}/metrics/job/open`, {
    method: "PUT",
    body: "x 1\n",
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
});

Deno.test("requiredScope() classifies paths as the router decodes them", async (t) => {
  const routes = { routePrefix: "/pv", telemetryPath: "/prom" };
  const cases = [
    { path: "/pv/metrics/job/a", scope: "push" },
    { path: "/pv/metrics/job@base64/YQ", scope: "push" },
    { path: "/pv/metrics%2Fjob%2Fa", scope: "push" },
    { path: "/pv//metrics/job/a", scope: "push" },
    { path: "/pv/prom", scope: "scrape" },
    { path: "/pv/prom/", scope: "scrape" },
    { path: "/pv/metrics", scope: "read" },
    { path: "/pv/api/v1/admin/wipe", scope: "admin" },
    { path: "/pv/api/v1/admin%2Fdelete", scope: "admin" },
    { path: "/pv/-/quit", scope: "admin" },
    { path: "/-/quit", scope: "admin" },
    { path: "/pv/-/healthy", scope: undefined },
    { path: "/pv/-/ready", scope: undefined },
    { path: "/pv/api/v1/history", scope: "read" },
    { path: "/pv/", scope: "read" },
    { path: "/pv/%ff", scope: "read" },
  ] as const;
  for (const c of cases) {
    await t.step(`${c.path} needs ${c.scope ?? "any user"}`, () => {
      assert.equal(
        requiredScope(new Request(`http://h${c.path}`), routes),
        c.scope,
      );
    });
  }
});

Deno.test("parseBasicAuth() reads credentials as Go's Request.BasicAuth", () => {
  const b64 = (s: string) =>
    btoa(String.fromCharCode(...new TextEncoder().encode(s)));
  assert.deepEqual(parseBasicAuth(`Basic ${b64("a:b:c")}`), {
    user: "a",
    password: "b:c",
  });
  assert.deepEqual(parseBasicAuth(`bAsIc ${b64("ü:ß")}`), {
    user: "ü",
    password: "ß",
  });
  assert.equal(parseBasicAuth(`Basic ${b64("nocolon")}`), undefined);
  assert.equal(parseBasicAuth("Basic"), undefined);
  assert.equal(parseBasicAuth(null), undefined);
});

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("condition not met within 5 s");
}
