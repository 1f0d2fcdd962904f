import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { encodeDelimited } from "../../src/exposition/protobuf_encode.ts";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { errorAsData, send, startTestGateway } from "../test_utils.ts";
import { PushWorker } from "../../src/push/push_worker.ts";
import { preparePush } from "../../src/push/prepare_push.ts";
import { loadProtobufDecoder } from "../../src/push/decode.ts";
import type { PushLimits } from "../../src/push/limits.ts";
import { makeGroupingKey } from "../../src/push/grouping_key.ts";

// preparePush() is called inline below, as the handler does after loading it.
await loadProtobufDecoder();

/** A body like a batch job's: histograms, counters, gauges; `n` series. */
function body(n: number, value: number, extra = ""): string {
  const lines = [
    "# HELP job_duration_seconds How long each step took.",
    "# TYPE job_duration_seconds histogram",
  ];
  for (let i = 0; i < n / 4; i++) {
    lines.push(
      `job_duration_seconds_bucket{step="s${i}",le="0.5"} ${value}`,
      `job_duration_seconds_bucket{step="s${i}",le="+Inf"} ${value + 1}`,
      `job_duration_seconds_sum{step="s${i}"} ${value * 1.5}`,
      `job_duration_seconds_count{step="s${i}"} ${value + 1}`,
    );
  }
  lines.push("# TYPE job_rows_total counter");
  for (let i = 0; i < n / 2; i++) {
    lines.push(`job_rows_total{table="t${i}",kind="é\\"x"} ${value + i}`);
  }
  lines.push("# TYPE job_ok gauge");
  for (let i = 0; i < n / 4; i++) lines.push(`job_ok{part="p${i}"} 1`);
  return lines.join("\n") + "\n" + extra;
}

const protobufBody: MetricFamily[] = [{
  name: "proto_rows",
  help: "rows",
  type: "counter",
  metrics: Array.from({ length: 2000 }, (_, i) => ({
    labels: [{ name: "shard", value: `s${i}` }],
    value: i,
  })),
}];

interface Step {
  readonly name: string;
  readonly method: "PUT" | "POST" | "DELETE";
  readonly path: string;
  readonly body?: string | Uint8Array<ArrayBuffer>;
  readonly headers?: Record<string, string>;
}

const PROTO =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

const steps: Step[] = [
  { name: "a large push", method: "PUT", path: "job/a", body: body(1000, 1) },
  {
    name: "the same series again",
    method: "PUT",
    path: "job/a",
    body: body(1000, 2),
  },
  {
    name: "a POST of part of it",
    method: "POST",
    path: "job/a",
    body: body(400, 3),
  },
  {
    name: "another group with a series group a holds",
    method: "PUT",
    path: "job/b",
    body: body(1000, 4).replaceAll('kind="é\\"x"', 'kind="k"') +
      '# TYPE job_ok gauge\njob_ok{part="p0",job="a",instance=""} 1\n',
  },
  {
    name: "a type conflict with group a",
    method: "PUT",
    path: "job/c",
    body: body(1000, 5).replace(
      "# TYPE job_rows_total counter",
      "# TYPE job_rows_total gauge",
    ),
  },
  {
    name: "a parse error far into the body",
    method: "PUT",
    path: "job/d",
    body: body(1000, 6, "job_broken{x=1} 2\n"),
  },
  {
    name: "a timestamped sample",
    method: "PUT",
    path: "job/e",
    body: body(1000, 7, "job_late 1 1700000000000\n"),
  },
  {
    name: "too many series in one push",
    method: "PUT",
    path: "job/f",
    body: body(4000, 8),
  },
  {
    name: "a protobuf body",
    method: "PUT",
    path: "job/g",
    body: encodeDelimited(protobufBody) as Uint8Array<ArrayBuffer>,
    headers: { "Content-Type": PROTO },
  },
  {
    name: "a gzipped body",
    method: "PUT",
    path: "job/h/instance/i",
    body: new Uint8Array(gzipSync(new TextEncoder().encode(body(1000, 9)))),
    headers: { "Content-Encoding": "gzip" },
  },
  { name: "a delete", method: "DELETE", path: "job/a" },
  {
    name: "group b again, now that a is gone",
    method: "PUT",
    path: "job/b",
    body: body(1000, 10).replaceAll('kind="é\\"x"', 'kind="k"'),
  },
];

