import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { send, startTestGateway, stripOwn } from "../test_utils.ts";

const BAD_BODIES = [
  {
    name: "missing final newline",
    body: "x 1",
    message:
      "text format parsing error in line 1: unexpected end of input stream",
  },
  {
    name: "CRLF line ends",
    body: "x 1\r\n",
    message:
      'text format parsing error in line 1: expected float as value, got "1\\r"',
  },
  {
    name: "second TYPE line",
    body: "# TYPE a gauge\n# TYPE a gauge\na 1\n",
    message:
      'text format parsing error in line 2: second TYPE line for metric name "a", or TYPE reported after samples',
  },
  {
    name: "bad value on line 3",
    body: "a 1\nb 2\nc x\n",
    message:
      'text format parsing error in line 3: expected float as value, got "x"',
  },
  {
    name: "invalid escape",
    body: 'm{a="\\t"} 1\n',
    message:
      "text format parsing error in line 1: invalid escape sequence '\\t'",
  },
] as const;

Deno.test("PUT with a malformed body answers 400 naming the line and changes nothing", async (t) => {
  await using pv = await startTestGateway();
  const ok = await send(`${pv.url}/metrics/job/j`, {
    method: "PUT",
    body: "keep 1\n",
  });
  assert.equal(ok.status, 200);
  const before = stripOwn(await (await fetch(`${pv.url}/metrics`)).text());
  for (const c of BAD_BODIES) {
    await t.step(c.name, async () => {
      for (const method of ["PUT", "POST"]) {
        const res = await send(`${pv.url}/metrics/job/j`, {
          method,
          body: c.body,
        });
        assert.equal(res.status, 400);
        assert.equal(res.text, `${c.message}\n`);
        assert.equal(
          res.headers.get("content-type"),
          "text/plain; charset=utf-8",
        );
      }
      const after = stripOwn(await (await fetch(`${pv.url}/metrics`)).text());
      assert.equal(after, before);
    });
  }
  const db = new DatabaseSync(pv.dbPath, { readOnly: true });
  try {
    const refused = db.prepare(
      "SELECT count(*) AS n FROM pushes WHERE status = 400",
    ).get();
    assert.equal(refused?.n, BAD_BODIES.length * 2);
    const group = db.prepare(
      "SELECT push_failure_time FROM groups WHERE key = '{job=\"j\"}'",
    ).get();
    // Parse errors never set it (docs/compatibility.md, Error responses).
    assert.equal(group?.push_failure_time, 0);
  } finally {
    db.close();
  }
});

