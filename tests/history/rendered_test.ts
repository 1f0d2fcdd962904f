/**
 * `rendered`, the start-up cache of a current family: small families are
 * stored as text, large ones deflated, and both read back as written.
 */
import assert from "node:assert/strict";
import {
  COMPRESS_AT,
  decodeRendered,
  encodeRendered,
} from "../../src/push/rendered_blob.ts";
import { textAt } from "../../src/store/text_arena.ts";

const encoder = new TextEncoder();

function series(n: number) {
  const keys: string[] = [];
  const texts: string[] = [];
  for (let i = 0; i < n; i++) {
    keys.push(`job=load,table=t${i}`);
    texts.push(`rows_total{job="load",table="t${i}"} ${i * 7}`);
  }
  return { keys, texts };
}

function roundTrip(stored: string | Uint8Array) {
  const bytes = typeof stored === "string" ? encoder.encode(stored) : stored;
  const loaded = decodeRendered(bytes);
  assert.ok(loaded, "decoded");
  return {
    keys: [...loaded.keys],
    texts: loaded.keys.map((_, i) => textAt(loaded.texts, i)),
  };
}

Deno.test("a small family's rendered value stays text", () => {
  const small = series(3);
  const stored = encodeRendered(small);
  assert.equal(typeof stored, "string");
  assert.ok((stored as string).startsWith("pv4"));
  assert.deepEqual(roundTrip(stored), small);
});

Deno.test("a large family's rendered value is deflated and reads back", () => {
  const large = series(1000);
  const stored = encodeRendered(large);
  assert.ok(stored instanceof Uint8Array);
  assert.equal(new TextDecoder().decode(stored.subarray(0, 3)), "pz1");
  assert.ok(stored.length < COMPRESS_AT * 4, `${stored.length} bytes`);
  assert.deepEqual(roundTrip(stored), large);
});

Deno.test("a large family whose texts hold the separators reads back", () => {
  const odd = series(500);
  odd.texts[7] = 'x{a="\u0001\u0002"} 1';
  const stored = encodeRendered(odd);
  assert.ok(stored instanceof Uint8Array);
  assert.deepEqual(roundTrip(stored), odd);
});

Deno.test("a damaged deflated value is rendered again, not thrown", () => {
  const stored = encodeRendered(series(1000)) as Uint8Array;
  const damaged = stored.slice(0, 40);
  assert.equal(decodeRendered(damaged), undefined);
});
