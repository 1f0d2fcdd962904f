/**
 * readBodyLimited() on plain and byte streams, and large push bodies read
 * by a real Pushvault from curl, with and without Content-Length.
 * @module
 */

import assert from "node:assert/strict";
import { BodyTooLargeError } from "../../src/exposition/decompress.ts";
import { readBodyLimited } from "../../src/http/request_body.ts";
import { rejectsWith, startTestGateway } from "../test_utils.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function streamOf(
  chunks: readonly Uint8Array[],
  onCancel?: () => void,
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks[i++];
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
    cancel() {
      onCancel?.();
    },
  });
}

Deno.test("readBodyLimited() reads a null body as empty", async () => {
  assert.equal((await readBodyLimited(null, 10)).length, 0);
});

Deno.test("readBodyLimited() joins the chunks of a body within the limit", async () => {
  const body = await readBodyLimited(
    streamOf([
      encoder.encode("a 1\n"),
      encoder.encode("b 2\n"),
      encoder.encode("c 3\n"),
    ]),
    12,
  );
  assert.equal(decoder.decode(body), "a 1\nb 2\nc 3\n");
});

Deno.test("readBodyLimited() keeps every byte while its buffer grows or is sized in advance", async (t) => {
  // 300 chunks of 1000 bytes: the buffer grows from 64 KiB several times,
  // or is sized once by the declared length (even a wrong one).
  const chunks = Array.from(
    { length: 300 },
    (_, i) => new Uint8Array(1000).fill(i % 251),
  );
  const expected = new Uint8Array(300_000);
  chunks.forEach((chunk, i) => expected.set(chunk, i * 1000));
  for (const declared of [undefined, 300_000, 1000, 400_000]) {
    await t.step(`declared ${declared}`, async () => {
      const body = await readBodyLimited(
        streamOf(chunks),
        400_000,
        undefined,
        declared,
      );
      assert.deepEqual(body, expected);
    });
  }
});

Deno.test("readBodyLimited() stops and cancels the stream past the limit", async () => {
  let cancelled = false;
  let pulled = 0;
  const chunks = Array.from({ length: 100 }, () => new Uint8Array(1000));
  const stream = streamOf(chunks, () => {
    cancelled = true;
  });
  const counting = stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(piece, controller) {
        pulled++;
        controller.enqueue(piece);
      },
    }),
  );
  await rejectsWith(
    readBodyLimited(counting, 2500),
    BodyTooLargeError,
    "request body exceeds the limit of 2500 bytes",
  );
  assert.ok(cancelled, "the source stream is cancelled");
  assert.ok(pulled < 10, `read ${pulled} chunks`);
});

Deno.test("readBodyLimited() throws the deadline's error and cancels a body that stalls", async () => {
  let cancelled = false;
  const stalled = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode("a 1\n")); // then nothing more
    },
    cancel() {
      cancelled = true;
    },
  });
  let expire: ((error: Error) => void) | undefined;
  let unwatched = false;
  const reading = readBodyLimited(stalled, 100, {
    watch(onExpire) {
      expire = onExpire;
      return () => {
        unwatched = true;
      };
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(expire, "the read is watched");
  expire(new Error("too slow"));
  await rejectsWith(reading, Error, "too slow");
  assert.ok(cancelled, "the source stream is cancelled");
  assert.ok(unwatched, "the watch ends with the read");
});

Deno.test("readBodyLimited() ends the watch of a body read in time", async () => {
  let unwatched = false;
  const body = await readBodyLimited(streamOf([encoder.encode("a 1\n")]), 10, {
    watch: () => () => {
      unwatched = true;
    },
  });
  assert.equal(decoder.decode(body), "a 1\n");
  assert.ok(unwatched);
});

/** A byte stream (as a request's body is) of copies of `chunks`. */
function byteStreamOf(
  chunks: readonly Uint8Array[],
  onCancel?: () => void,
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      const next = chunks[i++];
      if (next === undefined) {
        controller.close();
        controller.byobRequest?.respond(0);
      } else controller.enqueue(next.slice());
    },
    cancel() {
      onCancel?.();
    },
  });
}

