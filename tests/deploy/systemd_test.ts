/**
 * deploy/pushvault.service (the compiled binary) and
 * deploy/pushvault-deno.service (the bundle run by Deno, for machines where
 * the binary cannot be built): valid for Debian's systemd
 * (`systemd-analyze verify`, no warning), hardened (`systemd-analyze
 * security --offline`), running Pushvault the way docs/operations.md's "Install as
 * a service" says, and the bundle unit's command line really starts it.
 * @module
 */

import assert from "node:assert/strict";
import { RUN_PERMISSIONS, V8_FLAGS } from "../../scripts/compile.ts";
import { emptyDir, push, runOk, startServer } from "./deploy_utils.ts";
import {
  assertUnitHardened,
  assertUnitVerifies,
  readUnit,
  SYSTEMD_IGNORE,
  SYSTEMD_SKIPPED,
  unitSettings,
} from "./systemd_units.ts";

/** Each unit and the executable its ExecStart runs. */
const UNITS = [
  { name: "pushvault.service", exec: "/usr/local/bin/pushvault" },
  { name: "pushvault-deno.service", exec: "/usr/bin/deno" },
] as const;

const BUNDLE = "/usr/local/lib/pushvault/pushvault.js";
const STATE = "/var/lib/pushvault";

for (const { name, exec } of UNITS) {
  Deno.test({
    name: `deploy/${name} passes systemd-analyze verify without a warning` +
      SYSTEMD_SKIPPED,
    ignore: SYSTEMD_IGNORE,
    fn: async () => {
      assert.ok(readUnit(name).includes(`ExecStart=${exec} `));
      await assertUnitVerifies(name, [exec]);
    },
  });

  Deno.test({
    name: `deploy/${name} is rated OK by systemd-analyze security` +
      SYSTEMD_SKIPPED,
    ignore: SYSTEMD_IGNORE,
    fn: () => assertUnitHardened(name),
  });

  Deno.test(`deploy/${name} runs Pushvault as its own user with the database in its state directory`, async (t) => {
    const unit = unitSettings(readUnit(name));
    const cases = [
      ["User", "pushvault"],
      ["DynamicUser", "yes"],
      ["StateDirectory", "pushvault"],
      ["ProtectSystem", "strict"],
      ["ProtectHome", "yes"],
      ["PrivateTmp", "yes"],
      ["NoNewPrivileges", "yes"],
      ["RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"],
      ["SystemCallFilter", "@system-service"],
      ["Restart", "on-failure"],
      ["RestartPreventExitStatus", "1 2"],
      ["Documentation", "file:/usr/local/share/doc/pushvault/README.md"],
    ] as const;
    for (const [key, value] of cases) {
      await t.step(`${key}=${value}`, () => {
        assert.ok(
          unit.get(key)?.includes(value),
          `${key} is ${JSON.stringify(unit.get(key))}`,
        );
      });
    }
    await t.step("ExecStart keeps the database in /var/lib/pushvault", () => {
      const line = unit.get("ExecStart")?.[0] ?? "";
      assert.ok(line.startsWith(`${exec} `), line);
      assert.ok(
        line.includes(`--persistence.file=${STATE}/pushvault.db`),
        line,
      );
    });
    await t.step("V8 needs writable executable memory", () => {
      assert.equal(unit.get("MemoryDenyWriteExecute"), undefined);
    });
  });
}

Deno.test("deploy/pushvault-deno.service runs the bundle with the binary's permissions and V8 flags", async (t) => {
  const unit = unitSettings(readUnit("pushvault-deno.service"));
  const line = unit.get("ExecStart")?.[0] ?? "";
  const args = line.split(/\s+/);
  await t.step("the flags of scripts/compile.ts, and no others", () => {
    for (const flag of [...RUN_PERMISSIONS, ...V8_FLAGS]) {
      assert.ok(args.includes(flag), `${flag} in ${line}`);
    }
    assert.ok(!args.includes("-A") && !args.includes("--allow-all"), line);
    assert.ok(args.includes(BUNDLE), line);
  });
  await t.step("Deno's cache is the one other place it may write", () => {
    assert.deepEqual(unit.get("CacheDirectory"), ["pushvault"]);
    assert.match(
      unit.get("Environment")?.join(" ") ?? "",
      /(^| )DENO_DIR=\/var\/cache\/pushvault( |$)/,
    );
  });
  await t.step(
    "its command line starts the bundle and takes a push",
    async () => {
      await using dir = await emptyDir();
      const bundle = `${dir.path}/pushvault.js`;
      await runOk(Deno.execPath(), ["task", "bundle", `--output=${bundle}`]);
      // The unit's own arguments; only the paths of this machine differ.
      const local = args.slice(1).map((arg) =>
        arg === BUNDLE
          ? bundle
          : arg.startsWith("--web.listen-address=")
          ? "--web.listen-address=127.0.0.1:0"
          : arg.replace(STATE, dir.path)
      );
      await using server = await startServer(Deno.execPath(), local, {
        cwd: dir.path,
        env: { DENO_DIR: `${dir.path}/cache` },
      });
      assert.equal(await push(server.url, "job/unit", "unit_ok 1\n"), 200);
      assert.ok(Deno.statSync(`${dir.path}/pushvault.db`).isFile);
      assert.equal((await server.stop()).code, 0);
    },
  );
});
