/**
 * scripts/build_info.ts: what is stamped, and how (a copy of src/version.ts
 * selected by an import map; the source tree is never written).
 * @module
 */

import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import {
  formatBuildDate,
  readBuildInfo,
  renderVersionModule,
  ROOT,
  stampBuild,
  VERSION_MODULE,
} from "../../scripts/build_info.ts";
import type { BuildInfo } from "../../scripts/build_info.ts";
import * as version from "../../src/version.ts";
import { runOk } from "./deploy_utils.ts";

const INFO: BuildInfo = {
  version: "1.2.3",
  revision: "abc1234",
  branch: "main",
  buildDate: "2026-11-25T12:08:05Z",
  buildUser: "ci@builder",
};

Deno.test("src/version.ts has the version of deno.json", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  assert.equal(version.VERSION, denoJson.version);
  assert.equal(version.REVISION, "dev");
});

Deno.test("renderVersionModule() exports what src/version.ts exports", async () => {
  await using stamp = await stampBuild(INFO);
  const stamped = stamp.versionModule;
  assert.equal(await Deno.readTextFile(stamped), renderVersionModule(INFO));
  const module = await import(pathToFileURL(stamped).href);
  assert.deepEqual(Object.keys(module).sort(), Object.keys(version).sort());
  assert.deepEqual({ ...module }, {
    VERSION: "1.2.3",
    REVISION: "abc1234",
    BRANCH: "main",
    BUILD_DATE: "2026-11-25T12:08:05Z",
    BUILD_USER: "ci@builder",
  });
});

Deno.test("renderVersionModule() quotes values as string literals", () => {
  const source = renderVersionModule({ ...INFO, buildUser: 'a"b\\c@h' });
  assert.ok(source.includes('export const BUILD_USER = "a\\"b\\\\c@h";\n'));
});

Deno.test("stampBuild() maps src/version.ts to the stamped copy and keeps deno.json's imports", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  await using stamp = await stampBuild(INFO);
  const map = JSON.parse(await Deno.readTextFile(stamp.importMap));
  const stamped = pathToFileURL(stamp.versionModule).href;
  assert.deepEqual(map, {
    imports: {
      ...denoJson.imports,
      [pathToFileURL(VERSION_MODULE).href]: stamped,
    },
  });
});

Deno.test("stampBuild() removes its directory when disposed", async () => {
  let dir = "";
  {
    await using stamp = await stampBuild(INFO);
    dir = stamp.importMap.replace(/\/import_map\.json$/, "");
    assert.ok((await Deno.stat(dir)).isDirectory);
  }
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
});

Deno.test("formatBuildDate() writes UTC RFC 3339 to the second", () => {
  assert.equal(
    formatBuildDate(new Date(Date.UTC(2026, 10, 25, 12, 8, 5, 148))),
    "2026-11-25T12:08:05Z",
  );
});

Deno.test("readBuildInfo() reads deno.json, git and the clock", async () => {
  const info = await readBuildInfo({
    now: () => new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
  });
  const head = (await runOk("git", ["rev-parse", "--short", "HEAD"])).stdout
    .trim();
  assert.equal(info.version, version.VERSION);
  // Another commit may land between the two reads: both must be commits.
  assert.match(info.revision, /^[0-9a-f]{7,}$/);
  assert.match(head, /^[0-9a-f]{7,}$/);
  await runOk("git", ["cat-file", "-e", `${info.revision}^{commit}`]);
  assert.notEqual(info.branch, "");
  assert.match(info.buildUser, /^.+@.+$/);
  if (Deno.env.get("SOURCE_DATE_EPOCH") === undefined) {
    assert.equal(info.buildDate, "2026-01-02T03:04:05Z");
  }
});

Deno.test("readBuildInfo() takes the date from SOURCE_DATE_EPOCH when set", async () => {
  const saved = Deno.env.get("SOURCE_DATE_EPOCH");
  Deno.env.set("SOURCE_DATE_EPOCH", "1767225600");
  try {
    const info = await readBuildInfo({ now: () => new Date(0) });
    assert.equal(info.buildDate, "2026-01-01T00:00:00Z");
  } finally {
    if (saved === undefined) Deno.env.delete("SOURCE_DATE_EPOCH");
    else Deno.env.set("SOURCE_DATE_EPOCH", saved);
  }
});

Deno.test("readBuildInfo() outside a git checkout reports the revision as unknown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pushvault-nogit-" });
  try {
    await Deno.writeTextFile(`${dir}/deno.json`, '{"version":"9.9.9"}');
    const info = await readBuildInfo({ root: dir });
    assert.equal(info.version, "9.9.9");
    assert.equal(info.revision, "unknown");
    assert.equal(info.branch, "unknown");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
