import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { FlagError, helpText, parseFlags } from "../../src/cli/flags.ts";
import { parseImportFlags } from "../../src/cli/import.ts";
import { parseErrorMessage, wantsHelp } from "../../src/cli/parse_error.ts";
import { withProcesses } from "../e2e/process_utils.ts";

Deno.test("helpText() lists the subcommands and where their help is", () => {
  const text = helpText();
  assert.match(text, /^ {7}pushvault import --from=<url>/m);
  assert.match(text, /^ {7}pushvault delete /m);
  assert.match(text, /^ {2}import .*\(pushvault import --help\)\.$/m);
  assert.match(text, /^ {2}delete .*\(pushvault delete --help\)\.$/m);
});

/** parseArgs's own words → ours (the example comes from the context). */
const PARSE_ERRORS = [
  {
    name: "a value missing at the end",
    args: ["--from"],
    says: "flag --from needs a value, e.g. --from=http://x:9091",
  },
  {
    name: "a value missing before another flag",
    args: ["--from", "--dry-run"],
    says: "flag --from needs a value, e.g. --from=http://x:9091",
  },
  {
    name: "an unknown flag",
    args: ["--nope"],
    says: "unknown flag --nope, try pushvault x --help",
  },
  {
    name: "a positional argument",
    args: ["extra"],
    says: 'unexpected argument "extra", try pushvault x --help',
  },
  {
    name: "a value for a boolean",
    args: ["--dry-run=yes"],
    says: "flag --dry-run takes no value, try pushvault x --help",
  },
] as const;

Deno.test("parseErrorMessage() rephrases parseArgs's errors naming the flag", async (t) => {
  for (const c of PARSE_ERRORS) {
    await t.step(c.name, () => {
      let thrown: unknown;
      try {
        parseArgs({
          args: [...c.args],
          options: {
            from: { type: "string" },
            "dry-run": { type: "boolean" },
          },
          strict: true,
          allowPositionals: false,
        });
      } catch (error) {
        thrown = error;
      }
      assert.ok(thrown !== undefined, "parseArgs threw");
      assert.equal(
        parseErrorMessage(thrown, {
          command: "pushvault x",
          example: (flag) => flag === "from" ? "http://x:9091" : undefined,
        }),
        c.says,
      );
    });
  }
});

Deno.test("parseFlags() says which flag needs a value and gives an example", () => {
  assert.throws(
    () => parseFlags(["--web.listen-address"]),
    (error) =>
      error instanceof FlagError &&
      error.message ===
        "flag --web.listen-address needs a value, e.g. --web.listen-address=:9091",
  );
  assert.throws(
    () => parseFlags(["--web.config.file", "--web.enable-admin-api"]),
    /^FlagError: flag --web\.config\.file needs a value, e.g\. --web\.config\.file=web\.yml$/,
  );
  assert.throws(
    () => parseImportFlags(["--from"]),
    /^FlagError: import: flag --from needs a value, e\.g\. --from=http:\/\/pushgateway:9091$/,
  );
});

Deno.test("wantsHelp() finds -h and --help among the arguments", () => {
  assert.equal(wantsHelp(["--from=x", "--help"]), true);
  assert.equal(wantsHelp(["-h"]), true);
  assert.equal(wantsHelp(["--from=--helpful"]), false);
});

const COMMAND_LINES = [
  { args: ["--help"], code: 0, stdout: /^ {2}import .*\n {2}delete /m },
  { args: ["import", "--help"], code: 0, stdout: /^usage: pushvault import / },
  { args: ["delete", "--help"], code: 0, stdout: /^usage: pushvault delete / },
  { args: ["delete", "-h"], code: 0, stdout: /^usage: pushvault delete / },
  {
    args: ["--web.listen-address"],
    code: 2,
    stderr:
      /^pushvault: error: flag --web\.listen-address needs a value, e\.g\. --web\.listen-address=:9091\n$/,
  },
] as const;

Deno.test("main.ts answers --help for itself and each subcommand, and names a flag without its value", async (t) => {
  for (const c of COMMAND_LINES) {
    await t.step(c.args.join(" "), async () => {
      await withProcesses(async (group) => {
        const run = await group.runPushvault(c.args);
        assert.equal(run.code, c.code, run.stderr);
        if ("stdout" in c) assert.match(run.stdout, c.stdout);
        if ("stderr" in c) assert.match(run.stderr, c.stderr);
      });
    });
  }
});
