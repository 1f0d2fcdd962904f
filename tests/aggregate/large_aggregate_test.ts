/**
 * Large aggregating pushes over HTTP, against a real Pushvault on a real
 * file: a body of up to 1 MiB decompressed is decoded on the push worker
 * and summed aside, exactly; a larger one is refused with 413 and the
 * message naming the limit (curl), and changes nothing.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { scrapePushed, startTestGateway } from "../test_utils.ts";
import { curl } from "../e2e/e2e_utils.ts";

/** A counter of `n` series, each `value`. */
function counters(n: number, value: string): string {
  let text = "# TYPE jobs_total counter\n";
  for (let i = 0; i < n; i++) text += `jobs_total{runner="r${i}"} ${value}\n`;
  return text;
}

Deno.test("large aggregating pushes: summed off the HTTP thread up to 1 MiB, 413 past it", async (t) => {
  await using pv = await startTestGateway([]);
  const agg = `${pv.url}/aggregate/metrics/job/big`;
  // 30,000 series, about 0.9 MiB: on the worker, then written aside.
  const body = counters(30_000, "0.1");
  assert.ok(body.length < 1024 * 1024);

  await t.step("three pushes of 30,000 series add up exactly", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await curl(["--data-binary", "@-", agg], body);
      assert.equal(r.status, 200, r.body);
    }
    const scrape = await scrapePushed(pv.url);
    const lines = scrape.split("\n").filter((l) => l.startsWith("jobs_total{"));
    assert.equal(lines.length, 30_000);
    // 0.1 three times, correctly rounded: 0.30000000000000004.
    for (const line of lines) assert.match(line, / 0\.30000000000000004$/);
    // Decoded on the push worker, not on the thread that answers HTTP.
    const own = await (await fetch(`${pv.url}/metrics`)).text();
    assert.match(own, /^pushvault_pushes_prepared_on_worker_total 3$/m);
  });

  await t.step("past 1 MiB decompressed: 413 naming the limit", async () => {
    const big = counters(40_000, "1");
    assert.ok(big.length > 1024 * 1024);
    const expected =
      "aggregating push body exceeds the limit of 1048576 bytes (1 MiB, decompressed) for a contribution to an aggregating group; split it into several pushes, or push it to a replacing group under /metrics/job/…";
    const plain = await curl(["--data-binary", "@-", `${agg}/instance/x`], big);
    assert.equal(plain.status, 413);
    assert.equal(plain.body.trim(), expected);
    // Small on the wire, past the limit once inflated.
    const gzipped = await curl([
      "--data-binary",
      "@-",
      "-H",
      "Content-Encoding: gzip",
      `${agg}/instance/x`,
    ], gzipSync(big));
    assert.equal(gzipped.status, 413);
    assert.equal(gzipped.body.trim(), expected);
    const scrape = await scrapePushed(pv.url);
    assert.doesNotMatch(scrape, /instance="x"/);
  });
});
