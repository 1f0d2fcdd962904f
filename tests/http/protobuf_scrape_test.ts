import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { PROTOBUF_DELIMITED_CONTENT_TYPE } from "../../src/exposition/negotiate.ts";
import { decodeDelimited } from "../../src/exposition/protobuf_decode.ts";
import { encodeDelimited } from "../../src/exposition/protobuf_encode.ts";
import { handleScrape } from "../../src/http/scrape.ts";
import { SelfMetrics } from "../../src/http/self_metrics.ts";
import { wholeFamily } from "../../src/store/family_pages.ts";
import { protobufScrape } from "../../src/store/protobuf_scrape.ts";
import type { Store } from "../../src/store/store.ts";
import { PIECE } from "../../src/store/text_arena.ts";
import { GOLDEN_CASES } from "../golden/cases.ts";
import { startTestGateway } from "../test_utils.ts";

const PROTOBUF_ACCEPT =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

/** A fixed own family, so that two scrapes can be compared byte for byte. */
const OWN: ReadonlyMap<string, MetricFamily> = new Map([
  ["pushgateway_build_info", {
    name: "pushgateway_build_info",
    help: "A metric with a constant '1' value.",
    type: "gauge",
    metrics: [{ labels: [{ name: "version", value: "t" }], value: 1 }],
  }],
]);

function streamed(store: Store): Uint8Array {
  const readRows = store.familyRowsAfter.bind(store);
  const parts = [
    ...protobufScrape({
      view: store.view,
      own: OWN,
      readRows,
      readFamily: (stored) => wholeFamily(readRows, stored),
    }),
  ];
  return concat(parts);
}

function whole(store: Store): Uint8Array {
  return encodeDelimited(store.mergedFamilies(OWN));
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function push(
  url: string,
  path: string,
  body: string | Uint8Array<ArrayBuffer>,
  init: { method?: string; contentType?: string } = {},
): Promise<void> {
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? "PUT",
    body,
    ...(init.contentType
      ? { headers: { "Content-Type": init.contentType } }
      : {}),
  });
  await res.body?.cancel();
  assert.ok(res.ok, `${path}: ${res.status}`);
}

Deno.test("protobufScrape() sends the bytes of the whole merged body for every golden case", async (t) => {
  for (const c of GOLDEN_CASES) {
    await t.step(c.name, async () => {
      await using pv = await startTestGateway();
      for (const p of c.pushes) {
        await push(pv.url, p.path, p.body, {
          method: p.method,
          ...(p.contentType ? { contentType: p.contentType } : {}),
        });
      }
      assert.deepEqual(streamed(pv.gw.store), whole(pv.gw.store));
    });
  }
});

Deno.test("protobufScrape() sends big families read in pages, unsorted and across groups, as the whole body", async () => {
  await using pv = await startTestGateway();
  // A histogram spanning several pages, pushed in reverse order, so that
  // its series are read in another order than they are sent.
  let histogram = "# TYPE h histogram\n";
  for (let i = 2999; i >= 0; i--) {
    const s = `s="${String(i).padStart(5, "0")}"`;
    histogram += `h_bucket{${s},le="1"} ${i}\nh_bucket{${s},le="+Inf"} ${
      i + 1
    }\nh_sum{${s}} ${i / 3}\nh_count{${s}} ${i + 1}\n`;
  }
  await push(pv.url, "/metrics/job/h", histogram);
  // One family in several groups whose series interleave.
  for (const g of ["a", "b", "c"]) {
    let body = "# HELP g Shared.\n# TYPE g gauge\n";
    for (let i = 0; i < 1500; i++) body += `g{i="${i % 700}",k="${i}"} ${i}\n`;
    await push(pv.url, `/metrics/job/g/instance/${g}`, body);
  }
  // Replaced after the first scrape: a new family row.
  const first = streamed(pv.gw.store);
  assert.deepEqual(first, whole(pv.gw.store));
  await push(
    pv.url,
    "/metrics/job/g/instance/b",
    '# TYPE g gauge\ng{k="x"} 1\n',
    {
      method: "POST",
    },
  );
  assert.deepEqual(streamed(pv.gw.store), whole(pv.gw.store));
});

