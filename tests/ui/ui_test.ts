import assert from "node:assert/strict";
import { parseFlags } from "../../src/cli/flags.ts";
import { PAGE_GROUPS } from "../../src/ui/group_cards.ts";
import { send, startTestGateway } from "../test_utils.ts";

const HOSTILE = "<script>alert(1)</script>";

function b64url(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The flag values main.ts would pass, for the Status tab. */
function flagValues(flags: readonly string[]): Record<string, string> {
  const parsed = parseFlags(["--web.listen-address=127.0.0.1:0", ...flags]);
  if (parsed.type !== "run") throw new Error("flags did not parse to a run");
  return { ...parsed.flagValues };
}

async function push(
  base: string,
  path: string,
  body: string,
  method = "PUT",
): Promise<number> {
  const res = await fetch(`${base}${path}`, { method, body });
  await res.body?.cancel();
  return res.status;
}

/** The page with whitespace runs collapsed and none between tags (deno fmt reflows templates). */
async function page(url: string, init: RequestInit = {}) {
  const res = await send(url, init);
  return { ...res, text: squash(res.text) };
}

function squash(text: string): string {
  return text.replace(/\s+/g, " ").replace(/> </g, "><").replace(/ >/g, ">");
}

/** The `<article class="group …">` elements, in page order. */
function groupCards(page: string): string[] {
  return page.split(/(?=<article class="group)/).slice(1);
}

/**
 * The page of the group whose card on `page` has this `data-search` text
 * (HTML-escaped), reached by the card's own link, as a person without
 * JavaScript would.
 */
async function openGroup(
  base: string,
  page: string,
  search: string,
): Promise<string> {
  const card = groupCards(page).find((c) =>
    c.includes(`data-search="${search}"`)
  );
  assert.ok(card, `a card with data-search="${search}"`);
  const href = /<a href="(group\?id=[^"]+)">/.exec(card)?.[1];
  assert.ok(href, "the card links its group's page");
  const res = await send(new URL(unescapeHtml(href), `${base}/`).href);
  assert.equal(res.status, 200);
  return squash(res.text);
}

function unescapeHtml(text: string): string {
  return text.replace(/&#39;/g, "'").replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

const BATCH = `# HELP job_duration_seconds Duration of the batch job.
# TYPE job_duration_seconds gauge
job_duration_seconds 12.5
# TYPE records_total counter
records_total{kind="ok"} 42
records_total{kind="big"} 1e21
records_total{kind="tiny"} 1.5e-7
# HELP rpc_latency_seconds RPC latency.
# TYPE rpc_latency_seconds summary
rpc_latency_seconds{quantile="0.5"} 0.012
rpc_latency_seconds{quantile="0.99"} 0.25
rpc_latency_seconds_sum 17.5
rpc_latency_seconds_count 1200
# TYPE request_size_bytes histogram
request_size_bytes_bucket{le="100"} 3
request_size_bytes_bucket{le="1000"} 8
request_size_bytes_bucket{le="+Inf"} 9
request_size_bytes_sum 4200
request_size_bytes_count 9
`;

Deno.test("GET / renders one card per group, ordered by grouping key, job badge first", async () => {
  await using pv = await startTestGateway();
  await push(pv.url, "/metrics/job/zeta", "a 1\n");
  await push(pv.url, "/metrics/job/batch/instance/host1/env/prod", "a 1\n");
  await push(pv.url, "/metrics/job/batch", "a 1\n");
  const res = await page(`${pv.url}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  const cards = groupCards(res.text);
  // Key strings: env\xffprod\xffinstance…, job\xffbatch, job\xffzeta.
  assert.equal(cards.length, 3);
  assert.match(
    cards[0] as string,
    /data-search="env=&quot;prod&quot; instance/,
  );
  assert.match(cards[1] as string, /data-search="job=&quot;batch&quot;"/);
  assert.match(cards[2] as string, /data-search="job=&quot;zeta&quot;"/);
  const badges = [
    ...(cards[0] as string).matchAll(/class="badge badge-(\w+)"/g),
  ].map((m) => m[1]).slice(0, 3);
  assert.deepEqual(badges, ["job", "label", "instance"]); // job, then env, instance
  assert.match(res.text, /3 groups/);
});

Deno.test("GET / escapes a hostile grouping label value and series label value", async () => {
  await using pv = await startTestGateway();
  assert.equal(
    await push(
      pv.url,
      `/metrics/job/xss/label@base64/${b64url(HOSTILE)}`,
      `# HELP x ${HOSTILE}\nx{other="${HOSTILE.replace(/"/g, '\\"')}"} 1\n`,
    ),
    200,
  );
  const { text: list } = await page(`${pv.url}/`);
  const text = list +
    await openGroup(
      pv.url,
      list,
      "job=&quot;xss&quot; label=&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;",
    );
  assert.ok(!text.includes(HOSTILE), "the raw markup must not appear");
  assert.ok(!text.includes("<script>alert"), "no injected script element");
  const escaped = "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"; // as a RegExp
  assert.match(
    text,
    new RegExp(`label</span>="<span class="badge-value">${escaped}`),
  );
  assert.match(
    text,
    new RegExp(`other</span>="<span class="badge-value">${escaped}`),
  );
  assert.match(text, new RegExp(`<span class="help" title="${escaped}">`));
  // The confirmation text is an attribute too, quotes escaped.
  assert.match(
    text,
    new RegExp(
      `data-group="\\{job=&quot;xss&quot;, label=&quot;${escaped}&quot;\\}"`,
    ),
  );
});

Deno.test("GET / shows the failure badge and recent pushes with the refusal's error text", async () => {
  await using pv = await startTestGateway();
  assert.equal(
    await push(pv.url, "/metrics/job/ok", "# TYPE m counter\nm 1\n"),
    200,
  );
  assert.equal(await push(pv.url, "/metrics/job/bad", "a 1\n"), 200);
  // Same name as in group "ok", other type: refused by the consistency check.
  assert.equal(
    await push(pv.url, "/metrics/job/bad", "# TYPE m gauge\nm 2\n", "POST"),
    400,
  );
  // Malformed body: refused before the rules, recorded in the history too.
  assert.equal(await push(pv.url, "/metrics/job/bad", "m{ 1\n", "POST"), 400);
  const { text } = await page(`${pv.url}/`);
  const [badHead, okHead] = groupCards(text) as [string, string];
  assert.match(badHead, /data-search="job=&quot;bad&quot;"/);
  assert.match(badHead, /<article class="group group-failed"/);
  assert.match(
    badHead,
    /<span class="badge badge-failed" role="alert">Last push failed!<\/span>/,
  );
  assert.doesNotMatch(okHead, /Last push failed!/);
  // The refusals are in the group's body, on its own page.
  const bad = await openGroup(pv.url, text, "job=&quot;bad&quot;");
  const ok = await openGroup(pv.url, text, "job=&quot;ok&quot;");
  assert.match(bad, /The last push to this group was refused/);
  const rows = [...bad.matchAll(/<tr class="push push-(\w+)">/g)].map((m) =>
    m[1]
  );
  assert.deepEqual(rows, ["refused", "refused", "accepted"]); // newest first
  assert.match(bad, /<span class="status status-refused">400 refused<\/span>/);
  assert.match(
    bad,
    /<pre class="error-text">text format parsing error in line 1: invalid label name for metric &quot;m&quot;<\/pre>/,
  );
  assert.match(
    bad,
    /<pre class="error-text">pushed metrics are invalid or inconsistent with existing metrics: collected metric &quot;m&quot; \{instance=&quot;&quot;,job=&quot;bad&quot;\} is not a COUNTER \(it is a COUNTER in group \{job=&quot;ok&quot;\}\)<\/pre>/,
  );
  assert.doesNotMatch(ok, /Last push failed!/);
  assert.match(ok, /<span class="status status-accepted">200 accepted<\/span>/);
});

Deno.test("GET /group shows its push log in milliseconds, with wipes, a count and a link to the rest", async () => {
  await using pv = await startTestGateway(["--web.enable-admin-api"]);
  for (let i = 0; i < 12; i++) {
    assert.equal(await push(pv.url, "/metrics/job/a", `m ${i}\n`, "POST"), 200);
  }
  const wiped = await fetch(`${pv.url}/api/v1/admin/wipe`, { method: "PUT" });
  assert.equal(wiped.status, 202);
  await wiped.body?.cancel();
  assert.equal(await push(pv.url, "/metrics/job/a", "m 1\n"), 200);
  // Same job, one more label: another group, not in the log of {job="a"}.
  assert.equal(await push(pv.url, "/metrics/job/a/x/y", "m 1\n"), 200);
  const { text } = await page(`${pv.url}/`);
  const body = await openGroup(pv.url, text, "job=&quot;a&quot;");
  const methods = [...body.matchAll(/<span class="method">(\w+)<\/span>/g)]
    .map((m) => m[1]);
  assert.deepEqual(methods, ["PUT", "WIPE", ...Array(8).fill("POST")]);
  assert.match(body, /<span class="push-shown">10 of 14<\/span>/);
  const times = [...body.matchAll(/<time datetime="([^"]+)">\1<\/time>/g)]
    .map((m) => m[1]);
  assert.equal(times.length, 10);
  for (const t of times) assert.match(t ?? "", /T\d\d:\d\d:\d\d\.\d{3}Z$/);
  const href = /<a href="(api\/v1\/history\?[^"]+)">/.exec(body)?.[1];
  assert.ok(href, "the log links the history API");
  const log = await (await fetch(new URL(unescapeHtml(href), `${pv.url}/`)))
    .json() as { data: { method: string; labels: Record<string, string> }[] };
  assert.equal(log.data.length, 14);
  assert.ok(log.data.every((r) => JSON.stringify(r.labels) === '{"job":"a"}'));
  assert.deepEqual(
    log.data.map((r) => r.method).slice(0, 3),
    ["PUT", "WIPE", "POST"],
  );
});

