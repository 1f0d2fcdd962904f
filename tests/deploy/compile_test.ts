/**
 * `deno task compile`: argument handling, the base binary (denort) checks,
 * the message when denort cannot be downloaded, and — where a denort is
 * available (DENORT_BIN, or Deno's download server is reachable) — the
 * compiled binary started from an empty directory, pushed to and scraped.
 * @module
 */

import assert from "node:assert/strict";
import {
  binaryKind,
  downloadHint,
  parseCompileArgs,
  runsOn,
  TARGETS,
  V8_FLAGS,
  withoutBacktrace,
} from "../../scripts/compile.ts";
import type { BinaryKind } from "../../scripts/compile.ts";
import { BuildError, ROOT } from "../../scripts/build_info.ts";
import {
  emptyDir,
  getText,
  push,
  run,
  runOk,
  startServer,
} from "./deploy_utils.ts";

const deno = Deno.execPath();

Deno.test("parseCompileArgs() maps --target and --output to builds", async (t) => {
  const cases = [
    {
      name: "no argument builds this machine's target into dist/pushvault",
      args: [],
      builds: [{
        target: "x86_64-unknown-linux-gnu",
        output: `${ROOT}/dist/pushvault`,
      }],
    },
    {
      name: "one --target gets its own file name",
      args: ["--target=aarch64-unknown-linux-gnu"],
      builds: [{
        target: "aarch64-unknown-linux-gnu",
        output: `${ROOT}/dist/pushvault-aarch64-unknown-linux-gnu`,
      }],
    },
    {
      name: "--output names the file of the one target",
      args: ["--target", "x86_64-apple-darwin", "--output=/tmp/pv-mac"],
      builds: [{ target: "x86_64-apple-darwin", output: "/tmp/pv-mac" }],
    },
    {
      name: "all builds every target once",
      args: ["--target=all", "--target=aarch64-apple-darwin"],
      builds: TARGETS.map((target) => ({
        target,
        output: `${ROOT}/dist/pushvault-${target}`,
      })),
    },
  ] as const;
  for (const c of cases) {
    await t.step({
      name: c.name,
      // The default target is the host's; the expectation is written for
      // the machines we build on.
      ignore: c.args.length === 0 &&
        Deno.build.target !== "x86_64-unknown-linux-gnu",
      fn: () => {
        assert.deepEqual(parseCompileArgs(c.args).builds, c.builds);
      },
    });
  }
});

Deno.test("parseCompileArgs() refuses what it cannot build", async (t) => {
  const cases = [
    {
      name: "an unknown target",
      args: ["--target=x86_64-pc-windows-msvc"],
      message:
        'unknown --target "x86_64-pc-windows-msvc"; use one of x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, x86_64-apple-darwin, aarch64-apple-darwin or all',
    },
    {
      name: "--output with several targets",
      args: ["--target=all", "--output=/tmp/pv"],
      message: "--output names one file: give at most one --target",
    },
    {
      name: "an unknown option",
      args: ["--release"],
      message: "Unknown option '--release'\n" +
        "usage: deno task compile [--target=<target>|all]... [--output=<file>]",
    },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(() => parseCompileArgs(c.args), (error) => {
        assert.ok(error instanceof BuildError);
        assert.equal(error.message, c.message);
        return true;
      });
    });
  }
});

/** A header: `bytes` at their offsets, zeros elsewhere. */
function header(...parts: readonly [number, readonly number[]][]): Uint8Array {
  const out = new Uint8Array(64);
  for (const [offset, bytes] of parts) out.set(bytes, offset);
  return out;
}

const ELF = [0x7f, 0x45, 0x4c, 0x46, 2, 1] as const; // 64-bit, little-endian

Deno.test("binaryKind() reads the target from ELF and Mach-O headers", async (t) => {
  const cases: readonly {
    name: string;
    bytes: Uint8Array;
    kind: BinaryKind;
  }[] = [
    {
      name: "ELF x86-64",
      bytes: header([0, ELF], [18, [0x3e, 0]]),
      kind: { type: "target", target: "x86_64-unknown-linux-gnu" },
    },
    {
      name: "ELF AArch64",
      bytes: header([0, ELF], [18, [0xb7, 0]]),
      kind: { type: "target", target: "aarch64-unknown-linux-gnu" },
    },
    {
      name: "ELF RISC-V",
      bytes: header([0, ELF], [18, [0xf3, 0]]),
      kind: { type: "unknown" },
    },
    {
      name: "Mach-O x86-64",
      bytes: header([0, [0xcf, 0xfa, 0xed, 0xfe, 0x07, 0, 0, 0x01]]),
      kind: { type: "target", target: "x86_64-apple-darwin" },
    },
    {
      name: "Mach-O arm64",
      bytes: header([0, [0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 0x01]]),
      kind: { type: "target", target: "aarch64-apple-darwin" },
    },
    {
      name: "Mach-O universal",
      bytes: header([0, [0xca, 0xfe, 0xba, 0xbe]]),
      kind: { type: "darwin-universal" },
    },
    {
      name: "a shell script",
      bytes: new TextEncoder().encode("#!/bin/sh\nexec deno\n"),
      kind: { type: "unknown" },
    },
    {
      name: "an empty file",
      bytes: new Uint8Array(0),
      kind: { type: "unknown" },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.deepEqual(binaryKind(c.bytes), c.kind);
    });
  }
});

Deno.test("runsOn() accepts a universal macOS binary for both macOS targets only", () => {
  const universal: BinaryKind = { type: "darwin-universal" };
  assert.deepEqual(
    TARGETS.filter((target) => runsOn(universal, target)),
    ["x86_64-apple-darwin", "aarch64-apple-darwin"],
  );
});

