/**
 * scripts/start.sh as a new user runs it: from another directory, where
 * relative paths in the flags are the caller's, fetching only the server's
 * npm packages (scripts/server_imports.json, scripts/server.lock).
 * @module
 */

import assert from "node:assert/strict";
import { emptyDir, ROOT, runOk, startServer } from "./deploy_utils.ts";

Deno.test("scripts/start.sh opens a relative --persistence.file in the caller's directory and logs its absolute path", async () => {
  await using dir = await emptyDir();
  const caller = await Deno.realPath(dir.path);
  await using server = await startServer(`${ROOT}/scripts/start.sh`, [
    "--web.listen-address=127.0.0.1:0",
    "--persistence.file=mydata.db",
  ], { cwd: caller });
  assert.ok(Deno.statSync(`${caller}/mydata.db`).isFile, server.output());
  assert.ok(
    server.output().includes(`file=${caller}/mydata.db`),
    server.output(),
  );
  assert.throws(() => Deno.statSync(`${ROOT}/mydata.db`), Deno.errors.NotFound);
  assert.equal((await server.stop()).code, 0);
});

interface Lock {
  readonly npm: Readonly<Record<string, { readonly integrity: string }>>;
}

const readJson = (path: string): unknown =>
  JSON.parse(Deno.readTextFileSync(path));

Deno.test("scripts/server_imports.json maps the server's packages as deno.json does, and nothing for the tests", () => {
  const project = readJson(`${ROOT}/deno.json`) as {
    imports: Record<string, string>;
  };
  const server = readJson(`${ROOT}/scripts/server_imports.json`) as {
    imports: Record<string, string>;
  };
  for (const [name, target] of Object.entries(server.imports)) {
    assert.equal(target, project.imports[name], name);
  }
  for (const testOnly of ["fast-check", "prom-client"]) {
    assert.equal(server.imports[testOnly], undefined, testOnly);
  }
});

Deno.test("scripts/server.lock covers every npm package src/main.ts loads, with deno.lock's checksums", async () => {
  const serverLock = readJson(`${ROOT}/scripts/server.lock`) as Lock;
  const projectLock = readJson(`${ROOT}/deno.lock`) as Lock;
  for (const [name, entry] of Object.entries(serverLock.npm)) {
    assert.equal(entry.integrity, projectLock.npm[name]?.integrity, name);
  }
  for (const testOnly of ["fast-check", "prom-client", "playwright-core"]) {
    assert.ok(
      !Object.keys(serverLock.npm).some((p) => p.startsWith(`${testOnly}@`)),
      testOnly,
    );
  }
  // What start.sh loads: the graph under its own flags, from the lock alone.
  const info = await runOk(Deno.execPath(), [
    "info",
    "--json",
    "--no-config",
    `--import-map=${ROOT}/scripts/server_imports.json`,
    `--lock=${ROOT}/scripts/server.lock`,
    "--frozen",
    `${ROOT}/src/main.ts`,
  ]);
  const graph = JSON.parse(info.stdout) as {
    npmPackages?: Record<string, unknown>;
  };
  assert.deepEqual(
    Object.keys(graph.npmPackages ?? {}).sort(),
    Object.keys(serverLock.npm).sort(),
  );
});