Deno.test("GET / renders values as plain decimals, summaries and histograms as tables", async () => {
  await using pv = await startTestGateway();
  assert.equal(
    await push(pv.url, "/metrics/job/batch/instance/host1", BATCH),
    200,
  );
  const text = await openGroup(
    pv.url,
    (await page(`${pv.url}/`)).text,
    "instance=&quot;host1&quot; job=&quot;batch&quot;",
  );
  assert.match(text, /<td class="value">1000000000000000000000<\/td>/);
  assert.match(text, /<td class="value">0.00000015<\/td>/);
  assert.match(text, /<td class="value">12.5<\/td>/);
  assert.match(
    text,
    /<th scope="row">Quantile 0.99<\/th><td class="value">0.25<\/td>/,
  );
  assert.match(
    text,
    /<th scope="row">Sample count<\/th><td class="value">1200<\/td>/,
  );
  assert.match(
    text,
    /<th scope="row">Sample values ≤ 1000<\/th><td class="value">8<\/td>/,
  );
  assert.match(
    text,
    /<th scope="row">Sample values ≤ \+Inf<\/th><td class="value">9<\/td>/,
  );
  assert.match(
    text,
    /<th scope="row">Total sample count<\/th><td class="value">9<\/td>/,
  );
  // Families sorted by name, metadata families included, with HELP and TYPE.
  const names = [...text.matchAll(/<code class="family-name">([^<]+)</g)].map((
    m,
  ) => m[1]);
  assert.deepEqual(names, [
    "job_duration_seconds",
    "push_failure_time_seconds",
    "push_time_seconds",
    "records_total",
    "request_size_bytes",
    "rpc_latency_seconds",
  ]);
  assert.match(text, /<span class="type type-summary">SUMMARY<\/span>/);
  assert.match(
    text,
    /title="Duration of the batch job.">Duration of the batch job.</,
  );
});

