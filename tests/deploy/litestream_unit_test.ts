/**
 * deploy/pushvault-litestream.service and deploy/litestream.yml (README
 * "Beyond one machine"): the unit is valid for Debian's systemd
 * (`systemd-analyze verify`, no warning) and hardened like the plain unit,
 * restores only a missing database before it replicates, and names the same
 * database as the configuration it reads.
 * @module
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import { emptyDir, ROOT, run } from "./deploy_utils.ts";

const NAME = "pushvault-litestream.service";
const LITESTREAM = "/usr/local/bin/litestream";
const PUSHVAULT = "/usr/local/bin/pushvault";
const DB = "/var/lib/pushvault/pushvault.db";

function installed(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

const ignore = !installed("/usr/bin/systemd-analyze");
const skipped = ignore ? " (skipped: systemd-analyze is not installed)" : "";
const unitText = () => Deno.readTextFileSync(`${ROOT}/deploy/${NAME}`);

/** The unit's `Key=value` settings, continuation lines joined. */
function settings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.replace(/ *\\\n\s*/g, " ").split("\n")) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, key = "", value = ""] = match;
    out.set(key, [...(out.get(key) ?? []), value.trim()]);
  }
  return out;
}

Deno.test({
  name: `deploy/${NAME} passes systemd-analyze verify without a warning` +
    skipped,
  ignore,
  fn: async () => {
    // verify checks that the executables exist: stand-ins in a copy.
    await using dir = await emptyDir();
    const stub = `${dir.path}/stub`;
    await Deno.writeTextFile(stub, "#!/bin/sh\n");
    await Deno.chmod(stub, 0o755);
    await Deno.writeTextFile(
      `${dir.path}/${NAME}`,
      unitText().replaceAll(LITESTREAM, stub).replaceAll(PUSHVAULT, stub),
    );
    const result = await run("systemd-analyze", [
      "verify",
      "--man=no",
      `${dir.path}/${NAME}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout + result.stderr, "");
  },
});

Deno.test({
  name: `deploy/${NAME} is rated OK by systemd-analyze security` + skipped,
  ignore,
  fn: async () => {
    const result = await run("systemd-analyze", [
      "security",
      "--offline=true",
      "--no-pager",
      `${ROOT}/deploy/${NAME}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const match = /Overall exposure level for \S+: (\d+\.\d) (\w+)/.exec(
      result.stdout,
    );
    assert.ok(match, result.stdout);
    assert.ok(Number(match[1]) < 2, result.stdout);
  },
});

Deno.test(`deploy/${NAME} restores only a missing database, then replicates Pushvault with -exec`, () => {
  const unit = settings(unitText());
  const pre = unit.get("ExecStartPre")?.[0] ?? "";
  assert.equal(
    pre,
    `${LITESTREAM} restore -config /etc/pushvault/litestream.yml -if-db-not-exists -if-replica-exists ${DB}`,
  );
  const start = unit.get("ExecStart")?.[0] ?? "";
  assert.equal(
    start,
    `${LITESTREAM} replicate -config /etc/pushvault/litestream.yml -exec "${PUSHVAULT} --web.listen-address=:9091 --persistence.file=${DB}"`,
  );
  assert.deepEqual(unit.get("RestartPreventExitStatus"), ["1"]);
  assert.deepEqual(unit.get("StateDirectory"), ["pushvault"]);
  assert.deepEqual(unit.get("Conflicts"), ["pushvault.service"]);
});

Deno.test("deploy/litestream.yml replicates the unit's database, once a second", () => {
  const config = parse(
    Deno.readTextFileSync(`${ROOT}/deploy/litestream.yml`),
  ) as { dbs: { path: string; replicas: Record<string, string>[] }[] };
  assert.equal(config.dbs.length, 1);
  const [db] = config.dbs;
  assert.equal(db?.path, DB);
  assert.deepEqual(db.replicas.map((r) => r.type), ["s3"]);
  assert.equal(db.replicas[0]?.["sync-interval"], "1s");
});
