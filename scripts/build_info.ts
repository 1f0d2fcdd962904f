/**
 * Build information for `deno task bundle` and `deno task compile`: the
 * version from deno.json, the git revision and branch, the build date (UTC,
 * RFC 3339) and who built it, stamped into the output at build time.
 *
 * Stamping never touches the source tree: {@link stampBuild} writes a copy of
 * `src/version.ts` with the values into a temporary directory and an import
 * map that points `src/version.ts` at that copy (every other entry is
 * deno.json's own `imports`). The bundler and the compiler resolve the one
 * module through the map, so the output carries the constants and nothing
 * is read at run time. A source checkout keeps reporting `dev`.
 * @module
 */

import { hostname, userInfo } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";

/** A build step that failed; its message says what to do. */
export class BuildError extends Error {
  override name = "BuildError";
}

export interface BuildInfo {
  /** `version` of deno.json, e.g. `0.1.0`. */
  readonly version: string;
  /** `git rev-parse --short HEAD`, or `unknown` outside a git checkout. */
  readonly revision: string;
  /** The branch built, or `unknown`. */
  readonly branch: string;
  /** UTC, RFC 3339 to the second: `2026-11-25T12:08:05Z`. */
  readonly buildDate: string;
  /** `user@host` of the build. */
  readonly buildUser: string;
}

/** The repository root (the directory holding deno.json). */
export const ROOT = fileURLToPath(new URL("../", import.meta.url)).replace(
  /\/$/,
  "",
);

/** `src/version.ts`, the module the stamp replaces. */
export const VERSION_MODULE = `${ROOT}/src/version.ts`;

export interface ReadBuildInfoOptions {
  readonly root?: string;
  /** The build time; `SOURCE_DATE_EPOCH` (reproducible builds) wins over it. */
  readonly now?: () => Date;
}

/** Reads the values to stamp. Never fails: what git cannot tell is `unknown`. */
export async function readBuildInfo(
  options: ReadBuildInfoOptions = {},
): Promise<BuildInfo> {
  const root = options.root ?? ROOT;
  const denoJson: unknown = JSON.parse(
    await Deno.readTextFile(`${root}/deno.json`),
  );
  const version = isRecord(denoJson) && typeof denoJson.version === "string"
    ? denoJson.version
    : "unknown";
  const revision = await git(root, ["rev-parse", "--short", "HEAD"]);
  const branch = await git(root, ["rev-parse", "--abbrev-ref", "HEAD"]);
  return {
    version,
    revision,
    branch,
    buildDate: formatBuildDate(buildTime(options.now ?? (() => new Date()))),
    buildUser: `${userInfo().username}@${hostname()}`,
  };
}

/** `2026-11-25T12:08:05.148Z` → `2026-11-25T12:08:05Z`. */
export function formatBuildDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function buildTime(now: () => Date): Date {
  const epoch = Deno.env.get("SOURCE_DATE_EPOCH");
  if (epoch !== undefined && /^\d+$/.test(epoch)) {
    return new Date(Number(epoch) * 1000);
  }
  return now();
}

async function git(root: string, args: readonly string[]): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", root, ...args],
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    return out.success && text !== "" ? text : "unknown";
  } catch {
    return "unknown"; // git is not installed
  }
}

/** The source of `src/version.ts` with `info` in it. */
export function renderVersionModule(info: BuildInfo): string {
  const constant = (name: string, value: string) =>
    `export const ${name} = ${JSON.stringify(value)};\n`;
  return "/** Build information, stamped by scripts/build_info.ts. @module */\n\n" +
    constant("VERSION", info.version) +
    constant("REVISION", info.revision) +
    constant("BRANCH", info.branch) +
    constant("BUILD_DATE", info.buildDate) +
    constant("BUILD_USER", info.buildUser);
}

/** A stamped version module and the import map that selects it. */
export interface Stamp extends AsyncDisposable {
  readonly info: BuildInfo;
  /** Pass as `--import-map` to `deno bundle` / `deno compile`. */
  readonly importMap: string;
  /** The stamped copy of `src/version.ts` the map points at. */
  readonly versionModule: string;
}

/**
 * Writes the stamped `version.ts` and an import map into a new temporary
 * directory (removed on dispose). The map holds deno.json's `imports` plus
 * one entry from the URL of `src/version.ts` to the stamped copy: deno.json's
 * own map is replaced by `--import-map`, so it must be repeated.
 */
export async function stampBuild(
  info: BuildInfo,
  root: string = ROOT,
): Promise<Stamp> {
  const dir = await Deno.makeTempDir({ prefix: "pushvault-stamp-" });
  const denoJson: unknown = JSON.parse(
    await Deno.readTextFile(`${root}/deno.json`),
  );
  const imports: Record<string, string> = {};
  if (isRecord(denoJson) && isRecord(denoJson.imports)) {
    for (const [key, value] of Object.entries(denoJson.imports)) {
      if (typeof value === "string") imports[key] = value;
    }
  }
  const stamped = `${dir}/version.ts`;
  await Deno.writeTextFile(stamped, renderVersionModule(info));
  imports[pathToFileURL(`${root}/src/version.ts`).href] =
    pathToFileURL(stamped).href;
  const importMap = `${dir}/import_map.json`;
  await Deno.writeTextFile(
    importMap,
    `${JSON.stringify({ imports }, null, 2)}\n`,
  );
  return {
    info,
    importMap,
    versionModule: stamped,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