Deno.test("readBodyLimited() reads a byte stream into a buffer of its declared length", async (t) => {
  // 300 chunks of 10,000 bytes, more than one read of a megabyte.
  const chunks = Array.from(
    { length: 300 },
    (_, i) => new Uint8Array(10_000).fill(i % 251),
  );
  const expected = new Uint8Array(3_000_000);
  chunks.forEach((chunk, i) => expected.set(chunk, i * 10_000));
  for (const declared of [undefined, 3_000_000, 1000, 4_000_000]) {
    await t.step(`declared ${declared}`, async () => {
      const body = await readBodyLimited(
        byteStreamOf(chunks),
        4_000_000,
        undefined,
        declared,
      );
      assert.deepEqual(body, expected);
      if (declared === expected.length) {
        // Its own buffer: handed to the push worker without a copy.
        assert.equal(body.byteOffset, 0);
        assert.equal(body.buffer.byteLength, expected.length);
      }
    });
  }
  await t.step("empty", async () => {
    assert.equal(
      (await readBodyLimited(byteStreamOf([]), 10, undefined, 0)).length,
      0,
    );
    assert.equal((await readBodyLimited(byteStreamOf([]), 10)).length, 0);
  });
});

Deno.test("readBodyLimited() stops and cancels a byte stream past the limit", async (t) => {
  for (const declared of [undefined, 2500, 100_000]) {
    await t.step(`declared ${declared}`, async () => {
      let cancelled = false;
      const chunks = Array.from({ length: 100 }, () => new Uint8Array(1000));
      await rejectsWith(
        readBodyLimited(
          byteStreamOf(chunks, () => cancelled = true),
          2500,
          undefined,
          declared,
        ),
        BodyTooLargeError,
        "request body exceeds the limit of 2500 bytes",
      );
      assert.ok(cancelled, "the stream is cancelled");
    });
  }
});

Deno.test("readBodyLimited() throws the deadline's error and cancels a byte stream that stalls", async () => {
  let cancelled = false;
  const stalled = new ReadableStream({
    type: "bytes",
    start(controller) {
      controller.enqueue(encoder.encode("a 1\n")); // then nothing more
    },
    cancel() {
      cancelled = true;
    },
  });
  let expire: ((error: Error) => void) | undefined;
  const reading = readBodyLimited(stalled, 100, {
    watch(onExpire) {
      expire = onExpire;
      return () => {};
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(expire, "the read is watched");
  expire(new Error("too slow"));
  await rejectsWith(reading, Error, "too slow");
  assert.ok(cancelled, "the source stream is cancelled");
});

async function curlPut(
  url: string,
  file: string,
  headers: readonly string[],
): Promise<{ status: number; text: string }> {
  const out = await new Deno.Command("curl", {
    args: [
      "-sS",
      "-X",
      "PUT",
      "--data-binary",
      `@${file}`,
      ...headers.flatMap((h) => ["-H", h]),
      "-w",
      "\n%{http_code}",
      url,
    ],
    stdout: "piped",
  }).output();
  const text = decoder.decode(out.stdout);
  const cut = text.lastIndexOf("\n");
  return { status: Number(text.slice(cut + 1)), text: text.slice(0, cut) };
}

Deno.test("a large push body is read whole, with or without Content-Length", async (t) => {
  await using gw = await startTestGateway();
  const series = 40_000; // about 1.2 MB, read in several reads
  let text = "# TYPE big_body gauge\n";
  for (let i = 0; i < series; i++) text += `big_body{i="${i}"} ${i}\n`;
  const file = `${gw.dir}/body.txt`;
  await Deno.writeTextFile(file, text);
  for (
    const [name, headers] of [
      ["Content-Length", []],
      ["chunked", ["Transfer-Encoding: chunked"]],
    ] as const
  ) {
    await t.step(name, async () => {
      const job = name === "chunked" ? "chunked" : "length";
      const res = await curlPut(`${gw.url}/metrics/job/${job}`, file, headers);
      assert.equal(res.status, 200, res.text);
      const scrape = await (await fetch(`${gw.url}/metrics`)).text();
      const lines = scrape.split("\n").filter((line) =>
        line.startsWith("big_body{") && line.includes(`job="${job}"`)
      );
      assert.equal(lines.length, series);
      assert.ok(
        lines.includes(`big_body{i="39999",instance="",job="${job}"} 39999`),
      );
    });
  }
});

Deno.test("a push of one 6 MB number token is refused with 400 and a short message", async () => {
  await using gw = await startTestGateway();
  const body = new Uint8Array(6_000_003).fill(0x31);
  body.set(encoder.encode("m "));
  body[body.length - 1] = 0x0a;
  const file = `${gw.dir}/number.txt`;
  await Deno.writeFile(file, body);
  const res = await curlPut(`${gw.url}/metrics/job/number`, file, []);
  assert.equal(res.status, 400);
  assert.ok(res.text.length < 1000, `a message of ${res.text.length} bytes`);
  assert.match(
    res.text,
    /expected float as value, got "1{64}"… \(a token of 6000000 bytes; no float literal is longer than 4096\)/,
  );
  const scrape = await (await fetch(`${gw.url}/metrics`)).text();
  assert.doesNotMatch(scrape, /job="number"\} 1/);
});
