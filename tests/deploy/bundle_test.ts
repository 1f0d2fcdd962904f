/**
 * `deno task bundle`: dist/pushvault.js runs alone from an empty directory
 * (nothing is read from the source tree, node_modules or a registry at run
 * time), with the permissions the compiled binary gets, and reports the
 * build information stamped into it.
 * @module
 */

import assert from "node:assert/strict";
import { RUN_PERMISSIONS } from "../../scripts/compile.ts";
import { foreignImports } from "../../scripts/bundle.ts";
import { pushgatewayInstalled, withProcesses } from "../e2e/process_utils.ts";
import {
  emptyDir,
  getText,
  push,
  run,
  runOk,
  startServer,
} from "./deploy_utils.ts";

const deno = Deno.execPath();

/** What the task printed: `…; version V, revision R, built D)`. */
function stampedInfo(stdout: string) {
  const match = /version (\S+), revision (\S+), built (\S+)\)/.exec(stdout);
  assert.ok(match, `no build information in ${JSON.stringify(stdout)}`);
  return {
    version: match[1] as string,
    revision: match[2] as string,
    buildDate: match[3] as string,
  };
}

/** Runs the bundle from `dir` with nothing cached and no config to find. */
function bundleEnv(dir: string) {
  return { cwd: dir, env: { DENO_DIR: `${dir}/.deno-dir` } };
}

