/**
 * `deno task bundle`: one JavaScript file, `dist/pushvault.js`, that runs with
 * `deno run` from any directory (the container image runs it). npm packages
 * (protobufjs) are bundled in; build information is stamped
 * (scripts/build_info.ts). Type-checks first, like `deno compile`.
 *
 *   deno task bundle [--output=dist/pushvault.js]
 *
 * The bundle is checked after it is written: it must import nothing but
 * `node:` built-ins, so that it needs neither the source tree, nor
 * node_modules, nor a registry where it runs.
 * @module
 */

import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BuildError, readBuildInfo, ROOT, stampBuild } from "./build_info.ts";
import type { BuildInfo } from "./build_info.ts";

export const DEFAULT_BUNDLE_OUTPUT = `${ROOT}/dist/pushvault.js`;

export interface BundleOptions {
  readonly output?: string;
  /** Defaults to {@link readBuildInfo}. */
  readonly info?: BuildInfo;
}

/** Bundles `src/main.ts` into one file; returns what was stamped. */
export async function bundle(options: BundleOptions = {}): Promise<BuildInfo> {
  const output = options.output ?? DEFAULT_BUNDLE_OUTPUT;
  const info = options.info ?? await readBuildInfo();
  await using stamp = await stampBuild(info);
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--check",
      "--platform=deno",
      "--packages=bundle",
      `--import-map=${stamp.importMap}`,
      `--output=${output}`,
      `${ROOT}/src/main.ts`,
    ],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  if (!result.success) {
    throw new BuildError(`deno bundle failed:\n${stderr}`);
  }
  const foreign = foreignImports(await Deno.readTextFile(output));
  if (foreign.length > 0) {
    throw new BuildError(
      `${output} imports ${
        foreign.map((s) => JSON.stringify(s)).join(", ")
      }: a bundle may import only node: built-ins`,
    );
  }
  return info;
}

/**
 * The specifiers of static and dynamic imports in `code` that are not
 * `node:` built-ins (a bundled npm package or source file would show here).
 */
export function foreignImports(code: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /^\s*import\s[^;]*?from\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) {
      const specifier = match[1];
      if (specifier !== undefined && !specifier.startsWith("node:")) {
        found.add(specifier);
      }
    }
  }
  return [...found].sort();
}

function describe(info: BuildInfo): string {
  return `version ${info.version}, revision ${info.revision}, built ${info.buildDate}`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { output: { type: "string" } },
  });
  const output = resolve(values.output ?? DEFAULT_BUNDLE_OUTPUT);
  try {
    await Deno.mkdir(dirname(output), { recursive: true });
    const info = await bundle({ output });
    const size = (await Deno.stat(output)).size;
    Deno.stdout.writeSync(
      new TextEncoder().encode(
        `bundle: wrote ${output} (${size} bytes; ${describe(info)})\n`,
      ),
    );
  } catch (error) {
    if (!(error instanceof BuildError)) throw error;
    Deno.stderr.writeSync(
      new TextEncoder().encode(`bundle: error: ${error.message}\n`),
    );
    Deno.exit(1);
  }
}