Deno.test("GET / gives Delete Group a relative @base64 path that deletes the group", async () => {
  await using pv = await startTestGateway();
  const path = "/metrics/job@base64/" + b64url("a/b") +
    "/instance@base64/=/zone/eu";
  assert.equal(await push(pv.url, path, "a 1\n"), 200);
  const { text } = await page(`${pv.url}/`);
  const match = /data-action="delete-group" data-path="([^"]+)"/.exec(text);
  assert.ok(match);
  const deletePath = match[1] as string;
  assert.equal(
    deletePath,
    `metrics/job@base64/${b64url("a/b")}/instance@base64/=/zone@base64/${
      b64url("eu")
    }=`,
  );
  const res = await fetch(new URL(deletePath, `${pv.url}/`), {
    method: "DELETE",
  });
  assert.equal(res.status, 202);
  await res.body?.cancel();
  const api = await (await fetch(`${pv.url}/api/v1/metrics`)).json();
  assert.deepEqual(api.data, []);
});

Deno.test("GET / escapes UTF-8 label names as U__ in Delete Group paths", async () => {
  await using pv = await startTestGateway(["--push.enable-utf8-names"]);
  assert.equal(
    await push(pv.url, "/metrics/job/u/U__foo_2e_bar/v", "a 1\n"),
    200,
  );
  const { text } = await page(`${pv.url}/`);
  assert.match(text, /<span class="badge-name">&quot;foo.bar&quot;<\/span>/);
  const match = /data-path="([^"]+)"/.exec(text);
  assert.equal(match?.[1], "metrics/job@base64/dQ/U__foo_2e_bar@base64/dg=");
  const res = await fetch(new URL(match?.[1] ?? "", `${pv.url}/`), {
    method: "DELETE",
  });
  assert.equal(res.status, 202);
  await res.body?.cancel();
  assert.deepEqual(
    (await (await fetch(`${pv.url}/api/v1/metrics`)).json()).data,
    [],
  );
});