Deno.test("Pushes prepared on the push worker are answered and stored exactly as inline ones", async (t) => {
  const clock = { ms: 1_800_000_000_000 };
  const options = { now: () => clock.ms };
  const flags = ["--push.max-series-per-push=3000"];
  await using inline = await startTestGateway(flags, {
    ...options,
    pushWorkerMinBytes: Infinity,
  });
  await using worker = await startTestGateway(flags, {
    ...options,
    pushWorkerMinBytes: 0,
  });
  for (const step of steps) {
    await t.step(step.name, async () => {
      clock.ms += 1000;
      const init = {
        method: step.method,
        ...(step.body === undefined ? {} : { body: step.body }),
        headers: step.headers ?? {},
      };
      const [a, b] = [
        await send(`${inline.url}/metrics/${step.path}`, init),
        await send(`${worker.url}/metrics/${step.path}`, init),
      ];
      assert.equal(b.status, a.status);
      assert.equal(b.text, a.text);
    });
  }
  const scrape = async (url: string) =>
    (await send(`${url}/metrics`)).text.replace(
      /^(pushgateway_|pushvault_|process_|deno_|http_).*\n/gm,
      "",
    ).replace(
      /^# (HELP|TYPE) (pushgateway_|pushvault_|process_|deno_|http_).*\n/gm,
      "",
    );
  const onWorker = async (url: string) =>
    Number(
      /^pushvault_pushes_prepared_on_worker_total (\d+)$/m.exec(
        (await send(`${url}/metrics`)).text,
      )?.[1],
    );
  // Every push with a body was decoded on the worker there, the refused
  // ones too (none was decoded again here), and none here.
  assert.equal(await onWorker(inline.url), 0);
  assert.equal(await onWorker(worker.url), 11);
  const expected = await scrape(inline.url);
  assert.match(
    expected,
    /job_rows_total\{instance="",job="b",kind="k",table="t0"\} 10/,
  );
  assert.equal(await scrape(worker.url), expected);
  const api = async (url: string) => (await send(`${url}/api/v1/metrics`)).text;
  assert.equal(await api(worker.url), await api(inline.url));
});

/** What preparing `push` throws, or its problems, as plain data. */
async function outcomeOf(prepare: () => Promise<unknown> | unknown) {
  try {
    const ready = await prepare() as { problems: readonly string[] };
    return { problems: ready.problems };
  } catch (error) {
    return errorAsData(error);
  }
}

Deno.test("PushWorker.prepare() answers a refused push itself, as preparePush() would inline", async (t) => {
  const key = makeGroupingKey(new Map([["job", "j"]]));
  const limits: PushLimits = {
    maxSeriesPerPush: 2,
    maxLabelNameLength: 8,
    maxLabelValueLength: 8,
    maxSeries: 0,
    readTimeoutMs: 0,
  };
  const cases = [
    { name: "a syntax error", body: "m 1\nm{a=1} 2\n" },
    { name: "too many series", body: "a 1\nb 1\nc 1\n" },
    { name: "a label value too long", body: 'm{a="123456789"} 1\n' },
    { name: "a timestamp", body: "m 1 1700000000000\n" },
    { name: "a reserved label name", body: 'm{__x="1"} 1\n' },
    { name: "a bad protobuf body", body: "\x05abc", protobuf: true },
  ];
  const worker = new PushWorker();
  try {
    assert.ok(await worker.whenReady());
    for (const c of cases) {
      await t.step(c.name, async () => {
        const push = () => ({
          body: new TextEncoder().encode(c.body),
          contentType: c.protobuf ? PROTO : null,
          key,
          utf8Names: false,
          limits,
        });
        const inline = await outcomeOf(() => preparePush(push(), false));
        const onWorker = await outcomeOf(() => worker.prepare(push()));
        assert.deepEqual(onWorker, inline);
      });
    }
  } finally {
    worker.close();
  }
});

