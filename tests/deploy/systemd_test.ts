/**
 * deploy/pushvault.service (the compiled binary) and
 * deploy/pushvault-deno.service (the bundle run by Deno, for machines where
 * the binary cannot be built): valid for Debian's systemd
 * (`systemd-analyze verify`, no warning), hardened (`systemd-analyze
 * security --offline`), running Pushvault the way the README's "Install as
 * a service" says, and the bundle unit's command line really starts it.
 * @module
 */

import assert from "node:assert/strict";
import { RUN_PERMISSIONS, V8_FLAGS } from "../../scripts/compile.ts";
import {
  emptyDir,
  push,
  ROOT,
  run,
  runOk,
  startServer,
} from "./deploy_utils.ts";

/** Each unit and the executable its ExecStart runs. */
const UNITS = [
  { name: "pushvault.service", exec: "/usr/local/bin/pushvault" },
  { name: "pushvault-deno.service", exec: "/usr/bin/deno" },
] as const;

const BUNDLE = "/usr/local/lib/pushvault/pushvault.js";
const STATE = "/var/lib/pushvault";

/** `systemd-analyze` is in Debian's systemd package (scripts/setup.sh). */
function systemdAnalyzeInstalled(): boolean {
  try {
    return Deno.statSync("/usr/bin/systemd-analyze").isFile;
  } catch {
    return false;
  }
}

const ignore = !systemdAnalyzeInstalled();
const skipped = ignore ? " (skipped: systemd-analyze is not installed)" : "";

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

const readUnit = (name: string) =>
  Deno.readTextFileSync(`${ROOT}/deploy/${name}`);

for (const { name, exec } of UNITS) {
  Deno.test({
    name: `deploy/${name} passes systemd-analyze verify without a warning` +
      skipped,
    ignore,
    fn: async () => {
      // verify also checks that ExecStart exists: point it at a stand-in in
      // a temporary copy, changing nothing else.
      await using dir = await emptyDir();
      const stub = `${dir.path}/stub`;
      await Deno.writeTextFile(stub, "#!/bin/sh\n");
      await Deno.chmod(stub, 0o755);
      const unit = readUnit(name);
      assert.ok(unit.includes(`ExecStart=${exec} `));
      await Deno.writeTextFile(
        `${dir.path}/${name}`,
        unit.replaceAll(exec, stub),
      );
      const result = await run("systemd-analyze", [
        "verify",
        "--man=no",
        `${dir.path}/${name}`,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout + result.stderr, "");
    },
  });

  Deno.test({
    name: `deploy/${name} is rated OK by systemd-analyze security` + skipped,
    ignore,
    fn: async () => {
      const result = await run("systemd-analyze", [
        "security",
        "--offline=true",
        "--no-pager",
        `${ROOT}/deploy/${name}`,
      ]);
      assert.equal(result.code, 0, result.stderr);
      const match = new RegExp(
        `Overall exposure level for ${
          name.replace(".", "\\.")
        }: (\\d+\\.\\d) (\\w+)`,
      ).exec(result.stdout);
      assert.ok(match, result.stdout);
      // 0 is the best, 10 the worst; "OK" is systemd's best band (< 2.0).
      assert.ok(Number(match[1]) < 2, result.stdout);
      assert.equal(match[2], "OK");
    },
  });

  Deno.test(`deploy/${name} runs Pushvault as its own user with the database in its state directory`, async (t) => {
    const unit = settings(readUnit(name));
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
  const unit = settings(readUnit("pushvault-deno.service"));
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
