/**
 * Shared test helpers: a fresh temp directory, a Config for tests, a real
 * Pushvault on a free loopback port against a real SQLite file.
 * @module
 */

import assert from "node:assert/strict";
import type { Config } from "../src/cli/flags.ts";
import { parseFlags } from "../src/cli/flags.ts";
import type { Gateway, StartOptions } from "../src/start.ts";
import { start } from "../src/start.ts";

export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

export async function tempDir(): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix: "pushvault-test-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** A Config from flags, listening on 127.0.0.1 with a free port. */
export function testConfig(
  dbPath: string,
  flags: readonly string[] = [],
): Config {
  const parsed = parseFlags([
    "--web.listen-address=127.0.0.1:0",
    `--persistence.file=${dbPath}`,
    ...flags,
  ]);
  if (parsed.type !== "run") {
    throw new Error("testConfig: flags did not parse to a run");
  }
  return parsed.config;
}

/** A running gateway with its own temp directory; dispose it to stop both. */
export interface TestGateway extends AsyncDisposable {
  readonly gw: Gateway;
  readonly url: string;
  readonly dbPath: string;
  readonly dir: string;
}

export async function startTestGateway(
  flags: readonly string[] = [],
  options: StartOptions & { dir?: string } = {},
): Promise<TestGateway> {
  const dir = options.dir ??
    await Deno.makeTempDir({ prefix: "pushvault-test-" });
  const dbPath = `${dir}/pv.db`;
  let gw: Gateway;
  try {
    gw = await start(testConfig(dbPath, flags), options);
  } catch (error) {
    if (!options.dir) await Deno.remove(dir, { recursive: true });
    throw error;
  }
  return {
    gw,
    url: gw.url,
    dbPath,
    dir,
    async [Symbol.asyncDispose]() {
      await gw.shutdown();
      if (!options.dir) await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Sends a request and returns status, headers and body text. */
export async function send(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, { redirect: "manual", ...init });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The scrape without the gateway's own families and with times replaced. */
export async function scrapePushed(url: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return stripOwn(text);
}

const OWN = /^(# (HELP|TYPE) )?(pushgateway_|pushvault_|process_|go_)/;

export function stripOwn(text: string): string {
  return text.split("\n").filter((line) => !OWN.test(line)).map((line) =>
    line.replace(
      /^(push_(failure_)?time_seconds\{[^}]*\}) (?!0$).*$/,
      "$1 <time>",
    )
  ).join("\n");
}

/** Asserts `promise` rejects with an `errorClass` whose message is or matches `message`. */
export async function rejectsWith(
  promise: Promise<unknown>,
  errorClass: new (...args: never[]) => Error,
  message: string | RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof errorClass, `got ${String(error)}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

/**
 * A thrown error as plain data (its class and the fields our errors carry),
 * for comparing what two paths threw with `deepEqual`.
 */
export function errorAsData(error: unknown): Record<string, unknown> {
  const e = error as Error & Record<string, unknown>;
  return {
    class: e.constructor.name,
    message: e.message,
    line: e.line,
    status: e.status,
    reason: e.reason,
    kind: e.kind,
  };
}
