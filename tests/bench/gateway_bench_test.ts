/**
 * Tests of scripts/bench/gateway_bench.ts's options: store sizes (`--sizes`,
 * `--series`, the defaults of the full and the quick run) and what each size
 * runs with. The benchmark itself runs with `deno task bench:gateway`.
 * @module
 */

import assert from "node:assert/strict";
import {
  parseCount,
  parseOptions,
  settingsFor,
} from "../../scripts/bench/gateway_bench.ts";

const SIZE_CASES = [
  { name: "full run", args: [], sizes: [100_000, 1_000_000] },
  { name: "--quick", args: ["--quick"], sizes: [20_000] },
  {
    name: "--quick --series 100000",
    args: ["--quick", "--series", "100000"],
    sizes: [100_000],
  },
  {
    name: "--series with thousands separators",
    args: ["--series=1,000,000"],
    sizes: [1_000_000],
  },
  {
    name: "--sizes with suffixes",
    args: ["--sizes", "100k,1M"],
    sizes: [100_000, 1_000_000],
  },
  {
    name: "--sizes with underscores",
    args: ["--sizes=20_000,100_000,1_000_000"],
    sizes: [20_000, 100_000, 1_000_000],
  },
] as const;

Deno.test("parseOptions() reads the store sizes", async (t) => {
  for (const c of SIZE_CASES) {
    await t.step(c.name, () => {
      assert.deepEqual(parseOptions(c.args).sizes, c.sizes);
    });
  }
});

const BAD_ARGS = [
  { name: "--series and --sizes", args: ["--series", "1", "--sizes", "2"] },
  { name: "a fraction of a series", args: ["--sizes", "1.5"] },
  { name: "zero series", args: ["--series", "0"] },
  { name: "an empty size", args: ["--sizes", "100000,"] },
  { name: "an unknown flag", args: ["--seres", "100"] },
] as const;

Deno.test("parseOptions() rejects bad sizes and flags", async (t) => {
  for (const c of BAD_ARGS) {
    await t.step(c.name, () => {
      assert.throws(() => parseOptions(c.args), Error);
    });
  }
});

Deno.test("parseCount() accepts plain, suffixed and exponent forms", () => {
  assert.equal(parseCount("1000000"), 1_000_000);
  assert.equal(parseCount("1e6"), 1_000_000);
  assert.equal(parseCount("250k"), 250_000);
  assert.equal(parseCount(" 2M "), 2_000_000);
});

Deno.test("settingsFor() gives large stores fewer scrapes and longer loads", () => {
  const full = parseOptions([]);
  assert.deepEqual(settingsFor(full, 100_000), {
    series: 100_000,
    groups: 1000,
    loadMs: 10_000,
    scrapes: 5,
    pgHttpPreloadCapMs: 30_000,
  });
  assert.deepEqual(settingsFor(full, 1_000_000), {
    series: 1_000_000,
    groups: 10_000,
    loadMs: 20_000,
    scrapes: 3,
    pgHttpPreloadCapMs: 0,
  });
  const quick = parseOptions(["--quick", "--scrapes", "2"]);
  assert.deepEqual(settingsFor(quick, 100_000), {
    series: 100_000,
    groups: 1000,
    loadMs: 4_000,
    scrapes: 2,
    pgHttpPreloadCapMs: 0,
  });
});
