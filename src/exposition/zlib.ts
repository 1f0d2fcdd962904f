/**
 * node:zlib, loaded by its first use instead of at start. Importing any
 * `node:` module but node:sqlite makes Deno load its Node compatibility
 * layer, about 6 MiB and 15 ms of CPU before the first request
 * (docs/performance.md, "Fixed costs"); an idle gateway needs none of it.
 * The first push, scrape or compressed body loads it, synchronously, so
 * that callers stay synchronous.
 * @module
 */

import type * as Zlib from "node:zlib";

/** What Deno's `process` global offers for loading a built-in in place. */
interface BuiltinLoader {
  getBuiltinModule(id: "node:zlib"): typeof Zlib;
}

let loaded: typeof Zlib | undefined;

/** node:zlib; loaded on the first call. */
export function zlib(): typeof Zlib {
  loaded ??= (globalThis as unknown as { process: BuiltinLoader }).process
    .getBuiltinModule("node:zlib");
  return loaded;
}
