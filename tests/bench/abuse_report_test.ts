/**
 * The pure parts of the abuse benchmark: options, bodies, probe windows and
 * the table. The benchmark itself starts servers and is run by hand.
 * @module
 */

import assert from "node:assert/strict";
import {
  bigNumberBody,
  formatTable,
  labelsBody,
  memoryCheck,
  parseAbuseOptions,
  type Probe,
  probeCheck,
  quantile,
  seriesBody,
  seriesForBytes,
  summarizeProbes,
} from "../../scripts/bench/abuse_report.ts";
import { parseText } from "../../src/exposition/text_parse.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("parseAbuseOptions() reads every option and refuses unknown ones", async (t) => {
  await t.step("defaults", () => {
    assert.deepEqual(parseAbuseOptions([]), {
      quick: false,
      only: [],
      jsonPath: undefined,
      pushvaultOnly: false,
      timeoutMs: 60_000,
    });
  });
  await t.step("all of them, --only repeated and with =", () => {
    assert.deepEqual(
      parseAbuseOptions([
        "--quick",
        "--only",
        "labels",
        "--only=ui,tls",
        "--json",
        "out.json",
        "--pushvault-only",
        "--timeout",
        "30",
      ]),
      {
        quick: true,
        only: ["labels", "ui", "tls"],
        jsonPath: "out.json",
        pushvaultOnly: true,
        timeoutMs: 30_000,
      },
    );
  });
  await t.step("an unknown flag", () => {
    assert.throws(() => parseAbuseOptions(["--fast"]), RangeError);
  });
  await t.step("a missing value", () => {
    assert.throws(() => parseAbuseOptions(["--only"]), RangeError);
  });
  await t.step("a timeout that is not seconds", () => {
    assert.throws(() => parseAbuseOptions(["--timeout", "1m"]), RangeError);
  });
});

Deno.test("labelsBody() makes one series with that many labels", () => {
  assert.equal(decode(labelsBody(3)), 'm{l0="v",l1="v",l2="v"} 1\n');
  assert.equal(decode(labelsBody(2, true)), 'm{l0="v",l1="v"} x\n');
  const [family] = parseText(labelsBody(500));
  assert.equal(family?.metrics[0]?.labels.length, 500);
});

Deno.test("bigNumberBody() is one sample whose value token has that many digits", () => {
  assert.equal(decode(bigNumberBody(5)), "m 11111\n");
  assert.equal(bigNumberBody(1000).length, 1003);
});

Deno.test("seriesBody() makes distinct 19-byte series that parse", () => {
  const text = decode(seriesBody(3));
  assert.equal(
    text,
    '# TYPE m gauge\nm{id="00000000"} 1\nm{id="00000001"} 1\nm{id="00000002"} 1\n',
  );
  const [family] = parseText(seriesBody(12_345));
  assert.equal(family?.metrics.length, 12_345);
  assert.equal(
    new Set(family?.metrics.map((m) => m.labels[0]?.value)).size,
    12_345,
  );
  assert.equal(seriesForBytes(19_000_000), 1_000_000);
});

Deno.test("summarizeProbes() takes the probes overlapping the window", () => {
  const probes: Probe[] = [
    [0, 5, 200], // ends before the window
    [90, 20, 200], // overlaps its start
    [150, 400, 200], // inside, the longest
    [300, 1, 0], // failed
    [700, 900, 200], // starts after the window
  ];
  assert.deepEqual(summarizeProbes(probes, 100, 600), {
    count: 3,
    maxMs: 400,
    failed: 1,
    cut: false,
  });
  assert.equal(summarizeProbes(probes, 100, 600, 150).cut, true);
  assert.equal(summarizeProbes([], 0, 10).maxMs, 0);
});

Deno.test("quantile() is the nearest rank", () => {
  assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
  assert.equal(quantile([1, 2, 3, 4], 0.99), 4);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

Deno.test("formatTable() puts both servers and Pushvault's verdict on one line per row", () => {
  const probe = { count: 10, maxMs: 250, failed: 0, cut: false };
  const table = formatTable([{
    id: "big-number",
    title: "big number",
    pushvault: { probe, peakMiB: 101.4, request: "400 in 1.0 s", detail: "" },
    pushgateway: { probe, peakMiB: 50, request: "400 in 2.0 s", detail: "a|b" },
    checks: [probeCheck(probe), memoryCheck(101.4, 200)],
  }, {
    id: "retention",
    title: "retention",
    pushvault: { probe: { ...probe, maxMs: 20 }, peakMiB: 90, request: "ok" },
    pushgateway: { skipped: "n/a: no history" },
    checks: [probeCheck({ ...probe, maxMs: 20 })],
  }]);
  const lines = table.trim().split("\n");
  assert.equal(lines.length, 4);
  assert.match(
    lines[2] ?? "",
    /^\| big number \| 250 ms \| 101 MiB \| 400 in 1\.0 s \|/,
  );
  assert.match(lines[2] ?? "", /not met: probe 250 ms vs 100 ms \|/);
  assert.match(lines[2] ?? "", /a\\\|b/);
  assert.match(lines[3] ?? "", /\| met \| n\/a: no history \|/);
});
