/**
 * What the tests of deploy/*.service share: reading a unit's settings, and
 * asking Debian's `systemd-analyze` (scripts/setup.sh installs systemd) to
 * verify a unit and to rate its hardening.
 * @module
 */

import assert from "node:assert/strict";
import { emptyDir, ROOT, run } from "./deploy_utils.ts";

function systemdAnalyzeInstalled(): boolean {
  try {
    return Deno.statSync("/usr/bin/systemd-analyze").isFile;
  } catch {
    return false;
  }
}

/** For `Deno.test({ ignore })`: no systemd-analyze, nothing to ask. */
export const SYSTEMD_IGNORE = !systemdAnalyzeInstalled();
/** Appended to a test's name where it is skipped, saying why. */
export const SYSTEMD_SKIPPED = SYSTEMD_IGNORE
  ? " (skipped: systemd-analyze is not installed)"
  : "";

/** The text of `deploy/<name>`. */
export function readUnit(name: string): string {
  return Deno.readTextFileSync(`${ROOT}/deploy/${name}`);
}

/** The unit's `Key=value` settings, continuation lines joined. */
export function unitSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.replace(/ *\\\n\s*/g, " ").split("\n")) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, key = "", value = ""] = match;
    out.set(key, [...(out.get(key) ?? []), value.trim()]);
  }
  return out;
}

/**
 * Asserts that `systemd-analyze verify` passes `deploy/<name>` without a
 * word. verify also checks that the executables exist: each of `executables`
 * is replaced by a stand-in in a temporary copy, nothing else is changed.
 */
export async function assertUnitVerifies(
  name: string,
  executables: readonly string[],
): Promise<void> {
  await using dir = await emptyDir();
  const stub = `${dir.path}/stub`;
  await Deno.writeTextFile(stub, "#!/bin/sh\n");
  await Deno.chmod(stub, 0o755);
  let text = readUnit(name);
  for (const executable of executables) {
    assert.ok(text.includes(executable), `${name} runs ${executable}`);
    text = text.replaceAll(executable, stub);
  }
  await Deno.writeTextFile(`${dir.path}/${name}`, text);
  const result = await run("systemd-analyze", [
    "verify",
    "--man=no",
    `${dir.path}/${name}`,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout + result.stderr, "");
}

/**
 * Asserts that `systemd-analyze security --offline` rates `deploy/<name>`
 * in systemd's best band, "OK" (below 2.0 on its scale of 0 to 10).
 */
export async function assertUnitHardened(name: string): Promise<void> {
  const result = await run("systemd-analyze", [
    "security",
    "--offline=true",
    "--no-pager",
    `${ROOT}/deploy/${name}`,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const match = new RegExp(
    `Overall exposure level for ${
      name.replaceAll(".", "\\.")
    }: (\\d+\\.\\d) (\\w+)`,
  ).exec(result.stdout);
  assert.ok(match, result.stdout);
  assert.ok(Number(match[1]) < 2, result.stdout);
  assert.equal(match[2], "OK");
}