Deno.test("GET / filters groups server-side with ?q=: only matching cards are sent", async () => {
  await using pv = await startTestGateway();
  await push(pv.url, "/metrics/job/backup/instance/db1", "a 1\n");
  await push(pv.url, "/metrics/job/report", "a 1\n");
  const { text } = await page(`${pv.url}/?q=BACKUP+db1`);
  const cards = groupCards(text);
  assert.equal(cards.length, 1);
  assert.match(cards[0] as string, /data-search="instance=&quot;db1&quot;/);
  assert.match(text, /1 of 2 groups/);
  assert.match(text, /id="search" name="q" value="BACKUP db1"/);
  const none = await page(`${pv.url}/?q=nothing-matches`);
  assert.match(none.text, /<p class="empty" id="no-match">/);
});

Deno.test("GET / with an empty store names --web.external-url in the push example", async () => {
  const flags = ["--web.external-url=https://pg.example.com/gw/"];
  await using pv = await startTestGateway(flags, {
    flagValues: flagValues(flags),
  });
  const { text } = await page(`${pv.url}/gw/`);
  assert.match(
    text,
    /curl --data-binary @- https:\/\/pg.example.com\/gw\/metrics\/job\/some_job/,
  );
});

Deno.test("GET / with an empty store explains how to push", async () => {
  await using pv = await startTestGateway();
  const { text } = await page(`${pv.url}/`);
  assert.match(text, /No metric groups yet/);
  assert.match(
    text,
    new RegExp(`curl --data-binary @- ${pv.url}/metrics/job/some_job`),
  );
  assert.equal(groupCards(text).length, 0);
});

Deno.test("GET / shows Delete All N Groups only with --web.enable-admin-api", async (t) => {
  await t.step("without the flag there is no button", async () => {
    await using pv = await startTestGateway();
    await push(pv.url, "/metrics/job/a", "a 1\n");
    const { text } = await page(`${pv.url}/`);
    assert.doesNotMatch(text, /id="delete-all"/);
  });
  await t.step("with the flag and no groups it is disabled", async () => {
    await using pv = await startTestGateway(["--web.enable-admin-api"]);
    const { text } = await page(`${pv.url}/`);
    assert.match(
      text,
      /data-action="delete-all" disabled>Delete all <span class="counter">0<\/span> groups/,
    );
  });
  await t.step("with the flag it counts the groups", async () => {
    await using pv = await startTestGateway(["--web.enable-admin-api"]);
    await push(pv.url, "/metrics/job/a", "a 1\n");
    await push(pv.url, "/metrics/job/b", "a 1\n");
    const { text } = await page(`${pv.url}/`);
    assert.match(
      text,
      /data-action="delete-all">Delete all <span class="counter">2<\/span> groups/,
    );
  });
});

Deno.test("GET /status shows start time, build information and startup flags", async () => {
  const flags = ["--web.enable-admin-api", "--log.level=debug"];
  await using pv = await startTestGateway(flags, {
    flagValues: flagValues(flags),
    now: () => Date.UTC(2030, 0, 2, 3, 4, 5),
  });
  const res = await page(`${pv.url}/status`);
  assert.equal(res.status, 200);
  assert.match(res.text, /aria-current="page">Status</);
  assert.match(
    res.text,
    /<th scope="row">Started<\/th><td><time datetime="2030-01-02T03:04:05Z">/,
  );
  assert.match(
    res.text,
    /<th scope="row">version<\/th><td>\d+\.\d+\.\d+<\/td>/,
  );
  assert.match(res.text, /<th scope="row">goVersion<\/th><td>deno\d/);
  assert.match(
    res.text,
    /<th scope="row">web.enable-admin-api<\/th><td>true<\/td>/,
  );
  assert.match(res.text, /<th scope="row">log.level<\/th><td>debug<\/td>/);
  assert.match(
    res.text,
    /<th scope="row">web.route-prefix<\/th><td><span class="muted">""<\/span><\/td>/,
  );
  assert.doesNotMatch(res.text, /<article class="group/);
});

Deno.test("GET / with --web.route-prefix=/pg serves the page and assets under the prefix", async () => {
  await using pv = await startTestGateway(["--web.route-prefix=/pg"]);
  assert.equal(
    await push(pv.url, "/pg/metrics/job/j/instance/i", "a 1\n"),
    200,
  );
  const ui = await page(`${pv.url}/pg/`);
  assert.equal(ui.status, 200);
  // Relative links: resolved against /pg/ or /pg/status they stay under /pg.
  for (
    const link of [
      'href="static/pushvault.css?v=',
      'src="static/pushvault.js?v=',
      'href="status"',
      'href="metrics"',
      'data-path="metrics/job@base64/ag/instance@base64/aQ="',
    ]
  ) {
    assert.ok(ui.text.includes(link), `page links ${link}`);
  }
  assert.doesNotMatch(ui.text, /(href|src|data-path)="\//);
  const css = await page(`${pv.url}/pg/static/pushvault.css`);
  assert.equal(css.status, 200);
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  assert.equal((await page(`${pv.url}/static/pushvault.css`)).status, 404);
  assert.equal((await page(`${pv.url}/`)).status, 404);
  assert.equal((await page(`${pv.url}/pg`)).headers.get("location"), "/pg/");
  const status = await page(`${pv.url}/pg/status`);
  assert.match(status.text, /Startup flags/);
  const res = await fetch(
    new URL("metrics/job@base64/ag/instance@base64/aQ=", `${pv.url}/pg/status`),
    {
      method: "DELETE",
    },
  );
  assert.equal(res.status, 202);
  await res.body?.cancel();
});

const ASSETS = [
  { file: "pushvault.css", type: "text/css; charset=utf-8", has: ".group" },
  {
    file: "pushvault.js",
    type: "application/javascript; charset=utf-8",
    has: "sessionStorage",
  },
  { file: "favicon.svg", type: "image/svg+xml", has: "<svg" },
] as const;

Deno.test("GET /static/<file> serves the embedded assets and 404s for others", async (t) => {
  await using pv = await startTestGateway();
  for (const asset of ASSETS) {
    await t.step(asset.file, async () => {
      const res = await page(`${pv.url}/static/${asset.file}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), asset.type);
      assert.ok(res.text.includes(asset.has));
      const etag = res.headers.get("etag");
      assert.ok(etag);
      const again = await page(`${pv.url}/static/${asset.file}`, {
        headers: { "If-None-Match": etag },
      });
      assert.equal(again.status, 304);
    });
  }
  await t.step("unknown file", async () => {
    const res = await page(`${pv.url}/static/bootstrap.min.css`);
    assert.equal(res.status, 404);
    assert.equal(res.text, "404 page not found ");
  });
});

Deno.test("GET /favicon.ico serves an ICO at the root, whatever the route prefix, and under it", async (t) => {
  for (
    const { flags, paths } of [
      { flags: [], paths: ["/favicon.ico"] },
      {
        flags: ["--web.route-prefix=/pg"],
        paths: ["/favicon.ico", "/pg/favicon.ico"],
      },
    ]
  ) {
    await using pv = await startTestGateway(flags);
    for (const path of paths) {
      await t.step(`${flags.join(" ") || "no prefix"}: ${path}`, async () => {
        const res = await fetch(`${pv.url}${path}`);
        const bytes = new Uint8Array(await res.arrayBuffer());
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "image/x-icon");
        // ICONDIR: reserved 0, type 1 (icon), one image, then a PNG.
        assert.deepEqual([...bytes.subarray(0, 6)], [0, 0, 1, 0, 1, 0]);
        assert.deepEqual([...bytes.subarray(23, 26)], [0x50, 0x4e, 0x47]);
      });
    }
  }
});

const METHODS = [
  { path: "/", method: "POST", status: 405 },
  { path: "/", method: "HEAD", status: 405 },
  { path: "/status", method: "DELETE", status: 405 },
  { path: "/static/pushvault.js", method: "PUT", status: 405 },
  { path: "/", method: "OPTIONS", status: 200 },
] as const;

Deno.test("UI routes answer GET only, with Allow: GET, OPTIONS as the Pushgateway does", async (t) => {
  await using pv = await startTestGateway();
  for (const c of METHODS) {
    await t.step(`${c.method} ${c.path}`, async () => {
      const res = await send(`${pv.url}${c.path}`, { method: c.method });
      assert.equal(res.status, c.status);
      assert.equal(res.headers.get("allow"), "GET, OPTIONS");
    });
  }
});

Deno.test("UI requests are counted as the status and static handlers", async () => {
  await using pv = await startTestGateway();
  await page(`${pv.url}/`);
  await page(`${pv.url}/status`);
  await page(`${pv.url}/static/pushvault.css`);
  await page(`${pv.url}/static/missing.js`);
  const scrape = await (await fetch(`${pv.url}/metrics`)).text();
  assert.match(
    scrape,
    /pushgateway_http_requests_total\{code="200",handler="status",method="get"\} 2/,
  );
  assert.match(
    scrape,
    /pushgateway_http_requests_total\{code="200",handler="static",method="get"\} 1/,
  );
  assert.match(
    scrape,
    /pushgateway_http_requests_total\{code="404",handler="static",method="get"\} 1/,
  );
});

Deno.test("GET / sends a Content-Security-Policy that allows only our own script", async () => {
  await using pv = await startTestGateway();
  const res = await page(`${pv.url}/`);
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.doesNotMatch(res.text, /<script>|<style>| style="| on\w+="/);
});

Deno.test("GET / on a store of more groups than a page sends one page of heads and a Show more link", async () => {
  await using pv = await startTestGateway(["--web.enable-admin-api"]);
  const groups = PAGE_GROUPS + 5;
  for (let i = 0; i < groups; i++) {
    // Zero-padded: the page's order is the grouping key's.
    const n = String(i).padStart(3, "0");
    assert.equal(await push(pv.url, `/metrics/job/j${n}`, `a ${i}\n`), 200);
  }
  const first = await page(`${pv.url}/`);
  const cards = groupCards(first.text);
  assert.equal(cards.length, PAGE_GROUPS);
  assert.match(cards[0] as string, /data-search="job=&quot;j000&quot;"/);
  // Heads only: no family of any group is on the page.
  assert.doesNotMatch(first.text, /class="family"/);
  assert.match(first.text, new RegExp(`>${groups} groups<`));
  assert.match(
    first.text,
    new RegExp(`Delete all <span class="counter">${groups}</span> groups`),
  );
  const more =
    /<a class="btn" data-action="more" href="([^"]+)">Show 5 more<\/a><span class="muted">5 more groups not shown<\/span>/
      .exec(first.text);
  assert.ok(more, "a Show more link");
  const next = await page(
    new URL(unescapeHtml(more[1] as string), `${pv.url}/`).href,
  );
  const rest = groupCards(next.text);
  assert.equal(rest.length, 5);
  assert.match(rest[0] as string, /data-search="job=&quot;j100&quot;"/);
  assert.match(next.text, new RegExp(`${PAGE_GROUPS} groups before these`));
  assert.doesNotMatch(next.text, /data-action="more"/);
});

Deno.test("GET / with ?part=groups sends only the list of groups, for the script's filter", async () => {
  await using pv = await startTestGateway();
  await push(pv.url, "/metrics/job/backup/instance/db1", "a 1\n");
  await push(pv.url, "/metrics/job/report", "a 1\n");
  const { status, text } = await page(`${pv.url}/?q=report&part=groups`);
  assert.equal(status, 200);
  assert.match(
    text,
    /^ ?<div class="groups" id="groups" data-matched="1" data-total="2">/,
  );
  assert.doesNotMatch(text, /<html|id="search"/);
  assert.equal(groupCards(text).length, 1);
  assert.match(text, /data-search="job=&quot;report&quot;"/);
});

Deno.test("GET /group?id=…&part=body sends an opened card's families; a card on / links it", async () => {
  await using pv = await startTestGateway();
  assert.equal(
    await push(pv.url, "/metrics/job/batch/instance/host1", BATCH),
    200,
  );
  const { text } = await page(`${pv.url}/`);
  const card = groupCards(text)[0] as string;
  assert.doesNotMatch(card, /class="family"/);
  const body = /data-body="([^"]+)"/.exec(card)?.[1];
  assert.equal(
    unescapeHtml(body ?? ""),
    `group?id=${
      encodeURIComponent('{instance="host1",job="batch"}')
    }&part=body`,
  );
  const res = await page(new URL(unescapeHtml(body ?? ""), `${pv.url}/`).href);
  assert.equal(res.status, 200);
  assert.doesNotMatch(res.text, /<html|<article/);
  const names = [...res.text.matchAll(/<code class="family-name">([^<]+)</g)]
    .map((m) => m[1]);
  assert.equal(names.length, 6);
  assert.match(res.text, /<td class="value">12.5<\/td>/);
  assert.match(res.text, /<span class="status status-accepted">200 accepted/);
});

Deno.test("GET /group for a group not in the store answers 404 with a way back", async () => {
  await using pv = await startTestGateway();
  for (const suffix of ["", "&part=body"]) {
    const res = await page(
      `${pv.url}/group?id=${encodeURIComponent('{job="gone"}')}${suffix}`,
    );
    assert.equal(res.status, 404);
    assert.match(res.text, /This group does not exist \(any more\)/);
  }
});
