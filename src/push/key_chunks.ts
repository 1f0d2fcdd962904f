/**
 * A family's series keys as the push worker keeps them while it prepares a
 * large push: a JSON array per slice of consecutive keys (what
 * `families.rendered` is deflated from, and what crosses to the HTTP
 * thread, which parses each into strings of their own) instead of a string
 * per key. A million keys took about 100 MB of the worker's heap as
 * strings (each one built by concatenation, then flattened), about 45 MB
 * as JSON; and whether the keys are all different is found from a 53-bit
 * hash of each (8 bytes a key) instead of a Set of the strings.
 *
 * Keys handed over while the body is still parsed ({@link drain}) are kept
 * only as their piece of the deflated `families.rendered` (about a seventh
 * of their size), from which they can still be read back. Pure.
 * @module
 */

import { deflateKeyPiece, keysJson, keysOfKeyPieces } from "./rendered_blob.ts";

export class KeyChunks {
  /** JSON arrays not handed over yet. */
  #chunks: string[] = [];
  /** The deflated pieces of the keys handed over (rendered_blob.ts). */
  readonly #pieces: Uint8Array[] = [];
  #count = 0;
  /**
   * The keys' hashes: an array while few (a typed array of more than 64
   * bytes is allocated outside V8's heap, which a small push pays for),
   * typed from {@link TYPED_HASHES} on.
   */
  #hashes: number[] | Float64Array = [];
  /**
   * Whether the keys are all different, found from a Set of each add's
   * keys, for a family announced to come in one add: hashes are kept only
   * for larger ones. Undefined: from the hashes.
   */
  #distinct: boolean | undefined;
  #adds = 0;

  /** `expected`: the keys announced (Infinity: not known). */
  constructor(expected: number) {
    this.#distinct = expected <= ONE_ADD ? true : undefined;
  }

  /** Keys added. */
  get count(): number {
    return this.#count;
  }

  /** Whether keys were handed over by {@link drain}. */
  get drained(): boolean {
    return this.#pieces.length > 0;
  }

  /** The JSON arrays not handed over, in order. */
  get chunks(): readonly string[] {
    return this.#chunks;
  }

  /** Appends the next keys. */
  add(keys: readonly string[]): void {
    this.#chunks.push(keysJson(keys));
    if (this.#distinct !== undefined) {
      // A second add was not announced: not known (which only costs a Set).
      this.#distinct = this.#adds++ === 0 &&
        new Set(keys).size === keys.length;
      this.#count += keys.length;
      return;
    }
    const needed = this.#count + keys.length;
    const hashes = this.#hashes;
    if (needed >= TYPED_HASHES && needed > hashes.length) {
      const grown = new Float64Array(Math.max(needed, 2 * hashes.length));
      for (let i = 0; i < this.#count; i++) grown[i] = hashes[i] as number;
      this.#hashes = grown;
    }
    for (const key of keys) this.#hashes[this.#count++] = hashOf(key);
  }

  /**
   * Hands over the JSON arrays added since the last call, keeping only
   * their deflated pieces.
   */
  drain(): string[] {
    const chunks = this.#chunks;
    this.#chunks = [];
    for (const chunk of chunks) this.#deflate(chunk);
    return chunks;
  }

  /** Every key's deflated piece of `families.rendered`, in order. */
  deflatedPieces(): readonly Uint8Array[] {
    for (const chunk of this.#chunks) this.#deflate(chunk);
    this.#chunks = [];
    return this.#pieces;
  }

  #deflate(chunk: string): void {
    if (chunk === "[]") return;
    this.#pieces.push(deflateKeyPiece(chunk, this.#pieces.length === 0));
  }

  /**
   * Whether the keys are known all different: false when two share a
   * hash (equal, or, about once in 2^53 pairs, not), which only costs the
   * consistency check a Set of them.
   */
  distinct(): boolean {
    if (this.#distinct !== undefined) return this.#distinct;
    const hashes = this.#hashes;
    if (Array.isArray(hashes)) return new Set(hashes).size === hashes.length;
    const sorted = hashes.slice(0, this.#count).sort();
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i] === sorted[i - 1]) return false;
    }
    return true;
  }

  /** Every key as a string, those handed over included (rare paths). */
  keys(): string[] {
    return [
      ...keysOfKeyPieces(this.#pieces),
      ...this.#chunks.flatMap((chunk) => JSON.parse(chunk) as string[]),
    ];
  }
}

/** Keys a family may have to be known distinct from one Set (a slice). */
const ONE_ADD = 16_384;

/** Keys from which their hashes are a typed array. */
const TYPED_HASHES = 4096;

/** Two 32-bit FNV-1a hashes of `key` made one integer of 53 bits. */
function hashOf(key: string): number {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  return (a >>> 0) * 0x200000 + (b >>> 11);
}
