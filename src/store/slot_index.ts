/**
 * A family's index of series key → slot (FamilyEntry.slots): one Map while
 * small; from {@link TABLE_AT} keys on, an open-addressing table of typed
 * arrays (each entry's slot and a hash of its key, 8 bytes), the key itself
 * read from the family's arrays (`keyOf(slot)`, which holds the key of
 * every slot indexed).
 *
 * The table is in 64 parts chosen by the top bits of the hash, so that a
 * growth moves a 64th of the entries (about 0.2 ms at a million keys).
 *
 * It was one Map, whose growth at 1M → 2M keys rehashed every entry at once
 * (70 ms alone, about 300 ms in the server while four large pushes shared a
 * family), then 64 Maps chosen by a hash of the key, which a million keys
 * made slow: 0.6–1 µs a lookup and insert (a step of 4,096 series of a
 * pushed family 20–30 ms alone, over 100 ms in the server with the garbage
 * collector's work), about 37 bytes a key, and a million pointers for the
 * collector to follow. The table takes about 0.1 µs a lookup (the key's
 * hash, about 1 ns a character, then typed arrays), 11–23 bytes a key; a
 * growth moves the entries by their stored hashes without reading a key.
 * Pure data structure.
 * @module
 */

/** Keys from which the index is a table (a few ms to build). */
const TABLE_AT = 16_384;
/** Most entries (live or deleted) a table holds per slot of capacity. */
const MAX_LOAD = 0.7;
/** An empty place of the table; a deleted one is {@link DELETED}. */
const EMPTY = 0;
const DELETED = -1;

export class SlotIndex {
  readonly #keyOf: (slot: number) => string;
  /** The one Map, until the table is built. */
  #one: Map<string, number> | undefined = new Map();
  /** The table, in {@link SHARDS} parts chosen by the top bits of a hash. */
  #shards: Shard[] = [];
  #size = 0;
  /** The last key hashed and its hash: a lookup is often followed by a set. */
  #lastKey = "";
  #lastHash = 0;

  /** `keyOf(slot)`: the key of a slot the index holds. */
  constructor(keyOf: (slot: number) => string) {
    this.#keyOf = keyOf;
  }

  get size(): number {
    return this.#one?.size ?? this.#size;
  }

  get(key: string): number | undefined {
    const one = this.#one;
    if (one !== undefined) return one.get(key);
    const hash = this.#hash(key);
    const shard = this.#shards[hash >>> SHARD_SHIFT] as Shard;
    const at = this.#find(shard, key, hash);
    return at < 0 ? undefined : (shard.places[at] as number) - 1;
  }

  has(key: string): boolean {
    const one = this.#one;
    if (one !== undefined) return one.has(key);
    const hash = this.#hash(key);
    return this.#find(this.#shards[hash >>> SHARD_SHIFT] as Shard, key, hash) >=
      0;
  }

  set(key: string, slot: number): this {
    const one = this.#one;
    if (one !== undefined) {
      one.set(key, slot);
      if (one.size >= TABLE_AT) this.#build(one);
      return this;
    }
    const hash = this.#hash(key);
    const shard = this.#shards[hash >>> SHARD_SHIFT] as Shard;
    const at = this.#find(shard, key, hash);
    if (at >= 0) {
      shard.places[at] = slot + 1;
      return this;
    }
    if (shard.used + 1 > MAX_LOAD * shard.places.length) grow(shard);
    insert(shard, hash, slot);
    shard.size++;
    this.#size++;
    return this;
  }

  delete(key: string): boolean {
    const one = this.#one;
    if (one !== undefined) return one.delete(key);
    const hash = this.#hash(key);
    const shard = this.#shards[hash >>> SHARD_SHIFT] as Shard;
    const at = this.#find(shard, key, hash);
    if (at < 0) return false;
    shard.places[at] = DELETED;
    shard.size--;
    this.#size--;
    return true;
  }

  clear(): void {
    this.#one = new Map();
    this.#shards = [];
    this.#size = 0;
    this.#lastKey = "";
  }

  /** Every slot, in no particular order. */
  *values(): IterableIterator<number> {
    if (this.#one !== undefined) {
      yield* this.#one.values();
      return;
    }
    for (const { places } of this.#shards) {
      for (let i = 0; i < places.length; i++) {
        const place = places[i] as number;
        if (place > 0) yield place - 1;
      }
    }
  }

  #hash(key: string): number {
    if (key !== this.#lastKey) {
      this.#lastKey = key;
      this.#lastHash = hashOf(key);
    }
    return this.#lastHash;
  }

  /** The place of `key` (whose hash is `hash`) in `shard`, or -1. */
  #find(shard: Shard, key: string, hash: number): number {
    const { places, hashes, mask } = shard;
    for (let at = hash & mask;; at = (at + 1) & mask) {
      const place = places[at] as number;
      if (place === EMPTY) return -1;
      if (
        place > 0 && hashes[at] === hash && this.#keyOf(place - 1) === key
      ) {
        return at;
      }
    }
  }

  #build(one: Map<string, number>): void {
    this.#one = undefined;
    const perShard = capacityFor(one.size / SHARDS);
    this.#shards = Array.from({ length: SHARDS }, () => newShard(perShard));
    for (const [key, slot] of one) {
      const hash = hashOf(key);
      const shard = this.#shards[hash >>> SHARD_SHIFT] as Shard;
      insert(shard, hash, slot);
      shard.size++;
    }
    this.#size = one.size;
  }
}

/** Parts of a table: a growth moves a 64th of the entries. */
const SHARDS = 64;
const SHARD_SHIFT = 26;

/** A part of the table. */
interface Shard {
  /** Per place: the slot + 1, {@link EMPTY} or {@link DELETED}. */
  places: Int32Array;
  /** Per place: the hash of its key. */
  hashes: Int32Array;
  mask: number;
  size: number;
  /** Places that are not empty (live or deleted). */
  used: number;
}

function newShard(capacity: number): Shard {
  return {
    places: new Int32Array(capacity),
    hashes: new Int32Array(capacity),
    mask: capacity - 1,
    size: 0,
    used: 0,
  };
}

/** Puts a key not in `shard` (its hash `hash`) at its first free place. */
function insert(shard: Shard, hash: number, slot: number): void {
  const { places, mask } = shard;
  let at = hash & mask;
  while ((places[at] as number) > 0) at = (at + 1) & mask;
  if (places[at] === EMPTY) shard.used++;
  places[at] = slot + 1;
  shard.hashes[at] = hash;
}

/** A larger shard, or the same size without its deleted places. */
function grow(shard: Shard): void {
  const { places, hashes } = shard;
  const capacity = capacityFor(shard.size + 1);
  shard.places = new Int32Array(capacity);
  shard.hashes = new Int32Array(capacity);
  shard.mask = capacity - 1;
  shard.used = 0;
  for (let i = 0; i < places.length; i++) {
    const place = places[i] as number;
    if (place > 0) insert(shard, hashes[i] as number, place - 1);
  }
}

/** A power of two with room for `size` entries at half the most load. */
function capacityFor(size: number): number {
  let capacity = 64;
  while (capacity * MAX_LOAD < 2 * size) capacity *= 2;
  return capacity;
}

/** FNV-1a of the key's UTF-16 units, then mixed (murmur3's finalizer). */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