Deno.test("A sequence of POST, PUT and DELETE on one group gives the Pushgateway's results (Methods and status codes)", async () => {
  await using pv = await startTestGateway();
  const url = `${pv.url}/metrics/job/seq`;
  const values = async () => {
    const text = stripOwn(await (await fetch(`${pv.url}/metrics`)).text());
    return text.split("\n").filter((l) => /^[abc]\{/.test(l)).map((l) =>
      l.replace(/\{.*\}/, "")
    ).join(" ");
  };
  assert.equal(
    (await send(url, { method: "POST", body: "a 1\nb 1\n" })).status,
    200,
  );
  assert.equal(await values(), "a 1 b 1");
  assert.equal(
    (await send(url, { method: "POST", body: "b 2\nc 2\n" })).status,
    200,
  );
  assert.equal(await values(), "a 1 b 2 c 2");
  assert.equal((await send(url, { method: "PUT", body: "c 3\n" })).status, 200);
  assert.equal(await values(), "c 3");
  assert.equal(
    (await send(url, { method: "POST", body: "# TYPE c gauge\nc 4\n" })).status,
    200,
  );
  assert.equal(await values(), "c 4");
  const ts = await send(url, { method: "POST", body: "c 5 123\n" });
  assert.equal(ts.status, 400);
  assert.equal(
    ts.text,
    "pushed metrics are invalid or inconsistent with existing metrics: pushed metrics must not have timestamps\n",
  );
  assert.equal(await values(), "c 4");
  const api = await (await fetch(`${pv.url}/api/v1/metrics`)).json();
  assert.equal(api.data[0].last_push_successful, false);
  assert.equal((await send(url, { method: "POST", body: "" })).status, 200);
  assert.equal(await values(), "c 4");
  assert.equal((await send(url, { method: "PUT", body: "" })).status, 200);
  assert.equal(await values(), "");
  const del = await send(url, { method: "DELETE" });
  assert.equal(del.status, 202);
  assert.equal(del.text, "");
  assert.doesNotMatch(
    await (await fetch(`${pv.url}/metrics`)).text(),
    /job="seq"/,
  );
});

Deno.test("Routing answers redirects, 404 and 405 like the Pushgateway", async () => {
  await using pv = await startTestGateway();
  const post = (path: string) =>
    send(`${pv.url}${path}`, { method: "POST", body: "x 1\n" });
  let r = await post("/metrics/job//instance/x");
  assert.equal(r.status, 301);
  assert.equal(r.headers.get("location"), "/metrics/job/instance/x");
  r = await post("/metrics/job/");
  assert.equal(r.status, 307);
  assert.equal(r.headers.get("location"), "/metrics/job");
  r = await post("/metrics/job");
  assert.equal(r.status, 404);
  assert.equal(r.text, "404 page not found\n");
  r = await send(`${pv.url}/metrics/job/x`);
  assert.equal(r.status, 405);
  assert.equal(r.headers.get("allow"), "DELETE, OPTIONS, POST, PUT");
  r = await send(`${pv.url}/metrics/job/x`, { method: "OPTIONS" });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("allow"), "DELETE, OPTIONS, POST, PUT");
  r = await post("/metrics/job/a%2Fb/x/c%2Fd");
  assert.equal(r.status, 200);
  assert.match(
    await (await fetch(`${pv.url}/metrics`)).text(),
    /^x\{b="x",c="d",instance="",job="a"\} 1$/m,
  );
  r = await send(`${pv.url}/metrics/`);
  assert.equal(r.status, 301);
  assert.equal(r.headers.get("location"), "/metrics");
});

Deno.test("A gzip body is decompressed and a broken one refused with 400", async () => {
  await using pv = await startTestGateway();
  const gz = new Uint8Array(
    await new Response(
      new Blob(["zipped 7\n"]).stream().pipeThrough(
        new CompressionStream("gzip"),
      ),
    ).arrayBuffer(),
  );
  let r = await send(`${pv.url}/metrics/job/gz`, {
    method: "PUT",
    body: gz,
    headers: { "Content-Encoding": "gzip" },
  });
  assert.equal(r.status, 200);
  assert.match(
    await (await fetch(`${pv.url}/metrics`)).text(),
    /^zipped\{instance="",job="gz"\} 7$/m,
  );
  r = await send(`${pv.url}/metrics/job/gz`, {
    method: "PUT",
    body: "not gzip at all\n",
    headers: { "Content-Encoding": "gzip" },
  });
  assert.equal(r.status, 400);
});

