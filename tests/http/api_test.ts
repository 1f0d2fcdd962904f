import assert from "node:assert/strict";
import {
  metricsBody,
  type MetricsSource,
  metricsStream,
} from "../../src/http/api_metrics.ts";
import { goJson, type Json, rfc3339Nano } from "../../src/http/go_json.ts";
import type { Store } from "../../src/store/store.ts";
import { PIECE } from "../../src/store/text_arena.ts";
import { startTestGateway } from "../test_utils.ts";

/** Enough groups that the JSON is several of metricsStream's chunks. */
const GROUPS = 300;

async function fill(base: string): Promise<void> {
  for (let i = 0; i < GROUPS; i++) {
    let body = "# HELP wide A family of many series.\n# TYPE wide gauge\n";
    for (let s = 0; s < 20; s++) body += `wide{s="${s}"} ${i + s / 7}\n`;
    const res = await fetch(`${base}/metrics/job/j/instance/i${i}`, {
      method: "PUT",
      body,
    });
    await res.body?.cancel();
    assert.equal(res.status, 200);
  }
}

function sourceOf(store: Store): MetricsSource {
  return {
    families: (g) => [...g.families.values()],
    readRows: store.familyRowsAfter.bind(store),
  };
}

async function chunksOf(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

Deno.test("GET /api/v1/metrics streams the same bytes as the whole body, without a Content-Length", async () => {
  await using pv = await startTestGateway();
  await fill(pv.url);
  const store = pv.gw.store;
  const whole = goJson(
    metricsBody(store.view.groups(), (g) => store.groupFamilies(g.id)),
  );
  const res = await fetch(`${pv.url}/api/v1/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  // Streamed: sent as it is made, so its length is not known up front.
  assert.equal(res.headers.get("content-length"), null);
  assert.equal(await res.text(), whole);
  assert.equal(JSON.parse(whole).data.length, GROUPS);
});

Deno.test("metricsStream() yields the body in several bounded chunks", async () => {
  await using pv = await startTestGateway();
  await fill(pv.url);
  const store = pv.gw.store;
  const groups = [...store.view.groups()];
  const whole = goJson(metricsBody(groups, (g) => store.groupFamilies(g.id)));
  const chunks = await chunksOf(metricsStream(groups, sourceOf(store)));
  assert.ok(chunks.length > 1, `${chunks.length} chunk(s)`);
  // A chunk ends once it holds 64 KiB; a piece (one family) is far smaller.
  for (const chunk of chunks) assert.ok(chunk.length < 2 * 64 * 1024);
  assert.equal(
    new TextDecoder().decode(
      new Uint8Array(chunks.flatMap((c) => [...c])),
    ),
    whole,
  );
});

Deno.test("metricsStream() leaves out a group deleted while it streams", async () => {
  await using pv = await startTestGateway();
  for (const job of ["a", "b", "c"]) {
    const res = await fetch(`${pv.url}/metrics/job/${job}`, {
      method: "PUT",
      body: "x 1\n",
    });
    await res.body?.cancel();
  }
  const store = pv.gw.store;
  const groups = [...store.view.groups()];
  const text = new TextDecoder().decode(
    new Uint8Array(
      (await chunksOf(
        metricsStream(groups, {
          ...sourceOf(store),
          families: (g) =>
            g.key.job === "b" ? undefined : [...g.families.values()],
        }),
      )).flatMap((c) => [...c]),
    ),
  );
  const body = JSON.parse(text) as { data: { labels: { job: string } }[] };
  assert.deepEqual(body.data.map((g) => g.labels.job), ["a", "c"]);
  assert.equal(
    text,
    goJson(
      metricsBody(
        groups.filter((g) => g.key.job !== "b"),
        (g) => store.groupFamilies(g.id),
      ),
    ),
  );
});

Deno.test("metricsStream() sends one group of many series in 64 KiB chunks, the same bytes as the whole body", async () => {
  await using pv = await startTestGateway();
  // Several of family_pages.ts's pages; a family named like a group key
  // (the key wins, as in groupJson) and a summary beside it.
  let body = "# HELP big Many series.\n# TYPE big gauge\n";
  for (let i = 0; i < 5000; i++) body += `big{i="${4999 - i}"} ${i / 7}\n`;
  body += "# TYPE labels gauge\nlabels 1\n";
  body += '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n';
  const res = await fetch(`${pv.url}/metrics/job/one`, { method: "PUT", body });
  await res.body?.cancel();
  assert.equal(res.status, 200);
  const store = pv.gw.store;
  const groups = [...store.view.groups()];
  const whole = goJson(metricsBody(groups, (g) => store.groupFamilies(g.id)));
  const chunks = await chunksOf(metricsStream(groups, sourceOf(store)));
  // Made whole, the group was one piece of 300 KB, sent as one chunk.
  assert.ok(chunks.length > 3, `${chunks.length} chunk(s)`);
  for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.length, PIECE);
  assert.equal(
    new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
    whole,
  );
});

Deno.test("metricsStream() reads small families ahead, many groups a read, and gives the same bytes", async (t) => {
  await using pv = await startTestGateway();
  // Small families (a gauge, a summary, a histogram) in most groups, a
  // family of 100 series (read page by page) in every tenth.
  for (let i = 0; i < 120; i++) {
    let body = `# TYPE g gauge\ng{a="x"} ${i}\ng{a="y"} ${i / 3}\n`;
    body += `# TYPE s summary\ns{quantile="0.5"} 1\ns_sum ${i}\ns_count 3\n`;
    body += `# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n`;
    body += `h_sum 3\nh_count 2\n`;
    if (i % 10 === 0) {
      body += "# TYPE wide gauge\n";
      for (let s = 0; s < 100; s++) body += `wide{s="${s}"} ${s}\n`;
    }
    const res = await fetch(`${pv.url}/metrics/job/mixed/instance/i${i}`, {
      method: "PUT",
      body,
    });
    await res.body?.cancel();
    assert.equal(res.status, 200);
  }
  const store = pv.gw.store;
  const groups = [...store.view.groups()];
  const whole = goJson(metricsBody(groups, (g) => store.groupFamilies(g.id)));
  const text = async (source: MetricsSource) =>
    new TextDecoder().decode(
      new Uint8Array(
        (await chunksOf(metricsStream(groups, source))).flatMap((c) => [...c]),
      ),
    );
  await t.step("read ahead", async () => {
    let reads = 0;
    let pages = 0;
    const source: MetricsSource = {
      ...sourceOf(store),
      readRows: (...args) => {
        pages++;
        return store.familyRowsAfter(...args);
      },
      readSmall: (rows) => {
        reads++;
        return store.familiesRows(rows);
      },
    };
    assert.equal(await text(source), whole);
    assert.ok(reads < groups.length / 4, `${reads} reads ahead`);
    assert.equal(pages, 12, "the 12 wide families page by page");
  });
  await t.step(
    "a family replaced since it was read ahead is read again",
    async () => {
      // Each turn sees new family objects, as after a push: none of the rows
      // read ahead are used.
      let pages = 0;
      const source: MetricsSource = {
        families: (g) => [...g.families.values()].map((f) => ({ ...f })),
        readRows: (...args) => {
          pages++;
          return store.familyRowsAfter(...args);
        },
        readSmall: store.familiesRows.bind(store),
      };
      assert.equal(await text(source), whole);
      assert.equal(pages, 3 * groups.length + 12);
    },
  );
});

Deno.test("rfc3339Nano() writes Go's time.Time JSON, whichever second came before", () => {
  const cases: [number, string][] = [
    [0, "1970-01-01T00:00:00Z"],
    [1.5, "1970-01-01T00:00:01.5Z"],
    [1.5, "1970-01-01T00:00:01.5Z"],
    [1765000000.25, "2025-12-06T05:46:40.25Z"],
    [1765000000.5, "2025-12-06T05:46:40.5Z"],
    [1765000001, "2025-12-06T05:46:41Z"],
    [1.000000001, "1970-01-01T00:00:01.000000001Z"],
  ];
  for (const [seconds, expected] of cases) {
    assert.equal(rfc3339Nano(seconds), expected, String(seconds));
  }
});

Deno.test("goJson() writes Go's encoding/json: sorted map keys, struct order, HTML escapes", () => {
  assert.equal(
    goJson({
      b: [1, "x<y>&z", true, null],
      a: new Map<string, Json>([["z", 1], ["y", {}]]),
    }),
    '{"a":{"z":1,"y":{}},"b":[1,"x\\u003cy\\u003e\\u0026z",true,null]}',
  );
  assert.equal(goJson([]), "[]");
  assert.equal(goJson(new Map()), "{}");
  assert.equal(goJson('\u2028\u2029"\n'), '"\\u2028\\u2029\\"\\n"');
});
