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
  await using plain = await startTestGateway();
  const lines: string[] = [];
  assert.equal(
    await runDelete(
      parseDeleteFlags([`--url=${plain.url}`, '--match={job="x"}']),
      (l) => lines.push(l),
    ),
    1,
  );
  assert.match(lines[0] ?? "", /start Pushvault with --web.enable-admin-api$/);
});

/** Command lines refused before the server is called, and what they say. */
const BAD_COMMAND_LINES = [
  {
    name: "no condition",
    args: [],
    says:
      /^delete: give at least one --match, --older-than or --pushed-before, .*curl -X PUT http:\/\/127\.0\.0\.1:9091\/api\/v1\/admin\/wipe$/,
  },
  {
    name: "only --dry-run",
    args: ["--dry-run", "--url=http://127.0.0.1:1/"],
    says:
      /give at least one --match.* http:\/\/127\.0\.0\.1:1\/api\/v1\/admin\/wipe$/,
  },
  {
    name: "a bad selector",
    args: ["--match={job="],
    says: /^delete: invalid value "\{job=" for flag --match: invalid matcher/,
  },
  {
    name: "a bad duration",
    args: ["--older-than=7days"],
    says:
      /^delete: invalid value "7days" for flag --older-than: expected a duration like 30m, 12h or 7d$/,
  },
  {
    name: "a bad time",
    args: ["--pushed-before=yesterday"],
    says:
      /^delete: invalid value "yesterday" for flag --pushed-before: expected RFC 3339/,
  },
  {
    name: "a flag without its value",
    args: ["--older-than"],
    says: /^delete: flag --older-than needs a value, e.g. --older-than=7d$/,
  },
  {
    name: "an unknown flag",
    args: ["--nope"],
    says: /^delete: unknown flag --nope, try pushvault delete --help$/,
  },
] as const;

Deno.test("parseDeleteFlags() refuses a bad command line in the CLI's own terms", async (t) => {
  for (const c of BAD_COMMAND_LINES) {
    await t.step(c.name, () => {
      assert.throws(() => parseDeleteFlags(c.args), (error) => {
        assert.ok(error instanceof FlagError, String(error));
        assert.match(error.message, c.says);
        assert.doesNotMatch(
          error.message,
          /match\[\]|older_than|pushed_before|bulk-delete endpoint/,
        );
        return true;
      });
    });
  }
  parseDeleteFlags(["--older-than=7d"]);
  parseDeleteFlags(["--pushed-before=1764000000"]);
  parseDeleteFlags(["--pushed-before=2026-11-25T10:00:00Z"]);
});

Deno.test("pushvault delete puts what the server refuses in the flags' names", async () => {
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, () =>
    Response.json({
      status: "error",
      errorType: "bad_data",
      error:
        'match[]: invalid matcher "x"; older_than and pushed_before; dry_run',
    }, { status: 400 }));
  try {
    const lines: string[] = [];
    assert.equal(
      await runDelete(
        parseDeleteFlags([
          `--url=http://127.0.0.1:${server.addr.port}`,
          "--older-than=1d",
        ]),
        (l) => lines.push(l),
      ),
      1,
    );
    assert.deepEqual(lines, [
      'refused: --match: invalid matcher "x"; --older-than and --pushed-before; --dry-run',
    ]);
  } finally {
    await server.shutdown();
  }
});
