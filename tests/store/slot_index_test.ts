import assert from "node:assert/strict";
import { SlotIndex } from "../../src/store/slot_index.ts";

Deno.test("SlotIndex answers as a Map would, before and after it becomes a table", () => {
  // As in a family: the key of every slot the index holds is keys[slot].
  const keys: string[] = [];
  const index = new SlotIndex((slot) => keys[slot] as string);
  const map = new Map<string, number>();
  const key = (i: number) => `#${i % 13}  ${i}  a  b  `;
  const check = () => {
    assert.equal(index.size, map.size);
    for (let i = 0; i < 200_000; i += 997) {
      assert.equal(index.get(key(i)), map.get(key(i)));
      assert.equal(index.has(key(i)), map.has(key(i)));
    }
    assert.deepEqual(
      [...index.values()].sort((a, b) => a - b),
      [...map.values()].sort((a, b) => a - b),
    );
  };
  const put = (k: string) => {
    const slot = keys.length;
    keys.push(k);
    index.set(k, slot);
    map.set(k, slot);
  };
  for (let i = 0; i < 150_000; i++) {
    put(key(i));
    if (i % 50_000 === 0) check();
  }
  // Moved to another slot (the size stays), deleted (present or not), the
  // deleted ones put back, which reuses the deleted places or grows.
  for (let i = 0; i < 150_000; i += 3) {
    put(key(i));
    assert.equal(index.delete(key(i + 1)), map.delete(key(i + 1)));
    assert.equal(index.delete(key(i + 1)), false);
  }
  check();
  for (let i = 1; i < 150_000; i += 3) put(key(i));
  for (let i = 150_000; i < 200_000; i++) put(key(i));
  check();
  index.clear();
  map.clear();
  keys.length = 0;
  put("x");
  check();
});
