import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32, gunzipSync } from "node:zlib";
import {
  compressFragment,
  crc32Combine,
  FragmentError,
  inflateFragment,
  inflateFragments,
  joinGzip,
} from "../../src/exposition/gzip_fragments.ts";

const encoder = new TextEncoder();

function concat(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

Deno.test("crc32Combine() equals the CRC of the concatenation", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }),
      (a, b) => {
        const whole = crc32(concat([a, b])) >>> 0;
        assert.equal(
          crc32Combine(crc32(a) >>> 0, crc32(b) >>> 0, b.length),
          whole,
        );
      },
    ),
    { seed: 7, numRuns: 300 },
  );
});

Deno.test("joinGzip() makes one gzip member that gunzip and DecompressionStream read", async () => {
  const parts = [
    "# TYPE a gauge\na 1\n",
    "",
    "b 2\n".repeat(10_000),
    "ü€😀 ok\n",
  ];
  const fragments = parts.map((p) => compressFragment(encoder.encode(p)));
  const gz = concat(joinGzip(fragments));
  assert.equal(new TextDecoder().decode(gunzipSync(gz)), parts.join(""));
  const viaStream = await new Response(
    new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).text();
  assert.equal(viaStream, parts.join(""));
});

Deno.test("joinGzip() of no fragments is an empty gzip stream", () => {
  assert.equal(gunzipSync(concat(joinGzip([]))).length, 0);
});

Deno.test("joinGzip() output decodes for random fragment lists", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ maxLength: 200 }), { maxLength: 8 }),
      (parts) => {
        const gz = concat(
          joinGzip(parts.map((p) => compressFragment(encoder.encode(p)))),
        );
        assert.equal(new TextDecoder().decode(gunzipSync(gz)), parts.join(""));
      },
    ),
    { seed: 11, numRuns: 200 },
  );
});

/** `bytes` as a plain Uint8Array (node:zlib hands out Buffers). */
function plainView(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

Deno.test("inflateFragment() gives back the bytes, at every level, in a buffer of their own", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 70_000 }),
      fc.integer({ min: 1, max: 9 }),
      (bytes, level) => {
        const fragment = compressFragment(bytes, level);
        assert.equal(fragment.length, bytes.length);
        const back = inflateFragment(fragment);
        assert.deepEqual(plainView(back), bytes);
        // Its own buffer: freeing it touches nothing else.
        assert.equal(back.byteOffset, 0);
        assert.equal(back.buffer.byteLength, bytes.length);
        assert.equal(fragment.deflated.byteOffset, 0);
        assert.equal(
          fragment.deflated.buffer.byteLength,
          fragment.deflated.length,
        );
        back.buffer.transfer(0);
        assert.deepEqual(plainView(inflateFragment(fragment)), bytes);
      },
    ),
    { seed: 13, numRuns: 60 },
  );
});

Deno.test("inflateFragment() refuses a fragment whose recorded length is wrong", () => {
  const fragment = compressFragment(encoder.encode("a 1\n".repeat(100)));
  assert.throws(
    () => inflateFragment({ ...fragment, length: fragment.length + 1 }),
    (e: unknown) =>
      e instanceof FragmentError &&
      /inflated to 400 bytes, not 401/.test(e.message),
  );
});

Deno.test("inflateFragments() joins the fragments' bytes in order", () => {
  const parts = ["# TYPE a gauge\na 1\n", "", "ü€😀\n".repeat(5_000), "b 2\n"];
  const joined = inflateFragments(
    parts.map((p) => compressFragment(encoder.encode(p))),
  );
  assert.equal(new TextDecoder().decode(joined), parts.join(""));
  assert.equal(inflateFragments([]).length, 0);
});
