import assert from "node:assert/strict";
import { decodeDelimited } from "../../src/exposition/protobuf_decode.ts";
import { compareUtf8 } from "../../src/exposition/sort.ts";
import { startTestGateway, stripOwn } from "../test_utils.ts";

const PROTOBUF_ACCEPT =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

Deno.test("GET /metrics streams a big scrape whole, plain and gzipped, astral characters included", async () => {
  await using t = await startTestGateway();
  // Values of varying length with surrogate pairs, so that chunk boundaries
  // fall inside some of them; about 600k characters in all.
  const values = Array.from(
    { length: 12_000 },
    (_, i) => `${"😀".repeat(i % 3)}${String(i).padStart(6, "0")}é`,
  );
  const body = values.map((v, i) => `m{x="${v}"} ${i}\n`).join("");
  const put = await fetch(`${t.url}/metrics/job/j`, { method: "PUT", body });
  assert.equal(put.status, 200);
  await put.body?.cancel();
  const index = new Map(values.map((v, i) => [v, i]));
  const expected = [...values].sort(compareUtf8).map((v) =>
    `m{instance="",job="j",x="${v}"} ${index.get(v)}`
  );
  const plain = await (await fetch(`${t.url}/metrics`)).text();
  assert.ok(plain.length > 4 * 64 * 1024, `only ${plain.length} characters`);
  assert.deepEqual(
    plain.split("\n").filter((l) => l.startsWith("m{")),
    expected,
  );
  const gzipped = await fetch(`${t.url}/metrics`, {
    headers: { "Accept-Encoding": "gzip" },
  });
  assert.equal(gzipped.headers.get("content-encoding"), "gzip");
  // fetch() decompresses it (and would fail on a damaged stream).
  const unzipped = await gzipped.text();
  assert.equal(stripOwn(unzipped), stripOwn(plain));
  // The cached family texts are sent as they are, never handed over.
  const again = await (await fetch(`${t.url}/metrics`)).text();
  assert.equal(stripOwn(again), stripOwn(plain));
});

Deno.test("GET /metrics read slowly while pushes change the family sends the store as it was when the scrape began", async () => {
  await using t = await startTestGateway();
  const bodyOf = (round: number) =>
    Array.from(
      { length: 20_000 },
      (_, i) => `m{x="${String(i).padStart(6, "0")}"} ${round * 100_000 + i}\n`,
    ).join("");
  const put = async (round: number) => {
    const res = await fetch(`${t.url}/metrics/job/j`, {
      method: "PUT",
      body: bodyOf(round),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  };
  const lines = (text: string) =>
    text.split("\n").filter((l) => l.startsWith("m{"));
  await put(1);
  const expected = lines(await (await fetch(`${t.url}/metrics`)).text());
  assert.equal(expected.length, 20_000);
  // Start a scrape, take its first chunk, then change every value (and
  // scrape again, which rebuilds the family's pieces) before reading on.
  const res = await fetch(`${t.url}/metrics`);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  const first = await reader.read();
  if (first.value) chunks.push(first.value);
  await put(2);
  const changed = lines(await (await fetch(`${t.url}/metrics`)).text());
  assert.equal(changed[0], `m{instance="",job="j",x="000000"} 200000`);
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    chunks.push(r.value);
  }
  const body = new TextDecoder().decode(
    new Uint8Array(chunks.flatMap((c) => [...c])),
  );
  assert.deepEqual(lines(body), expected);
});

Deno.test("GET /metrics right after a restart does start-up's work first and sends what a later scrape sends", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "pushvault-test-" });
  try {
    // Pushed out of order and across groups, so that the restored series
    // need sorting; big enough to need many slices.
    {
      await using pv = await startTestGateway([], { dir });
      for (const g of ["a", "b"]) {
        let body = "# TYPE m gauge\n";
        for (let i = 12_000; i > 0; i--) body += `m{x="${g}${i}"} ${i}\n`;
        const put = await fetch(`${pv.url}/metrics/job/${g}`, {
          method: "PUT",
          body,
        });
        assert.equal(put.status, 200);
        await put.body?.cancel();
      }
    }
    const kinds = [
      { name: "text", accept: "text/plain", encoding: "identity" },
      { name: "gzipped text", accept: "text/plain", encoding: "gzip" },
      { name: "protobuf", accept: PROTOBUF_ACCEPT, encoding: "identity" },
    ];
    for (const { name, accept, encoding } of kinds) {
      await t.step(name, async () => {
        await using pv = await startTestGateway([], { dir });
        // Over HTTP: a text body's chunks are freed once the next is read.
        const scrape = async () => {
          const res = await fetch(`${pv.url}/metrics`, {
            headers: { Accept: accept, "Accept-Encoding": encoding },
          });
          assert.equal(
            res.headers.get("content-encoding"),
            encoding === "gzip" ? "gzip" : null,
          );
          if (accept === PROTOBUF_ACCEPT) {
            const bytes = new Uint8Array(await res.arrayBuffer());
            const m = decodeDelimited(bytes).find((f) => f.name === "m");
            return JSON.stringify(m);
          }
          // fetch() inflates a gzipped body.
          return stripOwn(await res.text());
        };
        // Nothing has waited for the background work yet.
        assert.equal(pv.gw.store.view.startUpDone, false);
        const early = await scrape();
        for (let i = 0; i < 1000 && !pv.gw.store.view.startUpDone; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        assert.ok(pv.gw.store.view.startUpDone);
        assert.ok(early.includes("a12000") && early.includes("b9999"));
        assert.equal(early, await scrape());
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
