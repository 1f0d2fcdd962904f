/**
 * `deno task compile`: Pushvault as one executable, `dist/pushvault`, built
 * with `deno compile` from the type-checked bundle of scripts/bundle.ts
 * (build information stamped, npm packages inlined) with only the
 * permissions it needs ({@link RUN_PERMISSIONS}).
 *
 *   deno task compile                                  # this machine → dist/pushvault
 *   deno task compile --target=aarch64-unknown-linux-gnu  # → dist/pushvault-aarch64-unknown-linux-gnu
 *   deno task compile --target=all                     # every target in TARGETS
 *   deno task compile --output=/tmp/pv                 # one target, elsewhere
 *
 * `deno compile` appends the program to `denort`, Deno's runtime-only
 * binary of the same version, which it downloads from Deno's download
 * server. Where that server is unreachable, point `DENORT_BIN` at a local
 * denort (its architecture is checked against the target); a `denort` next
 * to the `deno` executable or on PATH is used for the host target when
 * DENORT_BIN is unset. A failed download ends with a message saying so and
 * how to set DENORT_BIN. A binary built for this machine is run once
 * (`--version`) before the task succeeds: a wrong base binary (a full
 * `deno` instead of `denort`) is caught here, not on the server.
 * @module
 */

import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BuildError, readBuildInfo, ROOT } from "./build_info.ts";
import type { BuildInfo } from "./build_info.ts";
import { bundle } from "./bundle.ts";

/** The targets `--target` accepts (`all` builds each). */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
] as const;

export type Target = typeof TARGETS[number];

/**
 * The permissions baked into the binary, and no others: `net` to listen
 * and for `pushvault import`/`delete` (any address, chosen by flags);
 * `read` and `write` for the database, its `-wal`/`-shm` files and the
 * backup taken before a migration, wherever `--persistence.file` puts them
 * (and the `--web.config.file` certificates). No `env`, `sys`, `run` or
 * `ffi`: tests/deploy/bundle_test.ts runs the bundle with exactly these.
 * Confine the file system further with the service manager
 * (deploy/pushvault.service: ProtectSystem=strict).
 */
export const RUN_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
] as const;

/**
 * V8 flags every way of running the server uses (the binary has them baked
 * in; `deno task start`, scripts/start.sh and the benchmarks pass them).
 * V8 lets its heap grow to about 2.4 times what a full GC leaves before the
 * next one: with 1M series (400 MB live) a server under pushes and scrapes
 * sat at 1.4 GB resident. Growing by 30% keeps it near 0.9 GB at the same
 * pushes/s (docs/performance.md). V8 freezes its flags at start, so
 * main.ts cannot set them itself.
 */
export const V8_FLAGS = ["--v8-flags=--heap-growing-percent=30"] as const;

export const DEFAULT_COMPILE_OUTPUT = `${ROOT}/dist/pushvault`;

/** The target of the machine running this script, if it is one of ours. */
export function hostTarget(): Target | undefined {
  return TARGETS.find((t) => t === Deno.build.target);
}

export function isTarget(value: string): value is Target {
  return TARGETS.some((t) => t === value);
}

/** What a command line of the task asks for. */
export interface CompileRequest {
  readonly builds: readonly { target: Target; output: string }[];
}

/** Parses the task's arguments; throws a BuildError naming a bad one. */
export function parseCompileArgs(args: readonly string[]): CompileRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        target: { type: "string", multiple: true },
        output: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new BuildError(
      `${error instanceof Error ? error.message : String(error)}\n${USAGE}`,
    );
  }
  const requested = parsed.values.target ?? [];
  const targets: Target[] = [];
  for (const value of requested) {
    if (value === "all") {
      targets.push(...TARGETS);
    } else if (isTarget(value)) {
      targets.push(value);
    } else {
      throw new BuildError(
        `unknown --target ${JSON.stringify(value)}; use one of ${
          TARGETS.join(", ")
        } or all`,
      );
    }
  }
  const unique = [...new Set(targets)];
  const output = parsed.values.output;
  if (output !== undefined && unique.length > 1) {
    throw new BuildError("--output names one file: give at most one --target");
  }
  if (unique.length === 0) {
    const host = hostTarget();
    if (host === undefined) {
      throw new BuildError(
        `this machine (${Deno.build.target}) is not a target; give --target`,
      );
    }
    return {
      builds: [{
        target: host,
        output: resolve(output ?? DEFAULT_COMPILE_OUTPUT),
      }],
    };
  }
  return {
    builds: unique.map((target) => ({
      target,
      output: resolve(output ?? `${DEFAULT_COMPILE_OUTPUT}-${target}`),
    })),
  };
}

const USAGE =
  "usage: deno task compile [--target=<target>|all]... [--output=<file>]";

/** The platform an executable was built for, read from its header. */
export type BinaryKind =
  | { readonly type: "target"; readonly target: Target }
  | { readonly type: "darwin-universal" }
  | { readonly type: "unknown" };

