import assert from "node:assert/strict";
import fc from "fast-check";
import { PIECE, TextArena } from "../../src/store/text_arena.ts";
import type { JoinedTexts } from "../../src/push/rendered_blob.ts";
import {
  type GzipFragment,
  inflateFragment,
} from "../../src/exposition/gzip_fragments.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Texts as start-up hands them over: UTF-8, joined by 0x01. */
function joinedOf(texts: readonly string[]): JoinedTexts {
  const bounds: number[] = [];
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const text of texts) {
    const bytes = encoder.encode(text);
    if (parts.length > 0) {
      parts.push(new Uint8Array([1]));
      at++;
    }
    bounds.push(at, at + bytes.length);
    parts.push(bytes);
    at += bytes.length;
  }
  const joined = new Uint8Array(at);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return { joined, bounds };
}

/** The text the deflated pieces of a build hold. */
function plain(pieces: readonly GzipFragment[]): string {
  // Bytes first: a piece may end inside a character.
  const bytes = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const piece of pieces) {
    bytes.set(inflateFragment(piece), at);
    at += piece.length;
  }
  return decoder.decode(bytes);
}

const text = fc.oneof(
  fc.constantFrom("a 1\n", "é 2\n", "😀 3\n", "\uFFFF\n", ""),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
  // Big enough to make the tail grow and fold into main.
  fc.integer({ min: 0, max: 20_000 }).map((n) => `x${"y".repeat(n)}\n`),
);

type Op =
  | { kind: "write"; slots: number[]; texts: string[]; joined: boolean }
  | { kind: "drop"; slot: number }
  | { kind: "build"; order: number[] };

const SLOTS = 12;
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.uniqueArray(fc.integer({ min: 0, max: SLOTS - 1 }), {
    minLength: 1,
    maxLength: 5,
  }).chain((slots) =>
    fc.record({
      kind: fc.constant("write" as const),
      slots: fc.constant(slots),
      texts: fc.array(text, {
        minLength: slots.length,
        maxLength: slots.length,
      }),
      joined: fc.boolean(),
    })
  ),
  fc.record({
    kind: fc.constant("drop" as const),
    slot: fc.integer({ min: 0, max: SLOTS - 1 }),
  }),
  fc.record({
    kind: fc.constant("build" as const),
    order: fc.shuffledSubarray(
      Array.from({ length: SLOTS }, (_, i) => i),
      { minLength: SLOTS },
    ),
  }),
);