Deno.test("GET /metrics in protobuf sends a big scrape in reads of 64 KiB, plain and gzipped", async () => {
  await using pv = await startTestGateway();
  let body = "# TYPE m gauge\n";
  for (let i = 0; i < 20_000; i++) body += `m{x="${i}"} ${i}\n`;
  await push(pv.url, "/metrics/job/j", body);
  const deps = { store: pv.gw.store, metrics: new SelfMetrics(() => 0) };
  const read = async (encoding: string) => {
    const res = await handleScrape(
      new Request("http://127.0.0.1/metrics", {
        headers: { Accept: PROTOBUF_ACCEPT, "Accept-Encoding": encoding },
      }),
      deps,
    );
    assert.equal(
      res.headers.get("content-type"),
      PROTOBUF_DELIMITED_CONTENT_TYPE,
    );
    const chunks: Uint8Array[] = [];
    for await (const chunk of res.body as ReadableStream<Uint8Array>) {
      chunks.push(chunk);
    }
    return chunks;
  };
  const plain = await read("identity");
  // Built whole, the body was one chunk of over a megabyte.
  assert.ok(plain.length > 4, `${plain.length} chunk(s)`);
  for (const chunk of plain.slice(0, -1)) assert.equal(chunk.length, PIECE);
  const gzipped = await read("gzip");
  assert.ok(gzipped.length > 4, `${gzipped.length} gzip chunk(s)`);
  const unzipped = new Uint8Array(gunzipSync(concat(gzipped)));
  // The own families change between two scrapes; the stored one does not.
  const stored = (bytes: Uint8Array) =>
    decodeDelimited(bytes).find((f) => f.name === "m");
  const sent = stored(concat(plain));
  assert.equal(sent?.metrics.length, 20_000);
  assert.deepEqual(stored(unzipped), sent);
});

Deno.test("protobufScrape() sends a family replaced while its pages are read whole, in one version", async (t) => {
  const SERIES = 20_000;
  const version = (value: number, key: string) => {
    let body = "# TYPE m gauge\n";
    for (let i = 0; i < SERIES; i++) body += `m{${key}="${i}"} ${value}\n`;
    return body;
  };
  const cases = [
    {
      name: "history off, same series",
      flags: ["--history.retention=0"],
      key: "x",
    },
    {
      name: "history off, other series",
      flags: ["--history.retention=0"],
      key: "y",
    },
    { name: "history kept, other series", flags: [], key: "y" },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using pv = await startTestGateway(c.flags);
      await push(pv.url, "/metrics/job/j", version(1, "x"));
      const readRows = pv.gw.store.familyRowsAfter.bind(pv.gw.store);
      const pieces = protobufScrape({
        view: pv.gw.store.view,
        own: OWN,
        readRows,
        readFamily: (stored) => wholeFamily(readRows, stored),
      });
      // Read until `m` is some pages in (an empty piece follows each page;
      // it is the first stored family), replace it, then read the rest.
      const parts: Uint8Array[] = [];
      let pauses = 0;
      for (let i = 0; i < 1_000_000; i++) {
        const next = pieces.next();
        if (next.done) break;
        parts.push(next.value);
        if (next.value.length === 0 && ++pauses === 10) {
          await push(pv.url, "/metrics/job/j", version(2, c.key));
        }
      }
      assert.ok(pauses > 10, `${pauses} pauses`);
      const m = decodeDelimited(concat(parts)).find((f) => f.name === "m");
      const metrics = (m?.metrics ?? []) as readonly {
        value: number;
        labels: readonly { name: string }[];
      }[];
      assert.equal(metrics.length, SERIES);
      const versions = new Set(
        metrics.map((x) => `${x.labels.map((l) => l.name)}=${x.value}`),
      );
      assert.equal(versions.size, 1, [...versions].join(", "));
    });
  }
});