/** ELF (Linux) and Mach-O (macOS) headers → the target they run on. */
export function binaryKind(header: Uint8Array): BinaryKind {
  const view = new DataView(header.buffer, header.byteOffset, header.length);
  if (
    header.length >= 20 && header[0] === 0x7f && header[1] === 0x45 &&
    header[2] === 0x4c && header[3] === 0x46 && header[5] === 1 // little-endian
  ) {
    switch (view.getUint16(18, true)) { // e_machine
      case 0x3e:
        return { type: "target", target: "x86_64-unknown-linux-gnu" };
      case 0xb7:
        return { type: "target", target: "aarch64-unknown-linux-gnu" };
    }
    return { type: "unknown" };
  }
  if (header.length >= 8 && view.getUint32(0, true) === 0xfeedfacf) {
    switch (view.getUint32(4, true)) { // cputype
      case 0x01000007:
        return { type: "target", target: "x86_64-apple-darwin" };
      case 0x0100000c:
        return { type: "target", target: "aarch64-apple-darwin" };
    }
    return { type: "unknown" };
  }
  if (header.length >= 4 && view.getUint32(0, false) === 0xcafebabe) {
    return { type: "darwin-universal" };
  }
  return { type: "unknown" };
}

/** Whether an executable of `kind` runs on `target`. */
export function runsOn(kind: BinaryKind, target: Target): boolean {
  switch (kind.type) {
    case "target":
      return kind.target === target;
    case "darwin-universal":
      return target.endsWith("-apple-darwin");
    case "unknown":
      return false;
  }
}

/** Where the base binary comes from, for messages. */
export interface Denort {
  readonly path: string;
  readonly source: "DENORT_BIN" | "next to deno" | "PATH";
}

/**
 * The denort to build `target` with: DENORT_BIN when set (it must exist and
 * run on `target`), else for the host target a `denort` next to the `deno`
 * executable or on PATH, else undefined (deno compile downloads it).
 */
export async function findDenort(
  target: Target,
  env: { readonly get: (name: string) => string | undefined } = Deno.env,
): Promise<Denort | undefined> {
  const fromEnv = env.get("DENORT_BIN");
  if (fromEnv !== undefined && fromEnv !== "") {
    const path = resolve(fromEnv);
    const kind = await readKind(path);
    if (kind === undefined) {
      throw new BuildError(
        `DENORT_BIN=${
          JSON.stringify(fromEnv)
        } does not exist or cannot be read; ` +
          `point it at the denort binary of Deno ${Deno.version.deno} for ${target}`,
      );
    }
    if (!runsOn(kind, target)) {
      throw new BuildError(
        `DENORT_BIN=${
          JSON.stringify(fromEnv)
        } is not an executable for ${target} ` +
          `(${
            kind.type === "target"
              ? `it is for ${kind.target}`
              : "unknown format"
          }); build one target at a time with the matching denort`,
      );
    }
    return { path, source: "DENORT_BIN" };
  }
  if (target !== hostTarget()) return undefined;
  const candidates: Denort[] = [
    {
      path: `${dirname(await Deno.realPath(Deno.execPath()))}/denort`,
      source: "next to deno",
    },
    ...(env.get("PATH") ?? "").split(":").filter((dir) => dir !== "").map((
      dir,
    ): Denort => ({ path: `${dir}/denort`, source: "PATH" })),
  ];
  for (const candidate of candidates) {
    const kind = await readKind(candidate.path);
    if (kind !== undefined && runsOn(kind, target)) return candidate;
  }
  return undefined;
}

async function readKind(path: string): Promise<BinaryKind | undefined> {
  let file;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    const header = new Uint8Array(64);
    const n = await file.read(header) ?? 0;
    return binaryKind(header.subarray(0, n));
  } finally {
    file.close();
  }
}

/** The message for a failed denort download: what happened, what to do. */
export function downloadHint(target: Target): string {
  const version = Deno.version.deno;
  return [
    `deno compile could not download denort ${version} for ${target}, the runtime ` +
    `binary it builds on: Deno's download server is unreachable from this machine.`,
    `Set DENORT_BIN to a local denort of Deno ${version} for ${target} and run again:`,
    `  DENORT_BIN=/path/to/denort deno task compile${
      target === hostTarget() ? "" : ` --target=${target}`
    }`,
    `denort is in denort-${target}.zip of the Deno v${version} release; copy it from ` +
    `a machine that can download it (or place the zip in the Deno cache, ` +
    `$DENO_DIR/dl/release/v${version}/).`,
    `Without denort, \`deno task bundle\` builds dist/pushvault.js, which runs ` +
    `anywhere Deno ${version} is installed.`,
  ].join("\n");
}

/**
 * deno's output without the `Stack backtrace:` section its errors end with
 * where RUST_BACKTRACE is set: frames of its Rust code, `0: <unknown>` in a
 * release build, say nothing to the person who ran the task.
 */