Deno.test("TextArena keeps each slot's last text through writes, drops, builds and compactions", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const model = new Map<number, string>();
      const arena = new TextArena((slot) => model.has(slot));
      const scraped: { pieces: GzipFragment[]; expected: string }[] = [];
      for (const o of ops) {
        if (o.kind === "write") {
          arena.write(o.slots, o.joined ? joinedOf(o.texts) : o.texts);
          o.slots.forEach((slot, k) => model.set(slot, o.texts[k] as string));
        } else if (o.kind === "drop") {
          arena.drop(o.slot);
          model.delete(o.slot);
        } else {
          // Every live slot, in some order (as the view passes them).
          const order = o.order.filter((slot) => model.has(slot));
          const header = encoder.encode("# H\n");
          const include = (slot: number) => slot % 3 !== 0;
          const pieces = arena.build(header, order, include);
          const expected = "# H\n" +
            order.filter(include).map((s) => model.get(s)).join("");
          assert.equal(plain(pieces), expected);
          scraped.push({ pieces, expected });
        }
        for (const [slot, value] of model) {
          assert.equal(arena.text(slot), value, `slot ${slot}`);
        }
      }
      // What a scrape got is never written again.
      for (const { pieces, expected } of scraped) {
        assert.equal(plain(pieces), expected);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("TextArena writes only the texts an index list picks", () => {
  const arena = new TextArena(() => true);
  arena.write([4, 7], ["zero\n", "one\n", "two\n"], [0, 2]);
  arena.write([1], joinedOf(["a\n", "bé\n", "c\n"]), [1]);
  assert.equal(arena.text(4), "zero\n");
  assert.equal(arena.text(7), "two\n");
  assert.equal(arena.text(1), "bé\n");
  const pieces = arena.build(new Uint8Array(0), [7, 1, 4], () => true);
  assert.equal(plain(pieces), "two\nbé\nzero\n");
});

Deno.test("TextArena frees overwritten texts without a scrape: memory follows the live texts", () => {
  const live = new Set([0, 1, 2]);
  const arena = new TextArena((slot) => live.has(slot));
  const big = (round: number, slot: number) =>
    `${round}:${slot}:${"v".repeat(30_000)}\n`;
  for (let round = 0; round < 200; round++) {
    arena.write([0, 1, 2], [0, 1, 2].map((slot) => big(round, slot)));
  }
  for (const slot of live) assert.equal(arena.text(slot), big(199, slot));
  // 90 KB live after 18 MB written: held bytes stay within a few times that.
  assert.ok(arena.capacity < 1_000_000, `capacity ${arena.capacity}`);
});

Deno.test("TextArena keeps a family of several MiB in deflated pieces, texts split across them read whole", () => {
  const live = new Set<number>();
  const arena = new TextArena((slot) => live.has(slot));
  // 5,000 texts of 300–1,300 bytes (some with 2-byte characters): about 4 MiB.
  const textOf = (slot: number, round: number) =>
    `s${slot}r${round}${"é".repeat(slot % 7)}${
      "x".repeat(300 + slot % 1000)
    }\n`;
  const slots = Array.from({ length: 5000 }, (_, i) => i);
  for (let i = 0; i < slots.length; i += 100) {
    const batch = slots.slice(i, i + 100);
    arena.write(batch, batch.map((slot) => textOf(slot, 0)));
    for (const slot of batch) live.add(slot);
  }
  const order = [...slots].reverse();
  const pieces = arena.build(new Uint8Array(0), order, (s) => s % 2 === 0);
  assert.ok(pieces.length > 1, `${pieces.length} pieces`);
  for (const piece of pieces) assert.ok(piece.length <= PIECE);
  assert.equal(
    plain(pieces),
    order.filter((s) => s % 2 === 0).map((s) => textOf(s, 0)).join(""),
  );
  // Deflated: the texts repeat themselves a lot.
  assert.ok(arena.capacity < 1_000_000, `capacity ${arena.capacity}`);
  // Again in the same order: now read a piece at a time (`main` is in that
  // order), with a few new texts from the tail mixed in.
  for (let slot = 0; slot < 5000; slot += 500) {
    arena.write([slot], [textOf(slot, 0)]);
  }
  assert.equal(
    plain(arena.build(new Uint8Array(0), order, (s) => s % 2 === 0)),
    order.filter((s) => s % 2 === 0).map((s) => textOf(s, 0)).join(""),
  );
  // Overwrite a third (folded into main as a run, then rebuilt), drop some.
  for (let slot = 0; slot < 5000; slot += 3) {
    arena.write([slot], [textOf(slot, 1)]);
  }
  for (let slot = 1; slot < 5000; slot += 10) {
    arena.drop(slot);
    live.delete(slot);
  }
  const expected = (slot: number) => textOf(slot, slot % 3 === 0 ? 1 : 0);
  for (const slot of live) assert.equal(arena.text(slot), expected(slot));
  const all = [...live];
  assert.deepEqual(arena.texts(all), all.map(expected));
  const again = arena.build(new TextEncoder().encode("# H\n"), all, () => true);
  assert.equal(plain(again), "# H\n" + all.map(expected).join(""));
  // The first build's pieces are as they were.
  assert.equal(
    plain(pieces),
    order.filter((s) => s % 2 === 0).map((s) => textOf(s, 0)).join(""),
  );
});
