/**
 * The size of the pieces a scrape's text is kept and sent in: the store
 * deflates its texts a piece at a time, and the HTTP layer slices a
 * response body on the same boundaries.
 * @module
 */

/**
 * Plain bytes per piece of `main` (and at most in the tail). Below glibc's
 * 128 KiB mmap threshold: buffers this size come from and go back to
 * malloc's arenas, where the next ones reuse them (see text_arena.ts,
 * largeBuffer).
 */
export const PIECE = 64 * 1024;
