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
