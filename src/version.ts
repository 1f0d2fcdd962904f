/**
 * Build information. `deno task bundle` and `deno task compile` stamp it
 * without touching this file: scripts/build_info.ts writes a copy with the
 * version of deno.json, the git revision and branch, and the build date, and
 * an import map points this module at the copy. A source checkout reports
 * revision "dev". Keep the exports in step with renderVersionModule()
 * (tests/deploy/build_info_test.ts checks both, and VERSION against
 * deno.json).
 * @module
 */

export const VERSION = "0.1.0";
export const REVISION = "dev";
export const BRANCH = "main";
export const BUILD_DATE = "unknown";
export const BUILD_USER = "pushvault";
