/**
 * A minor GC on request, when the runtime allows it (V8's `--expose-gc`,
 * which every way of running the server passes: scripts/compile.ts
 * V8_FLAGS). Without it, nothing happens: memory is freed at V8's own pace.
 *
 * Why (issue 7): each `node:zlib` call leaves an output buffer and the
 * native stream behind until the GC runs, about 40 KiB per 64 KiB piece.
 * V8 does not see that memory, so a scrape that inflates 2,000 pieces left
 * 60–90 MiB of it in malloc's arena. A scavenge every 128 calls (a few ms)
 * frees it while it is still young.
 * @module
 */

type Gc = (options?: { type?: "minor" | "major" }) => void;

const gc = (globalThis as { gc?: Gc }).gc;

/** Runs a minor GC if the runtime exposes one. */
export function collectYoungGarbage(): void {
  gc?.({ type: "minor" });
}
