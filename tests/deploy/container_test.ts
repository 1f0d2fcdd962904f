/**
 * deploy/Containerfile, checked as text: this machine has a docker client
 * but no engine, so the image is not built here. What it runs (the bundle,
 * with these permissions, alone) is tested in bundle_test.ts.
 * @module
 */

import assert from "node:assert/strict";
import { RUN_PERMISSIONS } from "../../scripts/compile.ts";
import { ROOT } from "./deploy_utils.ts";

const CONTAINERFILE = await Deno.readTextFile(`${ROOT}/deploy/Containerfile`);

Deno.test("deploy/Containerfile uses the Deno version we build and test with", () => {
  assert.match(
    CONTAINERFILE,
    new RegExp(
      `^ARG DENO_VERSION=${Deno.version.deno.replaceAll(".", "\\.")}$`,
      "m",
    ),
  );
  assert.match(
    CONTAINERFILE,
    /^FROM docker\.io\/denoland\/deno:distroless-\$\{DENO_VERSION\}$/m,
  );
});

Deno.test("deploy/Containerfile runs the bundle with the compiled binary's permissions", () => {
  const match = /^ENTRYPOINT (\[.*\])$/m.exec(CONTAINERFILE);
  assert.ok(match);
  const entrypoint: unknown = JSON.parse(match[1] as string);
  assert.deepEqual(entrypoint, [
    "deno",
    "run",
    ...RUN_PERMISSIONS,
    "/app/pushvault.js",
  ]);
  assert.match(
    CONTAINERFILE,
    /^COPY dist\/pushvault\.js \/app\/pushvault\.js$/m,
  );
  assert.match(
    CONTAINERFILE,
    /^CMD \["--web\.listen-address=:9091", "--persistence\.file=\/data\/pushvault\.db"\]$/m,
  );
});

Deno.test("deploy/Containerfile runs as an unprivileged user with the database on a volume", () => {
  assert.match(CONTAINERFILE, /^USER 1993:1993$/m);
  assert.match(CONTAINERFILE, /^VOLUME \["\/data"\]$/m);
  assert.match(
    CONTAINERFILE,
    /^COPY --from=data --chown=1993:1993 \/data \/data$/m,
  );
});