Deno.test("The scrape is gzip-compressed when asked and its Content-Type is text 0.0.4", async () => {
  await using pv = await startTestGateway();
  await send(`${pv.url}/metrics/job/z`, { method: "PUT", body: "zz 1\n" });
  const res = await fetch(`${pv.url}/metrics`, {
    headers: { "Accept-Encoding": "gzip" },
  });
  assert.equal(
    res.headers.get("content-type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  assert.match(await res.text(), /^zz\{instance="",job="z"\} 1$/m); // fetch decompresses
});

Deno.test("Pushes with --push.disable-consistency-check answer 202 and a timestamped push changes nothing", async () => {
  await using pv = await startTestGateway(["--push.disable-consistency-check"]);
  let r = await send(`${pv.url}/metrics/job/u`, {
    method: "PUT",
    body: "u 1\n",
  });
  assert.equal(r.status, 202);
  r = await send(`${pv.url}/metrics/job/u`, {
    method: "PUT",
    body: "u 2 123\n",
  });
  assert.equal(r.status, 202);
  const text = await (await fetch(`${pv.url}/metrics`)).text();
  assert.match(text, /^u\{instance="",job="u"\} 1$/m);
  assert.doesNotMatch(
    text,
    /^push_failure_time_seconds\{instance="",job="u"\} 0$/m,
  );
});

Deno.test("A conflicting push with the check disabled never breaks the scrape", async () => {
  await using pv = await startTestGateway(["--push.disable-consistency-check"]);
  await send(`${pv.url}/metrics/job/a`, {
    method: "PUT",
    body: '# TYPE t gauge\nt{x="1"} 1\n',
  });
  await send(`${pv.url}/metrics/job/b`, {
    method: "PUT",
    body: '# TYPE t counter\nt{x="2"} 2\n',
  });
  await send(`${pv.url}/metrics/job/a/x/1`, {
    method: "PUT",
    body: "# TYPE t gauge\nt 3\n",
  });
  const res = await fetch(`${pv.url}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /^# TYPE t gauge$/m);
  assert.match(text, /^t\{instance="",job="a",x="1"\} 1$/m);
  assert.doesNotMatch(text, /x="2"/);
  assert.match(text, /^pushvault_scrape_inconsistent_series_total [1-9]/m);
  await send(`${pv.url}/metrics/job/a`, { method: "DELETE" });
  assert.match(
    await (await fetch(`${pv.url}/metrics`)).text(),
    /^t\{instance="",job="a",x="1"\} 3$/m,
  );
});

Deno.test("An OpenMetrics body is accepted with its Content-Type and scraped in text 0.0.4", async () => {
  await using pv = await startTestGateway();
  const body = [
    "# TYPE jobs counter",
    "# HELP jobs Jobs run.",
    'jobs_total{kind="nightly"} 3 # {trace_id="abc"} 1.0',
    'jobs_created{kind="nightly"} 1700000000',
    "# TYPE build info",
    'build_info{version="1.2"} 1',
    "# EOF",
    "",
  ].join("\n");
  const r = await send(`${pv.url}/metrics/job/om`, {
    method: "PUT",
    body,
    headers: {
      "Content-Type":
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    },
  });
  assert.equal(r.status, 200, r.text);
  const text = stripOwn(await (await fetch(`${pv.url}/metrics`)).text());
  assert.match(
    text,
    /^# HELP jobs_total Jobs run\.\n# TYPE jobs_total counter\njobs_total\{instance="",job="om",kind="nightly"\} 3$/m,
  );
  assert.match(text, /^build_info\{instance="",job="om",version="1\.2"\} 1$/m);
  const bad = await send(`${pv.url}/metrics/job/om`, {
    method: "PUT",
    body: "# TYPE a gauge\na 1\n",
    headers: { "Content-Type": "application/openmetrics-text" },
  });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /^text format parsing error in line \d+: .*EOF/);
});

Deno.test("--storage.max-series counts pushes that arrive together exactly", async () => {
  // Each new group holds its one series plus push_time_seconds and
  // push_failure_time_seconds: three series. The pushes share a commit, and
  // each is checked against the store as the ones before it left it.
  await using gw = await startTestGateway(["--storage.max-series=10"]);
  const answers = await Promise.all(
    Array.from(
      { length: 6 },
      (_, i) =>
        send(`${gw.url}/metrics/job/j${i}`, { method: "PUT", body: "x 1\n" }),
    ),
  );
  const statuses = answers.map((a) => a.status).sort();
  assert.deepEqual(statuses, [200, 200, 200, 507, 507, 507]);
  for (const refused of answers.filter((a) => a.status === 507)) {
    assert.equal(
      refused.text,
      "the store is full: it holds 9 series and this push would bring it to 12, over the limit of 10 (--storage.max-series); delete groups or raise the limit\n",
    );
  }
});
