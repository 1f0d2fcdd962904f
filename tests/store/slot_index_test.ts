import assert from "node:assert/strict";
import { SlotIndex } from "../../src/store/slot_index.ts";

Deno.test("SlotIndex answers as a Map would, before and after it splits", () => {
  const index = new SlotIndex();
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
  for (let i = 0; i < 150_000; i++) {
    index.set(key(i), i);
    map.set(key(i), i);
    if (i % 50_000 === 0) check();
  }
  // Set again (the size stays), deleted (present or not).
  for (let i = 0; i < 150_000; i += 3) {
    index.set(key(i), -i);
    map.set(key(i), -i);
    assert.equal(index.delete(key(i + 1)), map.delete(key(i + 1)));
    assert.equal(index.delete(key(i + 1)), false);
  }
  check();
  index.clear();
  map.clear();
  index.set("x", 1);
  map.set("x", 1);
  check();
});
