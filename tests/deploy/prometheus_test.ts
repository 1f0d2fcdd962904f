/**
 * deploy/prometheus.yml and deploy/alerts.yml: valid for Debian's promtool,
 * and the alerts fire when they should (tests/deploy/alerts_test.yml, run by
 * `promtool test rules`).
 * @module
 */

import assert from "node:assert/strict";
import { ROOT, run } from "./deploy_utils.ts";

/** promtool is in Debian's prometheus package (scripts/setup.sh). */
function promtoolInstalled(): boolean {
  try {
    return Deno.statSync("/usr/bin/promtool").isFile;
  } catch {
    return false;
  }
}

const ignore = !promtoolInstalled();

Deno.test({
  name: "deploy/alerts.yml passes promtool check rules",
  ignore,
  fn: async () => {
    const result = await run("promtool", [
      "check",
      "rules",
      "deploy/alerts.yml",
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS: 4 rules found/);
  },
});

Deno.test({
  name: "deploy/prometheus.yml passes promtool check config with honor_labels",
  ignore,
  fn: async () => {
    const result = await run(
      "promtool",
      ["check", "config", "prometheus.yml"],
      {
        cwd: `${ROOT}/deploy`,
      },
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /prometheus\.yml is valid prometheus config/);
    assert.match(result.stdout, /SUCCESS: 4 rules found/);
    const config = await Deno.readTextFile(`${ROOT}/deploy/prometheus.yml`);
    assert.match(config, /^ {4}honor_labels: true$/m);
  },
});

Deno.test({
  name:
    "deploy/alerts.yml fires on refused pushes, stale groups, a down or full Pushvault",
  ignore,
  fn: async () => {
    const result = await run("promtool", [
      "test",
      "rules",
      "tests/deploy/alerts_test.yml",
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS/);
  },
});

Deno.test("deploy/alerts.yml compares the failure and push times of each group", async () => {
  const rules = await Deno.readTextFile(`${ROOT}/deploy/alerts.yml`);
  assert.match(rules, /expr: push_failure_time_seconds > push_time_seconds$/m);
  assert.match(rules, /expr: time\(\) - push_time_seconds > /m);
});