Deno.test("deno task bundle builds one file that runs alone from an empty directory", async (t) => {
  await using build = await emptyDir();
  await using alone = await emptyDir();
  const output = `${build.path}/pushvault.js`;
  const task = await runOk(deno, ["task", "bundle", `--output=${output}`]);
  const info = stampedInfo(task.stdout);
  await Deno.copyFile(output, `${alone.path}/pushvault.js`);
  const code = await Deno.readTextFile(output);

  await t.step("it imports nothing but node: built-ins", () => {
    assert.deepEqual(foreignImports(code), []);
    assert.doesNotMatch(code, /from "npm:|import\("npm:|file:\/\/\//);
  });

  await t.step(
    "--version shows the stamped version, revision and date",
    async () => {
      const version = await runOk(
        deno,
        ["run", "-A", "pushvault.js", "--version"],
        bundleEnv(alone.path),
      );
      assert.match(
        version.stdout,
        new RegExp(
          `^pushvault, version ${info.version} \\(revision: ${info.revision}\\)\n` +
            `  build date: ${info.buildDate}\n`,
        ),
      );
      assert.match(info.revision, /^[0-9a-f]{7,}$/);
      // The revision is a commit of this repository.
      await runOk("git", ["cat-file", "-e", `${info.revision}^{commit}`]);
      assert.match(info.buildDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    },
  );

  await t.step("it starts there, takes a push and serves it", async () => {
    await using server = await startServer(
      deno,
      [
        "run",
        "-A",
        "pushvault.js",
        "--web.listen-address=127.0.0.1:0",
        "--persistence.file=pv.db",
      ],
      bundleEnv(alone.path),
    );
    assert.equal(
      await push(server.url, "job/bundle/instance/a", "bundle_ok 42\n"),
      200,
    );
    const scrape = await getText(server.url, "/metrics");
    assert.match(scrape, /^bundle_ok\{instance="a",job="bundle"\} 42$/m);
    assert.match(
      scrape,
      new RegExp(
        `^pushgateway_build_info\\{[^}]*revision="${info.revision}",version="${info.version}"\\} 1$`,
        "m",
      ),
    );
    assert.match(
      scrape,
      new RegExp(
        `^pushvault_build_info\\{build_date="${info.buildDate}",[^}]*revision="${info.revision}",version="${info.version}"\\} 1$`,
        "m",
      ),
    );
    const status = JSON.parse(await getText(server.url, "/api/v1/status"));
    assert.equal(status.data.build_information.version, info.version);
    assert.equal(status.data.build_information.revision, info.revision);
    assert.equal(status.data.build_information.buildDate, info.buildDate);
    assert.equal((await server.stop()).code, 0, server.output());
    // The database is where --persistence.file said, relative to the cwd.
    assert.ok((await Deno.stat(`${alone.path}/pv.db`)).isFile);
  });

  await t.step(
    "it runs with only the permissions of the compiled binary",
    async () => {
      await using server = await startServer(
        deno,
        [
          "run",
          "--no-prompt",
          "--no-remote",
          "--no-npm",
          ...RUN_PERMISSIONS,
          "pushvault.js",
          "--web.listen-address=127.0.0.1:0",
          "--persistence.file=restricted.db",
          "--history.retention=1h",
        ],
        bundleEnv(alone.path),
      );
      // A push, a refused push, a delete, and everything that reads: each
      // would fail with NotCapable if it needed more.
      assert.equal(
        await push(server.url, "job/restricted", "ok_total 1\n"),
        200,
      );
      assert.equal(
        await push(server.url, "job/restricted", "bad 1 1000\n", "POST"),
        400,
      );
      // A large body goes to the push worker, which runs the bundle itself
      // (it starts with the first one; until it is ready, pushes are
      // prepared inline).
      const large = Array.from(
        { length: 2000 },
        (_, i) => `large_rows_total{shard="s${i}"} ${i}\n`,
      ).join("");
      let onWorker = 0;
      for (let attempt = 0; attempt < 50 && onWorker === 0; attempt++) {
        assert.equal(await push(server.url, "job/large", large), 200);
        onWorker = Number(
          /^pushvault_pushes_prepared_on_worker_total (\d+)$/m.exec(
            await getText(server.url, "/metrics"),
          )?.[1],
        );
        if (onWorker === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(onWorker > 0, "no push was prepared on the push worker");
      const del = await fetch(`${server.url}/metrics/job/gone`, {
        method: "DELETE",
      });
      await del.body?.cancel();
      assert.equal(del.status, 202);
      const scrape = await getText(server.url, "/metrics");
      assert.match(scrape, /^ok_total\{instance="",job="restricted"\} 1$/m);
      assert.match(scrape, /^process_resident_memory_bytes \S+$/m);
      assert.match(scrape, /^process_cpu_seconds_total \S+$/m);
      for (
        const path of [
          "/api/v1/status",
          "/api/v1/metrics",
          "/api/v1/history",
          "/-/ready",
          "/",
        ]
      ) {
        await getText(server.url, path);
      }
      assert.equal((await server.stop()).code, 0, server.output());
      assert.doesNotMatch(server.output(), /NotCapable|Requires \w+ access/);
    },
  );

  await t.step(
    "it cannot start without any one of those permissions",
    async (t) => {
      const cases = [
        { without: "--allow-net", error: /cannot listen on .*net access/ },
        {
          without: "--allow-read",
          error: /cannot read database .*read access/,
        },
        {
          without: "--allow-write",
          error: /cannot open database .*write access/,
        },
      ] as const;
      assert.deepEqual(cases.map((c) => c.without), [...RUN_PERMISSIONS]);
      for (const c of cases) {
        await t.step(c.without, async () => {
          const result = await run(
            deno,
            [
              "run",
              "--no-prompt",
              ...RUN_PERMISSIONS.filter((p) => p !== c.without),
              "pushvault.js",
              "--web.listen-address=127.0.0.1:0",
              "--persistence.file=denied.db",
            ],
            { ...bundleEnv(alone.path), timeoutMs: 30_000 },
          );
          assert.equal(result.code, 1, result.stderr);
          assert.match(result.stderr, c.error);
        });
      }
    },
  );

  await t.step({
    name: "its import subcommand copies a Pushgateway with those permissions",
    ignore: !pushgatewayInstalled(),
    fn: () =>
      withProcesses(async (group) => {
        const gateway = await group.pushgateway();
        assert.equal(
          await push(
            gateway.url,
            "job/legacy/instance/n1",
            "# TYPE legacy_bytes gauge\nlegacy_bytes 7\n",
          ),
          200,
        );
        const imported = await run(
          deno,
          [
            "run",
            "--no-prompt",
            ...RUN_PERMISSIONS,
            "pushvault.js",
            "import",
            `--from=${gateway.url}`,
            "--persistence.file=imported.db",
          ],
          bundleEnv(alone.path),
        );
        assert.equal(imported.code, 0, imported.stdout + imported.stderr);
        await using server = await startServer(
          deno,
          [
            "run",
            ...RUN_PERMISSIONS,
            "pushvault.js",
            "--web.listen-address=127.0.0.1:0",
            "--persistence.file=imported.db",
          ],
          bundleEnv(alone.path),
        );
        assert.match(
          await getText(server.url, "/metrics"),
          /^legacy_bytes\{instance="n1",job="legacy"\} 7$/m,
        );
        assert.equal((await server.stop()).code, 0, server.output());
      }),
  });
});
