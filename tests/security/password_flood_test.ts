import assert from "node:assert/strict";
import {
  addressKey,
  FAILURE_BURST,
  FAILURE_FORGIVEN_MS,
  guardHandler,
  type HttpRefusal,
  LoginFailures,
} from "../../src/http/auth.ts";
import { PasswordWorker } from "../../src/http/password_worker.ts";
import { SCOPES } from "../../src/http/web_config_users.ts";
import { OPEN_WEB_CONFIG } from "../../src/http/web_config_defaults.ts";
import type { WebConfig } from "../../src/http/web_config.ts";
import { send } from "../test_utils.ts";
import { basic, hash, startWithWebConfig } from "./security_utils.ts";

const ALICE_HASH = hash("alice-password");
const WITH_ALICE: WebConfig = {
  ...OPEN_WEB_CONFIG,
  users: new Map([["alice", { hash: ALICE_HASH, scopes: new Set(SCOPES) }]]),
};

/** The guard around an app that answers 200, with a clock tests move. */
function guarded(
  passwords: PasswordWorker,
  config: WebConfig = WITH_ALICE,
) {
  const clock = { ms: 0 };
  const refusals: HttpRefusal[] = [];
  const handler = guardHandler(() => Promise.resolve(new Response("ok")), {
    config: () => config,
    scopeOf: () => undefined,
    onRefused: (reason) => refusals.push(reason),
    passwords,
    now: () => clock.ms,
  });
  const request = async (
    address: string,
    credentials?: { user: string; password: string },
  ) => {
    const res = await handler(
      new Request("http://pv/-/healthy", {
        headers: credentials
          ? basic(credentials.user, credentials.password)
          : {},
      }),
      { remoteAddr: { hostname: address } },
    );
    return {
      status: res.status,
      text: await res.text(),
      retryAfter: res.headers.get("retry-after"),
    };
  };
  return { clock, refusals, request };
}

const ALICE = { user: "alice", password: "alice-password" };
const wrong = (i: number) => ({ user: "alice", password: `wrong-${i}` });

Deno.test("guardHandler() keeps a cached user through a flood of wrong passwords", async () => {
  using passwords = new PasswordWorker();
  const { request } = guarded(passwords);
  assert.equal((await request("10.0.0.1", ALICE)).status, 200);
  assert.equal(passwords.checked, 1);
  // More failures than either cache holds, each from its own address so
  // that no address is throttled.
  for (let i = 0; i < 250; i++) {
    const address = `10.1.${i >> 8}.${i & 255}`;
    assert.equal((await request(address, wrong(i))).status, 401);
  }
  assert.equal(passwords.checked, 251);
  assert.equal((await request("10.0.0.1", ALICE)).status, 200);
  assert.equal(passwords.checked, 251, "alice's credentials were evicted");
});

Deno.test("guardHandler() checks a repeated wrong password once", async () => {
  using passwords = new PasswordWorker();
  const { request } = guarded(passwords);
  for (let i = 0; i < 3; i++) {
    assert.equal((await request("10.0.0.1", wrong(0))).status, 401);
  }
  assert.equal(passwords.checked, 1);
});

Deno.test("guardHandler() shares one check among concurrent equal requests", async () => {
  using passwords = new PasswordWorker();
  const { request } = guarded(passwords);
  const answers = await Promise.all(
    Array.from({ length: 5 }, () => request("10.0.0.1", ALICE)),
  );
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
  assert.equal(passwords.checked, 1);
});

Deno.test("guardHandler() refuses an address that failed too often with 429, and only it", async (t) => {
  using passwords = new PasswordWorker();
  const { clock, refusals, request } = guarded(passwords);
  assert.equal((await request("10.0.0.1", ALICE)).status, 200);
  for (let i = 0; i < FAILURE_BURST; i++) {
    assert.equal((await request("10.0.0.1", wrong(i))).status, 401);
  }
  const refused = await request("10.0.0.1", wrong(FAILURE_BURST));
  assert.equal(refused.status, 429);
  const seconds = FAILURE_FORGIVEN_MS / 1000;
  assert.equal(
    refused.text,
    `Too Many Requests: too many failed password checks from this address; retry in ${seconds} s\n`,
  );
  assert.equal(refused.retryAfter, String(seconds));
  assert.equal(refusals.at(-1), "too_many_failures");
  const checked = passwords.checked;

  await t.step("cached credentials still answer at once", async () => {
    assert.equal((await request("10.0.0.1", ALICE)).status, 200);
    assert.equal((await request("10.0.0.1", wrong(0))).status, 401);
  });
  await t.step("another address is not slowed", async () => {
    assert.equal((await request("10.0.0.2", wrong(99))).status, 401);
  });
  assert.equal(passwords.checked, checked + 1);

  await t.step("one failure is forgiven per interval", async () => {
    clock.ms += FAILURE_FORGIVEN_MS;
    assert.equal((await request("10.0.0.1", wrong(100))).status, 401);
    assert.equal((await request("10.0.0.1", wrong(101))).status, 429);
  });
});

Deno.test("guardHandler() counts an IPv6 /64 as one address", async () => {
  using passwords = new PasswordWorker();
  const { request } = guarded(passwords);
  for (let i = 0; i < FAILURE_BURST; i++) {
    const address = `2001:db8:1:2:${i.toString(16)}::1`;
    assert.equal((await request(address, wrong(i))).status, 401);
  }
  assert.equal((await request("2001:db8:1:2::ffff", wrong(50))).status, 429);
  assert.equal((await request("2001:db8:1:3::1", wrong(51))).status, 401);
});

