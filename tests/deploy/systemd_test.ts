/**
 * deploy/pushvault.service: valid for Debian's systemd (`systemd-analyze
 * verify`, no warning), hardened (`systemd-analyze security --offline`), and
 * running Pushvault the way the README's "Operations" section says.
 * @module
 */

import assert from "node:assert/strict";
import { emptyDir, ROOT, run } from "./deploy_utils.ts";

const UNIT = `${ROOT}/deploy/pushvault.service`;
const EXEC = "/usr/local/bin/pushvault";

/** `systemd-analyze` is in Debian's systemd package (scripts/setup.sh). */
function systemdAnalyzeInstalled(): boolean {
  try {
    return Deno.statSync("/usr/bin/systemd-analyze").isFile;
  } catch {
    return false;
  }
}

const ignore = !systemdAnalyzeInstalled();

/** The unit's `Key=value` settings (continuation lines joined). */
function settings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const joined = text.replace(/\\\n\s*/g, " ");
  for (const line of joined.split("\n")) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, key, value] = match as unknown as [string, string, string];
    out.set(key, [...(out.get(key) ?? []), value.trim()]);
  }
  return out;
}

Deno.test({
  name:
    "deploy/pushvault.service passes systemd-analyze verify without a warning",
  ignore,
  fn: async () => {
    // verify also checks that ExecStart exists: point it at a stand-in in a
    // temporary copy, changing nothing else.
    await using dir = await emptyDir();
    const stub = `${dir.path}/pushvault`;
    await Deno.writeTextFile(stub, "#!/bin/sh\n");
    await Deno.chmod(stub, 0o755);
    const unit = await Deno.readTextFile(UNIT);
    assert.ok(unit.includes(`ExecStart=${EXEC} `));
    await Deno.writeTextFile(
      `${dir.path}/pushvault.service`,
      unit.replaceAll(EXEC, stub),
    );
    const result = await run("systemd-analyze", [
      "verify",
      "--man=no",
      `${dir.path}/pushvault.service`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout + result.stderr, "");
  },
});

Deno.test({
  name: "deploy/pushvault.service is rated OK by systemd-analyze security",
  ignore,
  fn: async () => {
    const result = await run("systemd-analyze", [
      "security",
      "--offline=true",
      "--no-pager",
      UNIT,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const match =
      /Overall exposure level for pushvault\.service: (\d+\.\d) (\w+)/
        .exec(result.stdout);
    assert.ok(match, result.stdout);
    // 0 is the best, 10 the worst; "OK" is systemd's best band (< 2.0).
    assert.ok(Number(match[1]) < 2, result.stdout);
    assert.equal(match[2], "OK");
  },
});

Deno.test("deploy/pushvault.service runs Pushvault as its own user with the database in its state directory", async (t) => {
  const unit = settings(await Deno.readTextFile(UNIT));
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
    const exec = unit.get("ExecStart")?.[0] ?? "";
    assert.match(
      exec,
      /^\/usr\/local\/bin\/pushvault .*--persistence\.file=\/var\/lib\/pushvault\/pushvault\.db/,
    );
  });
  await t.step("V8 needs writable executable memory", () => {
    assert.equal(unit.get("MemoryDenyWriteExecute"), undefined);
  });
});
