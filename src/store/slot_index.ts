/**
 * A family's index of series key → slot (FamilyEntry.slots): one Map while
 * small, split into {@link SHARDS} Maps by a hash of the key from
 * {@link SPLIT_AT} keys on. A Map that grows rehashes every entry it holds
 * in one go: at 1M → 2M keys that took 70 ms alone and 300 ms in the server
 * while four large pushes shared a family (docs/performance.md, Abuse); a
 * shard of a split index holds a 64th of the keys, so its growth is short.
 * Hashing the key again costs a split index about 1 ns a character per
 * lookup, which only large families pay. Pure data structure.
 * @module
 */

/** Maps of a split index (a power of two). */
const SHARDS = 64;
/** Keys from which the index is split (a few ms to split). */
const SPLIT_AT = 65_536;

export class SlotIndex {
  /** The one Map, until split. */
  #one: Map<string, number> | undefined = new Map();
  #shards: Map<string, number>[] = [];
  #size = 0;

  get size(): number {
    return this.#one?.size ?? this.#size;
  }

  get(key: string): number | undefined {
    return (this.#one ?? this.#shardOf(key)).get(key);
  }

  has(key: string): boolean {
    return (this.#one ?? this.#shardOf(key)).has(key);
  }

  set(key: string, slot: number): this {
    const one = this.#one;
    if (one !== undefined) {
      one.set(key, slot);
      if (one.size >= SPLIT_AT) this.#split(one);
      return this;
    }
    const shard = this.#shardOf(key);
    const before = shard.size;
    shard.set(key, slot);
    this.#size += shard.size - before;
    return this;
  }

  delete(key: string): boolean {
    const one = this.#one;
    if (one !== undefined) return one.delete(key);
    const deleted = this.#shardOf(key).delete(key);
    if (deleted) this.#size--;
    return deleted;
  }

  clear(): void {
    this.#one = new Map();
    this.#shards = [];
    this.#size = 0;
  }

  /** Every slot, in no particular order. */
  *values(): IterableIterator<number> {
    if (this.#one !== undefined) {
      yield* this.#one.values();
      return;
    }
    for (const shard of this.#shards) yield* shard.values();
  }

  #split(one: Map<string, number>): void {
    this.#shards = Array.from({ length: SHARDS }, () => new Map());
    this.#one = undefined;
    this.#size = one.size;
    for (const [key, slot] of one) this.#shardOf(key).set(key, slot);
  }

  #shardOf(key: string): Map<string, number> {
    let h = key.length;
    for (let i = 0; i < key.length; i++) {
      h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
    }
    return this.#shards[h & (SHARDS - 1)] as Map<string, number>;
  }
}