Deno.test("guardHandler() answers 503 when too many checks are waiting", async () => {
  using passwords = new PasswordWorker({ maxPending: 0 });
  const { refusals, request } = guarded(passwords);
  const busy = await request("10.0.0.1", ALICE);
  assert.equal(busy.status, 503);
  assert.equal(
    busy.text,
    "Service Unavailable: too many password checks are waiting; retry in 1 s\n",
  );
  assert.equal(busy.retryAfter, "1");
  assert.deepEqual(refusals, ["auth_busy"]);
  // Not a failure of the address: it is never throttled for it.
  for (let i = 0; i < FAILURE_BURST; i++) await request("10.0.0.1", wrong(i));
  assert.equal((await request("10.0.0.1", ALICE)).status, 503);
});

Deno.test("guardHandler() starts the password worker only for a check", async () => {
  using passwords = new PasswordWorker();
  const open = guarded(passwords, OPEN_WEB_CONFIG);
  assert.equal((await open.request("10.0.0.1")).status, 200);
  const { request } = guarded(passwords);
  assert.equal((await request("10.0.0.1")).status, 401);
  assert.equal(passwords.started, false);
  assert.equal((await request("10.0.0.1", ALICE)).status, 200);
  assert.equal(passwords.started, true);
});

Deno.test("PasswordWorker refuses checks past its bound at once and runs the rest", async () => {
  using passwords = new PasswordWorker({ maxPending: 3 });
  const results = await Promise.all([
    passwords.check("alice-password", ALICE_HASH),
    passwords.check("nope", ALICE_HASH),
    passwords.check("x", "not a bcrypt hash"),
    passwords.check("alice-password", ALICE_HASH),
    passwords.check("alice-password", ALICE_HASH),
  ]);
  assert.deepEqual(results, [
    "match",
    "mismatch",
    "mismatch",
    "unavailable",
    "unavailable",
  ]);
  assert.equal(passwords.checked, 3);
  passwords.close();
  assert.equal(await passwords.check("x", ALICE_HASH), "unavailable");
});

Deno.test("PasswordWorker stops when idle and starts again for the next check", async () => {
  using passwords = new PasswordWorker({ idleStopMs: 10 });
  assert.equal(await passwords.check("alice-password", ALICE_HASH), "match");
  for (let i = 0; i < 250 && passwords.started; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(passwords.started, false);
  assert.equal(await passwords.check("nope", ALICE_HASH), "mismatch");
  assert.equal(passwords.started, true);
});

Deno.test("LoginFailures forgets the least recently failed address past its bound", () => {
  const failures = new LoginFailures({
    now: () => 0,
    burst: 1,
    maxAddresses: 100,
  });
  for (let i = 0; i < 1000; i++) {
    const address = `10.2.${i >> 8}.${i & 255}`;
    failures.begin(address);
    failures.end(address, true);
  }
  assert.equal(failures.size, 100);
  assert.equal(failures.retryAfterSeconds("10.2.0.0"), 0);
  assert.ok(failures.retryAfterSeconds("10.2.3.231") > 0); // the 1000th
});

Deno.test("addressKey() keeps IPv4 and takes an IPv6 address's /64", async (t) => {
  const cases = [
    { address: "192.0.2.7", key: "192.0.2.7" },
    { address: "::ffff:192.0.2.7", key: "192.0.2.7" },
    { address: "::1", key: "0:0:0:0::/64" },
    { address: "2001:db8::1", key: "2001:db8:0:0::/64" },
    { address: "2001:0DB8:0001:0002:3:4:5:6", key: "2001:db8:1:2::/64" },
    { address: "2001:db8:1:2::", key: "2001:db8:1:2::/64" },
    { address: "fe80::1%eth0", key: "fe80:0:0:0::/64" },
    { address: "64:ff9b::192.0.2.7", key: "64:ff9b:0:0::/64" },
    { address: "", key: "" },
  ] as const;
  for (const c of cases) {
    await t.step(`${JSON.stringify(c.address)} → ${c.key}`, () => {
      assert.equal(addressKey(c.address), c.key);
    });
  }
});

Deno.test("a gateway answers 429 to an address that keeps failing, and lets cached users in", async () => {
  await using gw = await startWithWebConfig(
    `basic_auth_users:\n  alice: '${ALICE_HASH}'\n  bob: '${hash("b")}'\n`,
  );
  const health = (credentials: { user: string; password: string }) =>
    send(`${gw.url}/-/healthy`, {
      headers: basic(credentials.user, credentials.password),
    });
  assert.equal((await health(ALICE)).status, 200);
  for (let i = 0; i < FAILURE_BURST; i++) {
    assert.equal((await health({ user: "bob", password: `${i}` })).status, 401);
  }
  // The limit forgives one failure every few seconds: a slow machine may
  // let one more through before the refusal.
  let refused;
  for (let i = 0; i < 3 && refused === undefined; i++) {
    const res = await health({ user: "bob", password: `more-${i}` });
    if (res.status === 429) refused = res;
    else assert.equal(res.status, 401);
  }
  assert.ok(refused, "never refused with 429");
  assert.match(
    refused.text,
    /^Too Many Requests: too many failed password checks from this address; retry in \d+ s\n$/,
  );
  assert.match(refused.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
  assert.equal((await health(ALICE)).status, 200);
  const metrics = await send(`${gw.url}/metrics`, {
    headers: basic("alice", ALICE.password),
  });
  assert.match(
    metrics.text,
    /^pushvault_http_refused_total\{reason="too_many_failures"\} 1$/m,
  );
});
