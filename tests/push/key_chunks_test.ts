/**
 * The push worker's keys as JSON chunks (key_chunks.ts): the same keys
 * back, whether they are all different, and the same `families.rendered`
 * value as from the keys as strings.
 */
import assert from "node:assert/strict";
import { KeyChunks } from "../../src/push/key_chunks.ts";
import {
  encodeRendered,
  encodeRenderedChunks,
  encodeRenderedJoined,
  encodeRenderedStrings,
  type JoinedTexts,
} from "../../src/push/rendered_blob.ts";

const encoder = new TextEncoder();

/** `n` keys, one with a quote and one beyond ASCII among them. */
function keysOf(n: number, from = 0): string[] {
  return Array.from(
    { length: n },
    (_, i) => i === 3 ? `#k"${from + i}  ` : `#k${from + i}é  `,
  );
}

function joined(texts: readonly string[]): JoinedTexts {
  const bytes = encoder.encode(texts.join("\u0001"));
  const bounds: number[] = [];
  let at = 0;
  for (const text of texts) {
    const length = encoder.encode(text).length;
    bounds.push(at, at + length);
    at += length + 1;
  }
  return { joined: bytes, bounds };
}

Deno.test("KeyChunks gives its keys back in order and knows whether they are all different", () => {
  const chunks = new KeyChunks(Infinity);
  assert.equal(chunks.distinct(), true);
  chunks.add(keysOf(1500));
  chunks.add([]);
  chunks.add(keysOf(700, 1500));
  assert.equal(chunks.count, 2200);
  assert.deepEqual(chunks.keys(), [...keysOf(1500), ...keysOf(700, 1500)]);
  assert.equal(chunks.distinct(), true);
  chunks.add(keysOf(1, 10));
  assert.equal(chunks.distinct(), false);
});

Deno.test("encodeRenderedChunks() is encodeRenderedJoined() of the same keys", async (t) => {
  const cases = [
    { name: "small, one chunk", sizes: [5] },
    { name: "small, two chunks", sizes: [3, 4] },
    { name: "one chunk, deflated", sizes: [3000] },
    { name: "large, several chunks", sizes: [16_384, 16_384, 900] },
    { name: "an empty chunk among them", sizes: [16_384, 0, 20] },
    { name: "texts holding a separator", sizes: [16_384, 10], separator: true },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const chunks: string[] = [];
      const keys: string[] = [];
      for (const size of c.sizes) {
        const part = keysOf(size, keys.length);
        const one = new KeyChunks(Infinity);
        one.add(part);
        chunks.push(...one.chunks);
        keys.push(...part);
      }
      const texts = keys.map((_, i) =>
        c.separator === true && i === 7 ? `m{a="\u0001"} ${i}` : `m ${i}`
      );
      const separatorFree = c.separator !== true;
      assert.deepEqual(
        encodeRenderedChunks(chunks, keys.length, joined(texts), separatorFree),
        encodeRenderedJoined(keys, joined(texts), separatorFree),
      );
    });
  }
});

Deno.test("KeyChunks of a family announced to come in one slice knows its distinctness from the keys themselves", () => {
  const once = new KeyChunks(5);
  once.add(keysOf(5));
  assert.equal(once.distinct(), true);
  const repeated = new KeyChunks(3);
  repeated.add([...keysOf(2), ...keysOf(1)]);
  assert.equal(repeated.distinct(), false);
  // A second slice after all: not known, which is what false says.
  const twice = new KeyChunks(4);
  twice.add(keysOf(2));
  twice.add(keysOf(2, 2));
  assert.equal(twice.distinct(), false);
  assert.deepEqual(twice.keys(), [...keysOf(2), ...keysOf(2, 2)]);
});

Deno.test("encodeRenderedStrings() is encodeRendered() of the same keys and texts", () => {
  for (const texts of [["a 1", "b 2"], ["a 1", "b\u00012"], []]) {
    const keys = keysOf(texts.length);
    const one = new KeyChunks(texts.length);
    one.add(keys.slice(0, 1));
    const rest = new KeyChunks(texts.length);
    rest.add(keys.slice(1));
    assert.deepEqual(
      encodeRenderedStrings([...one.chunks, ...rest.chunks], texts),
      encodeRendered({ keys, texts }),
    );
  }
  const many = keysOf(3000);
  const manyTexts = many.map((_, i) => `m ${i}`);
  const chunks = new KeyChunks(3000);
  chunks.add(many);
  assert.deepEqual(
    encodeRenderedStrings(chunks.chunks, manyTexts),
    encodeRendered({ keys: many, texts: manyTexts }),
  );
});
