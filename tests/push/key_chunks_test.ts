/**
 * The push worker's keys as JSON chunks (key_chunks.ts): the same keys
 * back, whether they are all different, and the same `families.rendered`
 * value as from the keys as strings.
 */
import assert from "node:assert/strict";
import { KeyChunks } from "../../src/push/key_chunks.ts";
import {
  encodeRenderedChunks,
  encodeRenderedJoined,
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
  const chunks = new KeyChunks();
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
        const one = new KeyChunks();
        one.add(part);
        chunks.push(...one.chunks);
        keys.push(...part);
      }
      const texts = keys.map((_, i) =>
        c.separator === true && i === 7 ? `m{a="\u0001"} ${i}` : `m ${i}`
      );
      const separatorFree = c.separator !== true;
      assert.deepEqual(
        encodeRenderedChunks(chunks, joined(texts), separatorFree),
        encodeRenderedJoined(keys, joined(texts), separatorFree),
      );
    });
  }
});
