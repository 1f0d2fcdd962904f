/**
 * Tenants: scopes limited to groups by selectors, over plain HTTP and TLS.
 * A table of users × endpoints × groups with the status each answers and
 * the exact groups each shows (scrapes in text and protobuf, the JSON API,
 * the history API, the UI), pushes and deletes in and out of scope, the
 * admin API's bulk delete and wipe limited to the admin scope's groups.
 */

import assert from "node:assert/strict";
import { tempDir } from "../test_utils.ts";
import {
  hash,
  makePki,
  startWithWebConfig,
} from "../security/security_utils.ts";
import {
  assertJobs,
  jobsInApi,
  jobsInHistory,
  PASSWORD,
  PROTOBUF_ACCEPT,
  type Shown,
  shownInProtobuf,
  shownInText,
  TenantClient,
} from "./tenant_utils.ts";

const HASH = hash(PASSWORD);

const CONFIG = `
basic_auth_users:
  root: '${HASH}'
  ci: '${HASH}'
  pay: '${HASH}'
  ops: '${HASH}'
  prom: '${HASH}'
basic_auth_scopes:
  ci:
    - push:{job=~"ci-.*"}
    - 'read:{job=~"ci-.*"}'
  pay: ['push:{team="payments"}', 'scrape:{team="payments"}', 'read:{team="payments"}']
  ops: ['admin:{job="staging"}', read]
  prom: [scrape]
`;

/** The groups every run starts with, each with its own job. */
const GROUPS = [
  { job: "ci-alpha", path: "/metrics/job/ci-alpha", id: '{job="ci-alpha"}' },
  {
    job: "ci-beta",
    path: "/metrics/job/ci-beta/team/payments",
    id: '{job="ci-beta",team="payments"}',
  },
  {
    job: "payroll",
    path: "/metrics/job/payroll/team/payments",
    id: '{job="payroll",team="payments"}',
  },
  { job: "staging", path: "/metrics/job/staging", id: '{job="staging"}' },
  { job: "misc-x", path: "/metrics/job/misc-x", id: '{job="misc-x"}' },
] as const;
const ALL = GROUPS.map((g) => g.job);

const only = (job: string) => `only_${job.replace("-", "_")}`;

type User = "root" | "ci" | "pay" | "ops" | "prom";
const USERS: readonly User[] = ["root", "ci", "pay", "ops", "prom"];

/** The groups each user's scrape shows; null: 403. */
const SCRAPES: Record<User, readonly string[] | null> = {
  root: ALL,
  ci: null,
  pay: ["ci-beta", "payroll"],
  ops: null,
  prom: ALL,
};

/** The groups each user's reads (API, history, UI) show; null: 403. */
const READS: Record<User, readonly string[] | null> = {
  root: ALL,
  ci: ["ci-alpha", "ci-beta"],
  pay: ["ci-beta", "payroll"],
  ops: ALL,
  prom: null,
};

/** Whether the user's scope has a selector: then no own families. */
const LIMITED_SCRAPE: Record<User, boolean> = {
  root: false,
  ci: true,
  pay: true,
  ops: true,
  prom: false,
};

/** What a scrape showing the groups of `jobs` shows, own families aside. */
function expectedShown(jobs: readonly string[]): Shown {
  const shown: Shown = new Map();
  for (
    const family of [
      "push_failure_time_seconds",
      "push_time_seconds",
      "shared_total",
    ]
  ) {
    if (jobs.length > 0) shown.set(family, new Set(jobs));
  }
  for (const job of jobs) shown.set(only(job), new Set([job]));
  return shown;
}

const OWN = /^(pushgateway_|pushvault_|process_|go_)/;

function withoutOwn(shown: Shown): Shown {
  return new Map([...shown].filter(([name]) => !OWN.test(name)));
}

function sorted(shown: Shown): [string, string[]][] {
  return [...shown].map(([name, jobs]) =>
    [name, [...jobs].sort()] as [
      string,
      string[],
    ]
  ).sort(([a], [b]) => a < b ? -1 : 1);
}

async function seed(client: TenantClient): Promise<void> {
  for (const g of GROUPS) {
    const res = await client.send("root", "PUT", g.path, {
      body: `shared_total{kind="a"} 1\n${only(g.job)} 1\n`,
    });
    assert.equal(res.status, 200, res.text);
  }
}

