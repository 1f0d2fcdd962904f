/**
 * What an idle Pushvault must not do before its first request
 * (docs/performance.md, "Fixed costs"): run V8's optimizing compilers (a
 * hot loop at start costs megabytes of the deno binary's code), or load
 * Deno's Node layer (any `node:` module but node:sqlite). Structural
 * checks, no timing.
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MAIN_PATH, withProcesses } from "./process_utils.ts";
import { tempDir } from "../test_utils.ts";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

/**
 * The `node:` modules the start may import besides node:sqlite: none. Each
 * costs the Node layer at start (docs/performance.md, "Fixed costs"); the
 * TLS listener (node:https) is loaded only when TLS is on.
 */
const ALLOWED = /^$/;

interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly {
    readonly code?: { readonly specifier: string };
    readonly isDynamic?: boolean;
  }[];
}

Deno.test("the start imports no node: module but node:sqlite", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", MAIN_PATH],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    roots: string[];
    modules: InfoModule[];
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  const found: string[] = [];
  for (let steps = 0; stack.length > 0 && steps < 100_000; steps++) {
    const specifier = stack.pop() as string;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dependency of modules.get(specifier)?.dependencies ?? []) {
      const target = dependency.code?.specifier;
      if (target === undefined || dependency.isDynamic) continue;
      if (target.startsWith("node:")) {
        if (target !== "node:sqlite") {
          const from = fileURLToPath(specifier).slice(SRC.length);
          found.push(`${from} ${target}`);
        }
      } else {
        stack.push(target);
      }
    }
  }
  assert.ok(seen.size > 50, `only ${seen.size} modules walked`);
  assert.deepEqual(found.filter((f) => !ALLOWED.test(f)), []);
});

Deno.test("an idle Pushvault has run no optimizing compiler once its view is assembled", async () => {
  await using dir = await tempDir();
  await withProcesses(async (group) => {
    const child = group.spawn("pushvault", Deno.execPath(), [
      "run",
      "-A",
      "--quiet",
      "--v8-flags=--trace-opt",
      MAIN_PATH,
      "--web.listen-address=127.0.0.1:0",
      `--persistence.file=${dir.path}/pv.db`,
    ]);
    await child.waitForLog(/msg="view assembled"/);
    // V8 writes its trace through a buffer that a pipe flushes at exit.
    child.signal("SIGTERM");
    await child.wait();
    const compiled = child.stdout().split("\n").filter((line) =>
      line.includes("compiling method")
    );
    assert.deepEqual(compiled, []);
  });
});
