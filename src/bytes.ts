/**
 * Byte arrays put together.
 * @module
 */

/**
 * `parts` copied one after another into a new array of `length` bytes (their
 * total), whose buffer is its own: safe to transfer between threads.
 */
export function concatBytes(
  parts: readonly Uint8Array[],
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
