/**
 * scripts/bench/ab_load.ts run for real, small: two trees (this one twice),
 * 200 preloaded series, one round of 1 s each. Checks that it alternates the
 * trees, that every push was answered, and that it removes its files.
 * @module
 */

import assert from "node:assert/strict";

Deno.test("ab_load.ts alternates two trees on copies of one preloaded store", async () => {
  const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
  const before = [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")]
    .filter((e) => e.name.startsWith("pv-ab-")).map((e) => e.name);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${root}/scripts/bench/ab_load.ts`,
      "--a",
      root,
      "--b",
      root,
      "--series",
      "200",
      "--groups",
      "20",
      "--duration",
      "1s",
      "--rounds",
      "1",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const lines = text.trim().split("\n");
  assert.equal(lines.length, 3, text);
  assert.match(
    lines[0] ?? "",
    /^round 1 A \(.*\): \d+\.\d\/s, p99 [\d.]+ ms, server CPU \d+ µs per push \(main thread busy \d+%\), errors 0$/,
  );
  assert.match(
    lines[1] ?? "",
    /^round 1 B \(.*\): \d+\.\d\/s, p99 [\d.]+ ms, server CPU \d+ µs per push \(main thread busy \d+%\), errors 0$/,
  );
  assert.match(
    lines[2] ?? "",
    /^mean A \d+\.\d\/s, B \d+\.\d\/s, B\/A \d\.\d{3}; server CPU per push A \d+ µs, B \d+ µs, B\/A \d\.\d{3}$/,
  );
  const after = [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")]
    .filter((e) => e.name.startsWith("pv-ab-")).map((e) => e.name);
  assert.deepEqual(after.filter((n) => !before.includes(n)), []);
});
