import assert from "node:assert/strict";
import { parseDeleteFlags, runDelete } from "../../src/cli/delete.ts";
import { FlagError } from "../../src/cli/flags.ts";
import { send, startTestGateway } from "../test_utils.ts";

async function groups(url: string): Promise<string[]> {
  const api = await (await fetch(`${url}/api/v1/metrics`)).json();
  return (api.data as { labels: Record<string, string> }[])
    .map((g) => `${g.labels.job}/${g.labels.instance ?? ""}`).sort();
}

Deno.test("pushvault delete lists, then deletes the matching groups", async () => {
  await using pv = await startTestGateway(["--web.enable-admin-api"]);
  for (const g of ["ci/instance/a", "ci/instance/b", "prod/instance/a"]) {
    await send(`${pv.url}/metrics/job/${g}`, { method: "PUT", body: "m 1\n" });
  }
  const lines: string[] = [];
  const dry = await runDelete(
    parseDeleteFlags([`--url=${pv.url}`, '--match={job="ci"}', "--dry-run"]),
    (l) => lines.push(l),
  );
  assert.equal(dry, 0);
  assert.deepEqual(lines, [
    'would delete {instance="a",job="ci"}',
    'would delete {instance="b",job="ci"}',
    "2 group(s) would be deleted",
  ]);
  assert.equal((await groups(pv.url)).length, 3);
  lines.length = 0;
  assert.equal(
    await runDelete(
      parseDeleteFlags([`--url=${pv.url}`, '--match={job="ci"}']),
      (l) => lines.push(l),
    ),
    0,
  );
  assert.equal(lines.at(-1), "2 group(s) deleted");
  assert.deepEqual(await groups(pv.url), ["prod/a"]);
});

Deno.test("pushvault delete says what is wrong and exits 1", async () => {
  await using pv = await startTestGateway(["--web.enable-admin-api"]);
  const lines: string[] = [];
  assert.equal(
    await runDelete(
      parseDeleteFlags([`--url=${pv.url}`, "--match={job="]),
      (l) => lines.push(l),
    ),
    1,
  );
  assert.match(lines[0] ?? "", /^refused: match\[\]: invalid matcher/);
  await using plain = await startTestGateway();
  lines.length = 0;
  assert.equal(
    await runDelete(
      parseDeleteFlags([`--url=${plain.url}`, '--match={job="x"}']),
      (l) => lines.push(l),
    ),
    1,
  );
  assert.match(lines[0] ?? "", /start Pushvault with --web.enable-admin-api$/);
  assert.throws(() => parseDeleteFlags(["--nope"]), FlagError);
});