async function checkScrapes(
  t: Deno.TestContext,
  client: TenantClient,
): Promise<void> {
  for (const user of USERS) {
    const expected = SCRAPES[user];
    await t.step(`${user}: GET /metrics (text, protobuf)`, async () => {
      const formats = [
        { name: "text", headers: { "Accept-Encoding": "identity" } },
        { name: "text gzip", headers: { "Accept-Encoding": "gzip" } },
        { name: "protobuf", headers: { Accept: PROTOBUF_ACCEPT } },
      ];
      for (const format of formats) {
        const res = await client.send(user, "GET", "/metrics", {
          headers: format.headers,
        });
        if (expected === null) {
          assert.equal(res.status, 403, `${format.name}: ${res.text}`);
          continue;
        }
        assert.equal(res.status, 200, format.name);
        const shown = format.name === "protobuf"
          ? shownInProtobuf(res.bytes)
          : shownInText(res.text);
        assert.deepEqual(
          sorted(withoutOwn(shown)),
          sorted(expectedShown(expected)),
          `${user} ${format.name}`,
        );
        // Own families only for a scope without selectors.
        assert.equal(
          shown.has("pushgateway_build_info"),
          !LIMITED_SCRAPE[user],
          `${user} ${format.name}: own families`,
        );
        if (format.name !== "protobuf") {
          // No family is announced without its series.
          for (const m of res.text.matchAll(/^# TYPE (\S+) /gm)) {
            assert.ok(shown.has(m[1] as string), `${user}: header of ${m[1]}`);
          }
        }
      }
    });
  }
}

async function checkReads(
  t: Deno.TestContext,
  client: TenantClient,
): Promise<void> {
  for (const user of USERS) {
    const expected = READS[user];
    await t.step(`${user}: JSON API, history, UI`, async () => {
      const api = await client.send(user, "GET", "/api/v1/metrics");
      const status = await client.send(user, "GET", "/api/v1/status");
      const history = await client.send(user, "GET", "/api/v1/history");
      const page = await client.send(user, "GET", "/");
      if (expected === null) {
        for (const res of [api, status, history, page]) {
          assert.equal(res.status, 403, res.text);
        }
        return;
      }
      for (const res of [api, status, history, page]) {
        assert.equal(res.status, 200, res.text);
      }
      assertJobs(jobsInApi(api.text), expected, `${user} /api/v1/metrics`);
      assertJobs(
        jobsInHistory(history.text),
        expected,
        `${user} /api/v1/history`,
      );
      assertJobs(
        ALL.filter((job) => page.text.includes(job)),
        expected,
        `${user} UI /`,
      );
      for (const g of GROUPS) {
        const card = await client.send(
          user,
          "GET",
          `/group?id=${encodeURIComponent(g.id)}`,
        );
        assert.equal(
          card.status,
          expected.includes(g.job) ? 200 : 404,
          `${user} /group ${g.id}`,
        );
      }
    });
  }
}

/** user, method, path, status; a 403 names the scope the user has. */
const PUSHES: readonly [User, string, string, number, string?][] = [
  ["ci", "PUT", "/metrics/job/ci-new", 200],
  ["ci", "POST", "/metrics/job/ci-new/instance/a", 200],
  [
    "ci",
    "PUT",
    "/metrics/job/payroll/team/payments",
    403,
    'push:{job=~"ci-.*"}',
  ],
  ["ci", "POST", "/metrics/job/misc-x", 403, 'push:{job=~"ci-.*"}'],
  ["ci", "DELETE", "/metrics/job/staging", 403, 'push:{job=~"ci-.*"}'],
  ["ci", "DELETE", "/metrics/job/ci-new", 202],
  ["ci", "DELETE", "/metrics/job/ci-new/instance/a", 202],
  ["pay", "PUT", "/metrics/job/pay-new/team/payments", 200],
  ["pay", "PUT", "/metrics/job/pay-new", 403, 'push:{team="payments"}'],
  ["pay", "DELETE", "/metrics/job/misc-x", 403, 'push:{team="payments"}'],
  ["pay", "DELETE", "/metrics/job/pay-new/team/payments", 202],
  ["ops", "PUT", "/metrics/job/staging", 403, '"push" scope'],
  ["prom", "DELETE", "/metrics/job/staging", 403, '"push" scope'],
  ["root", "PUT", "/metrics/job/root-new", 200],
  ["root", "DELETE", "/metrics/job/root-new", 202],
];

async function checkPushes(
  t: Deno.TestContext,
  client: TenantClient,
): Promise<void> {
  for (const [user, method, path, status, names] of PUSHES) {
    await t.step(`${user}: ${method} ${path} → ${status}`, async () => {
      const body = method === "DELETE" ? undefined : "pushed_by_tenant 1\n";
      // fetch, then curl: both see the same answer.
      const res = await client.send(user, method, path, {
        ...(body === undefined ? {} : { body }),
      });
      assert.equal(res.status, status, res.text);
      if (names !== undefined) assert.ok(res.text.includes(names), res.text);
      const viaCurl = await client.curl(user, method, path, body);
      assert.equal(viaCurl.status, status, viaCurl.body);
    });
  }
  // Nothing outside a scope changed: the groups are as seeded.
  const api = await client.send("root", "GET", "/api/v1/metrics");
  assertJobs(jobsInApi(api.text), ALL, "groups after the pushes");
}

async function checkAdmin(
  t: Deno.TestContext,
  client: TenantClient,
): Promise<void> {
  await t.step(
    "ops: bulk delete and wipe act on job=staging only",
    async () => {
      const match = encodeURIComponent('{job=~".+"}');
      const dry = await client.send(
        "ops",
        "POST",
        `/api/v1/admin/delete?match[]=${match}&dry_run=true`,
      );
      assert.equal(dry.status, 200, dry.text);
      const listed = JSON.parse(dry.text) as {
        data: { deleted: { labels: Record<string, string> }[] };
      };
      assertJobs(
        listed.data.deleted.map((g) => g.labels.job as string),
        ["staging"],
        "dry run",
      );
      for (const user of ["ci", "pay", "prom"] as const) {
        const refused = await client.send(
          user,
          "POST",
          `/api/v1/admin/delete?match[]=${match}`,
        );
        assert.equal(refused.status, 403, `${user}: ${refused.text}`);
        const wipe = await client.send(user, "PUT", "/api/v1/admin/wipe");
        assert.equal(wipe.status, 403, `${user}: ${wipe.text}`);
      }
      const wipe = await client.send("ops", "PUT", "/api/v1/admin/wipe");
      assert.equal(wipe.status, 202, wipe.text);
      const api = await client.send("root", "GET", "/api/v1/metrics");
      assertJobs(
        jobsInApi(api.text),
        ALL.filter((job) => job !== "staging"),
        "groups after ops' wipe",
      );
      // A second bulk delete by ops finds nothing left in its scope.
      const again = await client.send(
        "ops",
        "POST",
        `/api/v1/admin/delete?match[]=${match}`,
      );
      assert.equal(again.status, 200, again.text);
      assert.match(again.text, /"deleted":\[\]/);
      const all = await client.send("root", "PUT", "/api/v1/admin/wipe");
      assert.equal(all.status, 202);
      const none = await client.send("root", "GET", "/api/v1/metrics");
      assertJobs(jobsInApi(none.text), [], "groups after root's wipe");
    },
  );
}

async function runTable(
  t: Deno.TestContext,
  client: TenantClient,
): Promise<void> {
  await seed(client);
  await checkScrapes(t, client);
  await checkReads(t, client);
  await checkPushes(t, client);
  await checkAdmin(t, client);
}

Deno.test("tenants: users × endpoints × groups over plain HTTP", async (t) => {
  await using gw = await startWithWebConfig(CONFIG, ["--web.enable-admin-api"]);
  const client = new TenantClient(gw.url);
  try {
    await runTable(t, client);
  } finally {
    client.close();
  }
});

Deno.test("tenants: users × endpoints × groups over TLS", async (t) => {
  await using dir = await tempDir();
  const pki = await makePki(dir.path);
  const tls = `tls_server_config:
  cert_file: ${pki.serverCert}
  key_file: ${pki.serverKey}
`;
  await using gw = await startWithWebConfig(
    tls + CONFIG,
    ["--web.enable-admin-api"],
    { dir: dir.path },
  );
  assert.match(gw.url, /^https:/);
  const client = new TenantClient(gw.url, { pki });
  try {
    await runTable(t, client);
  } finally {
    client.close();
  }
});
