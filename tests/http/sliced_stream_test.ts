/**
 * slicedStream(): every byte in pieces of PIECE, a gzip body that inflates
 * to the same bytes, and the event loop let in while a generator works.
 * @module
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { encodeText, slicedStream } from "../../src/http/sliced_stream.ts";
import { PIECE } from "../../src/store/piece.ts";

async function chunksOf(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function joined(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function* lines(n: number): Generator<string, void, undefined> {
  for (let i = 0; i < n; i++) yield `line_${i} ${i}\n`;
}

const expected = new TextEncoder().encode([...lines(20_000)].join(""));

Deno.test("slicedStream() sends every byte, in reads of PIECE bytes but the last", async () => {
  const chunks = await chunksOf(
    slicedStream(encodeText(lines(20_000)), { gzip: false }),
  );
  assert.deepEqual(joined(chunks), expected);
  assert.ok(chunks.length > 2);
  for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.length, PIECE);
});

Deno.test("slicedStream() with gzip sends one member that inflates to the same bytes", async () => {
  const chunks = await chunksOf(
    slicedStream(encodeText(lines(20_000)), { gzip: true }),
  );
  assert.deepEqual(new Uint8Array(gunzipSync(joined(chunks))), expected);
});

Deno.test("slicedStream() lets a timer run while its generator works", async () => {
  // 40 ms of work before anything is sent: the stream lets the event loop
  // run in between, so a timer set before the read fires before its end.
  function* slow(): Generator<Uint8Array, void, undefined> {
    const end = performance.now() + 40;
    while (performance.now() < end) yield new Uint8Array(0);
    yield new Uint8Array([1, 2, 3]);
  }
  let fired = false;
  setTimeout(() => fired = true, 0);
  const chunks = await chunksOf(slicedStream(slow(), { gzip: false }));
  const firedBeforeTheEnd = fired;
  assert.ok(firedBeforeTheEnd);
  assert.deepEqual(joined(chunks), new Uint8Array([1, 2, 3]));
});
