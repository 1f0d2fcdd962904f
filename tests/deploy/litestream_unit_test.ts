/**
 * deploy/pushvault-litestream.service and deploy/litestream.yml (docs/operations.md,
 * "Beyond one machine"): the unit is valid for Debian's systemd
 * (`systemd-analyze verify`, no warning) and hardened like the plain unit,
 * restores only a missing database before it replicates, and names the same
 * database as the configuration it reads.
 * @module
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import { ROOT } from "./deploy_utils.ts";
import {
  assertUnitHardened,
  assertUnitVerifies,
  readUnit,
  SYSTEMD_IGNORE,
  SYSTEMD_SKIPPED,
  unitSettings,
} from "./systemd_units.ts";

const NAME = "pushvault-litestream.service";
const LITESTREAM = "/usr/local/bin/litestream";
const PUSHVAULT = "/usr/local/bin/pushvault";
const DB = "/var/lib/pushvault/pushvault.db";

const unitText = () => readUnit(NAME);

Deno.test({
  name: `deploy/${NAME} passes systemd-analyze verify without a warning` +
    SYSTEMD_SKIPPED,
  ignore: SYSTEMD_IGNORE,
  fn: () => assertUnitVerifies(NAME, [LITESTREAM, PUSHVAULT]),
});

Deno.test({
  name: `deploy/${NAME} is rated OK by systemd-analyze security` +
    SYSTEMD_SKIPPED,
  ignore: SYSTEMD_IGNORE,
  fn: () => assertUnitHardened(NAME),
});

Deno.test(`deploy/${NAME} restores only a missing database, then replicates Pushvault with -exec`, () => {
  const unit = unitSettings(unitText());
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