Deno.test("binaryKind() knows the deno executable running this test", async () => {
  const file = await Deno.open(deno);
  const bytes = new Uint8Array(64);
  await file.read(bytes);
  file.close();
  assert.deepEqual(binaryKind(bytes), {
    type: "target",
    target: Deno.build.target,
  });
});

Deno.test("deno task start and scripts/start.sh pass the V8 flags the binary bakes in", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)) as {
    tasks: Record<string, string>;
  };
  const startSh = await Deno.readTextFile(`${ROOT}/scripts/start.sh`);
  for (const flag of V8_FLAGS) {
    assert.ok(config.tasks.start?.includes(` ${flag} `), config.tasks.start);
    assert.ok(startSh.includes(`exec deno run -A ${flag} `), startSh);
  }
});

Deno.test("downloadHint() says what failed and how to set DENORT_BIN", () => {
  const hint = downloadHint("aarch64-unknown-linux-gnu");
  const version = Deno.version.deno;
  assert.match(hint, /Deno's download server is unreachable/);
  assert.match(
    hint,
    new RegExp(
      `DENORT_BIN=/path/to/denort deno task compile --target=aarch64-unknown-linux-gnu`,
    ),
  );
  assert.ok(hint.includes(`denort-aarch64-unknown-linux-gnu.zip`));
  assert.ok(hint.includes(`Deno v${version} release`));
  assert.ok(hint.includes("deno task bundle"));
});

Deno.test("withoutBacktrace() drops the backtrace deno adds to its errors", () => {
  const said = "error: Writing deno compile executable\n\nCaused by:\n" +
    "    0: Setting up base binary.\n";
  assert.equal(
    withoutBacktrace(`${said}\nStack backtrace:\n   0: <unknown>\n`),
    said,
  );
  assert.equal(withoutBacktrace(said), said);
});

Deno.test("deno task compile refuses a DENORT_BIN for another target before compiling", async () => {
  const result = await run(
    deno,
    ["task", "compile", "--target=aarch64-apple-darwin", "--output=/dev/null"],
    { env: { DENORT_BIN: deno } },
  );
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(
    result.stderr,
    /^compile: error: DENORT_BIN="[^"]+" is not an executable for aarch64-apple-darwin \(it is for x86_64-unknown-linux-gnu\)/m,
  );
});

Deno.test("deno task compile refuses a DENORT_BIN that does not exist", async () => {
  const result = await run(deno, ["task", "compile", "--output=/dev/null"], {
    env: { DENORT_BIN: "/nonexistent/denort" },
  });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(
    result.stderr,
    /^compile: error: DENORT_BIN="\/nonexistent\/denort" does not exist or cannot be read; point it at the denort binary of Deno /m,
  );
});

Deno.test("deno task compile removes a binary built on the full deno executable instead of denort", async () => {
  await using dir = await emptyDir();
  const output = `${dir.path}/pushvault`;
  const result = await run(deno, ["task", "compile", `--output=${output}`], {
    env: { DENORT_BIN: deno },
  });
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(
    result.stderr,
    /^compile: error: the compiled binary does not run as Pushvault, so it was removed: .* must be denort of Deno \S+, not the full deno executable\.$/m,
  );
  assert.deepEqual(await Array.fromAsync(Deno.readDir(dir.path)), []);
});

/**
 * Builds with whatever denort this machine has (DENORT_BIN from the
 * environment, a download, or none): either the binary works from an empty
 * directory, or the task failed with the download hint.
 */
Deno.test("deno task compile builds a working binary or says how to set DENORT_BIN", async () => {
  await using build = await emptyDir();
  await using alone = await emptyDir();
  const output = `${build.path}/pushvault`;
  // As on CI machines that set it: deno's backtrace must not reach the message.
  const result = await run(deno, ["task", "compile", `--output=${output}`], {
    env: { RUST_BACKTRACE: "1" },
  });
  if (result.code !== 0) {
    assert.equal(
      Deno.env.get("DENORT_BIN"),
      undefined,
      `with DENORT_BIN set the task must build:\n${result.stderr}`,
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^compile: error: deno compile could not download denort \S+ for \S+, the runtime binary it builds on: Deno's download server is unreachable from this machine\.\nSet DENORT_BIN to a local denort/m,
    );
    assert.doesNotMatch(result.stderr, /Stack backtrace|<unknown>/);
    // Neither the output nor deno compile's temporary file is left.
    assert.deepEqual(await Array.fromAsync(Deno.readDir(build.path)), []);
    return;
  }
  // A real binary: copy it alone into an empty directory and use it there.
  await Deno.copyFile(output, `${alone.path}/pushvault`);
  await Deno.chmod(`${alone.path}/pushvault`, 0o755);
  const version = await runOk(`${alone.path}/pushvault`, ["--version"], {
    cwd: alone.path,
  });
  const stamped = /revision (\S+), built (\S+)\)/.exec(result.stdout);
  assert.ok(stamped, result.stdout);
  assert.match(
    version.stdout,
    new RegExp(
      `^pushvault, version \\S+ \\(revision: ${stamped[1]}\\)\n  build date: ${
        stamped[2]
      }\n`,
    ),
  );
  await using server = await startServer(
    `${alone.path}/pushvault`,
    ["--web.listen-address=127.0.0.1:0", "--persistence.file=pv.db"],
    { cwd: alone.path },
  );
  assert.equal(await push(server.url, "job/compiled", "compiled_ok 1\n"), 200);
  assert.match(
    await getText(server.url, "/metrics"),
    /^compiled_ok\{instance="",job="compiled"\} 1$/m,
  );
  assert.equal((await server.stop()).code, 0, server.output());
});
