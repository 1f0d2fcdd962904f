import assert from "node:assert/strict";
import { compareUtf8 } from "../../src/exposition/sort.ts";
import { startTestGateway, stripOwn } from "../test_utils.ts";

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