Deno.test("PushWorker.prepare() puts a push sent in many chunks back together exactly", async () => {
  const key = makeGroupingKey(new Map([["job", "j"]]));
  const limits: PushLimits = {
    maxSeriesPerPush: 100_000,
    maxLabelNameLength: 1024,
    maxLabelValueLength: 65536,
    maxSeries: 0,
    readTimeoutMs: 0,
  };
  // 40k series: their keys, texts and sample rows each cross in pieces.
  const push = () => ({
    body: new TextEncoder().encode(body(40_000, 3)),
    contentType: null,
    key,
    utf8Names: false,
    limits,
  });
  const worker = new PushWorker();
  try {
    const onWorker = await worker.prepare(push());
    const inline = preparePush(push(), true);
    assert.ok(onWorker?.prepared !== undefined);
    assert.equal(onWorker.seriesCount, inline.seriesCount);
    // `rendered` crosses as its UTF-8 bytes (the store writes those as TEXT)
    // or, for a large family, as the same deflated `pz1` bytes: compare both
    // sides as bytes.
    const asBytes = (families: readonly { rendered: string | Uint8Array }[]) =>
      families.map((f) => ({
        ...f,
        rendered: typeof f.rendered === "string"
          ? new TextEncoder().encode(f.rendered)
          : f.rendered,
      }));
    assert.deepEqual(
      asBytes(onWorker.prepared),
      asBytes(inline.prepared ?? []),
    );
  } finally {
    worker.close();
  }
});

Deno.test("PushWorker.prepare() waits for a worker that is still starting instead of answering inline", async () => {
  const worker = new PushWorker();
  try {
    // The first large push after start used to be decoded on the HTTP
    // thread (undefined here) while the worker started.
    const ready = await worker.prepare({
      body: new TextEncoder().encode(body(100, 1)),
      contentType: null,
      key: makeGroupingKey(new Map([["job", "j"]])),
      utf8Names: false,
      limits: {
        maxSeriesPerPush: 1000,
        maxLabelNameLength: 1024,
        maxLabelValueLength: 65536,
        maxSeries: 0,
        readTimeoutMs: 0,
      },
    });
    assert.ok(ready?.prepared !== undefined);
    assert.equal(ready.seriesCount, 100);
  } finally {
    worker.close();
  }
});

Deno.test("PushWorker.prepare() prepares large pushes one after another and at once, its worker started again after each", async () => {
  const key = makeGroupingKey(new Map([["job", "j"]]));
  const limits: PushLimits = {
    maxSeriesPerPush: 1_000_000,
    maxLabelNameLength: 1024,
    maxLabelValueLength: 65536,
    maxSeries: 0,
    readTimeoutMs: 0,
  };
  // Over 4 MiB: the worker is ended after answering and started again for
  // the next push.
  const text = body(120_000, 2);
  assert.ok(text.length > 4 * 1024 * 1024);
  const push = () => ({
    body: new TextEncoder().encode(text),
    contentType: null,
    key,
    utf8Names: false,
    limits,
  });
  const worker = new PushWorker();
  try {
    const first = await worker.prepare(push());
    const second = await worker.prepare(push());
    const together = await Promise.all([
      worker.prepare(push()),
      worker.prepare(push()),
    ]);
    for (const ready of [first, second, ...together]) {
      assert.equal(ready?.seriesCount, 120_000);
      assert.deepEqual(ready?.prepared, first?.prepared);
    }
  } finally {
    worker.close();
  }
});
