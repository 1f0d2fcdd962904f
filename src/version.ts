/**
 * Build information. The build scripts (deno task compile / bundle) rewrite
 * these constants in a copy of this module; a source checkout reports "dev".
 * @module
 */

export const VERSION = "0.1.0";
export const REVISION = "dev";
export const BRANCH = "main";
export const BUILD_DATE = "unknown";
export const BUILD_USER = "pushvault";
