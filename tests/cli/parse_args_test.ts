import assert from "node:assert/strict";
import { parseArgs as nodeParseArgs } from "node:util";
import { parseArgs } from "../../src/cli/parse_args.ts";
import {
  isAbsolutePath,
  parentDirectory,
  resolvePath,
} from "../../src/posix_path.ts";
import { posix } from "node:path";

const OPTIONS = {
  "web.listen-address": { type: "string", multiple: true },
  "log.level": { type: "string", multiple: true },
  "one": { type: "string" },
} as const;

/** Command lines that node:util's parseArgs takes or refuses, each way. */
const CASES: readonly (readonly string[])[] = [
  [],
  ["--log.level=debug"],
  ["--web.listen-address", ":9091", "--web.listen-address=:9092"],
  ["--one=a", "--one", "b"],
  ["--log.level"],
  ["--log.level", "--one=a"],
  ["--log.level", "-"],
  ["--log.level", "-1"],
  ["--log.level="],
  ["--log.level=a=b"],
  ["--log.level", ""],
  ["--unknown=1"],
  ["--unknown"],
  ["-x"],
  ["-xy"],
  ["positional"],
  ["-"],
  ["--"],
  ["--", "after"],
  ["--log.level", "--"],
  ["---log.level"],
  ["--=1"],
  ["--constructor=1"],
  ["--toString"],
];

Deno.test("parseArgs takes and refuses what node:util's does, in its words", () => {
  const outcome = (parse: typeof nodeParseArgs, args: readonly string[]) => {
    try {
      const { values } = parse({
        args: [...args],
        options: OPTIONS,
        strict: true,
        allowPositionals: false,
      });
      return { values: { ...values } };
    } catch (error) {
      const { code, message } = error as { code: string; message: string };
      return { code, message };
    }
  };
  for (const args of CASES) {
    assert.deepEqual(
      outcome(parseArgs as typeof nodeParseArgs, args),
      outcome(nodeParseArgs, args),
      JSON.stringify(args),
    );
  }
});

Deno.test("resolvePath and parentDirectory answer as node:path's posix ones", () => {
  const cwd = Deno.cwd();
  const paths = [
    "pv.db",
    "./pv.db",
    "a/../b/./pv.db",
    "../pv.db",
    "/var/lib//pushvault/pv.db",
    "/var/lib/pushvault/",
    "/",
    "/a/../../b",
    "dir/",
  ];
  for (const path of paths) {
    assert.equal(resolvePath(path), posix.resolve(cwd, path), path);
    assert.equal(
      resolvePath(path, "pushvault.db"),
      posix.resolve(cwd, path, "pushvault.db"),
      path,
    );
    const absolute = posix.resolve(cwd, path);
    assert.equal(parentDirectory(absolute), posix.dirname(absolute), path);
    assert.equal(isAbsolutePath(path), posix.isAbsolute(path), path);
  }
  assert.equal(resolvePath("/a", "/b", "c"), "/b/c");
  assert.equal(resolvePath("/a", "", "c"), "/a/c");
});