export function withoutBacktrace(text: string): string {
  const start = text.search(/^Stack backtrace:\s*$/m);
  return start === -1 ? text : `${text.slice(0, start).trimEnd()}\n`;
}

/** Output of deno compile that means the base binary was not available. */
const DOWNLOAD_FAILURE = /Setting up base binary|denort-[\w-]+\.zip/;

export interface CompileOptions {
  readonly target: Target;
  readonly output: string;
  readonly info: BuildInfo;
  /** Defaults to {@link findDenort}. */
  readonly denort?: Denort | undefined;
}

/**
 * Compiles one target; throws a BuildError that says what to do.
 *
 * What is compiled is the type-checked, stamped bundle of scripts/bundle.ts
 * (the file tests/deploy/bundle_test.ts runs alone with RUN_PERMISSIONS),
 * not `src/main.ts`: `deno compile` 2.9.6 overflows its stack embedding the
 * node_modules of this project (prom-client, a test dependency in deno.json,
 * is enough), and a bundle has no npm packages left to embed.
 */
export async function compile(options: CompileOptions): Promise<void> {
  const { target, output, info } = options;
  const denort = options.denort ?? await findDenort(target);
  await Deno.mkdir(dirname(output), { recursive: true });
  const work = await Deno.makeTempDir({ prefix: "pushvault-compile-" });
  try {
    const bundled = `${work}/pushvault.js`;
    await bundle({ output: bundled, info });
    // RUST_BACKTRACE (set on some CI machines) makes deno's own errors end
    // in a backtrace of its Rust code: noise in the message we quote.
    const env: Record<string, string> = { NO_COLOR: "1", RUST_BACKTRACE: "0" };
    if (denort !== undefined) env.DENORT_BIN = denort.path;
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        "--no-config",
        "--no-lock",
        ...RUN_PERMISSIONS,
        ...V8_FLAGS,
        `--target=${target}`,
        `--output=${output}`,
        bundled,
      ],
      cwd: work,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = withoutBacktrace(new TextDecoder().decode(result.stderr));
    if (!result.success) {
      await removeLeftovers(output);
      if (denort === undefined && DOWNLOAD_FAILURE.test(stderr)) {
        throw new BuildError(
          `${
            downloadHint(target)
          }\n--- deno compile said ---\n${stderr.trim()}`,
        );
      }
      throw new BuildError(`deno compile failed for ${target}:\n${stderr}`);
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
  if (target === hostTarget()) await smokeTest(output, info, denort);
}

/** deno compile leaves `<output>.tmp-<hex>` behind when it fails. */
async function removeLeftovers(output: string): Promise<void> {
  const name = output.slice(dirname(output).length + 1);
  for await (const entry of Deno.readDir(dirname(output))) {
    if (entry.name.startsWith(`${name}.tmp-`)) {
      await Deno.remove(`${dirname(output)}/${entry.name}`).catch(() => {});
    }
  }
}

/** Runs the new binary with `--version`; a wrong base binary fails here. */
async function smokeTest(
  output: string,
  info: BuildInfo,
  denort: Denort | undefined,
): Promise<void> {
  const expected =
    `pushvault, version ${info.version} (revision: ${info.revision})`;
  let said = "";
  try {
    const run = await new Deno.Command(output, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const decoder = new TextDecoder();
    said = decoder.decode(run.stdout) + decoder.decode(run.stderr);
    if (run.success && said.startsWith(expected)) return;
  } catch (error) {
    said = error instanceof Error ? error.message : String(error);
  }
  await Deno.remove(output).catch(() => {});
  const base = denort === undefined
    ? "the downloaded denort"
    : `${denort.path} (${denort.source})`;
  throw new BuildError(
    `the compiled binary does not run as Pushvault, so it was removed: ` +
      `\`${output} --version\` printed ${JSON.stringify(said.trim())}, ` +
      `expected ${JSON.stringify(expected)}. Its base binary ${base} must be ` +
      `denort of Deno ${Deno.version.deno}, not the full deno executable.`,
  );
}

if (import.meta.main) {
  const print = (stream: typeof Deno.stdout, text: string) =>
    stream.writeSync(new TextEncoder().encode(text));
  try {
    const request = parseCompileArgs(Deno.args);
    const info = await readBuildInfo();
    for (const build of request.builds) {
      await compile({ ...build, info });
      const size = (await Deno.stat(build.output)).size;
      print(
        Deno.stdout,
        `compile: wrote ${build.output} (${build.target}, ${size} bytes; ` +
          `version ${info.version}, revision ${info.revision}, built ${info.buildDate})\n`,
      );
    }
  } catch (error) {
    if (!(error instanceof BuildError)) throw error;
    print(Deno.stderr, `compile: error: ${error.message}\n`);
    Deno.exit(1);
  }
}
